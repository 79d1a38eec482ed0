/**
 * The CLI's commands as Effects returning an exit code. Input, output and
 * the HTTP transport are parameters, so the tests run them in-process.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Layer } from "effect"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import { BulkDisassociation, ProductCouponStores, type WechatPayError } from "../index.js"
import { FakeWechatPay, SandboxServer, SandboxSettings, TestKeys } from "../testing/index.js"
import * as Output from "./Output.js"
import * as StoreFile from "./StoreFile.js"

export interface Io {
  readonly out: Output.Sink
  readonly err: Output.Sink
  readonly stdin: Readable
  /** Completes on the first Ctrl-C: a job stops sending and still writes its report; the sandbox stops. */
  readonly stop?: Effect.Effect<void> | undefined
  /** Completes on a second Ctrl-C: a job abandons its calls in flight (reported unresolved) and still writes its report. */
  readonly abort?: Effect.Effect<void> | undefined
}

export const processIo: Io = { out: Output.stdout, err: Output.stderr, stdin: process.stdin }

export type FaultRates = Partial<Record<FakeWechatPay.Fault, number>>

export const faultNames = (): ReadonlyArray<string> => FakeWechatPay.FAULTS
export const isFault = (name: string): name is FakeWechatPay.Fault => (FakeWechatPay.FAULTS as ReadonlyArray<string>).includes(name)

const fail = (io: Io, message: string): number => {
  io.err.write(`wechatpay-stores: ${message}\n`)
  return 1
}

/** One line for a report path that cannot be written: the errno code when there is one. */
const reportFailure = (path: string, cause: unknown): string =>
  `cannot write the report to ${path}: ${
    cause instanceof Error ? ("code" in cause ? String(cause.code) : cause.message) : "not writable"
  }`

/**
 * Checks, before anything is sent, that the report can be written: finding out
 * after a 30,000-store job that the directory does not exist loses the lists.
 * A regular file is replaced by a rename, so its directory must be writable too.
 */
const checkReportPath = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const stat = await Fs.stat(path).catch(() => undefined)
      if (stat?.isDirectory() === true) throw new Error("EISDIR")
      if (stat !== undefined) await Fs.access(path, Fs.constants.W_OK)
      if (stat === undefined || stat.isFile()) {
        const real = stat === undefined ? Path.resolve(path) : await Fs.realpath(path)
        await Fs.access(Path.dirname(real), Fs.constants.W_OK)
      }
    },
    catch: (cause) => reportFailure(path, cause)
  })

/** A promise whose rejection is kept as it is (an errno error). */
const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, unknown> => Effect.tryPromise({ try: f, catch: (e) => e })

/** How long opening a device or pipe given as `--report` may take (a FIFO with no reader never opens). */
const OPEN_WAIT = "5 seconds"

/**
 * Writes the report. A regular file (or a new one) is written to a temporary
 * file in the same directory, flushed, then renamed over the target, so a
 * failure half-way never leaves a truncated report where a good one was. A
 * device or pipe (`/dev/stdout`, `>(gzip > r.gz)`) cannot be renamed over and
 * is written directly.
 */
