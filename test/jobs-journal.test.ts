// The journal of a durable store job: a real file (JobJournal.layerFile over @effect/platform-node's FileSystem,
// in a temporary directory) written as fsync'd JSON lines, and everything a journal can be when a job is resumed
// from it: torn at the end (ignored, with a warning, and cut), corrupt in the middle, of another job, with its ids
// changed, for another stock, finished, empty, missing, or taken; a journal that stops accepting writes (a full
// disk) stops the job without sending an unrecorded call. Also a journaled bundle job and a stock job without
// verification, resumed after a crash (their in-flight stores are sent again: there is no listing to ask).
import * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Either, Exit, Fiber, Layer, Option, Stream } from "effect"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { BulkStores, JobJournal, type ProductCouponStores, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, operations, scriptedStock, stockOf, withFake } from "./support/Bulk.js"
import { expand, sealHeader } from "./support/JournalRecords.js"
import {
  assertSameSet,
  crashing,
  crashRun,
  F,
  failingAfter,
  keys,
  other,
  range,
  recorded,
  records,
  s,
  storeCallsFrom,
  withWarnings
} from "./support/Jobs.js"

const stock = stockOf(F.stockId)
const running = { concurrency: 2, chunkSize: 100 }
const fileLayer = JobJournal.layerFile.pipe(Layer.provide(NodeFileSystem.layer))
const nodeFileLayer = JobJournal.layerNodeFile.pipe(Layer.provide(NodeFileSystem.layer))

/** 600 stores of the brand with duplicates, and 3 foreign ones (failed). */
const IDS: ReadonlyArray<string> = (() => {
  const ids: Array<string> = []
  for (let i = 0; i < 600; i++) {
    ids.push(s(i))
    if (i % 50 === 49) ids.push(s(i - 7))
    if (i % 200 === 0) ids.push(other(i / 200))
  }
  return ids
})()
const fakeOptions = { seed: FakeWechatPay.generate({ stores: 700, associated: 700 }), keys }

const tempDir = () => Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobs-journal-"))
const linesOf = (file: string) => {
  const text = Fs.readFileSync(file, "utf8")
  assert.isTrue(text.endsWith("\n"), "a journal ends with a complete line")
  return text.slice(0, -1).split("\n")
}

const disassociate = (journal: string, ids: ReadonlyArray<string> = IDS, options: Partial<StoreJobs.Options> = {}) =>
  StoreJobs.disassociateAll(ids, { ...stock, ...running, ...options, journal })

/** A journal of the job above, cut off by a crash after `writes` writes, as bytes. */
const crashedJournal = (
  fake: FakeWechatPay.Service,
  writes: number,
  job: (journal: string) => Effect.Effect<unknown, unknown, any> = disassociate
) =>
  Effect.gen(function*() {
    const files = new Map<string, Uint8Array>()
    const crash = yield* crashing(files, writes)
    const ended = yield* crashRun(job("j").pipe(Effect.provideService(JobJournal.JobJournal, crash.service)), crash, 0)
    assert.isFalse(ended)
    return { bytes: files.get("j")!, logAtCrash: fake.log.length, files }
  })

type Tagged = { readonly _tag: string; readonly line?: number; readonly reason?: string; readonly field?: string }
const leftOf = <A, E>(either: Either.Either<A, E>): Tagged => {
  if (Either.isRight(either)) return assert.fail(`expected a failure, got ${JSON.stringify(either.right).slice(0, 200)}`)
  return either.left as unknown as Tagged
}

/** A journal's path in a fresh directory, and the lock a run that died left on it (its process has exited). */
const staleLock = () => {
  const dir = tempDir()
  const dead = spawnSync(process.execPath, ["-e", ""]).pid
  return {
    dir,
    file: Path.join(dir, "job.jsonl"),
    stale: JSON.stringify({ pid: dead, since: "2026-01-01T00:00:00.000Z", token: "gone" })
  }
}

/** A job resumed once after a crash: every store once, and nothing whose outcome was recorded sent again. */
const resumedOnce = (
  report: StoreJobs.AnyReport,
  fake: FakeWechatPay.Service,
  logAtCrash: number,
  settled: ReadonlySet<string>
): StoreJobs.JobReport => {
  if ("plan" in report) return assert.fail("a job report")
  assertPartition(report, IDS)
  assert.strictEqual(report.summary.succeeded + report.summary.failed, report.summary.unique)
  assert.strictEqual(report.job.runs, 2)
  for (const c of storeCallsFrom(fake, logAtCrash)) for (const id of c.stores) assert.isFalse(settled.has(id), id)
  return report
}

/** Resumes the journal at `file` and expects a typed error, nothing sent. */
/** A journal of these lines resumes, and its report accounts for every store of IDS once. */
const resumesWhole = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const files = new Map([["j", new TextEncoder().encode(lines.join("\n"))]])
    const report = yield* StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files)))
    if ("plan" in report) return assert.fail("a sync report")
    assertPartition(report, IDS)
  })

const refused = (fake: FakeWechatPay.Service, file: string, options: StoreJobs.ResumeOptions = {}) =>
  Effect.gen(function*() {
    const before = fake.log.length
    const result = yield* Effect.either(StoreJobs.resume(file, options).pipe(Effect.provide(fileLayer)))
    assert.strictEqual(fake.log.length, before, "nothing is sent")
    return leftOf(result)
  })

