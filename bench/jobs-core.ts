/**
 * Issue #15's figures, shared by `npm run bench:jobs` and `npm run bench -- --only=jobs`:
 *
 * 1. Journal overhead: a 100,000-store disassociate job, `BulkStores.disassociateAll` (no
 *    journal) vs `StoreJobs.disassociateAll` journaling to a fresh file in os.tmpdir()
 *    (`JobJournal.layerNodeFile`, as the CLI ships: each append one O_DSYNC write; and
 *    `JobJournal.layerFile`, through `FileSystem`: a write, then an fsync),
 *    preflight and verify on (the defaults), rate limit off, at concurrency 4 and 16. Both
 *    over the in-memory fake (`SandboxStores.layer`, this process) and over loopback HTTP
 *    (the sandbox in a process of its own). Variants alternate within each round, the one
 *    going first rotated every round; medians over the rounds. StoreJobs runs as it ships
 *    (no snapshot) and with `snapshot: true` (a walk of the stock's listing first). `--split`
 *    adds two variants that take the journal apart: every record built and group-committed
 *    but written nowhere, and written to the file without an fsync. Each run also records how
 *    long this process's event loop sat idle and its main thread's CPU.
 * 2. Resume: a journaled 100,000-store job interrupted once 50,000 stores have outcomes (as
 *    a crash: no report, the journal as the writes left it), then `StoreJobs.resume`; the
 *    stores the fake received in a call both before and after the kill are the ones sent a
 *    second time, held against concurrency × 200. With verify on (the default) the listing
 *    settles the calls that were in flight; with verify off they are sent again, the bound's
 *    worst case.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Deferred, Effect, Fiber, Layer } from "effect"
import { fork } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { BulkStores, JobJournal, type ProductCouponStores, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import * as WriterThread from "../packages/effect-wechatpay/src/internal/bulk/WriterThread.js"
import { FakeWechatPay, SandboxStores, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { library } from "./clients.js"
import { median, round, spawnSandbox } from "./harness.js"

const F = FakeWechatPay.Fixture
const here = Path.dirname(fileURLToPath(import.meta.url))

export interface JobsOptions {
  readonly stores: number
  readonly concurrencies: ReadonlyArray<number>
  /** Rounds of the in-memory comparison (each round runs every variant once). */
  readonly rounds: number
  /** Rounds over loopback HTTP; 0 leaves it out. */
  readonly httpRounds: number
  /** Kill-and-resume runs per concurrency and verify setting. */
  readonly resumeRuns: number
  /** Adds the "records only" and "no fsync" variants. */
  readonly split: boolean
  /** Over loopback, every answer this many ms late (0: as fast as the sandbox answers). */
  readonly latency: number
  readonly log: (line: string) => void
}

/** Options from command-line arguments (see bench/jobs.ts). */
export const optionsFrom = (args: ReadonlyArray<string>, log: (line: string) => void): JobsOptions => {
  const number = (name: string, fallback: number) => {
    const a = args.find((x) => x.startsWith(`--${name}=`))
    return a === undefined ? fallback : Number(a.slice(name.length + 3))
  }
  const quick = args.includes("--quick")
  return {
    stores: number("stores", quick ? 10_000 : 100_000),
    concurrencies: [4, 16],
    rounds: number("rounds", quick ? 1 : 5),
    httpRounds: number("http-rounds", quick ? 1 : 3),
    resumeRuns: number("resume-runs", quick ? 1 : 3),
    split: args.includes("--split"),
    latency: number("latency", 0),
    log
  }
}

type Variant = "plain" | "journal" | "fsjournal" | "snapshot" | "records" | "nofsync"

const VARIANT_NAMES: Record<Variant, string> = {
  plain: "BulkStores (no journal)",
  journal: "StoreJobs (defaults)",
  fsjournal: "  … journal through FileSystem (layerFile)",
  snapshot: "StoreJobs, snapshot: true",
  records: "  … defaults, records written nowhere",
  nofsync: "  … defaults, file without fsync"
}

/** The variants of a comparison: StoreJobs as it ships, with its snapshot walk, then (split) taken apart. */
const variantsOf = (split: boolean): ReadonlyArray<Variant> =>
  split ? ["plain", "journal", "fsjournal", "snapshot", "records", "nofsync"] : ["plain", "journal", "fsjournal", "snapshot"]

