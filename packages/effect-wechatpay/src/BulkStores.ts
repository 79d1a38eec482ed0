/**
 * Bulk jobs on one stock's stores, both ways: `disassociateAll` ("remove these
 * 30,000 stores from this stock") and `associateAll` ("add them"). Any number of
 * store ids, de-duplicated in first-seen order, cut into calls of at most 200,
 * sent with bounded concurrency through `ProductCouponStores` (its rate limiter,
 * retries and failover apply), and a report in which every unique store appears
 * exactly once: succeeded, failed or unresolved. Both are the one bulk engine;
 * only the endpoint differs.
 *
 * Around the calls, two checks, both on by default:
 * - `preflight`: one stock query first; a stock that is not `SPECIFIC`, is
 *   `STOPPED` or `DEACTIVATED`, or whose available end time is past (by the
 *   `Clock`) fails the job before any store is sent.
 * - `verify`: when the job ends with unresolved stores and was not stopped, the
 *   stock's listing is walked once; a store it shows in the state asked for is
 *   `succeeded` (and listed in `settledByListing`), any other is sent once more.
 *
 * `BulkDisassociation.disassociateAll` is the same job with no preflight and,
 * unless asked, no verification.
 *
 * `associateBundleAll` / `disassociateBundleAll` are the same engine over a stock
 * bundle (批次组关联门店 / 批次组取消关联门店): each call applies to every stock of the
 * bundle, all or nothing. Neither check is available for a bundle, and the report says
 * so: `preflight` is `skipped` ({@link NO_BUNDLE_QUERY}: there is no bundle query), and
 * `verification` is `skipped` ({@link NO_BUNDLE_LISTING}: the listing is per stock)
 * when stores stay unresolved; they stay `unresolved`.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type * as BulkEngine from "./internal/BulkEngine.js"
import type { StoreIds } from "./internal/bulk/Ids.js"
import * as BundleJob from "./internal/bulk/BundleJob.js"
import * as StockJob from "./internal/bulk/StockJob.js"
import * as ProductCoupon from "./ProductCoupon.js"
import type { ProductCouponStores } from "./ProductCouponStores.js"
import type { ConfigurationError, RequestValidationError } from "./WechatPayError.js"

export type {
  Anomaly,
  FailedStore,
  JobSourceError,
  PreflightReport,
  ProgressEvent,
  Report,
  SourceError,
  StopReason,
  StoreIds,
  Summary,
  UnresolvedStore,
  SnapshotReport,
  VerificationReport
} from "./internal/BulkEngine.js"
export type { PreflightFailure } from "./internal/bulk/StockJob.js"
export {
  ABORTED_BY_CALLER,
  ABORTED_IN_FLIGHT,
  SOURCE_FAILED,
  STOPPED_BY_CALLER,
  UNREACHABLE,
  UNREACHABLE_AFTER_CALLS
} from "./internal/BulkEngine.js"
export { LISTED_AS_BOTH } from "./internal/bulk/Settle.js"
export { NO_BUNDLE_LISTING, NO_BUNDLE_QUERY } from "./internal/bulk/BundleJob.js"

/** The endpoints' documented maximum of stores per call. */
export const MAX_CHUNK = ProductCoupon.MAX_STORES

/**
 * The stock (`productCouponId`, `stockId`, `brandId`), how the job runs (`concurrency`,
 * `chunkSize`, `onProgress`, `stopWhen`, `abortWhen`), and `preflight` and `verify`
 * (both default `true`).
 *
 * @since 0.1.0
 */
export interface Options extends StockJob.Options {}

/** What either job fails with. */
export type JobError =
  | BulkEngine.JobSourceError
  | ConfigurationError
  | RequestValidationError
  | StockJob.PreflightFailure

/**
 * Takes the stores out of the stock. Fails before anything is sent on bad options or ids, or
 * when the preflight refuses the stock (a `Preflight…Error`, or the stock query's own trusted
 * rejection, e.g. `StockNotFoundError`, `NoAuthError`); fails with a `JobSourceError` holding the
 * report so far when the id source breaks part-way.
 */
export const disassociateAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options
): Effect.Effect<BulkEngine.Report, JobError, R | ProductCouponStores> => StockJob.run(ids, options, StockJob.disassociating)

/** Puts the stores in the stock: as {@link disassociateAll}, the other way. */
export const associateAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options
): Effect.Effect<BulkEngine.Report, JobError, R | ProductCouponStores> => StockJob.run(ids, options, StockJob.associating)

/**
 * The stock bundle (`productCouponId`, `stockBundleId`, `brandId`) and how the job runs
 * (`concurrency`, `chunkSize`, `onProgress`, `stopWhen`, `abortWhen`), as for a stock.
 * `preflight` and `verify` are accepted so the same flags can be passed as to a stock job, but
 * neither check can be made for a bundle: `false` reports `off`, anything else `skipped` with
 * its reason ({@link NO_BUNDLE_QUERY}; {@link NO_BUNDLE_LISTING} when stores stay unresolved,
 * `not-needed` otherwise).
 *
 * @since 0.1.0
 */
export interface BundleOptions extends BundleJob.Options {}

/** What a bundle job fails with: no preflight, so no `Preflight…Error`. */
export type BundleJobError = BulkEngine.JobSourceError | ConfigurationError | RequestValidationError

/**
 * Puts the stores in every stock of the bundle (批次组关联门店), over the same engine as
 * {@link associateAll}: de-duplicated, chunks of at most 200, bounded concurrency, every unique
 * store exactly once in the report. A call WeChat Pay refuses as a whole (e.g. `StockExpiredError`
 * when one stock of the bundle is past its period: nothing applied to any stock) stops the job
 * or fails its stores as that error's `behaviour` says. Fails before anything is sent on bad
 * options or ids; with a `JobSourceError` holding the report so far when the id source breaks.
 */
export const associateBundleAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: BundleOptions
): Effect.Effect<BulkEngine.Report, BundleJobError, R | ProductCouponStores> =>
  BundleJob.run(ids, options, BundleJob.associating)

/** Takes the stores out of every stock of the bundle (批次组取消关联门店): as {@link associateBundleAll}, the other way. */
export const disassociateBundleAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: BundleOptions
): Effect.Effect<BulkEngine.Report, BundleJobError, R | ProductCouponStores> =>
  BundleJob.run(ids, options, BundleJob.disassociating)
