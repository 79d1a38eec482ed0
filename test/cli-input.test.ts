// The `--stores` input of `wechatpay-stores disassociate`: a pipe, a FIFO, standard input or a
// device is read exactly once (every id sent once, the exit code right); an empty input is refused
// unless --allow-empty; lines and ids are bounded, bytes are strict UTF-8 and a UTF-16 file is
// refused, each with one line naming the line; and the first Ctrl-C ends the reading at once.
// In-process through `run(argv, io)`, and as the real process against an in-process loopback sandbox.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as NodeFs from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Os from "node:os"
import { Readable } from "node:stream"
import * as StoreFile from "../packages/wechatpay-stores/src/StoreFile.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const s = FakeWechatPay.storeId
const { capture, job, readReport } = Cli

/** A fresh loopback sandbox (1,000 stores unless told), its WECHATPAY_* settings, and a temporary directory. */
const setup = (stores = 1_000) => Cli.sandbox("wechatpay-input-test-", { seed: FakeWechatPay.generate({ stores }) })

/** The calls that carry stores (not the preflight's stock query, nor a listing page). */
const storeCalls = (fake: FakeWechatPay.Service) =>
  fake.log.filter((e) => e.operation === "disassociateStores" || e.operation === "associateStores")

/** Every store id the sandbox was sent, in order, duplicates kept. */
const sent = (fake: FakeWechatPay.Service): Array<string> =>
  storeCalls(fake).flatMap((e) => (JSON.parse(e.bodyText) as { store_list: Array<{ store_id: string }> }).store_list.map((x) => x.store_id))

/** What the sandbox was asked, in order. */
const operations = (fake: FakeWechatPay.Service) => fake.log.map((e) => e.operation)

/** Each id sent exactly once, whatever order concurrent calls reached the sandbox in. */
const assertSentOnce = (fake: FakeWechatPay.Service, ids: ReadonlyArray<string>) =>
  assert.deepStrictEqual([...sent(fake)].sort(), [...ids].sort())

/** Exactly one line on stderr, naming `mentions`, with no stack trace or RangeError. */
const assertOneLine = (err: string, mentions: string | RegExp) => {
  const lines = err.split("\n").filter((l) => l !== "")
  assert.strictEqual(lines.length, 1, err)
  if (typeof mentions === "string") assert.include(lines[0], mentions)
  else assert.match(lines[0]!, mentions)
  assert.notMatch(err, /\n\s+at |RangeError|TypeError/)
}

/** The job's effect, timed. */
const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const value = yield* self
    return { value, millis: Date.now() - start }
  })

