/**
 * The CLI's commands as Effects returning an exit code. Input, output and
 * the HTTP transport are parameters, so the tests run them in-process.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Chunk, Effect, Layer, Stream } from "effect"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import * as BulkDisassociation from "../BulkDisassociation.js"
import * as ProductCouponStores from "../ProductCouponStores.js"
import type { ConfigurationError, KeyFormatError } from "../WechatPayError.js"
import * as FakeWechatPay from "../testing/FakeWechatPay.js"
import * as SandboxServer from "../testing/SandboxServer.js"
import * as SandboxSettings from "../testing/SandboxSettings.js"
import * as TestKeys from "../testing/TestKeys.js"
import * as Output from "./Output.js"
import * as StoreFile from "./StoreFile.js"

export interface Io {
  readonly out: Output.Sink
  readonly err: Output.Sink
  readonly stdin: Readable
  /** Completes on the first Ctrl-C: a job stops sending and still writes its report; the sandbox stops. */
  readonly stop?: Effect.Effect<void> | undefined
}

export const processIo: Io = { out: Output.stdout, err: Output.stderr, stdin: process.stdin }

export type FaultRates = Partial<Record<FakeWechatPay.Fault, number>>

export const faultNames = (): ReadonlyArray<string> => FakeWechatPay.FAULTS
export const isFault = (name: string): name is FakeWechatPay.Fault => (FakeWechatPay.FAULTS as ReadonlyArray<string>).includes(name)

const fail = (io: Io, message: string): number => {
  io.err.write(`wechatpay-stores: ${message}\n`)
  return 1
}

/** Exit code for a finished job: 0 only when every store succeeded and nothing cut the job short. */
export const exitCode = (report: BulkDisassociation.Report): number =>
  report.summary.succeeded === report.summary.unique && report.stoppedBy === undefined ? 0 : 2

/**
 * Checks, before anything is sent, that the report can be written: finding out
 * after a 30,000-store job that the directory does not exist loses the lists.
 */
/** One line for a report path that cannot be written: the errno code when there is one. */
const reportFailure = (path: string, cause: unknown): string =>
  `cannot write the report to ${path}: ${
    cause instanceof Error ? ("code" in cause ? String(cause.code) : cause.message) : "not writable"
  }`

const checkReportPath = (path: string) =>
  Effect.tryPromise({
    try: async () => {
      const stat = await Fs.stat(path).catch(() => undefined)
      if (stat?.isDirectory() === true) throw new Error("EISDIR")
      await Fs.access(stat === undefined ? Path.dirname(Path.resolve(path)) : path, Fs.constants.W_OK)
    },
    catch: (cause) => reportFailure(path, cause)
  })

const writeReport = (path: string, report: BulkDisassociation.Report) =>
  Effect.tryPromise({
    try: () => Fs.writeFile(path, JSON.stringify(report, null, 2) + "\n"),
    catch: (cause) => reportFailure(path, cause)
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
}

/** Runs a job with a service layer; shared by `disassociate` and `demo`. */
const runJob = (
  args: Omit<DisassociateArgs, "rate">,
  io: Io,
  service: Layer.Layer<ProductCouponStores.ProductCouponStores, ConfigurationError | KeyFormatError>,
  expected?: number,
  ids?: ReadonlyArray<string>
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
      stopWhen: io.stop
    }).pipe(
      Effect.provide(service),
      // The input was checked before the job, but a file can still change or fail under it:
      // the calls already made are reported, and the report says the input broke off.
      Effect.catchTag("StoreSourceError", (e) => Effect.succeed(e.report)),
      Effect.ensuring(Effect.sync(bar.finish))
    )
    io.out.write(Output.summaryTable(report.summary))
    if (report.stoppedBy !== undefined) {
      io.out.write(`stopped by ${report.stoppedBy.code}: ${report.stoppedBy.message}\n`)
    }
    if (args.report !== undefined) {
      yield* writeReport(args.report, report)
      io.out.write(`report written to ${args.report}\n`)
    }
    return report
  }).pipe(
    Effect.catchTags({
      ConfigurationError: (e) => Effect.succeed(`configuration: ${e.message}`),
      KeyFormatError: (e) => Effect.succeed(`configuration: ${e.message}`),
      // The flags were checked already; this is the library's own guard.
      RequestValidationError: (e) => Effect.succeed(e.message)
    }),
    // The only failure left is the report file's (a message).
    Effect.merge
  )

/** One line for a store-id source that could not be read or checked. */
const inputFailure = (
  e: StoreFile.StoreFileError | BulkDisassociation.SourceError | ConfigurationError
): string => e._tag === "StoreSourceError" ? `cannot read the store ids: ${String(e.cause)}` : e.message

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
      const plan = yield* BulkDisassociation.dryRun(StoreFile.stream(args.stores, io.stdin)).pipe(Effect.either)
      if (plan._tag === "Left") {
        return fail(io, inputFailure(plan.left))
      }
      const p = plan.right
      io.out.write(
        `dry run: ${Output.fmt(p.input)} ids, ${Output.fmt(p.unique)} unique, ${Output.fmt(p.duplicates)} duplicates, ${p.invalid.length} invalid; would make ${p.calls} calls of at most ${BulkDisassociation.MAX_CHUNK} stores at up to ${args.rate}/s. Nothing was sent.\n`
      )
      for (const bad of p.invalid.slice(0, 20)) io.out.write(`  invalid: ${JSON.stringify(bad.storeId)}: ${bad.message}\n`)
      return 0
    }
    // Read and check the whole input before sending anything: a malformed line 20,000 must not
    // stop a job half-way with no report. A file is read twice (memory stays flat); standard
    // input cannot be, so its ids are kept.
    const ids = args.stores === "-"
      ? yield* Stream.runCollect(StoreFile.stream("-", io.stdin)).pipe(Effect.map(Chunk.toReadonlyArray), Effect.either)
      : undefined
    if (ids?._tag === "Left") return fail(io, ids.left.message)
    const source = ids === undefined ? StoreFile.stream(args.stores, io.stdin) : ids.right
    const checked = yield* BulkDisassociation.dryRun(source).pipe(Effect.either)
    if (checked._tag === "Left") {
      return fail(io, inputFailure(checked.left))
    }
    const result = yield* runJob(args, io, service, checked.right.unique, ids?.right)
    return typeof result === "string" ? fail(io, result) : exitCode(result)
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
      new Set(ids).size
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