interface Run {
  readonly variant: Variant
  readonly concurrency: number
  readonly ms: number
  /** This process's CPU (user + system, all threads) during the job. */
  readonly cpuMs: number
  /** The main thread's CPU alone (Linux; NaN elsewhere), and how long its event loop sat idle. */
  readonly mainCpuMs: number
  readonly idleMs: number
  /** Appends (each one write and, for the file journal, one fsync) and the journal's bytes. */
  readonly appends: number
  readonly bytes: number
  /** HTTP attempts the report counts (calls, preflight, snapshot and verification listings). */
  readonly requests: number
}

const storeIds = (n: number) => Array.from({ length: n }, (_, i) => FakeWechatPay.storeId(i))

const stock = { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId }

/** Appends and bytes written; a writer thread's appends are read from it at the end. */
interface Counts {
  appends: number
  bytes: number
  readonly threads: Array<() => number>
}

/** Counts appends and bytes of a journal service's appenders (one write + one fsync per append for files). */
const counting = (service: JobJournal.Service, counts: Counts): JobJournal.Service => {
  const wrap = (appender: JobJournal.Appender): JobJournal.Appender => {
    // `layerNodeFile`'s appender hands records to its writer thread, which counts its own writes.
    const pipeline = WriterThread.pipelineOf(appender)
    if (pipeline !== undefined) {
      const counted: WriterThread.Pipeline = {
        ...pipeline,
        submit: (text) => {
          counts.bytes += Buffer.byteLength(text)
          return pipeline.submit(text)
        }
      }
      counts.threads.push(pipeline.writes)
      return { append: (text) => Effect.suspend(() => counted.await(counted.submit(text))), [WriterThread.PipelineKey]: counted } as JobJournal.Appender
    }
    return {
      append: (text) =>
        Effect.suspend(() => {
          counts.appends++
          counts.bytes += Buffer.byteLength(text)
          return appender.append(text)
        })
    }
  }
  return {
    create: (location, text) => {
      counts.bytes += Buffer.byteLength(text)
      return Effect.map(service.create(location, text), wrap)
    },
    read: service.read,
    reopen: (location, length) => Effect.map(service.reopen(location, length), wrap),
    lock: service.lock
  }
}

/** The CLI's journal: files, each append one O_DSYNC write through node:fs. */
const fileJournal = JobJournal.layerNodeFile.pipe(Layer.provide(NodeFileSystem.layer))
/** Files through @effect/platform's FileSystem alone: a write, then an fsync, per append. */
const fsJournal = JobJournal.layerFile.pipe(Layer.provide(NodeFileSystem.layer))

/** Every record built and group-committed as for a file, then dropped. */
const recordsOnly: JobJournal.Service = {
  create: () => Effect.succeed({ append: () => Effect.void }),
  read: (location) => Effect.fail(new JobJournal.JournalNotFoundError({ location })),
  reopen: (location) => Effect.fail(new JobJournal.JournalNotFoundError({ location })),
  lock: () => Effect.void
}

/** Written to the file with one write per append, never flushed. */
const noFsync: JobJournal.Service = {
  create: (location, text) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const fd = Fs.openSync(location, "ax")
        Fs.writeSync(fd, text)
        return fd
      }),
      (fd) => Effect.sync(() => Fs.closeSync(fd))
    ).pipe(Effect.map((fd) => ({
      append: (line: string) =>
        Effect.async<void>((resume) => {
          Fs.write(fd, line, (e) => resume(e === null ? Effect.void : Effect.die(e)))
        })
    }))),
  read: recordsOnly.read,
  reopen: recordsOnly.reopen,
  lock: () => Effect.void
}

/** A journal layer for a variant, counting into `counts`. */
const journalFor = (variant: Variant, counts: Counts): Layer.Layer<JobJournal.JobJournal> => {
  if (variant === "journal" || variant === "fsjournal") {
    return Layer.effect(JobJournal.JobJournal, Effect.map(JobJournal.JobJournal, (s) => counting(s, counts))).pipe(
      Layer.provide(variant === "journal" ? fileJournal : fsJournal)
    )
  }
  return Layer.succeed(JobJournal.JobJournal, counting(variant === "nofsync" ? noFsync : recordsOnly, counts))
}