describe("a file journal", () => {
  it.effect("JSON lines, each write fsync'd before the job goes on; the header, the ids, each call before its outcome", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        // The platform's FileSystem, with the journal file's writes and syncs recorded in order.
        const ops: Array<string> = []
        const watched = Layer.effect(
          FileSystem.FileSystem,
          Effect.map(FileSystem.FileSystem, (fs) => ({
            ...fs,
            open: (path: string, options?: FileSystem.OpenFileOptions) =>
              Effect.map(fs.open(path, options), (f) =>
                path !== file ? f : new Proxy(f, {
                  get: (target, key, receiver) => {
                    const value = Reflect.get(target, key, receiver)
                    if (key === "writeAll") return (bytes: Uint8Array) => Effect.zipRight(Effect.sync(() => ops.push("write")), value.call(receiver, bytes))
                    if (key === "sync") return Effect.zipRight(Effect.sync(() => ops.push("sync")), value)
                    return value
                  }
                }))
          }))
        ).pipe(Layer.provide(NodeFileSystem.layer))
        const report = yield* disassociate(file).pipe(Effect.provide(JobJournal.layerFile.pipe(Layer.provide(watched))))
        assertPartition(report, IDS)
        assert.strictEqual(report.summary.succeeded, 600)
        assert.strictEqual(report.job.journal, file)
        assert.strictEqual(report.job.runs, 1)
        // Every write is followed by its fsync before anything else is written.
        assert.isAbove(ops.length, 10)
        ops.forEach((op, i) => assert.strictEqual(op, i % 2 === 0 ? "write" : "sync", `op ${i}`))
        const raw = linesOf(file).map((l) => JSON.parse(l) as Record<string, any>)
        // A fresh run's calls are consecutive ids, named by position; so is an outcome where every store
        // succeeded. One with a failure (three of the ids are refused) lists its stores.
        for (const r of raw.filter((r) => r.t === "call")) {
          assert.containsAllKeys(r, ["from", "count"])
          assert.doesNotHaveAnyKeys(r, ["stores"])
        }
        const byPosition = raw.filter((r) => r.t === "outcome" && r.from !== undefined)
        const byList = raw.filter((r) => r.t === "outcome" && r.from === undefined)
        assert.isAbove(byPosition.length, 0)
        for (const r of byPosition) assert.doesNotHaveAnyKeys(r, ["succeeded", "failed", "unresolved"])
        for (const r of byList) assert.isAbove(r.failed.length, 0)
        const recs = expand(raw)
        const header = recs[0]!
        assert.strictEqual(header.t, "header")
        assert.strictEqual(header.format, "effect-wechatpay/journal")
        assert.strictEqual(header.job, report.job.id)
        assert.strictEqual(header.operation, "disassociate")
        assert.deepStrictEqual(header.target, stock)
        assert.deepStrictEqual(header.input.count, IDS.length)
        assert.deepStrictEqual(recs[1]!.t, "ids")
        assert.deepStrictEqual(recs[1]!.ids, [...new Set(IDS)])
        for (const r of recs) assert.strictEqual(r.job, report.job.id)
        // Each store call went out after its call record: the calls the fake saw are the calls recorded.
        const calls = recs.filter((r) => r.t === "call").map((r) => [...r.stores].sort().join())
        const sent = storeCallsFrom(fake, 0).map((c) => [...c.stores].sort().join())
        assert.deepStrictEqual([...sent].sort(), [...calls].sort())
        // Each call's outcome comes after its call record.
        const firstSeen = new Map<string, number>()
        recs.forEach((r, i) => {
          if (r.t === "call") for (const id of r.stores) firstSeen.set(id, i)
          if (r.t === "outcome") for (const id of r.succeeded) assert.isBelow(firstSeen.get(id)!, i)
        })
        const last = recs.at(-1)!
        assert.strictEqual(last.t, "finished")
        assert.deepStrictEqual(last.report, JSON.parse(JSON.stringify(report)))
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a version 1 journal (every call and outcome naming its stores, none by position) still resumes", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        const { bytes, logAtCrash } = yield* crashedJournal(fake, 6)
        const recs = records(bytes)
        assert.isTrue(recs.some((r) => r.t === "outcome"), "the crash came after an outcome")
        // `records` spells out what is written by position, as version 1 writes every call and outcome.
        const v1 = recs.map((r, i) => i === 0 ? { ...r, version: 1 } : r)
        assert.isFalse(v1.some((r) => "from" in r), "no record by position")
        Fs.writeFileSync(file, v1.map((r) => JSON.stringify(r) + "\n").join(""))
        resumedOnce(yield* StoreJobs.resume(file).pipe(Effect.provide(fileLayer)), fake, logAtCrash, recorded(recs).settled)
        Fs.rmSync(dir, { recursive: true, force: true })
      })))
})

/** The open flags of this process's descriptors on `file` (Linux shows them, in octal, in /proc). */
const descriptorFlags = (file: string): Array<number> => {
  const target = Fs.realpathSync(file)
  const flags: Array<number> = []
  for (const fd of Fs.readdirSync("/proc/self/fd")) {
    let link: string
    try {
      link = Fs.readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue
    }
    if (link !== target) continue
    const line = Fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").split("\n").find((l) => l.startsWith("flags:"))
    if (line !== undefined) flags.push(parseInt(line.slice("flags:".length).trim(), 8))
  }
  return flags
}

describe("a Node file journal (layerNodeFile)", () => {
  it.effect("appends through a descriptor opened with O_APPEND and O_DSYNC, and keeps the journal layerFile reads", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        const seen: Array<number> = []
        const onProgress = () => Effect.sync(() => seen.push(...descriptorFlags(file)))
        const report = yield* disassociate(file, IDS, { onProgress }).pipe(Effect.provide(nodeFileLayer))
        const { O_APPEND, O_DSYNC } = Fs.constants
        assert.isTrue(seen.some((f) => (f & O_APPEND) !== 0 && (f & O_DSYNC) !== 0), seen.map((f) => f.toString(8)).join(" "))
        assertPartition(report, IDS)
        assert.deepStrictEqual(descriptorFlags(file), [], "closed with the job")
        // The file is the one layerFile keeps: it resumes there as a finished job, and nothing is sent.
        const logged = fake.log.length
        const again = yield* StoreJobs.resume(file).pipe(Effect.provide(fileLayer))
        assert.deepStrictEqual(again, JSON.parse(JSON.stringify(report)))
        assert.strictEqual(fake.log.length, logged)
        Fs.rmSync(dir, { recursive: true, force: true })
      })))
})

// Both file layers keep the same file; layerNodeFile appends through its own O_DSYNC descriptor, which a
// resume opens after cutting the torn bytes off.
for (const [name, layer] of [["layerFile", fileLayer], ["layerNodeFile", nodeFileLayer]] as const) {
  describe(`a file journal cut short (${name})`, () => {
    it.effect("a torn last line (a crash mid-write) is ignored with a warning, the resume completes, and the torn bytes are cut", () =>
      withFake(fakeOptions, (fake) =>
        Effect.gen(function*() {
          const dir = tempDir()
          const file = Path.join(dir, "job.jsonl")
          const { bytes, logAtCrash } = yield* crashedJournal(fake, 3)
          const job = records(bytes)[0]!.job as string
          const partial = `{"t":"outcome","job":"${job}","part":0,"sent":true,"succeeded":["${s(0)}","${s(1)}`
          Fs.writeFileSync(file, Buffer.concat([Buffer.from(bytes), Buffer.from(partial)]))
          const [resumed, warnings] = yield* withWarnings(StoreJobs.resume(file).pipe(Effect.provide(layer)))
          assert.isTrue(warnings.some((w) => w.includes(file) && w.includes(`${partial.length} byte(s)`)), warnings.join("\n"))
          const report = resumedOnce(resumed, fake, logAtCrash, recorded(records(bytes)).settled)
          for (const id of report.succeeded) assert.isFalse(fake.isAssociated(F.stockId, id))
          // The torn bytes are gone; every line is a record; the journal is usable: resumed again, it gives the report back.
          const text = Fs.readFileSync(file, "utf8")
          assert.notInclude(text, partial + "\n")
          assert.isTrue(text.startsWith(new TextDecoder().decode(bytes)))
          assert.strictEqual(text.indexOf(partial), -1)
          const recs = expand(linesOf(file).map((l) => JSON.parse(l) as Record<string, any>))
          assert.deepStrictEqual(recs.filter((r) => r.t === "run").length, 2)
          const logged = fake.log.length
          const [again, quiet] = yield* withWarnings(StoreJobs.resume(file).pipe(Effect.provide(layer)))
          assert.deepStrictEqual(again, JSON.parse(JSON.stringify(report)))
          assert.deepStrictEqual(quiet, [])
          assert.strictEqual(fake.log.length, logged)
          Fs.rmSync(dir, { recursive: true, force: true })
        })))

    it.effect("a finished journal truncated mid-way through its last line: the outcomes stand, nothing is sent again", () =>
      withFake(fakeOptions, (fake) =>
        Effect.gen(function*() {
          const dir = tempDir()
          const file = Path.join(dir, "job.jsonl")
          const first = yield* disassociate(file).pipe(Effect.provide(layer))
          const size = Fs.statSync(file).size
          const lastLine = linesOf(file).at(-1)!
          Fs.truncateSync(file, size - Math.floor(lastLine.length / 2))
          const logged = fake.log.length
          const [report, warnings] = yield* withWarnings(StoreJobs.resume(file).pipe(Effect.provide(layer)))
          assert.strictEqual(warnings.filter((w) => w.includes("never completed")).length, 1)
          assert.deepStrictEqual(storeCallsFrom(fake, logged), [])
          if ("plan" in report) return assert.fail("a job report")
          assertPartition(report, IDS)
          assertSameSet(report.succeeded, first.succeeded)
          assertSameSet(report.failed.map((f) => f.storeId), first.failed.map((f) => f.storeId))
          assert.strictEqual(report.job.id, first.job.id)
          assert.strictEqual(report.job.runs, 2)
          assert.strictEqual(linesOf(file).at(-1)!.includes(`"t":"finished"`), true)
          Fs.rmSync(dir, { recursive: true, force: true })
        })))
  })
}