describe("--stores from a pipe, a FIFO or standard input: read once, every id sent once", () => {
  const ids = Array.from({ length: 450 }, (_, i) => s(i))

  it.scopedLive("- (standard input): 450 ids, three calls, each id once, exit 0, the spool removed", () =>
    Effect.gen(function*() {
      const { fake, dir, cli } = yield* setup()
      const tmp = Path.join(dir, "tmp")
      yield* Effect.promise(() => Fs.mkdir(tmp))
      const previous = process.env["TMPDIR"]
      yield* Effect.acquireRelease(
        Effect.sync(() => void (process.env["TMPDIR"] = tmp)),
        () => Effect.sync(() => previous === undefined ? delete process.env["TMPDIR"] : void (process.env["TMPDIR"] = previous))
      )
      // Looks at the spool while the input is still being read: private to the user.
      const modes: Array<number> = []
      async function* input() {
        yield ids.slice(0, 200).join("\n") + "\n"
        const spools = (await Fs.readdir(tmp)).filter((n) => n.startsWith("wechatpay-stores-"))
        for (const d of spools) {
          modes.push((await Fs.stat(Path.join(tmp, d))).mode & 0o777, (await Fs.stat(Path.join(tmp, d, "stores"))).mode & 0o777)
        }
        yield ids.slice(200).join("\n") + "\n"
      }
      const report = Path.join(dir, "report.json")
      const c = capture({ stdin: Readable.from(input()) })
      assert.strictEqual(yield* cli([...job, "--stores", "-", "--report", report], c), 0, c.err())
      assertSentOnce(fake, ids)
      // The preflight's stock query (on by default), then the three calls.
      assert.deepStrictEqual(operations(fake), ["getStock", "disassociateStores", "disassociateStores", "disassociateStores"])
      assert.deepStrictEqual((yield* readReport(report)).succeeded, ids)
      assert.deepStrictEqual(modes, [0o700, 0o600])
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(tmp)), [])
    }))

  it.scopedLive("a FIFO with a writer that writes, then closes: every id once, exit 0", () =>
    Effect.gen(function*() {
      const { fake, dir, fifo, cli } = yield* setup()
      const path = yield* fifo("stores.fifo")
      // The writer's open() waits for the reader; then it writes and closes: a pipe that ends.
      const writer = Fs.writeFile(path, `store_id\n${ids.join("\n")}\n`)
      const report = Path.join(dir, "report.json")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", path, "--report", report], c), 0, c.err())
      yield* Effect.promise(() => writer)
      assertSentOnce(fake, ids)
      const r = yield* readReport(report)
      assert.include(r.summary, { input: 450, unique: 450, succeeded: 450 })
    }), 30_000)

  it.scopedLive("a FIFO that no one writes: the first stop (io.stop) ends the command at once, exit 130, nothing sent", () =>
    Effect.gen(function*() {
      const { fake, fifo, cli } = yield* setup()
      const path = yield* fifo("nobody.fifo")
      const c = capture({ stop: Effect.sleep("200 millis") })
      const { value: code, millis } = yield* timed(cli([...job, "--stores", path], c))
      assert.strictEqual(code, 130)
      assert.isBelow(millis, 3_000)
      assertOneLine(c.err(), "stopped while reading the store ids; nothing was sent")
      assert.strictEqual(fake.log.length, 0)
    }), 30_000)

  it.scopedLive("an endless standard input (yes 100000001): the first stop ends the reading at once, exit 130, nothing sent", () =>
    Effect.gen(function*() {
      const { fake, cli } = yield* setup()
      const line = `${s(1)}\n`.repeat(4096)
      const endless = new Readable({ read() { this.push(line) } })
      const c = capture({ stdin: endless, stop: Effect.sleep("200 millis") })
      const { value: code, millis } = yield* timed(cli([...job, "--stores", "-"], c))
      assert.strictEqual(code, 130)
      assert.isBelow(millis, 3_000)
      assertOneLine(c.err(), "stopped while reading the store ids; nothing was sent")
      assert.strictEqual(fake.log.length, 0)
    }), 30_000)

  it.scopedLive("/dev/urandom with a stop after 200 ms: returns promptly, nothing sent", () =>
    Effect.gen(function*() {
      const { fake, cli } = yield* setup()
      const c = capture({ stop: Effect.sleep("200 millis") })
      const { value: code, millis } = yield* timed(cli([...job, "--stores", "/dev/urandom"], c))
      // Random bytes are not UTF-8, which ends it before the stop does; either way, at once.
      assert.include([1, 130], code)
      assert.isBelow(millis, 3_000)
      assertOneLine(c.err(), "/dev/urandom")
      assert.strictEqual(fake.log.length, 0)
    }), 30_000)
})