const writeReport = (path: string, text: string): Effect.Effect<void, string> =>
  Effect.gen(function*() {
    const stat = yield* Effect.promise(() => Fs.stat(path).catch(() => undefined))
    if (stat !== undefined && !stat.isFile()) {
      const handle = yield* attempt(() => Fs.open(path, "w")).pipe(
        Effect.timeoutFail({ duration: OPEN_WAIT, onTimeout: () => new Error("nothing is reading it") })
      )
      return yield* attempt(() => handle.writeFile(text)).pipe(
        Effect.ensuring(Effect.promise(() => handle.close().catch(() => undefined)))
      )
    }
    // A symbolic link keeps pointing where it did: the file it names is replaced, not the link.
    const target = stat === undefined ? Path.resolve(path) : yield* attempt(() => Fs.realpath(path))
    const temp = Path.join(Path.dirname(target), `.${Path.basename(target)}.${process.pid}.${Date.now()}.tmp`)
    yield* attempt(async () => {
      const handle = await Fs.open(temp, "wx")
      try {
        await handle.writeFile(text)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await Fs.rename(temp, target)
    }).pipe(Effect.tapError(() => Effect.promise(() => Fs.rm(temp, { force: true }).catch(() => undefined))))
  }).pipe(Effect.mapError((cause) => reportFailure(path, cause)))

/** A file name no other run uses, for a report that has nowhere else to go. */
const fallbackName = (): string =>
  `wechatpay-stores-report-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}.json`

/**
 * Keeps the report somewhere when it cannot go where asked (or anywhere was not
 * asked and standard output failed): the working directory, else the temporary
 * directory. Gives the path, or the reason neither worked.
 */
const writeFallback = (text: string) =>
  Effect.gen(function*() {
    const name = fallbackName()
    const reasons: Array<string> = []
    for (const dir of [process.cwd(), Os.tmpdir()]) {
      const path = Path.join(dir, name)
      const written = yield* Effect.either(writeReport(path, text))
      if (written._tag === "Right") return { path, reasons }
      reasons.push(written.left)
    }
    return { path: undefined, reasons }
  })

/** Reports whose record is not where it was asked for: their exit code says something went wrong. */
const misplaced = new WeakSet<BulkDisassociation.Report>()

/** Exit code for a finished job: 0 only when every store succeeded, nothing cut the job short and the report is where asked. */
export const exitCode = (report: BulkDisassociation.Report): number =>
  report.summary.succeeded === report.summary.unique && report.stoppedBy === undefined && !misplaced.has(report) ? 0 : 2

/** A notice for the person running the job: on stderr, or on stdout when stderr is what failed. */
const notice = (io: Io, message: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const errFailed = io.err.failure === undefined ? undefined : yield* io.err.failure
    const sink = errFailed === undefined ? io.err : io.out
    sink.write(`wechatpay-stores: ${message}\n`)
  })

/**
 * Writes the report after a job, and never loses it: where `--report` asked
 * (or to a fallback file, printed, when that fails), and to a fallback file
 * when no `--report` was given but standard output failed, since then the
 * summary was not seen either. Output that fails never ends the job.
 */
const keepReport = (
  path: string | undefined,
  report: BulkDisassociation.Report,
  io: Io,
  keepWhenOutputFails: boolean
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const outFailed = io.out.failure === undefined ? undefined : yield* io.out.failure
    if (path === undefined && (outFailed === undefined || !keepWhenOutputFails)) return
    const text = JSON.stringify(report, null, 2) + "\n"
    const asked = path === undefined ? undefined : yield* Effect.either(writeReport(path, text))
    if (path !== undefined && asked?._tag === "Right") {
      io.out.write(`report written to ${path}\n`)
      if (outFailed !== undefined) yield* notice(io, `standard output failed (${outFailed}); the report is in ${path}`)
      return
    }
    const why = asked?._tag === "Left" ? asked.left : `standard output failed (${outFailed})`
    if (asked?._tag === "Left") misplaced.add(report)
    const fallback = yield* writeFallback(text)
    if (fallback.path !== undefined) {
      yield* notice(io, `${why}; the report was written to ${fallback.path} instead`)
      return
    }
    // Nowhere to write it: print it rather than lose the record of what was changed.
    misplaced.add(report)
    yield* notice(io, `${why}; nor to a fallback file (${fallback.reasons.join("; ")}); the report follows`)
    const errFailed = io.err.failure === undefined ? undefined : yield* io.err.failure
    const sink = errFailed === undefined ? io.err : io.out
    sink.write(text)
  })

export interface DisassociateArgs {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  readonly stores: string
  readonly report: string | undefined
  readonly dryRun: boolean
  readonly concurrency: number
  readonly rate: number
  /** Run (and report) a job of zero ids instead of refusing empty input. */
  readonly allowEmpty?: boolean | undefined
}