describe("journals that cannot be trusted: a typed error, nothing sent", () => {
  /** A finished journal's lines, rewritten by `edit`, at a new file. */
  const edited = (edit: (lines: Array<string>) => Array<string>) =>
    Effect.gen(function*() {
      const dir = tempDir()
      const file = Path.join(dir, "job.jsonl")
      const report = yield* disassociate(file).pipe(Effect.provide(fileLayer))
      const lines = linesOf(file)
      Fs.writeFileSync(file, edit(lines).map((l) => l + "\n").join(""))
      return { file, report, lines, dir }
    })

  // Lines that parse, each of this job, but not in the order a job writes them: each call once a run, each
  // outcome after its own call.
  const typeOf = (line: string): unknown => JSON.parse(line).t
  const firstOf = (lines: ReadonlyArray<string>, t: string) => lines.findIndex((l) => typeOf(l) === t)
  const reordered: ReadonlyArray<readonly [string, (lines: Array<string>) => Array<string>, string]> = [
    ["an outcome line duplicated", (lines) => {
      const i = firstOf(lines, "outcome")
      return [...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)]
    }, "whose call this run did not record"],
    ["a call line duplicated", (lines) => {
      const i = firstOf(lines, "call")
      return [...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)]
    }, "recorded twice in one run"],
    ["a run line duplicated", (lines) => {
      const i = firstOf(lines, "run")
      return [...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)]
    }, "where the runs before it make it run 2"],
    ["a call line dropped (its outcome kept)", (lines) => lines.filter((_, i) => i !== firstOf(lines, "call")), "whose call this run did not record"],
    ["an outcome moved before its call", (lines) => {
      const c = firstOf(lines, "call")
      const o = firstOf(lines, "outcome")
      const rest = lines.filter((_, i) => i !== o)
      return [...rest.slice(0, c), lines[o]!, ...rest.slice(c)]
    }, "whose call this run did not record"]
  ]
  for (const [label, edit, says] of reordered) {
    it.effect(`${label}: JournalCorruptError naming the line, nothing sent`, () =>
      withFake(fakeOptions, (fake) =>
        Effect.gen(function*() {
          const { dir, file } = yield* edited(edit)
          const error = yield* refused(fake, file)
          assert.strictEqual(error._tag, "JournalCorruptError")
          assert.include(error.reason!, says)
          assert.isAbove(error.line!, 1)
          Fs.rmSync(dir, { recursive: true, force: true })
        })))
  }

  it.effect("a corrupt line in the middle: JournalCorruptError naming the line", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const { dir, file } = yield* edited((lines) => lines.map((l, i) => i === 4 ? l.slice(0, 40) : l))
        const error = yield* refused(fake, file)
        assert.strictEqual(error._tag, "JournalCorruptError")
        assert.strictEqual(error.line, 5)
        // Its job ran: deleting it would lose the record of what was sent.
        assert.isFalse((error as JobJournal.JournalCorruptError).neverStarted)
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("lines that parse but are not this job's records: JournalCorruptError with the line, never a defect", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        yield* disassociate(file).pipe(Effect.provide(fileLayer))
        const lines = linesOf(file)
        const header = JSON.parse(lines[0]!)
        const job = header.job as string
        // Sealed as its own job would have: what is refused is the records that are not its job's.
        const foreignHeader = sealHeader({ ...header, job: "another-job" })
        const bad: ReadonlyArray<string> = [
          foreignHeader,
          JSON.stringify({ t: "call", job: "another-job", part: 0, stores: [s(1)] }),
          JSON.stringify({ t: "run", run: 9 }),
          JSON.stringify(header),
          "null",
          "[]",
          "42",
          `"text"`,
          JSON.stringify({ t: "call", job, part: 0, stores: [1, 2] }),
          JSON.stringify({ t: "call", job, part: 7, stores: [s(1)] }),
          JSON.stringify({ t: "call", job, part: "0", stores: [s(1)] }),
          JSON.stringify({ t: "call", job, part: -1, stores: [s(1)] }),
          JSON.stringify({ t: "outcome", job, part: 0, sent: true, succeeded: "all", failed: [], unresolved: [] }),
          JSON.stringify({ t: "outcome", job, part: 0, sent: true, succeeded: [], failed: [null], unresolved: [] }),
          // Calls and outcomes by position in the part's ids: a range the ids do not have, or one that is not a range.
          JSON.stringify({ t: "call", job, part: 0, from: header.parts[0].count - 1, count: 2 }),
          JSON.stringify({ t: "call", job, part: 0, from: -1, count: 2 }),
          JSON.stringify({ t: "call", job, part: 0, from: 1.5, count: 2 }),
          JSON.stringify({ t: "call", job, part: 0, from: 0, count: 0 }),
          JSON.stringify({ t: "call", job, part: 0, from: "0", count: 2 }),
          JSON.stringify({ t: "outcome", job, part: 0, sent: true, count: 2 }),
          JSON.stringify({ t: "outcome", job, part: 0, sent: true, from: 0, count: 2, succeeded: [] }),
          JSON.stringify({ t: "listed", job, part: 0, stores: {} }),
          JSON.stringify({ t: "ids", job, part: 0, ids: [s(1)] }),
          JSON.stringify({ t: "whatever", job, part: 0 }),
          JSON.stringify({ t: "__proto__", job, part: 0 }),
          JSON.stringify({ job, part: 0 })
        ]
        for (const [k, line] of bad.entries()) {
          // Inserted in the middle, and appended as a complete last line.
          for (const at of [3, lines.length]) {
            const changed = [...lines.slice(0, at), line, ...lines.slice(at)]
            Fs.writeFileSync(file, changed.map((l) => l + "\n").join(""))
            const error = yield* refused(fake, file)
            assert.strictEqual(error._tag, "JournalCorruptError", `${k}: ${line}`)
            // An `ids` record too many is only seen at the end, when the ids are counted (line 0: the journal as a whole).
            assert.strictEqual(error.line, line.includes(`"t":"ids"`) ? 0 : at + 1, `${k}: ${line}`)
          }
        }
        // A journal that is another job's from its first line on: another header on top of this one's lines.
        Fs.writeFileSync(file, [foreignHeader, ...lines.slice(1)].map((l) => l + "\n").join(""))
        const foreign = yield* refused(fake, file)
        assert.strictEqual(foreign._tag, "JournalCorruptError")
        assert.strictEqual(foreign.line, 2)
        assert.include(foreign.reason!, "another job")
        // Not a journal at all.
        for (const first of ["not json", JSON.stringify({ ...header, format: "other" }), JSON.stringify({ ...header, version: 99 })]) {
          Fs.writeFileSync(file, [first, ...lines.slice(1)].map((l) => l + "\n").join(""))
          const error = yield* refused(fake, file)
          assert.strictEqual(error._tag, "JournalCorruptError", first)
          assert.strictEqual(error.line, 1, first)
        }
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a header that contradicts itself (parts, operation, target): JournalCorruptError, no defect, nothing sent or written", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const { bytes } = yield* crashedJournal(fake, 4)
        const [first, ...rest] = new TextDecoder().decode(bytes).split("\n")
        const header = JSON.parse(first!)
        const variants: Record<string, unknown> = {
          "a sync of one part": { ...header, operation: "sync" },
          "a part the other way": { ...header, parts: [{ ...header.parts[0], direction: "associate" }] },
          "no stock, no bundle": { ...header, target: { productCouponId: header.target.productCouponId, brandId: header.target.brandId } },
          "a stock and a bundle": { ...header, target: { ...header.target, stockBundleId: F.stockBundleId } },
          "a stock id that cannot be sent": { ...header, target: { ...header.target, stockId: "a\u0001" } }
        }
        for (const [name, changed] of Object.entries(variants)) {
          // Sealed again: these are headers no job writes, whatever their checksum says.
          const tampered = new TextEncoder().encode([sealHeader(changed as Record<string, unknown>), ...rest].join("\n"))
          const files = new Map([["j", tampered]])
          const before = fake.log.length
          const exit = yield* Effect.exit(StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files))))
          assert.strictEqual(fake.log.length, before, `${name}: nothing is sent`)
          if (Exit.isSuccess(exit)) return assert.fail(`${name}: resumed`)
          const failure = Cause.failureOption(exit.cause)
          assert.isTrue(Option.isSome(failure), `${name}: a typed error, not ${Cause.pretty(exit.cause).slice(0, 200)}`)
          const tag = (failure as Option.Some<{ _tag: string }>).value._tag
          // An id that cannot be sent may be refused as the job's own ids are, before anything is sent.
          assert.include(name.includes("cannot be sent") ? ["JournalCorruptError", "RequestValidationError"] : ["JournalCorruptError"], tag, name)
          assert.deepStrictEqual(files.get("j"), tampered, `${name}: nothing is written`)
        }
      })))

  it.effect("a header changed after the job wrote it (another stock, its check dropped): refused on line 1, nothing sent or written", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const { bytes } = yield* crashedJournal(fake, 4)
        const [first, ...rest] = new TextDecoder().decode(bytes).split("\n")
        const header = JSON.parse(first!)
        assert.strictEqual(header.version, 3)
        assert.match(header.check, /^sha256:[0-9a-f]{64}$/)
        const { check: _check, ...unchecked } = header
        const variants: Record<string, string> = {
          // Another stock of the same length: every other check passes, and a resume would send there.
          "another stock": JSON.stringify({ ...header, target: { ...header.target, stockId: "987654321" } }),
          "its check dropped": JSON.stringify(unchecked),
          "its check not a string": JSON.stringify({ ...unchecked, check: 1 }),
          // The same header with its fields in another order: not the text that was sealed.
          "its fields reordered": JSON.stringify({ job: header.job, ...header })
        }
        assert.notStrictEqual(variants["its fields reordered"], first)
        for (const [name, changed] of Object.entries(variants)) {
          const tampered = new TextEncoder().encode([changed, ...rest].join("\n"))
          const files = new Map([["j", tampered]])
          const before = fake.log.length
          const error = yield* Effect.flip(StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files))))
          assert.strictEqual(fake.log.length, before, `${name}: nothing is sent`)
          assert.strictEqual(error._tag, "JournalCorruptError", name)
          const corrupt = error as JobJournal.JournalCorruptError
          assert.strictEqual(corrupt.line, 1, name)
          assert.include(corrupt.reason, "its header was changed after the job wrote it", name)
          assert.deepStrictEqual(files.get("j"), tampered, `${name}: nothing is written`)
        }
        // Sealed again, the header is the job's own once more: the journal resumes.
        yield* resumesWhole([sealHeader(header), ...rest])
      })))

  it.effect("a journal written before the header was sealed (version 2, no check) still resumes", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const { bytes } = yield* crashedJournal(fake, 4)
        const [first, ...rest] = new TextDecoder().decode(bytes).split("\n")
        const { check: _check, ...header } = JSON.parse(first!)
        yield* resumesWhole([JSON.stringify({ ...header, version: 2 }), ...rest])
      })))

  it.effect("a finished record whose report is not a report: never given back as the job's report", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const { bytes } = yield* crashedJournal(fake, 4)
        const job = records(bytes)[0]!.job as string
        for (const report of [{}, { summary: 1 }, [], { plan: {} }]) {
          const files = new Map([["j", new Uint8Array([...bytes, ...new TextEncoder().encode(JSON.stringify({ t: "finished", job, run: 1, report }) + "\n")])]])
          const result = yield* Effect.either(StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files))))
          if (Either.isLeft(result)) {
            assert.strictEqual(result.left._tag, "JournalCorruptError", JSON.stringify(report))
            continue
          }
          // Or the job is finished from its records: a report that accounts for every store.
          if ("plan" in result.right) return assert.fail(`a sync report from ${JSON.stringify(report)}`)
          assert.isDefined(result.right.summary, JSON.stringify(report))
          assertPartition(result.right, IDS)
        }
      })))

  it.effect("ids changed (the digest differs): JournalCorruptError", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const { dir, file } = yield* edited((lines) =>
          lines.map((l, i) => {
            if (i !== 1) return l
            const r = JSON.parse(l)
            return JSON.stringify({ ...r, ids: r.ids.map((id: string) => id === s(5) ? s(650) : id) })
          })
        )
        const error = yield* refused(fake, file)
        assert.strictEqual(error._tag, "JournalCorruptError")
        assert.include(error.reason!, "digest")
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("expect names another stock (or job, operation): JournalMismatchError; expect that matches resumes", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        Fs.writeFileSync(file, (yield* crashedJournal(fake, 4)).bytes)
        const cases: ReadonlyArray<[StoreJobs.ResumeOptions["expect"], string]> = [
          [{ stockId: F.pausedStockId }, "stockId"],
          [{ operation: "associate" }, "operation"],
          [{ id: "another-job" }, "id"],
          [{ brandId: F.otherBrandId }, "brandId"],
          [{ stockBundleId: F.stockBundleId }, "stockBundleId"]
        ]
        for (const [expect, field] of cases) {
          const error = yield* refused(fake, file, { expect })
          assert.strictEqual(error._tag, "JournalMismatchError", field)
          assert.strictEqual(error.field, field)
        }
        const report = yield* StoreJobs.resume(file, { expect: { stockId: F.stockId, operation: "disassociate" } }).pipe(
          Effect.provide(fileLayer)
        )
        if ("plan" in report) return assert.fail("a job report")
        assertPartition(report, IDS)
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a finished job: resume gives its report back and sends nothing", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        const report = yield* disassociate(file).pipe(Effect.provide(fileLayer))
        const bytes = Fs.readFileSync(file)
        const logged = fake.log.length
        const again = yield* StoreJobs.resume(file).pipe(Effect.provide(fileLayer))
        assert.deepStrictEqual(again, JSON.parse(JSON.stringify(report)))
        assert.strictEqual(fake.log.length, logged)
        assert.deepStrictEqual(Fs.readFileSync(file), bytes, "nothing is written either")
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("an empty journal, and one whose header was torn: JournalCorruptError saying nothing was sent", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        Fs.writeFileSync(file, "")
        const empty = yield* refused(fake, file)
        assert.strictEqual(empty._tag, "JournalCorruptError")
        assert.strictEqual(empty.line, 0)
        const { bytes } = yield* crashedJournal(fake, 2)
        const headerEnd = bytes.indexOf(0x0a)
        for (const cut of [1, Math.floor(headerEnd / 2), headerEnd]) {
          Fs.writeFileSync(file, bytes.subarray(0, cut))
          const torn = yield* refused(fake, file)
          assert.strictEqual(torn._tag, "JournalCorruptError", `cut ${cut}`)
          assert.strictEqual(torn.line, 0)
          assert.include(torn.reason!, "nothing was sent")
        }
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a journal torn inside its ids (the opening write cut short): JournalCorruptError saying nothing was sent", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        const { bytes } = yield* crashedJournal(fake, 2)
        const idsEnd = bytes.indexOf(0x0a, bytes.indexOf(0x0a) + 1)
        Fs.writeFileSync(file, bytes.subarray(0, idsEnd - 10))
        const torn = yield* refused(fake, file)
        assert.strictEqual(torn._tag, "JournalCorruptError")
        assert.include(torn.reason!, "nothing was sent")
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a new job where a journal exists: JournalExistsError, no store sent, the journal untouched", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        Fs.writeFileSync(file, "someone else's\n")
        const jobs: ReadonlyArray<Effect.Effect<unknown, unknown, JobJournal.JobJournal | ProductCouponStores.ProductCouponStores>> = [
          disassociate(file),
          StoreJobs.syncStores(IDS, { ...stock, journal: file })
        ]
        for (const job of jobs) {
          const error = leftOf(yield* Effect.either(job.pipe(Effect.provide(fileLayer))))
          assert.strictEqual(error._tag, "JournalExistsError")
        }
        assert.deepStrictEqual(storeCallsFrom(fake, 0), [])
        assert.strictEqual(Fs.readFileSync(file, "utf8"), "someone else's\n")
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a journal that cannot be made or read (no such directory, a directory): JournalIoError, no store sent", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const created = leftOf(yield* Effect.either(disassociate(Path.join(dir, "missing", "job.jsonl")).pipe(Effect.provide(fileLayer))))
        assert.strictEqual(created._tag, "JournalIoError")
        assert.deepStrictEqual(storeCallsFrom(fake, 0), [])
        const read = yield* refused(fake, dir)
        assert.strictEqual(read._tag, "JournalIoError")
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a missing journal: JournalNotFoundError", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const error = yield* refused(fake, Path.join(dir, "nothing-here.jsonl"))
        assert.strictEqual(error._tag, "JournalNotFoundError")
        assert.deepStrictEqual(operations(fake), [])
        Fs.rmSync(dir, { recursive: true, force: true })
      })))
})