describe("an empty input", () => {
  for (const [name, content] of [["an empty file", ""], ["blank lines only", "\n  \r\n\n"], ["a CSV header only", "store_id\n"], ["an empty JSON array", "[]"]] as const) {
    it.scopedLive(`${name}: exit 1 with one line, nothing sent`, () =>
      Effect.gen(function*() {
        const { fake, file, cli } = yield* setup(10)
        const path = yield* file("stores.txt", content)
        const c = capture()
        assert.strictEqual(yield* cli([...job, "--stores", path], c), 1)
        assertOneLine(c.err(), `${path}: no store ids in the input; pass --allow-empty`)
        assert.strictEqual(c.out(), "")
        assert.strictEqual(fake.log.length, 0)
      }))
  }

  it.scopedLive("empty standard input and an empty --dry-run are refused too", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(10)
      const c = capture({ stdin: Readable.from([]) })
      assert.strictEqual(yield* cli([...job, "--stores", "-"], c), 1)
      assertOneLine(c.err(), "<stdin>: no store ids in the input")
      const d = capture()
      assert.strictEqual(yield* cli([...job, "--stores", yield* file("empty.txt", ""), "--dry-run"], d), 1)
      assertOneLine(d.err(), "no store ids in the input")
      assert.strictEqual(fake.log.length, 0)
    }))

  it.scopedLive("--allow-empty: an ordinary job of zero stores: a notice, the summary, an empty report, exit 0", () =>
    Effect.gen(function*() {
      const { fake, dir, file, cli } = yield* setup(10)
      const path = yield* file("stores.txt", "")
      const report = Path.join(dir, "report.json")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", path, "--report", report, "--allow-empty"], c), 0, c.err())
      assert.strictEqual(c.err(), "")
      assert.include(c.out(), `no store ids in ${path}; nothing to send (--allow-empty)`)
      assert.match(c.out(), /\| input ids\s+\|\s+0 \|/)
      const r = yield* readReport(report)
      assert.include(r.summary, { input: 0, unique: 0, succeeded: 0, failed: 0, unresolved: 0, chunks: 0 })
      assert.deepStrictEqual([r.succeeded, r.failed, r.unresolved], [[], [], []])
      // No store is sent; the stock is still checked, as for any job (the preflight is on by default).
      assert.deepStrictEqual(operations(fake), ["getStock"])
      const d = capture()
      assert.strictEqual(yield* cli([...job, "--stores", path, "--dry-run", "--allow-empty"], d), 0, d.err())
      assert.include(d.out(), "dry run: 0 ids")
    }))
})