/** Runs a job with a service layer; shared by `disassociate` and `demo`. */
const runJob = (
  args: Omit<DisassociateArgs, "rate">,
  io: Io,
  service: Layer.Layer<ProductCouponStores.ProductCouponStores, WechatPayError.ConfigurationError | WechatPayError.KeyFormatError>,
  expected?: number,
  ids?: BulkDisassociation.StoreIds<StoreFile.StoreFileError>,
  /** Whether to keep the report in a fallback file when there is no `--report` and standard output failed (not for the demo). */
  keepWhenOutputFails = true
): Effect.Effect<BulkDisassociation.Report | string> =>
  Effect.gen(function*() {
    const source = ids ?? StoreFile.stream(args.stores, io.stdin)
    const bar = Output.progress(io.out, expected)
    const report = yield* BulkDisassociation.disassociateAll(source, {
      productCouponId: args.productCouponId,
      stockId: args.stockId,
      brandId: args.brandId,
      concurrency: args.concurrency,
      onProgress: bar.onProgress,
      stopWhen: io.stop,
      abortWhen: io.abort
    }).pipe(
      Effect.provide(service),
      // The input was checked before the job, but a file can still change or fail under it:
      // the calls already made are reported, and the report says the input broke off.
      Effect.catchTag("StoreSourceError", (e) => Effect.succeed(e.report)),
      Effect.ensuring(Effect.sync(bar.finish))
    )
    io.out.write(Output.summaryTable(report.summary))
    if (report.stoppedBy !== undefined) {
      io.out.write(`stopped by ${report.stoppedBy.code}: ${Output.oneLine(report.stoppedBy.message)}\n`)
    }
    io.out.write(Output.anomalyLine(report.anomalies))
    yield* keepReport(args.report, report, io, keepWhenOutputFails)
    return report
  }).pipe(
    Effect.catchTags({
      ConfigurationError: (e) => Effect.succeed(`configuration: ${e.message}`),
      KeyFormatError: (e) => Effect.succeed(`configuration: ${e.message}`),
      // The flags were checked already; this is the library's own guard.
      RequestValidationError: (e) => Effect.succeed(e.message)
    }),
    Effect.merge
  )

/** One line for a store-id source that could not be read or checked. */
const inputFailure = (
  e: StoreFile.StoreFileError | BulkDisassociation.SourceError | WechatPayError.ConfigurationError
): string => e._tag === "StoreSourceError" ? `cannot read the store ids: ${String(e.cause)}` : e.message

/** What the first Ctrl-C while the input is read exits with (nothing was sent). */
export const STOPPED_READING = 130

/**
 * Opens the input once and checks every id, racing the first Ctrl-C (`io.stop`):
 * an endless input or a FIFO nobody writes must not outlast it. Gives the
 * input and its plan, or the exit code when no job may run.
 */
const checkInput = (args: DisassociateArgs, io: Io, rereadable: boolean) =>
  Effect.gen(function*() {
    const checked = yield* StoreFile.open(args.stores, io.stdin, { rereadable }).pipe(
      Effect.flatMap((input) => Effect.map(BulkDisassociation.dryRun(input.ids), (plan) => ({ input, plan }))),
      Effect.either,
      Effect.raceFirst(Effect.as(io.stop ?? Effect.never, "stopped" as const))
    )
    if (checked === "stopped") {
      io.err.write("wechatpay-stores: stopped while reading the store ids; nothing was sent\n")
      return STOPPED_READING
    }
    if (checked._tag === "Left") return fail(io, inputFailure(checked.left))
    // An empty list is most likely the wrong file or a pipe that broke: exit 0 would say "all done".
    if (checked.right.plan.input === 0 && args.allowEmpty !== true) {
      return fail(io, `${checked.right.input.source}: no store ids in the input; pass --allow-empty to run an empty job anyway`)
    }
    return checked.right
  })