describe("runs stopped by the caller, and jobs that never start", () => {
  it.effect("a stopped job (stopWhen): resume sends only what the run did not, and finishes it", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const stopped = yield* disassociate("j", IDS, { stopWhen: Effect.void })
        assert.strictEqual(stopped.stoppedBy?.tag, BulkStores.STOPPED_BY_CALLER)
        assert.isAbove(stopped.summary.unresolved, 0)
        const logged = fake.log.length
        const resumed = yield* StoreJobs.resume("j")
        if ("plan" in resumed) return assert.fail("a job report")
        assertPartition(resumed, IDS)
        assert.isUndefined(resumed.stoppedBy)
        assert.strictEqual(resumed.summary.unresolved, 0)
        assert.strictEqual(resumed.job.runs, 2)
        assert.strictEqual(resumed.job.id, stopped.job.id)
        assertSameSet(storeCallsFrom(fake, logged).flatMap((c) => c.stores), stopped.unresolved.map((u) => u.storeId))
        assertSameSet(fake.associatedStores(F.stockId), range(600, 700))
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("aborted while the listing settles its unresolved stores: the run is cut short, and resume settles them by the listing", () =>
    // The first store call is applied and its answer lost (200 unresolved); the listing's first page never comes.
    withFake(scriptedStock("disassociate", ["none", "connectionResetAfterApply", "none", "none", "none", "slow"], 700), (fake) =>
      Effect.gen(function*() {
        const abort = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(StoreJobs.disassociateAll(IDS, { ...stock, journal: "j", abortWhen: Deferred.await(abort) }))
        while (!operations(fake).includes("listAssociatedStores")) yield* Effect.yieldNow()
        yield* Deferred.succeed(abort, undefined)
        const cut = yield* Fiber.join(fiber)
        assert.strictEqual(cut.stoppedBy?.tag, BulkStores.ABORTED_BY_CALLER)
        assert.strictEqual(cut.summary.unresolved, 200)
        const logged = fake.log.length
        const outcomes = new Set([...cut.succeeded, ...cut.failed.map((f) => f.storeId)])
        const resumed = resumedOnce(yield* StoreJobs.resume("j"), fake, logged, outcomes)
        assert.strictEqual(resumed.summary.settledByListing, 200)
        // Settled by the listing, not sent again.
        assert.deepStrictEqual(storeCallsFrom(fake, logged), [])
        assertSameSet(fake.associatedStores(F.stockId), range(600, 700))
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("a sync stopped in its first part: the second is not started, and the resume runs both to the end", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 900, associated: 500 }), keys }, (fake) =>
      Effect.gen(function*() {
        const desired = range(200, 900)
        // Stopped once the plan is made, at the stock check after it (a stop before the plan ends the sync with SyncStoppedError).
        const planned = Effect.gen(function*() {
          while (!operations(fake).includes("getStock")) yield* Effect.yieldNow()
        })
        const stopped = yield* StoreJobs.syncStores(desired, { ...stock, ...running, journal: "j", stopWhen: planned })
        assert.strictEqual(stopped.associate?.stoppedBy?.tag, BulkStores.STOPPED_BY_CALLER)
        assert.strictEqual(stopped.disassociate?.summary.succeeded, 0)
        assert.isFalse(operations(fake).includes("disassociateStores"))
        const resumed = yield* StoreJobs.resume("j")
        if (!("plan" in resumed)) return assert.fail("a sync report")
        assertPartition(resumed.associate!, resumed.plan.toAssociate)
        assertPartition(resumed.disassociate!, resumed.plan.toDisassociate)
        assert.strictEqual(resumed.associate!.summary.unresolved + resumed.disassociate!.summary.unresolved, 0)
        assertSameSet(fake.associatedStores(F.stockId), desired)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("a source that breaks, or a stock the preflight refuses: no journal is written, no store sent", () => {
    const files = new Map<string, Uint8Array>()
    return withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        // 50 stores, one id no call can carry, one repeated; then the source breaks.
        const read = [...range(0, 50), "", s(3)]
        const broken = yield* Effect.flip(
          disassociate("a", Stream.concat(Stream.fromIterable(read), Stream.fail("disk gone")) as never)
        )
        assert.strictEqual(broken._tag, "StoreSourceError")
        if (broken._tag !== "StoreSourceError") return
        // As the engine reports a broken source: the unsendable id failed, the others not sent, each once.
        const report = broken.report
        assertPartition(report, read)
        assert.deepStrictEqual(report.failed.map((f) => [f.storeId, f.code]), [["", "INVALID_STORE_ID"]])
        assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), range(0, 50))
        assert.deepStrictEqual(new Set(report.unresolved.map((u) => u.reason)), new Set(["not sent: the id source broke before the job started"]))
        assert.deepStrictEqual([report.summary.input, report.summary.unique, report.summary.duplicates], [52, 51, 1])
        assert.strictEqual(report.stoppedBy?.code, "SOURCE_FAILED")
        const expired = yield* Effect.flip(StoreJobs.disassociateAll(range(0, 50), { ...stockOf(F.expiredStockId), journal: "b" }))
        assert.strictEqual(expired._tag, "PreflightStockStateError")
        assert.strictEqual(files.size, 0)
        assert.deepStrictEqual(storeCallsFrom(fake, 0), [])
        // The same map does take a journal: the check above could fail.
        yield* disassociate("c", range(0, 10))
        assert.deepStrictEqual([...files.keys()], ["c"])
      }).pipe(Effect.provide(JobJournal.layerMemory(files))))
  })
})