describe("bounded, strict input: one line naming the line, nothing sent", () => {
  const utf8 = (text: string) => new TextEncoder().encode(text)
  const concat = (...parts: ReadonlyArray<Uint8Array>) => Buffer.concat(parts)
  const cases: ReadonlyArray<[string, () => Uint8Array, string | RegExp]> = [
    ["a line over 64 KiB (line 3)", () => utf8(`${s(0)}\n${s(1)}\n${"9".repeat(70_000)}\n${s(2)}\n`), /:3: line longer than 64 KiB/],
    ["a line over 64 KiB with no line break at all", () => utf8("x".repeat(5 * 1024 * 1024)), /:1: line longer than 64 KiB/],
    ["a CSV record over 64 KiB (an unterminated quote on line 2)", () => utf8(`store_id\n"${s(0)}\n${`${s(1)}\n`.repeat(10_000)}`), /:2: CSV record longer than 64 KiB/],
    ["a store id over 256 characters (line 2)", () => utf8(`${s(0)}\n${"7".repeat(300)}\n`), /:2: a store id of 300 characters; store ids are at most 256/],
    ["a JSON element over 256 characters", () => utf8(JSON.stringify([s(0), "7".repeat(300)])), /element 1: a store id of 300 characters/],
    ["invalid UTF-8 on line 4", () => concat(utf8(`${s(0)}\n${s(1)}\n${s(2)}\n10000`), Uint8Array.of(0xff, 0xfe), utf8(`3\n${s(4)}\n`)), /:4: not valid UTF-8/],
    ["a GBK-encoded CSV (invalid UTF-8 on line 2)", () => concat(utf8("store_id,name\n"), utf8(`${s(0)},`), Uint8Array.of(0xc9, 0xee, 0xdb, 0xda), utf8("\n")), /:2: not valid UTF-8/],
    ["a surrogate encoded in UTF-8 (CESU) on line 1", () => concat(Uint8Array.of(0xed, 0xa0, 0x80), utf8(`\n${s(0)}\n`)), /:1: not valid UTF-8/],
    ["a UTF-16 LE file (BOM)", () => concat(Uint8Array.of(0xff, 0xfe), Buffer.from(`${s(0)}\n${s(1)}\n`, "utf16le")), "is UTF-16"],
    ["a UTF-16 BE file (BOM)", () => concat(Uint8Array.of(0xfe, 0xff), Buffer.from(`${s(0)}\n${s(1)}\n`, "utf16le").swap16()), "is UTF-16"],
    ["a UTF-16 LE file without a BOM (NUL bytes)", () => Buffer.from(`${s(0)}\n${s(1)}\n`, "utf16le"), /:1: contains a NUL byte/]
  ]
  for (const [name, content, mentions] of cases) {
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const { fake, file, cli } = yield* setup(10)
        const path = yield* file("stores.in", content())
        const c = capture()
        assert.strictEqual(yield* cli([...job, "--stores", path], c), 1)
        assertOneLine(c.err(), mentions)
        assert.include(c.err(), path)
        assert.strictEqual(fake.log.length, 0)
      }))
  }

  it.scopedLive("the UTF-16 message says how to convert", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup(10)
      const path = yield* file("stores.in", Buffer.concat([Uint8Array.of(0xff, 0xfe), Buffer.from(`${s(0)}\n`, "utf16le")]))
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", path], c), 1)
      assert.include(c.err(), "convert it: iconv -f UTF-16 -t UTF-8 FILE")
    }))

  for (const device of ["/dev/zero", "/dev/urandom"]) {
    it.scopedLive(`${device}: a bounded read, one line naming line 1, promptly`, () =>
      Effect.gen(function*() {
        const { fake, cli } = yield* setup(10)
        const c = capture()
        const { value: code, millis } = yield* timed(cli([...job, "--stores", device], c))
        assert.strictEqual(code, 1)
        assert.isBelow(millis, 3_000)
        // Zeros are NUL bytes on line 1; random bytes are not UTF-8 within a line or two.
        assertOneLine(c.err(), new RegExp(`^wechatpay-stores: ${device}:\\d+: `))
        assert.strictEqual(fake.log.length, 0)
      }), 30_000)
  }

  it.effect("a 600 MiB line is refused after its first 64 KiB: no string is built", () =>
    Effect.gen(function*() {
      // A stream that would be 600 MiB; it is asked for only the first reads.
      let given = 0
      const huge = new Readable({
        read() {
          given += 1 << 20
          this.push(given > 600 * (1 << 20) ? null : Buffer.alloc(1 << 20, 0x39))
        }
      })
      const ids = yield* StoreFile.open("-", huge, { rereadable: false }).pipe(
        Effect.flatMap((input) => Effect.flip(Stream.runDrain(input.ids))),
        Effect.scoped
      )
      assert.strictEqual(ids.message, "<stdin>:1: line longer than 64 KiB: not a list of store ids (one a line, a CSV with a store_id column, or JSON)")
      assert.isBelow(given, 8 << 20)
    }))
})

describe("a one-pass input read twice is copied to a spool, which is bounded", () => {
  it.scoped("an endless producer on standard input: refused once past the bound, not read further, the spool removed", () =>
    Effect.gen(function*() {
      const tmp = Os.tmpdir()
      const spools = () => NodeFs.readdirSync(tmp).filter((n) => n.startsWith("wechatpay-stores-"))
      const before = spools()
      let given = 0
      const endless = new Readable({
        read() {
          given += 1
          this.push(Array.from({ length: 1_000 }, (_, i) => String(100_000_000 + i)).join("\n") + "\n")
        }
      })
      const error = yield* StoreFile.open("-", endless, { rereadable: true, maxSpoolBytes: 256 * 1024 }).pipe(
        Effect.flatMap((input) => Effect.flip(Stream.runDrain(input.ids))),
        Effect.scoped
      )
      assert.strictEqual(error._tag, "StoreFileError")
      assert.strictEqual(
        error.message,
        `<stdin>: is over 262,144 bytes, the most a pipe or device is copied to ${tmp} to be read again; it was not read ` +
          "further: give the list as a file (read in place), or split it"
      )
      // 10 KB a push: the read stopped within a few pushes of the bound.
      assert.isBelow(given, 40)
      assert.deepStrictEqual(spools().filter((n) => !before.includes(n)), [], "the spool is removed")
    }))

  it.scoped("an input within the bound is read twice through its spool", () =>
    Effect.gen(function*() {
      const ids = Array.from({ length: 2_000 }, (_, i) => String(100_000_000 + i))
      const counts = yield* Effect.scoped(Effect.flatMap(
        StoreFile.open("-", Readable.from([ids.join("\n")]), { rereadable: true, maxSpoolBytes: 64 * 1024 }),
        (input) => Effect.all([Stream.runCount(input.ids), Stream.runCount(input.ids)])
      ))
      assert.deepStrictEqual(counts, [2_000, 2_000])
    }))
})

