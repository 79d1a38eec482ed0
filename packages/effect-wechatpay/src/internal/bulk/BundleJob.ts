/**
 * A bulk job on a stock bundle's stores (批次组关联门店 / 批次组取消关联门店), in either direction:
 * the ids checked, then the one bulk engine driving the bundle endpoint, which WeChat Pay applies
 * to every stock of the bundle, all or nothing per call.
 *
 * The two checks of a stock job are not available for a bundle, and the report says so instead of
 * guessing: there is no bundle query (the preflight is `skipped`, {@link NO_BUNDLE_QUERY}), and the
 * listing is per stock (when stores stay unresolved, the verification is `skipped`,
 * {@link NO_BUNDLE_LISTING}; those stores stay `unresolved`). `preflight: false` / `verify: false`
 * report `off`, as for a stock.
 */
import { Effect } from "effect"
import * as ProductCoupon from "../../ProductCoupon.js"
import { ProductCouponStores } from "../../ProductCouponStores.js"
import type { Service } from "../../ProductCouponStores.js"
import { type ConfigurationError, type HasBehaviour, RequestValidationError } from "../../WechatPayError.js"
import * as BulkEngine from "../BulkEngine.js"
import { wholeNumber } from "../Options.js"
import { checkJobIds, type StoreIds } from "./Ids.js"
import { type StoreListAnswer, storeListJob } from "./Settle.js"
import * as Stop from "./Stop.js"

/** The bundle a job works on. */
export interface Bundle {
  readonly productCouponId: string
  readonly stockBundleId: string
  readonly brandId: string
}

/** A bundle job's options: the bundle, how the engine runs, and the two checks (reported, never made). */
export interface Options extends BulkEngine.JobOptions, Bundle {
  /**
   * There is no bundle query, so no preflight is ever made: the report says `skipped` with
   * {@link NO_BUNDLE_QUERY}, or `off` when this is `false`. Accepted so that a caller can pass the
   * same flags as to a stock job.
   */
  readonly preflight?: boolean | undefined
  /**
   * The listing is per stock, so unresolved stores are never verified by listing: the report says
   * `skipped` with {@link NO_BUNDLE_LISTING} (`not-needed` when nothing is unresolved), or `off`
   * when this is `false`.
   */
  readonly verify?: boolean | undefined
}

/** The preflight's `reason` for a bundle job. */
export const NO_BUNDLE_QUERY = "no stock query for a bundle"

/** The verification's `reason` for a bundle job that ended with unresolved stores. */
export const NO_BUNDLE_LISTING = "no listing for a bundle (the listing is per stock): unresolved stores stay unresolved"

/** What differs between associating and disassociating a bundle's stores. */
export interface Direction {
  readonly name: string
  readonly span: string
  readonly call: (service: Service, bundle: Bundle) => (chunk: ReadonlyArray<string>) => Effect.Effect<StoreListAnswer, HasBehaviour>
}

export const associating: Direction = {
  name: "BulkBundleAssociation",
  span: "BulkStores.associateBundleAll",
  call: (service, bundle) => (chunk) =>
    service.associateStockBundleStores({ ...bundle, storeList: chunk.map((storeId) => ({ storeId })) })
}

export const disassociating: Direction = {
  name: "BulkBundleDisassociation",
  span: "BulkStores.disassociateBundleAll",
  call: (service, bundle) => (chunk) =>
    service.disassociateStockBundleStores({ ...bundle, storeList: chunk.map((storeId) => ({ storeId })) })
}

/** The job's three ids, checked as the service would check them, once, up front. */
export const checkIds = (options: Bundle) =>
  checkJobIds([
    ["productCouponId", options.productCouponId, true],
    ["stockBundleId", options.stockBundleId, true],
    ["brandId", options.brandId, false]
  ])

export const toBundle = (options: Bundle): Bundle => ({
  productCouponId: options.productCouponId,
  stockBundleId: options.stockBundleId,
  brandId: options.brandId
})

/** The engine's job for a bundle's calls in one direction. */
export const engineJob = (service: Service, bundle: Bundle, direction: Direction): BulkEngine.Job<StoreListAnswer, HasBehaviour> =>
  storeListJob(direction.name, service, direction.call(service, toBundle(bundle)))

const preflightReport = (options: Options): BulkEngine.PreflightReport =>
  options.preflight === false ? { status: "off" } : { status: "skipped", reason: NO_BUNDLE_QUERY, requests: 0 }

const verification = (
  options: Options,
  report: BulkEngine.Report
): BulkEngine.VerificationReport => {
  const status = options.verify === false ? "off" : report.unresolved.length === 0 ? "not-needed" : "skipped"
  return { status, ...(status === "skipped" ? { reason: NO_BUNDLE_LISTING } : {}), settled: 0, resent: 0, requests: 0 }
}

/** The engine's report with the bundle job's fields: nothing settled by listing, nothing re-sent. */
export const withChecks = (options: Options, report: BulkEngine.Report): BulkEngine.Report => ({
  ...report,
  summary: { ...report.summary, settledByListing: 0, resent: 0 },
  preflight: preflightReport(options),
  verification: verification(options, report),
  settledByListing: []
})

/**
 * Runs a bundle job. Fails before anything is sent on bad options or ids; fails with a
 * `JobSourceError` holding the report so far (with the checks' fields) when the id source breaks.
 */
export const run = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options,
  direction: Direction
): Effect.Effect<
  BulkEngine.Report,
  BulkEngine.JobSourceError | ConfigurationError | RequestValidationError,
  R | ProductCouponStores
> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      yield* checkIds(options)
      // The engine checks these too; checked here with the ids so that a bad job reads no id.
      yield* wholeNumber("chunkSize", options.chunkSize, ProductCoupon.MAX_STORES, ProductCoupon.MAX_STORES)
      yield* wholeNumber("concurrency", options.concurrency, 4, Number.MAX_SAFE_INTEGER)
      const service = yield* ProductCouponStores
      const job = engineJob(service, options, direction)
      const report = yield* BulkEngine.run(ids, job, options).pipe(
        Effect.mapError((error): BulkEngine.JobSourceError | ConfigurationError =>
          error._tag === "StoreSourceError" ? { ...error, report: withChecks(options, error.report) } : error
        )
      )
      return withChecks(options, report)
    })).pipe(Effect.withSpan(direction.span, {
      attributes: { productCouponId: options?.productCouponId, stockBundleId: options?.stockBundleId, brandId: options?.brandId }
    }))