describe("one journal, one run at a time", () => {
  // Two resumes of the same journal at once (a second terminal, a retry by a scheduler while the first still runs)
  // must not both send: one of them must be refused, or wait, and no record of the other may be lost.
  it.effect("two resumes of one file journal at once: no store sent twice, every call recorded", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        const { bytes, logAtCrash } = yield* crashedJournal(fake, 3)
        Fs.writeFileSync(file, bytes)
        yield* Effect.all([StoreJobs.resume(file), StoreJobs.resume(file)], { concurrency: 2, mode: "either" }).pipe(
          Effect.provide(fileLayer)
        )
        const sent = storeCallsFrom(fake, logAtCrash).flatMap((c) => c.stores)
        assert.strictEqual(new Set(sent).size, sent.length, "a store was sent by both resumes")
        const calls = new Set(expand(linesOf(file).map((l) => JSON.parse(l))).filter((r) => r.t === "call").map((r) => [...r.stores].sort().join()))
        for (const c of storeCallsFrom(fake, 0)) assert.isTrue(calls.has([...c.stores].sort().join()), "a call without its record")
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.live("two runs that find the same stale lock at once: exactly one takes it over, the other is refused", () =>
    // Both read the dead run's lock before either replaces it: the second must not remove the first one's new lock.
    Effect.gen(function*() {
      const { dir, file, stale } = staleLock()
      for (let round = 0; round < 20; round++) {
        Fs.writeFileSync(`${file}.lock`, stale)
        // The file system scripts the race, every round: both runs read the dead run's lock, then the second one to
        // read it goes on only once the first has written a lock of its own.
        const both = yield* Deferred.make<void>()
        const taken = yield* Deferred.make<void>()
        let reads = 0
        const isLock = (path: string) => path === `${file}.lock`
        const racing = Layer.effect(
          FileSystem.FileSystem,
          Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
            ...fs,
            readFileString: (path, encoding) =>
              isLock(path) && reads < 2
                ? Effect.tap(fs.readFileString(path, encoding), () => {
                  const second = ++reads === 2
                  if (second) Deferred.unsafeDone(both, Exit.void)
                  return Effect.zipRight(
                    Deferred.await(both),
                    // Bounded, so that a lock that no run writes fails the round instead of hanging it.
                    second ? Effect.ignore(Effect.timeout(Deferred.await(taken), "2 seconds")) : Effect.void
                  )
                })
                : fs.readFileString(path, encoding),
            writeFileString: (path, data, options) =>
              Effect.tap(fs.writeFileString(path, data, options), () => isLock(path) ? Deferred.succeed(taken, undefined) : Effect.void)
          }))
        ).pipe(Layer.provide(NodeFileSystem.layer))
        const journal = yield* Effect.provide(JobJournal.JobJournal, JobJournal.layerFile.pipe(Layer.provide(racing)))
        const attempted = yield* Deferred.make<void>()
        let tries = 0
        const run = Effect.scoped(
          Effect.ensuring(journal.lock(file), Effect.sync(() => ++tries === 2 && Deferred.unsafeDone(attempted, Exit.void))).pipe(
            // The winner holds the lock until the other has tried.
            Effect.zipRight(Deferred.await(attempted))
          )
        )
        const results = yield* Effect.all([Effect.either(run), Effect.either(run)], { concurrency: 2 })
        const won = results.filter(Either.isRight).length
        assert.strictEqual(won, 1, `round ${round}: ${won} runs took the lock`)
        const lost = results.find(Either.isLeft)!.left
        assert.strictEqual(lost._tag, "JournalLockedError")
        assert.isFalse(Fs.existsSync(`${file}.lock`), "released by the winner")
      }
      Fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.effect("a stale lock whose takeover was left by a run that died taking it over: refused, naming the file to delete", () =>
    Effect.gen(function*() {
      const { dir, file, stale } = staleLock()
      Fs.writeFileSync(`${file}.lock`, stale)
      Fs.writeFileSync(`${file}.lock.takeover`, stale)
      const journal = yield* JobJournal.JobJournal
      const error = yield* Effect.flip(Effect.scoped(journal.lock(file)))
      assert.strictEqual(error._tag, "JournalLockedError")
      assert.include(error.message, `delete ${file}.lock.takeover`)
      assert.strictEqual(Fs.readFileSync(`${file}.lock`, "utf8"), stale, "the stale lock is not touched")
      // Deleted as the message says, the next run takes the stale lock over.
      Fs.rmSync(`${file}.lock.takeover`)
      yield* Effect.scoped(journal.lock(file))
      assert.isFalse(Fs.existsSync(`${file}.lock`))
      assert.isFalse(Fs.existsSync(`${file}.lock.takeover`))
      Fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.provide(fileLayer)))

  /** A lock test in a directory of its own (removed after), with the file journals and the journal path there. */
  const inLockDir = <A, E>(
    test: (paths: { readonly dir: string; readonly file: string }, journal: JobJournal.Service) => Effect.Effect<A, E>
  ) =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* test({ dir, file: Path.join(dir, "job.jsonl") }, yield* JobJournal.JobJournal)
      Fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.provide(fileLayer))

  it.effect("an empty lock (its run died between creating and writing it): refused while fresh, taken over once old", () =>
    inLockDir(({ file }, journal) => Effect.gen(function*() {
      Fs.writeFileSync(`${file}.lock`, "")
      // Fresh, it may be a run about to write its name in it.
      const error = yield* Effect.flip(Effect.scoped(journal.lock(file)))
      assert.strictEqual(error._tag, "JournalLockedError")
      const minuteAgo = new Date(Date.now() - 60_000)
      Fs.utimesSync(`${file}.lock`, minuteAgo, minuteAgo)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* journal.lock(file)
        assert.include(Fs.readFileSync(`${file}.lock`, "utf8"), `"pid":${process.pid}`)
      }))
      assert.isFalse(Fs.existsSync(`${file}.lock`))
    })))

  it.effect("one lock for one file: a run reaching the journal through a link meets the lock of the run holding it", () =>
    inLockDir(({ dir, file }, journal) => Effect.gen(function*() {
      const link = Path.join(dir, "link.jsonl")
      Fs.writeFileSync(file, "")
      Fs.symlinkSync("job.jsonl", link)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* journal.lock(file)
        const error = yield* Effect.flip(Effect.scoped(journal.lock(link)))
        assert.strictEqual(error._tag, "JournalLockedError")
        // It names the lock beside the file itself, the one to delete should its run be gone.
        assert.include(error.message, `delete ${Fs.realpathSync(file)}.lock`)
      }))
      // Released, the link takes it, beside the file itself.
      yield* Effect.scoped(Effect.gen(function*() {
        yield* journal.lock(link)
        assert.isTrue(Fs.existsSync(`${file}.lock`))
        assert.isFalse(Fs.existsSync(`${link}.lock`))
      }))
    })))

  it.effect("a lock another live process holds: JournalLockedError, nothing sent; the lock is left to its holder", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        Fs.writeFileSync(file, (yield* crashedJournal(fake, 3)).bytes)
        // The parent of this process runs as long as it does.
        const lock = JSON.stringify({ pid: process.ppid, since: new Date().toISOString() })
        Fs.writeFileSync(`${file}.lock`, lock)
        const error = yield* refused(fake, file)
        assert.strictEqual(error._tag, "JournalLockedError")
        assert.strictEqual(Fs.readFileSync(`${file}.lock`, "utf8"), lock)
        Fs.rmSync(dir, { recursive: true, force: true })
      })))

  it.effect("a lock left by a killed run whose process id this process now has (a restarted container) is stale", () =>
    // A container's entry process gets the same small pid each time it starts: a lock left by a `kill -9`ed run names
    // this very process, which is running but does not hold it.
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const dir = tempDir()
        const file = Path.join(dir, "job.jsonl")
        const { bytes } = yield* crashedJournal(fake, 3)
        Fs.writeFileSync(file, bytes)
        Fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, since: "2026-01-01T00:00:00.000Z" }))
        const report = yield* StoreJobs.resume(file).pipe(Effect.provide(fileLayer))
        if ("plan" in report) return assert.fail("a job report")
        assertPartition(report, IDS)
        assert.strictEqual(report.summary.unresolved, 0)
        assert.isFalse(Fs.existsSync(`${file}.lock`), "released after the run")
        Fs.rmSync(dir, { recursive: true, force: true })
      })))
})