describe("what already worked keeps working, across read boundaries", () => {
  it.scopedLive("a multi-byte id and a CRLF split across the 64 KiB reads; a BOM; CRLF; blank lines", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(10)
      // Blank lines of 1,000 bytes, then spaces, so that "门店" (3 bytes a character) straddles byte
      // 65,536, where the first read ends, and, in a second file, a CR ends that read and its LF starts the next.
      const pad = (bytes: number) => `${" ".repeat(999)}\n`.repeat(Math.floor(bytes / 1_000)) + " ".repeat(bytes % 1_000)
      const a = yield* file("a.txt", `\uFEFF${pad(65_535 - 3)}门店${s(0)}\r\n${s(1)}\r\n`)
      const b = yield* file("b.txt", `${pad(65_535 - s(0).length)}${s(0)}\r\n\r\n${s(1)}\r\n`)
      assert.deepStrictEqual([...NodeFs.readFileSync(a).subarray(65_535, 65_538)], [...new TextEncoder().encode("门")])
      assert.deepStrictEqual([...NodeFs.readFileSync(b).subarray(65_535, 65_537)], [0x0d, 0x0a])
      const c1 = capture()
      assert.strictEqual(yield* cli([...job, "--stores", a, "--dry-run"], c1), 0, c1.err())
      assert.include(c1.out(), "dry run: 2 ids, 2 unique, 0 duplicates, 0 invalid")
      const c2 = capture()
      assert.strictEqual(yield* cli([...job, "--stores", b], c2), 0, c2.err())
      assert.deepStrictEqual(sent(fake), [s(0), s(1)])
      const ids = yield* Effect.scoped(Effect.flatMap(StoreFile.open(a, undefined, { rereadable: false }), (input) => Stream.runCollect(input.ids)))
      assert.deepStrictEqual([...ids], [`门店${s(0)}`, s(1)])
    }))

  it.scoped("1,000,000 ids from a regular file, read twice from one descriptor", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-test-")
      const path = Path.join(dir, "million.txt")
      yield* Effect.promise(() => Fs.writeFile(path, Array.from({ length: 1_000_000 }, (_, i) => String(100_000_000 + i)).join("\n")))
      const counts = yield* Effect.scoped(Effect.flatMap(
        StoreFile.open(path, undefined, { rereadable: true }),
        (input) => Effect.all([Stream.runCount(input.ids), Stream.runCount(input.ids)])
      ))
      assert.deepStrictEqual(counts, [1_000_000, 1_000_000])
    }), 60_000)
})