/** The main thread's CPU (user + system) from /proc, in ms at the kernel's 10 ms tick; NaN where there is no /proc. */
const mainThreadCpuMs = (): number => {
  try {
    const stat = Fs.readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

/** A fresh journal path per run, in one temporary directory. */
const journals = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "wechatpay-jobs-bench-"))
  let n = 0
  return {
    next: () => Path.join(dir, `job-${++n}.jsonl`),
    remove: () => Fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** One timed job over a job runner; the journal's counts and the file removed after. */
const timed = async (
  variant: Variant,
  concurrency: number,
  ids: ReadonlyArray<string>,
  location: string,
  runJob: <A, E>(job: Effect.Effect<A, E, ProductCouponStores.ProductCouponStores>) => Promise<A>
): Promise<Run> => {
  const counts: Counts = { appends: 0, bytes: 0, threads: [] }
  const options = { ...stock, concurrency }
  const job = variant === "plain"
    ? BulkStores.disassociateAll(ids, options)
    : StoreJobs.disassociateAll(ids, { ...options, journal: location, ...(variant === "snapshot" ? { snapshot: true } : {}) }).pipe(
      Effect.provide(journalFor(variant === "snapshot" ? "journal" : variant, counts))
    )
  const measured = Effect.gen(function*() {
    const cpu0 = process.cpuUsage()
    const main0 = mainThreadCpuMs()
    const loop0 = performance.eventLoopUtilization()
    const t0 = performance.now()
    const report = yield* job
    const ms = performance.now() - t0
    const idleMs = performance.eventLoopUtilization(loop0).idle
    const cpu = process.cpuUsage(cpu0)
    return { report, ms, cpuMs: (cpu.user + cpu.system) / 1000, mainCpuMs: mainThreadCpuMs() - main0, idleMs }
  })
  const { cpuMs, idleMs, mainCpuMs, ms, report } = await runJob(measured)
  if (report.summary.succeeded !== ids.length) {
    throw new Error(`${variant}: ${report.summary.succeeded} of ${ids.length} succeeded`)
  }
  if (variant === "journal" || variant === "fsjournal" || variant === "snapshot") {
    const size = Fs.statSync(location).size
    if (size !== counts.bytes) throw new Error(`journal: ${size} bytes on disk, ${counts.bytes} written`)
  }
  Fs.rmSync(location, { force: true })
  const extra = report as { readonly snapshot?: { readonly requests?: number }; readonly preflight?: { readonly requests?: number } }
  const requests = report.summary.requests + (extra.snapshot?.requests ?? 0)
  return {
    variant,
    concurrency,
    ms: round(ms, 1),
    cpuMs: round(cpuMs, 1),
    mainCpuMs: round(mainCpuMs, 1),
    idleMs: round(idleMs, 1),
    appends: counts.appends + counts.threads.reduce((n, writes) => n + writes(), 0),
    bytes: counts.bytes,
    requests
  }
}

interface Comparison {
  readonly concurrency: number
  readonly rows: ReadonlyArray<{
    readonly variant: Variant
    readonly name: string
    readonly medianMs: number
    readonly medianCpuMs: number
    readonly medianMainCpuMs: number
    readonly medianIdleMs: number
    /** Median of the per-round ratios to the plain job of the same round, and the ratio of medians. */
    readonly roundRatio: number
    readonly ratioOfMedians: number
    readonly appends: number
    readonly bytes: number
    readonly requests: number
  }>
  readonly runs: ReadonlyArray<Run>
}

/** Medians per variant, and each round's ratio to that round's plain job. */
const compare = (concurrency: number, variants: ReadonlyArray<Variant>, runs: ReadonlyArray<Run>): Comparison => {
  const of = (v: Variant) => runs.filter((r) => r.variant === v)
  const plain = of("plain")
  return {
    concurrency,
    rows: variants.map((variant) => {
      const mine = of(variant)
      return {
        variant,
        name: VARIANT_NAMES[variant],
        medianMs: round(median(mine.map((r) => r.ms)), 1),
        medianCpuMs: round(median(mine.map((r) => r.cpuMs)), 1),
        medianMainCpuMs: round(median(mine.map((r) => r.mainCpuMs)), 1),
        medianIdleMs: round(median(mine.map((r) => r.idleMs)), 1),
        roundRatio: round(median(mine.map((r, i) => r.ms / plain[i]!.ms)), 3),
        ratioOfMedians: round(median(mine.map((r) => r.ms)) / median(plain.map((r) => r.ms)), 3),
        appends: median(mine.map((r) => r.appends)),
        bytes: median(mine.map((r) => r.bytes)),
        requests: median(mine.map((r) => r.requests))
      }
    }),
    runs
  }
}

/** Rounds of every variant, the order rotated each round. */
const rounds = async (
  count: number,
  variants: ReadonlyArray<Variant>,
  once: (variant: Variant) => Promise<Run>,
  log: (line: string) => void,
  label: string
): Promise<Array<Run>> => {
  const runs: Array<Run> = []
  for (let r = 0; r < count; r++) {
    const order = variants.map((_, k) => variants[(k + r) % variants.length]!)
    const round: Array<Run> = []
    for (const v of order) round.push(await once(v))
    // Kept in variant order per round, so run i of each variant belongs to round i.
    for (const v of variants) runs.push(round.find((x) => x.variant === v)!)
    log(`  ${label} round ${r + 1}/${count}: ${round.map((x) => `${x.variant} ${Math.round(x.ms)} ms`).join(", ")}`)
  }
  return runs
}

/** 1a. In this process over the in-memory fake: a fresh fake (all stores associated) per job. */
const inMemory = async (o: JobsOptions, keys: TestKeys.TestKeys) => {
  const ids = storeIds(o.stores)
  const paths = journals()
  const variants = variantsOf(o.split)
  const once = (concurrency: number) => (variant: Variant) => {
    const layer = SandboxStores.layer({ keys, seed: FakeWechatPay.generate({ stores: o.stores }) })
    return timed(variant, concurrency, ids, paths.next(), (job) => Effect.runPromise(Effect.provide(job, layer)))
  }
  // One untimed job first: the JIT and the fake's code warm, for whichever variant goes first.
  await once(4)("journal")
  const out: Array<Comparison> = []
  for (const c of o.concurrencies) {
    out.push(compare(c, variants, await rounds(o.rounds, variants, once(c), o.log, `in-memory c=${c}`)))
  }
  paths.remove()
  return out
}

/** 1b. Over loopback HTTP: a fresh sandbox process per job (its state changes), undici. */
const overHttp = async (o: JobsOptions) => {
  const ids = storeIds(o.stores)
  const paths = journals()
  const variants = variantsOf(o.split)
  const once = (concurrency: number) => async (variant: Variant) => {
    const sandbox = await spawnSandbox({ stores: o.stores, rateLimit: false, latencyMillis: o.latency })
    const client = await library(sandbox.ready, { rateLimit: false }, "undici")
    // Warm connections and JIT with stores the fake does not have (answered 200 in failed_store_list, nothing changes).
    const foreign = Array.from({ length: 200 }, (_, i) => FakeWechatPay.storeId(o.stores + 100_000 + i))
    for (let i = 0; i < 50; i++) await client.call(foreign)
    try {
      return await timed(variant, concurrency, ids, paths.next(), (job) => client.runtime.runPromise(job))
    } finally {
      await client.close()
      await sandbox.stop()
    }
  }
  const out: Array<Comparison> = []
  for (const c of o.concurrencies) {
    out.push(compare(c, variants, await rounds(o.httpRounds, variants, once(c), o.log, `loopback c=${c}`)))
  }
  paths.remove()
  return out
}

interface ResumeRun {
  readonly concurrency: number
  readonly verify: boolean
  /** Stores with an outcome when the job was interrupted (from onProgress's `done`). */
  readonly doneAtKill: number
  /** Stores the fake received before the kill, and after it (the resume). */
  readonly sentBefore: number
  readonly sentAfter: number
  /** Stores in a store call both before and after the kill. */
  readonly sentTwice: number
  readonly bound: number
  /** The resume's report: requests, stores settled by the listing, and its `resent`. */
  readonly resumeRequests: number
  readonly settledByListing: number
  readonly reportResent: number
  readonly resumeMs: number
  readonly firstRunMs: number
  readonly succeeded: number
  readonly leftAssociated: number
  readonly journalBytes: number
}

const STORE_CALLS = new Set<string | undefined>(["disassociateStores", "associateStores"])

/** The store ids of the store calls among log entries. */
const storesSent = (entries: ReadonlyArray<FakeWechatPay.LogEntry>): Array<string> => {
  const out: Array<string> = []
  for (const e of entries) {
    if (!STORE_CALLS.has(e.operation)) continue
    for (const s of (JSON.parse(e.bodyText) as { store_list: Array<{ store_id: string }> }).store_list) out.push(s.store_id)
  }
  return out
}

/** 2. Kill half-way, resume, count what was sent twice (in-memory fake, file journal). */
const resumeOnce = (o: JobsOptions, keys: TestKeys.TestKeys, location: string, concurrency: number, verify: boolean) => {
  const ids = storeIds(o.stores)
  const half = Math.floor(o.stores / 2)
  const program = Effect.gen(function*() {
    const fake = yield* FakeWechatPay.FakeWechatPay
    const halfway = yield* Deferred.make<number>()
    const t0 = performance.now()
    const first = yield* Effect.fork(StoreJobs.disassociateAll(ids, {
      ...stock,
      concurrency,
      verify,
      journal: location,
      onProgress: (e) => e._tag === "ChunkSettled" && e.done >= half ? Deferred.succeed(halfway, e.done) : Effect.void
    }))
    const doneAtKill = yield* Deferred.await(halfway)
    yield* Fiber.interrupt(first)
    const firstRunMs = performance.now() - t0
    const killedAt = fake.log.length
    const t1 = performance.now()
    const report = yield* StoreJobs.resume(location, { concurrency })
    const resumeMs = performance.now() - t1
    if (!("summary" in report)) throw new Error("resume gave a sync report")
    const before = new Set(storesSent(fake.log.slice(0, killedAt)))
    const after = storesSent(fake.log.slice(killedAt))
    const sentTwice = new Set(after.filter((s) => before.has(s))).size
    return {
      concurrency,
      verify,
      doneAtKill,
      sentBefore: before.size,
      sentAfter: after.length,
      sentTwice,
      bound: concurrency * 200,
      resumeRequests: fake.log.length - killedAt,
      settledByListing: report.summary.settledByListing ?? 0,
      reportResent: report.summary.resent ?? 0,
      resumeMs: round(resumeMs, 1),
      firstRunMs: round(firstRunMs, 1),
      succeeded: report.summary.succeeded,
      leftAssociated: fake.associatedCount(F.stockId),
      journalBytes: Fs.statSync(location).size
    } satisfies ResumeRun
  })
  const layer = Layer.merge(SandboxStores.layer({ keys, seed: FakeWechatPay.generate({ stores: o.stores }) }), fileJournal)
  return Effect.runPromise(Effect.provide(program, layer))
}

/** What a journal says before the resume reads it: stores of calls with no outcome, and a torn last line. */
const journalState = (location: string) => {
  const text = Fs.readFileSync(location, "utf8")
  const end = text.lastIndexOf("\n") + 1
  let called = 0
  let settled = 0
  let calls = 0
  let outcomes = 0
  for (const line of text.slice(0, end).split("\n")) {
    if (line === "") continue
    const r = JSON.parse(line) as {
      t: string
      count?: number
      stores?: Array<unknown>
      succeeded?: Array<unknown>
      failed?: Array<unknown>
      unresolved?: Array<unknown>
    }
    // A call or outcome names its stores by position (`count` of them) or by list.
    if (r.t === "call") {
      calls++
      called += r.count ?? r.stores?.length ?? 0
    } else if (r.t === "outcome") {
      outcomes++
      settled += r.count ?? (r.succeeded?.length ?? 0) + (r.failed?.length ?? 0) + (r.unresolved?.length ?? 0)
    }
  }
  return { callsWithoutOutcome: calls - outcomes, storesInFlight: called - settled, tornBytes: text.length - end, bytes: text.length }
}

interface KilledRun extends ResumeRun {
  readonly callsWithoutOutcome: number
  readonly storesInFlight: number
  readonly tornBytes: number
}

/**
 * 2b. The issue's crash: the job in a child process over loopback HTTP, SIGKILLed once 50,000
 * stores have outcomes, resumed here against the same sandbox (which keeps every store it received).
 */
const resumeKilled = async (o: JobsOptions, location: string, concurrency: number, verify: boolean): Promise<KilledRun> => {
  const sandbox = await spawnSandbox({ stores: o.stores, rateLimit: false, recordStores: true })
  const half = Math.floor(o.stores / 2)
  try {
    const child = fork(Path.join(here, "jobs-child.ts"), [
      JSON.stringify({ ready: sandbox.ready, stores: o.stores, concurrency, verify, journal: location })
    ], { execArgv: ["--conditions=wechatpay-source", "--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] })
    let t0 = 0
    const doneAtKill = await new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`the job's process exited with ${code} before half-way`)))
      child.on("message", (m: { readonly _tag: string; readonly done?: number }) => {
        if (m._tag === "started") t0 = performance.now()
        if (m._tag === "progress" && m.done! >= half) {
          child.removeAllListeners("exit")
          child.removeAllListeners("message")
          child.kill("SIGKILL")
          resolve(m.done!)
        }
      })
    })
    const firstRunMs = performance.now() - t0
    await new Promise((r) => child.once("exit", r))
    // Requests the sandbox had in hand when the client died are answered to nobody; let them land.
    await new Promise((r) => setTimeout(r, 500))
    const before = new Set(await sandbox.stores())
    await sandbox.clearLog()
    const state = journalState(location)
    const client = await library(sandbox.ready, { rateLimit: false }, "undici")
    const t1 = performance.now()
    const report = await client.runtime.runPromise(StoreJobs.resume(location, { concurrency }).pipe(Effect.provide(fileJournal)))
    const resumeMs = performance.now() - t1
    await client.close()
    if (!("summary" in report)) throw new Error("resume gave a sync report")
    const after = await sandbox.stores()
    const stats = await sandbox.stats()
    return {
      concurrency,
      verify,
      doneAtKill,
      sentBefore: before.size,
      sentAfter: after.length,
      sentTwice: new Set(after.filter((s) => before.has(s))).size,
      bound: concurrency * 200,
      resumeRequests: stats.requests,
      settledByListing: report.summary.settledByListing ?? 0,
      reportResent: report.summary.resent ?? 0,
      resumeMs: round(resumeMs, 1),
      firstRunMs: round(firstRunMs, 1),
      succeeded: report.summary.succeeded,
      leftAssociated: report.summary.failed + report.summary.unresolved,
      journalBytes: state.bytes,
      ...state
    }
  } finally {
    await sandbox.stop()
  }
}