describe("a journal that stops accepting writes (a full disk)", () => {
  it.effect("after k appends: stoppedBy JOURNAL_FAILED, no call sent without its record, every store once", () =>
    Effect.gen(function*() {
      // How many appends the job makes on a disk with room: the last one (the job's end) may fail without stopping
      // anything, since every outcome is recorded before it.
      const total = yield* withFake(fakeOptions, () =>
        Effect.gen(function*() {
          const roomy = failingAfter(new Map(), Number.POSITIVE_INFINITY)
          yield* disassociate("j").pipe(Effect.provideService(JobJournal.JobJournal, roomy.service))
          return roomy.appends()
        }))
      assert.isAtLeast(total, 5)
      for (const k of new Set([1, 2, 3, Math.floor((total - 2) / 2), total - 2])) {
        yield* withFake(fakeOptions, (fake) =>
          Effect.gen(function*() {
            const files = new Map<string, Uint8Array>()
            const failing = failingAfter(files, k)
            const report = yield* disassociate("j").pipe(Effect.provideService(JobJournal.JobJournal, failing.service))
            assert.isAbove(failing.failures(), 0)
            assertPartition(report, IDS)
            assert.strictEqual(report.stoppedBy?.code, "JOURNAL_FAILED", `k=${k}`)
            // Every call the fake saw has its call record in the journal.
            const recs = records(files.get("j"))
            const calls = new Set(recs.filter((r) => r.t === "call").map((r) => [...r.stores].sort().join()))
            // A store no call record names was never sent: unresolved, whatever else the journal lost.
            const recorded = new Set(recs.filter((r) => r.t === "call").flatMap((r) => r.stores as Array<string>))
            const unresolved = new Set(report.unresolved.map((u) => u.storeId))
            const invalid = new Set(report.failed.filter((f) => f.code === "INVALID_STORE_ID").map((f) => f.storeId))
            for (const id of new Set(IDS)) {
              if (!recorded.has(id) && !invalid.has(id)) assert.isTrue(unresolved.has(id), `k=${k}: ${id}`)
            }
            for (const c of storeCallsFrom(fake, 0)) assert.isTrue(calls.has([...c.stores].sort().join()), `k=${k}`)
            // What the report says succeeded did.
            for (const id of report.succeeded) assert.isFalse(fake.isAssociated(F.stockId, id))
            // The journal, on a disk with room again, finishes the job.
            const resumed = yield* StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files)))
            if ("plan" in resumed) return assert.fail("a job report")
            assertPartition(resumed, IDS)
            assert.isUndefined(resumed.stoppedBy)
            assert.strictEqual(resumed.summary.unresolved, 0)
            for (const id of IDS) if (!id.startsWith("3")) assert.isFalse(fake.isAssociated(F.stockId, id), id)
          }))
      }
    }))

  it.effect("the first append fails: the job fails with JournalIoError before sending any store", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const files = new Map<string, Uint8Array>()
        const error = leftOf(
          yield* Effect.either(disassociate("j").pipe(Effect.provideService(JobJournal.JobJournal, failingAfter(files, 0).service)))
        )
        assert.strictEqual(error._tag, "JournalIoError")
        assert.deepStrictEqual(storeCallsFrom(fake, 0), [])
      })))

  it.effect("a sync whose journal fails: every store of both parts once, no call without its record", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 700, associated: 400 }), keys }, (fake) =>
      Effect.gen(function*() {
        const files = new Map<string, Uint8Array>()
        const desired = range(200, 700)
        const report = yield* StoreJobs.syncStores(desired, { ...stock, ...running, journal: "j" }).pipe(
          Effect.provideService(JobJournal.JobJournal, failingAfter(files, 2).service)
        )
        assertPartition(report.associate!, report.plan.toAssociate)
        assertPartition(report.disassociate!, report.plan.toDisassociate)
        assert.strictEqual(report.associate!.stoppedBy?.code, "JOURNAL_FAILED")
        const calls = new Set(records(files.get("j")).filter((r) => r.t === "call").map((r) => [...r.stores].sort().join()))
        for (const c of storeCallsFrom(fake, 0)) assert.isTrue(calls.has([...c.stores].sort().join()))
        // Nothing of the second part went out: its calls could not be recorded either.
        assert.strictEqual(report.disassociate!.summary.succeeded, 0)
        for (const id of range(0, 200)) assert.isTrue(fake.isAssociated(F.stockId, id), id)
      })))

  it.effect("a sync whose journal fails once in its first part: the job stops there, the second part is not started", () =>
    // Associate first, so that the stock never lacks a desired store while others are taken out: a first part cut
    // short by its journal must not be followed by the removals, even when the next write would go through.
    withFake({ seed: FakeWechatPay.generate({ stores: 700, associated: 400 }), keys }, (fake) =>
      Effect.gen(function*() {
        const files = new Map<string, Uint8Array>()
        const desired = range(200, 700)
        const report = yield* StoreJobs.syncStores(desired, { ...stock, ...running, journal: "j" }).pipe(
          Effect.provideService(JobJournal.JobJournal, failingAfter(files, 2, 1).service)
        )
        assert.strictEqual(report.associate!.stoppedBy?.code, "JOURNAL_FAILED")
        assertPartition(report.disassociate!, report.plan.toDisassociate)
        assert.strictEqual(report.disassociate!.summary.succeeded, 0)
        assert.notInclude(operations(fake), "disassociateStores")
        for (const id of range(0, 200)) assert.isTrue(fake.isAssociated(F.stockId, id), id)
        // The resume finishes both parts.
        const resumed = yield* StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files)))
        if (!("plan" in resumed)) return assert.fail("a sync report")
        assertSameSet(fake.associatedStores(F.stockId), desired)
      })))
})