describe("a report fed back as --stores, and file errors, through the CLI (#13)", () => {
  it.scopedLive("a job's report as the next job's input: its failed and unresolved stores, nothing else", () =>
    Effect.gen(function*() {
      const { fake, dir, file, cli } = yield* setup(10)
      // A first job: five stores succeed and one id is invalid, so it fails.
      const first = Path.join(dir, "first.json")
      const c1 = capture()
      const stores = yield* file("stores.txt", [s(0), s(1), s(2), s(3), s(4), "bad\u0001id"].join("\n"))
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", first], c1), 2, c1.err())
      assert.deepStrictEqual((yield* readReport(first)).failed.map((f) => f.storeId), ["bad\u0001id"])
      const d = capture()
      // Its one store is invalid: the job would fail it, so the dry run exits 2 as the job would.
      assert.strictEqual(yield* cli([...job, "--stores", first, "--dry-run"], d), 2, d.err())
      assert.match(d.out(), /dry run: 1 ids?, 1 unique, 0 duplicates?, 1 invalid/)
      // A report whose job was stopped: its unresolved stores are sent, its succeeded ones are not.
      const stopped = yield* file("stopped.json", JSON.stringify({
        ...(yield* readReport(first)),
        succeeded: [s(0), s(1)],
        failed: [],
        unresolved: [{ storeId: s(5), reason: "not sent: the job was stopped before this call" }, { storeId: s(6), reason: "not sent" }]
      }))
      const again = Path.join(dir, "again.json")
      const c2 = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stopped, "--report", again], c2), 0, c2.err())
      assert.deepStrictEqual(sent(fake).slice(-2), [s(5), s(6)])
      // Each job: the stock query (the preflight), then its one call.
      assert.deepStrictEqual(operations(fake), ["getStock", "disassociateStores", "getStock", "disassociateStores"])
      assert.deepStrictEqual((yield* readReport(again)).succeeded, [s(5), s(6)])
    }))

  it.scopedLive("--select chooses a report's lists, and the input's notes say what was taken and what left out", () =>
    Effect.gen(function*() {
      const { fake, dir, file, cli } = yield* setup(10)
      const first = Path.join(dir, "first.json")
      const stores = yield* file("stores.txt", [s(0), s(1), s(2), "bad\u0001id"].join("\n"))
      const c1 = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", first], c1), 2, c1.err())
      const sentBefore = fake.log.length
      // The succeeded list, on purpose (e.g. to undo a job): three ids, and the note names what was left out.
      const d = capture()
      assert.strictEqual(yield* cli([...job, "--stores", first, "--select", "succeeded", "--dry-run"], d), 0, d.err())
      assert.match(d.out(), /dry run: 3 ids, 3 unique/)
      assert.include(d.out(), `${first}: taken from the report: 3 succeeded (3 stores); left out: 1 failed (--select chooses the lists)`)
      // The JSON plan carries the same notes for a script.
      const j = capture()
      // (Its one failed store is the invalid id: the job would fail it again, so exit 2.)
      assert.strictEqual(yield* cli([...job, "--stores", first, "--select", "failed,unresolved", "--dry-run", "--json"], j), 2, j.err())
      const plan = JSON.parse(j.out()).dryRun
      assert.strictEqual(plan.input, 1)
      assert.deepStrictEqual(plan.notes.report, { selected: ["failed", "unresolved"], lists: { succeeded: 3, failed: 1, unresolved: 0 } })
      // A list that does not exist, or --select on input that is not a report: one line, nothing sent.
      const bad = capture()
      assert.strictEqual(yield* cli([...job, "--stores", first, "--select", "failed,skipped"], bad), 1)
      // A usage error: its line, then the command's usage.
      assert.match(bad.err().split("\n")[0]!, /^wechatpay-stores: --select takes failed, unresolved, succeeded \(comma-separated\), got .skipped.$/)
      const notReport = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--select", "failed"], notReport), 1)
      assertOneLine(notReport.err(), "--select")
      assert.strictEqual(fake.log.length, sentBefore)
    }))

  it.scopedLive("skipped and trimmed CSV rows are counted aloud before the job, not dropped silently", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup(10)
      const csv = yield* file("stores.csv", ["store_id,name", `${s(0)},a`, ",no id", `  ${s(1)}  ,b`, "", ` ,spaces`, `${s(2)},c`].join("\n"))
      const d = capture()
      assert.strictEqual(yield* cli([...job, "--stores", csv, "--dry-run"], d), 0, d.err())
      assert.match(d.out(), /dry run: 3 ids, 3 unique/)
      assert.include(d.out(), `${csv}: 2 rows with an empty store_id skipped (first: line 3)`)
      assert.include(d.out(), `${csv}: 1 blank row skipped (line 5)`, d.out())
      assert.include(d.out(), `${csv}: 1 id with surrounding spaces trimmed (line 4)`)
      // The real job prints them too (and sends the three ids).
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", csv], c), 0, c.err())
      assert.include(c.out(), `${csv}: 2 rows with an empty store_id skipped (first: line 3)`)
    }))

  it.scopedLive("a missing file, a directory and a path through a file: one line saying what happened and what to do", () =>
    Effect.gen(function*() {
      const { fake, dir, file, cli } = yield* setup(10)
      const txt = yield* file("stores.txt", s(0))
      for (const [path, reason] of [
        [Path.join(dir, "nope.txt"), "no such file; check the path (ENOENT)"],
        [dir, "is a directory, not a file; give the path of the file of store ids inside it"],
        [Path.join(txt, "x"), "a part of the path is a file, not a directory; check the path (ENOTDIR)"]
      ] as const) {
        const c = capture()
        assert.strictEqual(yield* cli([...job, "--stores", path], c), 1)
        assertOneLine(c.err(), `${path}: ${reason}`)
        assert.notInclude(c.err(), "cannot read: E")
      }
      assert.strictEqual(fake.log.length, 0)
    }))
})

