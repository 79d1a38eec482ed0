/**
 * The fault soak, shared by `npm run soak` (100,000 stores) and test/soak.test.ts
 * (10,000): a bulk job over loopback HTTP against the sandbox with seeded faults
 * (429, 500, resets, timeouts, probe signatures, truncated bodies) and the primary
 * endpoint down for a stretch, then the report checked against the sandbox's own state.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Cause, Duration, Effect, Exit, Layer, Option } from "effect"
import * as BulkDisassociation from "../packages/effect-wechatpay/src/BulkDisassociation.js"
import * as ProductCouponStores from "../packages/effect-wechatpay/src/ProductCouponStores.js"
import type * as RetryPolicy from "../packages/effect-wechatpay/src/internal/RetryPolicy.js"
import { FakeWechatPay, Prng, SandboxServer, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"

const F = FakeWechatPay.Fixture

export interface SoakOptions {
  /** Unique stores of the brand, all associated with the stock at the start. */
  readonly stores: number
  /** Extra input lines that repeat an earlier id, as a fraction of `stores` (0.1 = 10%). */
  readonly duplicateRate: number
  /** Stores of another brand mixed in: they must end up failed, never disassociated. */
  readonly foreignStores: number
  readonly seed: number
  readonly concurrency: number
  /** The client's per-attempt timeout; the sandbox's slow answers come `slowMillis` later. */
  readonly timeoutMillis: number
  readonly slowMillis: number
  readonly retry: RetryPolicy.Options
  readonly failoverWindowMillis: number
  /** The primary listener is closed from `afterMillis` for `forMillis`. */
  readonly primaryDown: { readonly afterMillis: number; readonly forMillis: number }
  /**
   * The application's transport: `FetchHttpClient` (the default), or this package's `UndiciHttpClient`, over
   * which each attempt runs on the caller's fiber and the transport stops its own request at the deadline.
   */
  readonly transport?: "fetch" | "undici" | undefined
  /** Fault rates over {@link FAULT_RATES}, for a soak that must meet a rarer fault at a small size. */
  readonly faultRates?: Partial<Record<FakeWechatPay.Fault, number>> | undefined
}

/** The fault mix: 20% 429, 5% 500, 2% resets, 1% timeouts, 1% probes, 1% truncated bodies. */
export const FAULT_RATES: Partial<Record<FakeWechatPay.Fault, number>> = {
  rateLimit: 0.2,
  systemError: 0.05,
  connectionReset: 0.02,
  slow: 0.01,
  probeSignature: 0.01,
  truncatedBody: 0.01
}

export interface SoakResult {
  readonly seconds: number
  readonly summary: BulkDisassociation.Summary
  /** What the sandbox did: requests, faults injected by kind, requests refused while the primary was down. */
  readonly sandbox: {
    readonly requests: number
    readonly processed: number
    readonly faults: Readonly<Record<string, number>>
    readonly byEndpoint: Readonly<Record<string, number>>
  }
  readonly stoppedBy: string | undefined
  /** Every check that failed; empty when the soak passed. */
  readonly problems: ReadonlyArray<string>
  readonly unhandledRejections: number
}

/** Input: every store once, `duplicateRate` repeats of earlier ids and the foreign stores, in a seeded order. */
export const makeInput = (o: SoakOptions): Array<string> => {
  const prng = Prng.make(o.seed)
  const ids: Array<string> = []
  for (let i = 0; i < o.stores; i++) ids.push(FakeWechatPay.storeId(i))
  const duplicates = Math.round(o.stores * o.duplicateRate)
  for (let k = 0; k < duplicates; k++) ids.push(FakeWechatPay.storeId(Math.floor(prng.next() * o.stores)))
  for (let k = 0; k < o.foreignStores; k++) ids.push(FakeWechatPay.otherBrandStoreId(k))
  // Fisher–Yates with the seeded generator: duplicates land anywhere, also inside the same chunk.
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(prng.next() * (i + 1))
    const t = ids[i]!
    ids[i] = ids[j]!
    ids[j] = t
  }
  return ids
}