describe("resume after a crash without a listing to ask", () => {
  it.effect("a bundle job: stores in flight at the crash are sent again, recorded ones never", () =>
    Effect.gen(function*() {
      const bundle = { productCouponId: F.bundleProductCouponId, stockBundleId: F.stockBundleId, brandId: F.brandId }
      const ids = [...range(0, 600), other(0), s(3)]
      const job = (journal: string) => StoreJobs.associateBundleAll(ids, { ...bundle, ...running, journal })
      const options = { seed: FakeWechatPay.generate({ stores: 700 }), keys }
      const total = yield* withFake(options, () =>
        Effect.gen(function*() {
          const crash = yield* crashing(new Map(), Number.POSITIVE_INFINITY)
          yield* job("j").pipe(Effect.provideService(JobJournal.JobJournal, crash.service))
          return crash.writes()
        }))
      let resentInFlight = 0
      for (let n = 1; n < total; n++) {
        yield* withFake(options, (fake) =>
          Effect.gen(function*() {
            const { bytes, files, logAtCrash } = yield* crashedJournal(fake, n, job)
            const before = recorded(records(bytes))
            const inFlight = [...before.called].filter((id) => !before.settled.has(id))
            const report = yield* StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files)))
            if ("plan" in report) return assert.fail("a job report")
            assertPartition(report, ids)
            assert.strictEqual(report.summary.unresolved, 0)
            assert.deepStrictEqual(report.failed.map((f) => f.storeId), [other(0)])
            assert.strictEqual(report.job.stockBundleId, F.stockBundleId)
            assert.strictEqual(report.preflight?.status, "skipped")
            const sent = storeCallsFrom(fake, logAtCrash).flatMap((c) => c.stores)
            for (const id of inFlight) assert.include(sent, id, `n=${n}`)
            for (const id of sent) assert.isFalse(before.settled.has(id), `n=${n}: ${id}`)
            assert.notInclude(operations(fake).slice(logAtCrash), "listAssociatedStores")
            resentInFlight += inFlight.length
            for (const stockId of fake.bundleStockIds(F.stockBundleId)) {
              for (const id of range(0, 600)) assert.isTrue(fake.isAssociated(stockId, id), `${stockId} ${id}`)
            }
          }))
      }
      assert.isAbove(resentInFlight, 0, "some crash left calls in flight")
    }))

  // An abort (abortWhen) interrupts the calls in flight and records their stores as unresolved, "aborted while in
  // flight": the same unknown as a crash's in-flight calls, so a resume must settle them the same way.
  for (const kind of ["bundle", "stock with verify: false", "stock"] as const) {
    it.effect(`${kind}: an aborted job's in-flight stores are settled by its resume, like a crash's`, () =>
      // The first store call answers; the second is applied by the fake but answered only in 30 s (the Clock stands still).
      withFake({ seed: FakeWechatPay.generate({ stores: 700, associated: 0 }), keys, faults: { script: kind === "bundle" ? ["none", "slow"] : ["none", "none", "slow"] } }, (fake) =>
        Effect.gen(function*() {
          const bundle = { productCouponId: F.bundleProductCouponId, stockBundleId: F.stockBundleId, brandId: F.brandId }
          const ids = range(100, 600)
          const abort = yield* Deferred.make<void>()
          const options = { ...running, journal: "j", abortWhen: Deferred.await(abort) }
          const fiber = yield* Effect.fork(
            kind === "bundle"
              ? StoreJobs.associateBundleAll(ids, { ...bundle, ...options })
              : StoreJobs.associateAll(ids, { ...stock, ...options, verify: kind === "stock" })
          )
          while (!fake.log.some((e) => e.fault === "slow")) yield* Effect.yieldNow()
          yield* Deferred.succeed(abort, undefined)
          const aborted = yield* Fiber.join(fiber)
          assert.strictEqual(aborted.stoppedBy?.code, "ABORTED")
          const inFlight = aborted.unresolved.filter((u) => u.reason === BulkStores.ABORTED_IN_FLIGHT).map((u) => u.storeId)
          assert.isAbove(inFlight.length, 0)
          const logged = fake.log.length
          const resumed = yield* StoreJobs.resume("j")
          if ("plan" in resumed) return assert.fail("a job report")
          assertPartition(resumed, ids)
          assert.strictEqual(resumed.summary.unresolved, 0, JSON.stringify(resumed.unresolved.slice(0, 2)))
          assert.strictEqual(resumed.summary.succeeded, 500)
          const sent = storeCallsFrom(fake, logged).flatMap((c) => c.stores)
          if (kind === "stock") {
            // The listing shows the applied call's stores: settled, not sent.
            for (const id of inFlight) assert.notInclude(sent, id)
          } else {
            for (const id of inFlight) assert.include(sent, id)
          }
          for (const id of aborted.succeeded) assert.notInclude(sent, id)
          const stocks = kind === "bundle" ? fake.bundleStockIds(F.stockBundleId) : [F.stockId]
          for (const stockId of stocks) for (const id of ids) assert.isTrue(fake.isAssociated(stockId, id), `${stockId} ${id}`)
        }).pipe(Effect.provide(JobJournal.layerMemory()))))
  }

  it.effect("a stock job with verify: false (and no snapshot): in-flight stores are sent again, the listing is never walked", () =>
    Effect.gen(function*() {
      const job = (journal: string) => disassociate(journal, IDS, { verify: false, snapshot: false })
      let resentInFlight = 0
      for (const n of [2, 3, 4, 5, 6]) {
        yield* withFake(fakeOptions, (fake) =>
          Effect.gen(function*() {
            const { bytes, files, logAtCrash } = yield* crashedJournal(fake, n, job)
            const header = records(bytes)[0]!
            assert.strictEqual(header.options.verify, false)
            const before = recorded(records(bytes))
            const inFlight = [...before.called].filter((id) => !before.settled.has(id))
            const report = yield* StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files)))
            if ("plan" in report) return assert.fail("a job report")
            assertPartition(report, IDS)
            assert.strictEqual(report.summary.unresolved, 0)
            assert.strictEqual(report.verification?.status, "off")
            assert.notInclude(operations(fake), "listAssociatedStores")
            const sent = storeCallsFrom(fake, logAtCrash).flatMap((c) => c.stores)
            for (const id of inFlight) assert.include(sent, id, `n=${n}`)
            for (const id of sent) assert.isFalse(before.settled.has(id), `n=${n}: ${id}`)
            resentInFlight += inFlight.length
            assertSameSet(fake.associatedStores(F.stockId), range(600, 700))
          }))
      }
      assert.isAbove(resentInFlight, 0, "some crash left calls in flight")
    }))
})