const resume = async (o: JobsOptions, keys: TestKeys.TestKeys) => {
  const paths = journals()
  const interrupted: Array<ResumeRun> = []
  const killed: Array<KilledRun> = []
  for (const verify of [true, false]) {
    for (const c of o.concurrencies) {
      for (let i = 0; i < o.resumeRuns; i++) {
        const run = await resumeOnce(o, keys, paths.next(), c, verify)
        interrupted.push(run)
        o.log(`  interrupt+resume c=${c} verify=${verify}: at ${run.doneAtKill} done, ${run.sentTwice} sent twice (bound ${run.bound}), resume ${Math.round(run.resumeMs)} ms`)
      }
      if (o.httpRounds === 0) continue
      for (let i = 0; i < o.resumeRuns; i++) {
        const run = await resumeKilled(o, paths.next(), c, verify)
        killed.push(run)
        o.log(`  SIGKILL+resume c=${c} verify=${verify}: at ${run.doneAtKill} done, ${run.storesInFlight} in flight, ${run.sentTwice} sent twice (bound ${run.bound}), resume ${Math.round(run.resumeMs)} ms`)
      }
    }
  }
  paths.remove()
  return { interrupted, killed }
}

export const run = async (o: JobsOptions) => {
  const keys = await Effect.runPromise(TestKeys.generate())
  o.log(`jobs: ${o.stores} stores, in-memory overhead (${o.rounds} rounds)…`)
  const memory = await inMemory(o, keys)
  let http: Array<Comparison> | undefined
  if (o.httpRounds > 0) {
    o.log(`jobs: loopback HTTP overhead (${o.httpRounds} rounds)…`)
    http = await overHttp(o)
  }
  o.log(`jobs: kill half-way and resume (${o.resumeRuns} runs each)…`)
  const resumes = await resume(o, keys)
  return { stores: o.stores, latency: o.latency, inMemory: memory, http, resume: resumes, fsyncProbe: fsyncProbe() }
}

