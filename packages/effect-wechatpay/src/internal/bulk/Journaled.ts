/**
 * A stock or bundle job started from its input with a journal: the input read whole and
 * de-duplicated, the stock checked (and, when asked, its listing walked), then the job
 * started by `Durable.start`, which creates the journal before the first call.
 */
import { Effect } from "effect"
import type { JobJournal, JournalError } from "../../JobJournal.js"
import * as ProductCoupon from "../../ProductCoupon.js"
import { ProductCouponStores } from "../../ProductCouponStores.js"
import type { JobReport } from "../../StoreJobs.js"
import type { ConfigurationError, RequestValidationError } from "../../WechatPayError.js"
import type * as BulkEngine from "../BulkEngine.js"
import { wholeNumber } from "../Options.js"
import * as BundleJob from "./BundleJob.js"
import * as Durable from "./Durable.js"
import type { StoreIds } from "./Ids.js"
import * as Journal from "./Journal.js"
import { readAll } from "./ReadAll.js"
import { NO_BUNDLE_SNAPSHOT, snapshotOf } from "./Snapshot.js"
import * as StockJob from "./StockJob.js"
import * as Stop from "./Stop.js"

/** Starts a stock job (either direction), journaled at `options.journal`. */
export const startStock = <E, R>(
  ids: StoreIds<E, R>,
  options: StockJob.Options & { readonly journal: string; readonly snapshot?: boolean | undefined },
  direction: Journal.Direction
): Effect.Effect<
  JobReport,
  BulkEngine.JobSourceError | ConfigurationError | RequestValidationError | StockJob.PreflightFailure | JournalError,
  R | ProductCouponStores | JobJournal
> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      yield* StockJob.checkOptions(options)
      yield* Durable.checkJournal(options.journal, true)
      const service = yield* ProductCouponStores
      const read = yield* readAll(ids)
      const target = StockJob.toStock(options)
      const preflight: BulkEngine.PreflightReport = options.preflight === false
        ? { status: "off" }
        : yield* StockJob.preflight(service, target)
      const snapshot = options.snapshot !== true
        ? { report: { status: "off", requests: 0 } as const, already: [[]] }
        : yield* snapshotOf(service, target, [{ direction, ids: read.unique }], options)
      const report = yield* Durable.start({
        operation: direction,
        target: { _tag: "stock", ...target },
        snapshot: snapshot.report,
        already: snapshot.already,
        parts: [{ direction, ids: read.unique }],
        input: { count: read.input, unique: read.unique.length, digest: yield* Journal.digest(read.unique) },
        options: Durable.optionsOf(options),
        preflight
      }, options.journal, options)
      return report as JobReport
    })).pipe(Effect.withSpan(`StoreJobs.${direction}All`, {
      attributes: { productCouponId: options?.productCouponId, stockId: options?.stockId, brandId: options?.brandId }
    }))

/** Starts a bundle job (either direction), journaled at `options.journal`. */
export const startBundle = <E, R>(
  ids: StoreIds<E, R>,
  options: BundleJob.Options & { readonly journal: string },
  direction: Journal.Direction
): Effect.Effect<
  JobReport,
  BulkEngine.JobSourceError | ConfigurationError | RequestValidationError | JournalError,
  R | ProductCouponStores | JobJournal
> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      yield* BundleJob.checkIds(options)
      yield* wholeNumber("chunkSize", options.chunkSize, ProductCoupon.MAX_STORES, ProductCoupon.MAX_STORES)
      yield* Durable.checkRun(options)
      yield* Durable.checkJournal(options.journal, true)
      const read = yield* readAll(ids)
      const target = BundleJob.toBundle(options)
      const report = yield* Durable.start({
        operation: direction,
        target: { _tag: "bundle", ...target },
        parts: [{ direction, ids: read.unique }],
        input: { count: read.input, unique: read.unique.length, digest: yield* Journal.digest(read.unique) },
        options: Durable.optionsOf(options),
        preflight: options.preflight === false ? { status: "off" } : { status: "skipped", reason: BundleJob.NO_BUNDLE_QUERY, requests: 0 },
        snapshot: { status: "skipped", reason: NO_BUNDLE_SNAPSHOT, requests: 0 }
      }, options.journal, options)
      return report as JobReport
    })).pipe(Effect.withSpan(`StoreJobs.${direction}BundleAll`, {
      attributes: { productCouponId: options?.productCouponId, stockBundleId: options?.stockBundleId, brandId: options?.brandId }
    }))