describe("a journal whose opening write is cut short (a full disk)", () => {
  // The file system's real `open`, but each file takes only the first half of its first write, then fails as a
  // full disk does: the job fails before anything is sent, and leaves no journal of a job that never started in
  // the way of the same job run again.
  const fullDisk = Layer.effect(
    FileSystem.FileSystem,
    Effect.map(FileSystem.FileSystem, (fs): FileSystem.FileSystem => ({
      ...fs,
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file) =>
          Object.assign(Object.create(file) as FileSystem.File, {
            writeAll: (bytes: Uint8Array) =>
              Effect.zipRight(
                file.writeAll(bytes.subarray(0, bytes.length >> 1)),
                Effect.fail(
                  new PlatformError.SystemError({
                    reason: "Unknown",
                    module: "FileSystem",
                    method: "writeAll",
                    description: "ENOSPC: no space left on device"
                  })
                )
              )
          }))
    }))
  ).pipe(Layer.provide(NodeFileSystem.layer))

  for (const [name, layer] of [["layerFile", JobJournal.layerFile], ["layerNodeFile", JobJournal.layerNodeFile]] as const) {
    it.effect(`${name}: the job fails with the write's error, nothing sent, the partial file removed; run again, it starts`, () =>
      withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, (fake) =>
        Effect.gen(function*() {
          const dir = tempDir()
          const journal = Path.join(dir, "job.jsonl")
          const ids = range(0, 5)
          const failed = yield* Effect.flip(
            StoreJobs.disassociateAll(ids, { ...stock, journal }).pipe(Effect.provide(layer.pipe(Layer.provide(fullDisk))))
          )
          assert.strictEqual(failed._tag, "JournalIoError")
          assert.include(failed.message, "ENOSPC")
          assert.isFalse(Fs.existsSync(journal), "the cut-short journal is gone")
          // The stock check alone: no store was sent.
          assert.deepStrictEqual(operations(fake), ["getStock"])
          const report = yield* StoreJobs.disassociateAll(ids, { ...stock, journal }).pipe(
            Effect.provide(layer.pipe(Layer.provide(NodeFileSystem.layer)))
          )
          assert.strictEqual(report.summary.succeeded, 5)
          Fs.rmSync(dir, { recursive: true, force: true })
        })))
  }
})