/** Checks a report against the sandbox: every claim must be true of its state. */
export const check = (
  input: ReadonlyArray<string>,
  report: BulkDisassociation.Report,
  fake: FakeWechatPay.Service
): Array<string> => {
  const problems: Array<string> = []
  const unique = new Set(input)
  const seen = new Map<string, number>()
  const count = (id: string) => seen.set(id, (seen.get(id) ?? 0) + 1)
  for (const id of report.succeeded) count(id)
  for (const f of report.failed) count(f.storeId)
  for (const u of report.unresolved) count(u.storeId)
  const twice = [...seen].filter(([, n]) => n > 1).length
  const missing = [...unique].filter((id) => !seen.has(id)).length
  const extra = [...seen.keys()].filter((id) => !unique.has(id)).length
  if (twice > 0) problems.push(`${twice} stores appear in more than one place in the report`)
  if (missing > 0) problems.push(`${missing} unique input stores are missing from the report`)
  if (extra > 0) problems.push(`${extra} stores in the report were never in the input`)
  const changed = new Set<string>()
  for (const e of fake.log) for (const id of e.changedStores) changed.add(id)
  const notReally = report.succeeded.filter((id) => fake.isAssociated(F.stockId, id) || !changed.has(id)).length
  if (notReally > 0) problems.push(`${notReally} stores reported succeeded were not disassociated in the sandbox`)
  const wronglyFailed = report.failed.filter((f) => changed.has(f.storeId)).length
  if (wronglyFailed > 0) problems.push(`${wronglyFailed} stores reported failed were disassociated in the sandbox`)
  const s = report.summary
  if (s.unique !== unique.size || s.input !== input.length || s.duplicates !== input.length - unique.size) {
    problems.push(`summary counts ${JSON.stringify({ input: s.input, unique: s.unique, duplicates: s.duplicates })} disagree with the input`)
  }
  if (s.succeeded + s.failed + s.unresolved !== s.unique) problems.push("succeeded + failed + unresolved ≠ unique")
  return problems
}