/** `disassociate`: the real job against the configured WeChat Pay (or a sandbox the variables point at). */
export const disassociate = (
  args: DisassociateArgs,
  io: Io,
  http: Layer.Layer<HttpClient.HttpClient>
): Effect.Effect<number> =>
  Effect.gen(function*() {
    const service = ProductCouponStores.layerConfig({ rateLimit: { limit: args.rate } }).pipe(Layer.provide(http))
    if (args.report !== undefined) {
      const writable = yield* Effect.either(checkReportPath(args.report))
      if (writable._tag === "Left") return fail(io, writable.left)
    }
    if (args.dryRun) {
      // Building the layer checks every variable and parses the keys; nothing is sent.
      const configured = yield* Layer.build(service).pipe(Effect.scoped, Effect.either)
      if (configured._tag === "Left") return fail(io, `configuration: ${configured.left.message}`)
      const checked = yield* Effect.scoped(checkInput(args, io, false))
      if (typeof checked === "number") return checked
      const p = checked.plan
      io.out.write(
        `dry run: ${Output.fmt(p.input)} ids, ${Output.fmt(p.unique)} unique, ${Output.fmt(p.duplicates)} duplicates, ${p.invalid.length} invalid; would make ${p.calls} calls of at most ${BulkDisassociation.MAX_CHUNK} stores at up to ${args.rate}/s. Nothing was sent.\n`
      )
      for (const bad of p.invalid.slice(0, 20)) io.out.write(`  invalid: ${JSON.stringify(bad.storeId)}: ${bad.message}\n`)
      return 0
    }
    // Read and check the whole input before sending anything: a malformed line 20,000 must not
    // stop a job half-way with no report. The job then reads the input again: a regular file
    // from its descriptor, anything else from the spool the check wrote.
    return yield* Effect.scoped(Effect.gen(function*() {
      const checked = yield* checkInput(args, io, true)
      if (typeof checked === "number") return checked
      if (checked.plan.input === 0) io.out.write(`no store ids in ${checked.input.source}; nothing to send (--allow-empty)\n`)
      const result = yield* runJob(args, io, service, checked.plan.unique, checked.input.ids)
      return typeof result === "string" ? fail(io, result) : exitCode(result)
    }))
  })

export interface SandboxArgs {
  readonly port: number
  readonly backupPort: number
  readonly stores: number
  readonly seed: number
  readonly rate: number
  readonly faults: FaultRates
  readonly dir: string
}

/** `sandbox`: a loopback WeChat Pay in the foreground, with the settings a client needs. */
export const sandbox = (args: SandboxArgs, io: Io): Effect.Effect<number> =>
  Effect.gen(function*() {
    const keys = yield* TestKeys.generate()
    const fake = FakeWechatPay.makeWith(keys, {
      seed: FakeWechatPay.generate({ stores: args.stores }),
      rateLimit: args.rate === 0 ? false : args.rate,
      faults: { seed: args.seed, rates: args.faults }
    })
    const server = yield* SandboxServer.make(fake, { primaryPort: args.port, backupPort: args.backupPort })
    const settings = yield* SandboxSettings.write(keys, server, args.dir)
    const F = FakeWechatPay.Fixture
    io.out.write(
      `sandbox listening: primary ${server.baseUrl}, backup ${server.backupBaseUrl}\n` +
        `product coupon ${F.productCouponId}, SPECIFIC stock ${F.stockId} with ${args.stores} stores ` +
        `(${FakeWechatPay.storeId(0)}…${FakeWechatPay.storeId(args.stores - 1)}) of brand ${F.brandId}\n` +
        `keys written to ${args.dir}; point a client at it with:\n\n${SandboxSettings.toShell(settings)}\n\n` +
        `then e.g.: npm run cli -- disassociate --product-coupon-id ${F.productCouponId} --stock-id ${F.stockId} ` +
        `--brand-id ${F.brandId} --stores FILE\nCtrl-C stops the sandbox.\n`
    )
    yield* io.stop ?? Effect.never
    return 130
  }).pipe(
    Effect.scoped,
    Effect.catchTag("SandboxError", (e) => Effect.succeed(fail(io, e.message)))
  )