// The real process: a second process reads its input from a pipe, a FIFO or a process substitution
// and runs against the sandbox in this one through the WECHATPAY_* variables.
describe("the wechatpay-stores binary reads a pipe once", () => {
  /** The spool directories in the child's TMPDIR (tsx keeps its cache there too). */
  const spools = (tmp: string) => NodeFs.readdirSync(tmp).filter((n) => n.startsWith("wechatpay-stores-"))
  /** The child has opened its input and created its spool: it is reading. */
  const spooling = (tmp: string) => () => spools(tmp).length > 0

  const binarySetup = Effect.gen(function*() {
    const { fake, dir, fifo, file, env } = yield* setup()
    const tmp = Path.join(dir, "tmp")
    yield* Effect.promise(() => Fs.mkdir(tmp))
    // The environment without the developer's WECHATPAY_*, plus the sandbox's and a private TMPDIR.
    return { fake, dir, fifo, file, tmp, env: { ...Cli.cleanEnv(), ...env, TMPDIR: tmp } }
  })

  const ids = Array.from({ length: 450 }, (_, i) => s(i))
  const node = (args: ReadonlyArray<string>) => Cli.nodeArgs([...job, ...args])
  const spawn = (args: ReadonlyArray<string>, env: Record<string, string>, stdin?: "pipe") =>
    Cli.spawn(process.execPath, node(args), stdin === undefined ? { env } : { env, stdin })
  const { exitWithin, waitUntil } = Cli

  /** `bash -c`: the CLI replaces the shell (`exec`), so a signal sent to the child reaches it. */
  const shell = (script: string, env: Record<string, string>) => Cli.spawn("bash", ["-c", script, process.execPath, ...node([])], { env })

  it.scopedLive("printf ids | wechatpay-stores … --stores /dev/stdin: every id once, the report counts them, exit 0", () =>
    Effect.gen(function*() {
      const { fake, dir, file, tmp, env } = yield* binarySetup
      const report = Path.join(dir, "report.json")
      const path = yield* file("ids.txt", ids.join("\n") + "\n")
      const p = yield* shell(`printf '%s' "$(cat "$STORES_FILE")" | exec "$0" "$@" --stores /dev/stdin --report "$REPORT"`, { ...env, STORES_FILE: path, REPORT: report })
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 0, p.stderr())
      assertSentOnce(fake, ids)
      assert.include((yield* readReport(report)).summary, { input: 450, unique: 450, succeeded: 450 })
      assert.deepStrictEqual(spools(tmp), [], "the spool is removed")
    }), 60_000)

  it.scopedLive("standard input a socket (how node spawns a child's \"pipe\"), as /dev/stdin and as -: every id once, exit 0", () =>
    Effect.gen(function*() {
      const { fake, env } = yield* binarySetup
      for (const [round, stores] of [[0, "/dev/stdin"], [1, "-"]] as const) {
        const mine = ids.slice(round * 200, round * 200 + 200)
        const p = yield* spawn(["--stores", stores], env, "pipe")
        p.child.stdin!.end(mine.join("\n") + "\n")
        const exit = yield* exitWithin(p, 50)
        assert.strictEqual(exit.code, 0, p.stderr())
        assert.deepStrictEqual(sent(fake).slice(round * 200), mine)
      }
    }), 60_000)

  it.scopedLive("--stores - < ids.txt with --report ids.txt: refused, the input kept; /dev/stdin closed (<&-) is refused as - is", () =>
    Effect.gen(function*() {
      const { fake, file, env } = yield* binarySetup
      const path = yield* file("ids.txt", ids.join("\n") + "\n")
      const p = yield* shell(`exec "$0" "$@" --stores - --report "$STORES_FILE" < "$STORES_FILE"`, { ...env, STORES_FILE: path })
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 1, p.stderr())
      assert.include(p.stderr(), "is the job's input (--stores -, redirected from that file): the report would replace it")
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(path, "utf8")), ids.join("\n") + "\n")
      const closed = yield* shell(`exec "$0" "$@" --stores /dev/stdin --allow-empty --no-journal <&-`, env)
      const closedExit = yield* exitWithin(closed, 50)
      assert.strictEqual(closedExit.code, 1, closed.stderr())
      assert.include(closed.stderr(), "standard input is closed")
      assert.strictEqual(fake.log.length, 0)
    }), 60_000)

  it.scopedLive("--stores <(cat ids) (process substitution): every id once, exit 0", () =>
    Effect.gen(function*() {
      const { fake, file, env } = yield* binarySetup
      const path = yield* file("ids.txt", ids.join("\n"))
      const p = yield* shell(`exec "$0" "$@" --stores <(cat "$STORES_FILE")`, { ...env, STORES_FILE: path })
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 0, p.stderr())
      assertSentOnce(fake, ids)
      assert.match(p.stdout(), /\| input ids\s+\|\s+450 \|/)
    }), 60_000)

  it.scopedLive("a FIFO whose writer writes, then closes: every id once, exit 0", () =>
    Effect.gen(function*() {
      const { fake, fifo, env } = yield* binarySetup
      const path = yield* fifo("stores.fifo")
      const p = yield* spawn(["--stores", path], env)
      yield* Effect.promise(() => Fs.writeFile(path, ids.join("\n") + "\n"))
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 0, p.stderr())
      assertSentOnce(fake, ids)
    }), 60_000)

  it.scopedLive("a FIFO with no writer at all, then SIGTERM: the process exits promptly (130), nothing sent", () =>
    Effect.gen(function*() {
      const { fake, fifo, tmp, env } = yield* binarySetup
      const path = yield* fifo("nobody.fifo")
      const p = yield* spawn(["--stores", path], env)
      yield* waitUntil(p, spooling(tmp), "the child did not start reading")
      const at = Date.now()
      p.child.kill("SIGTERM")
      const exit = yield* exitWithin(p, 5)
      assert.isBelow(Date.now() - at, 3_000)
      assert.strictEqual(exit.code, 130, p.stderr())
      assert.include(p.stderr(), "wechatpay-stores: stopped while reading the store ids; nothing was sent")
      assert.notMatch(p.stderr(), /\n\s+at /)
      assert.strictEqual(fake.log.length, 0)
      assert.deepStrictEqual(spools(tmp), [], "the spool is removed")
    }), 60_000)

  it.scopedLive("yes 100000001 | wechatpay-stores … --stores /dev/stdin, then Ctrl-C: exits promptly (130), nothing sent", () =>
    Effect.gen(function*() {
      const { fake, tmp, env } = yield* binarySetup
      const p = yield* shell(`exec "$0" "$@" --stores /dev/stdin < <(yes ${s(1)})`, env)
      yield* waitUntil(p, spooling(tmp), "the child did not start reading")
      yield* Effect.sleep("300 millis")
      const at = Date.now()
      p.child.kill("SIGINT")
      const exit = yield* exitWithin(p, 5)
      assert.isBelow(Date.now() - at, 3_000)
      assert.strictEqual(exit.code, 130, p.stderr())
      assert.include(p.stderr(), "stopped while reading the store ids; nothing was sent")
      assert.strictEqual(fake.log.length, 0)
    }), 60_000)
})
