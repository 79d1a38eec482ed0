/**
 * "Remove these 30,000 stores from this stock": any number of store ids,
 * de-duplicated in first-seen order, cut into calls of at most 200, sent with
 * bounded concurrency through `ProductCouponStores` (so its rate limiter,
 * retries and failover apply), and a report in which every unique store
 * appears exactly once: succeeded, failed, or unresolved.
 *
 * The job is the bulk engine (`internal/BulkEngine`) driving
 * `ProductCouponStores.disassociateStores`, as `BulkStores.disassociateAll` runs
 * it but with no preflight and, unless asked, no verification: the calls it
 * makes are the ones it always made. `BulkStores` has both directions with both
 * checks on.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import type * as BulkEngine from "./internal/BulkEngine.js"
import { jobHooks, wholeNumber } from "./internal/Options.js"
import { chunked, describeCause, Intake, type SourceError, type StoreIds, toStream } from "./internal/bulk/Ids.js"
import type { FailedStore } from "./internal/bulk/Settle.js"
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
  VerificationReport
} from "./internal/BulkEngine.js"
export {
  ABORTED_BY_CALLER,
  ABORTED_IN_FLIGHT,
  SOURCE_FAILED,
  STOPPED_BY_CALLER,
  UNREACHABLE,
  UNREACHABLE_AFTER_CALLS
} from "./internal/BulkEngine.js"
export { LISTED_AS_BOTH } from "./internal/bulk/Settle.js"

/** The endpoint's documented maximum of stores per call. */
export const MAX_CHUNK = ProductCoupon.MAX_STORES

/** @since 0.1.0 */
export interface Options extends BulkEngine.JobOptions {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  /**
   * Walk the stock's listing once after the job to settle unresolved stores (see
   * `BulkStores`). Off by default here, so the job makes exactly the calls it always made;
   * `BulkStores.disassociateAll` has it on, with the preflight.
   */
  readonly verify?: boolean | undefined
}

/**
 * Runs the job, without the preflight (use `BulkStores.disassociateAll` for a job that checks
 * the stock first). Fails before anything is sent (bad options or ids: typed errors), or with a
 * `JobSourceError` holding the report so far when the id source breaks part-way (a stream's own
 * error is its `cause`).
 */
export const disassociateAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options
): Effect.Effect<
  BulkEngine.Report,
  BulkEngine.JobSourceError | ConfigurationError | RequestValidationError,
  R | ProductCouponStores
> =>
  // Refused as every job refuses options that are no object, before they are read here.
  Effect.flatMap(jobHooks(options), () =>
    StockJob.runUnchecked(ids, { ...options, verify: options.verify ?? false }, StockJob.disassociating, "BulkDisassociation.disassociateAll"))

/** What a dry run reports: the plan, nothing sent. */
export interface DryRun {
  readonly input: number
  readonly unique: number
  readonly duplicates: number
  readonly invalid: ReadonlyArray<FailedStore>
  readonly calls: number
}

/** De-duplicates and validates without sending anything; holds only the de-duplication set. */
export const dryRun = <E = never, R = never>(
  ids: StoreIds<E, R>,
  chunkSize: number = MAX_CHUNK
): Effect.Effect<DryRun, E | SourceError | ConfigurationError, R> =>
  Effect.gen(function*() {
    const size = yield* wholeNumber("chunkSize", chunkSize, MAX_CHUNK, MAX_CHUNK)
    const intake = new Intake()
    const sourceError = (cause: unknown): SourceError => ({
      _tag: "StoreSourceError",
      cause,
      message: `cannot read the store ids: ${describeCause(cause)}`
    })
    const calls = yield* Stream.runCount(chunked(toStream(ids, sourceError), intake, size))
    const { input, invalid, unique } = intake
    return { input, unique, duplicates: input - unique, invalid, calls }
  })