/** The demo's sizes: some thousands of stores, a few duplicates, some stores of another brand. */
export const DEMO = { stores: 5_000, duplicates: 120, otherBrand: 25, rateLimitFaultRate: 0.08, seed: 2026 } as const

/**
 * `demo` (what `npm start` runs): the sandbox in-process over real loopback
 * HTTP, a bulk job with duplicates, foreign stores and injected 429s, then a
 * check of the report against the sandbox's own state. Exits 0 when the job
 * accounted for every store and the report agrees with the sandbox.
 */
export const demo = (io: Io): Effect.Effect<number> =>
  Effect.gen(function*() {
    const keys = yield* TestKeys.generate()
    const F = FakeWechatPay.Fixture
    const fake = FakeWechatPay.makeWith(keys, {
      seed: FakeWechatPay.generate({ stores: DEMO.stores, otherBrandStores: DEMO.otherBrand }),
      rateLimit: 20,
      faults: { seed: DEMO.seed, rates: { rateLimit: DEMO.rateLimitFaultRate } }
    })
    const server = yield* SandboxServer.make(fake, {})
    // The input a brand operator might have: every store, some twice, and a few that belong to another brand.
    const ids: Array<string> = []
    let foreignCount = 0
    for (let i = 0; i < DEMO.stores; i++) {
      ids.push(FakeWechatPay.storeId(i))
      if (i % Math.floor(DEMO.stores / DEMO.duplicates) === 7) ids.push(FakeWechatPay.storeId(i - 7))
      if (i % Math.floor(DEMO.stores / DEMO.otherBrand) === 3) ids.push(FakeWechatPay.otherBrandStoreId(foreignCount++))
    }
    const path = `${yield* Effect.promise(() => Fs.mkdtemp("/tmp/wechatpay-demo-"))}/stores.txt`
    yield* Effect.promise(() => Fs.writeFile(path, ids.join("\n") + "\n"))
    io.out.write(
      `demo: sandbox on ${server.baseUrl} (backup ${server.backupBaseUrl}), stock ${F.stockId} with ${DEMO.stores} stores; ` +
        `input ${ids.length} ids from ${path}; the sandbox answers ${DEMO.rateLimitFaultRate * 100}% of calls with 429\n`
    )
    const service = ProductCouponStores.layerMerchant(
      TestKeys.merchantOptions(keys, { baseUrl: server.baseUrl, backupBaseUrl: server.backupBaseUrl })
    ).pipe(Layer.provide(FetchHttpClient.layer))
    const result = yield* runJob(
      { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId, stores: path, report: undefined, dryRun: false, concurrency: 4 },
      io,
      service,
      new Set(ids).size,
      undefined,
      // The demo's report is checked below; a fallback file of a loopback sandbox's job would be litter.
      false
    )
    if (typeof result === "string") return fail(io, result)
    // Check the report against what the sandbox really did.
    const problems: Array<string> = []
    const stillAssociated = result.succeeded.filter((id) => fake.isAssociated(F.stockId, id))
    if (stillAssociated.length > 0) problems.push(`${stillAssociated.length} stores reported succeeded are still associated`)
    if (fake.associatedCount(F.stockId) !== 0) problems.push(`${fake.associatedCount(F.stockId)} stores are still associated`)
    const foreign = result.failed.filter((f) => f.storeId.startsWith("3")).length
    if (foreign !== new Set(ids.filter((id) => id.startsWith("3"))).size) problems.push("not every foreign store was reported failed")
    if (result.summary.unresolved !== 0) problems.push(`${result.summary.unresolved} stores unresolved`)
    const answered429 = fake.log.filter((e) => e.status === 429).length
    io.out.write(
      `demo check: the sandbox answered ${answered429} calls with 429, the client retried them; ` +
        (problems.length === 0
          ? `every store is accounted for and the sandbox's state agrees with the report. OK\n`
          : `PROBLEMS: ${problems.join("; ")}\n`)
    )
    return problems.length === 0 ? 0 : 2
  }).pipe(
    Effect.scoped,
    Effect.catchTag("SandboxError", (e) => Effect.succeed(fail(io, e.message)))
  )