/** The file system's own write + fsync latency here, for the record (500 appends of 4 KB). */
const fsyncProbe = () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "wechatpay-fsync-"))
  const fd = Fs.openSync(Path.join(dir, "probe"), "ax")
  const line = "x".repeat(4095) + "\n"
  const samples: Array<number> = []
  for (let i = 0; i < 500; i++) {
    const t0 = performance.now()
    Fs.writeSync(fd, line)
    Fs.fsyncSync(fd)
    samples.push(performance.now() - t0)
  }
  Fs.closeSync(fd)
  Fs.rmSync(dir, { recursive: true, force: true })
  const sorted = samples.sort((a, b) => a - b)
  return { medianMs: round(sorted[250]!, 3), p90Ms: round(sorted[450]!, 3), maxMs: round(sorted[499]!, 3) }
}

export type JobsResult = Awaited<ReturnType<typeof run>>

export const describe = (r: JobsResult): string => {
  const lines: Array<string> = []
  const table = (title: string, comparisons: ReadonlyArray<Comparison>) => {
    for (const c of comparisons) {
      lines.push(`${title}, concurrency ${c.concurrency} (${c.runs.length / c.rows.length} rounds):`)
      lines.push(`  ${"variant".padEnd(44)}${"median ms".padStart(10)}${"× plain".padStart(9)}${"round ×".padStart(9)}${"CPU ms".padStart(9)}${"main".padStart(7)}${"idle".padStart(7)}${"appends".padStart(9)}${"bytes".padStart(10)}${"requests".padStart(10)}`)
      for (const row of c.rows) {
        lines.push(`  ${row.name.padEnd(44)}${row.medianMs.toFixed(0).padStart(10)}${row.ratioOfMedians.toFixed(3).padStart(9)}${row.roundRatio.toFixed(3).padStart(9)}${row.medianCpuMs.toFixed(0).padStart(9)}${row.medianMainCpuMs.toFixed(0).padStart(7)}${row.medianIdleMs.toFixed(0).padStart(7)}${String(row.appends).padStart(9)}${String(row.bytes).padStart(10)}${String(row.requests).padStart(10)}`)
      }
      const perRun = c.rows.map((row) =>
        `${row.variant}: ${c.runs.filter((x) => x.variant === row.variant).map((x) => Math.round(x.ms)).join(" ")}`
      )
      lines.push(`  runs (ms, in round order): ${perRun.join("; ")}`)
    }
  }
  table(`in-memory fake, ${r.stores} stores`, r.inMemory)
  if (r.http !== undefined) {
    table(`loopback HTTP (sandbox in its own process${r.latency > 0 ? `, every answer ${r.latency} ms late` : ""}), ${r.stores} stores`, r.http)
  }
  lines.push("interrupted half-way, then resumed (in-memory fake in this process, file journal):")
  for (const x of r.resume.interrupted) {
    lines.push(`  c=${x.concurrency} verify=${x.verify}: killed with ${x.doneAtKill} done; sent before ${x.sentBefore}, after ${x.sentAfter}; sent twice ${x.sentTwice} (bound ${x.bound}); resume ${x.resumeRequests} requests, ${x.settledByListing} settled by the listing, report resent ${x.reportResent}; first run ${Math.round(x.firstRunMs)} ms to the kill, resume ${Math.round(x.resumeMs)} ms; ${x.succeeded} succeeded, ${x.leftAssociated} left associated; journal ${x.journalBytes} bytes`)
  }
  if (r.resume.killed.length > 0) lines.push("SIGKILLed half-way (job in a child process, loopback HTTP), then resumed here:")
  for (const x of r.resume.killed) {
    lines.push(`  c=${x.concurrency} verify=${x.verify}: killed with ${x.doneAtKill} done; journal: ${x.callsWithoutOutcome} calls (${x.storesInFlight} stores) without outcome, torn ${x.tornBytes} bytes; sandbox received ${x.sentBefore} stores before, ${x.sentAfter} after; sent twice ${x.sentTwice} (bound ${x.bound}); resume ${x.resumeRequests} requests, ${x.settledByListing} settled by the listing, report resent ${x.reportResent}; resume ${Math.round(x.resumeMs)} ms; ${x.succeeded} succeeded, ${x.leftAssociated} failed or unresolved`)
  }
  lines.push(`fsync probe (write 4 KB + fsync, 500 times): median ${r.fsyncProbe.medianMs} ms, p90 ${r.fsyncProbe.p90Ms} ms, max ${r.fsyncProbe.maxMs} ms`)
  return lines.join("\n")
}