/** Runs the soak; never fails (problems are in the result). */
export const run = (o: SoakOptions): Effect.Effect<SoakResult, SandboxServer.SandboxError> =>
  Effect.scoped(Effect.gen(function*() {
    const keys = yield* TestKeys.generate()
    const fake = FakeWechatPay.makeWith(keys, {
      seed: FakeWechatPay.generate({ stores: o.stores, otherBrandStores: o.foreignStores }),
      rateLimit: false,
      faults: { seed: o.seed, rates: { ...FAULT_RATES, ...o.faultRates }, slowMillis: o.slowMillis }
    })
    const server = yield* SandboxServer.make(fake)
    const input = makeInput(o)

    let unhandledRejections = 0
    const onUnhandled = () => {
      unhandledRejections++
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("unhandledRejection", onUnhandled)),
      () => Effect.sync(() => process.off("unhandledRejection", onUnhandled))
    )

    const service = ProductCouponStores.layerMerchant(
      TestKeys.merchantOptions(keys, { baseUrl: server.baseUrl, backupBaseUrl: server.backupBaseUrl }),
      {
        rateLimit: false,
        retry: o.retry,
        timeout: Duration.millis(o.timeoutMillis),
        failover: { window: Duration.millis(o.failoverWindowMillis) }
      }
    ).pipe(Layer.provide(o.transport === "undici" ? UndiciHttpClient.layer : FetchHttpClient.layer))

    // The primary goes down for a stretch while the job runs.
    let outageStarted = false
    yield* Effect.forkScoped(Effect.gen(function*() {
      yield* Effect.sleep(Duration.millis(o.primaryDown.afterMillis))
      yield* server.setPrimaryDown(true)
      outageStarted = true
      yield* Effect.sleep(Duration.millis(o.primaryDown.forMillis))
      yield* server.setPrimaryDown(false)
    }).pipe(Effect.orDie))

    const t0 = performance.now()
    const exit = yield* Effect.exit(
      BulkDisassociation.disassociateAll(input, {
        productCouponId: F.productCouponId,
        stockId: F.stockId,
        brandId: F.brandId,
        concurrency: o.concurrency
      }).pipe(Effect.provide(service))
    )
    const seconds = (performance.now() - t0) / 1000
    const outageDuringJob = outageStarted
    // Let a late answer or rejection surface before counting.
    yield* Effect.sleep(Duration.millis(50))

    const faults: Record<string, number> = {}
    const byEndpoint: Record<string, number> = {}
    let processed = 0
    for (const e of fake.log) {
      if (e.fault !== undefined) faults[e.fault] = (faults[e.fault] ?? 0) + 1
      byEndpoint[e.endpoint] = (byEndpoint[e.endpoint] ?? 0) + 1
      if (e.processed) processed++
    }
    const sandbox = { requests: fake.log.length, processed, faults, byEndpoint }
    if (Exit.isFailure(exit)) {
      const defect = Cause.isDie(exit.cause)
      return {
        seconds,
        summary: { input: input.length, unique: 0, duplicates: 0, succeeded: 0, failed: 0, unresolved: 0, chunks: 0, requests: 0, retries: {} },
        sandbox,
        stoppedBy: undefined,
        problems: [`the job ${defect ? "died (defect)" : "failed"}: ${Cause.pretty(exit.cause)}`],
        unhandledRejections
      }
    }
    const report = exit.value
    const problems = check(input, report, fake)
    if (report.stoppedBy !== undefined) problems.push(`the job stopped: ${report.stoppedBy.code}`)
    if (!outageDuringJob) problems.push("the job ended before the primary outage began: nothing was tested")
    if ((byEndpoint["backup"] ?? 0) === 0) problems.push("the backup endpoint was never used")
    if (unhandledRejections > 0) problems.push(`${unhandledRejections} unhandled rejections`)
    return {
      seconds,
      summary: report.summary,
      sandbox,
      stoppedBy: Option.getOrUndefined(Option.fromNullable(report.stoppedBy?.code)),
      problems,
      unhandledRejections
    }
  }))

/** The figures, one per line. */
export const describe = (o: SoakOptions, r: SoakResult): string => {
  const s = r.summary
  const retries = Object.entries(s.retries).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")
  const faults = Object.entries(r.sandbox.faults).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(", ")
  return [
    `soak: ${o.stores.toLocaleString("en-US")} stores + ${Math.round(o.stores * o.duplicateRate).toLocaleString("en-US")} duplicate lines + ${o.foreignStores} foreign stores, seed ${o.seed}, concurrency ${o.concurrency}, ${r.seconds.toFixed(1)} s`,
    `report: input ${s.input}, unique ${s.unique}, duplicates ${s.duplicates}; succeeded ${s.succeeded}, failed ${s.failed}, unresolved ${s.unresolved}; ${s.chunks} chunks, ${s.requests} HTTP attempts`,
    `retries by reason: ${retries === "" ? "none" : retries}`,
    `sandbox: ${r.sandbox.requests} requests (primary ${r.sandbox.byEndpoint["primary"] ?? 0}, backup ${r.sandbox.byEndpoint["backup"] ?? 0}), ${r.sandbox.processed} processed; faults injected: ${faults}; primary closed ${o.primaryDown.forMillis} ms from ${o.primaryDown.afterMillis} ms`,
    r.problems.length === 0
      ? "checks: every unique store in exactly one list; every succeeded store disassociated in the sandbox; no disassociated store reported failed; no defect, no unhandled rejection. PASS"
      : `checks FAILED:\n  ${r.problems.join("\n  ")}`
  ].join("\n")
}
