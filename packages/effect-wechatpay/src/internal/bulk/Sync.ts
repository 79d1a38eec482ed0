/**
 * Sync of a stock to a desired store set: the listing walked once, the plan (associate what is
 * desired and missing, disassociate what is listed and not desired), the guard against a wrong
 * file, then both jobs, associate first, as one durable job of two parts.
 */
import { Clock, Effect, Either, Ref, Stream } from "effect"
import * as ProductCoupon from "../../ProductCoupon.js"
import { ProductCouponStores, type Service } from "../../ProductCouponStores.js"
import type { JobJournal, JournalError } from "../../JobJournal.js"
import type { SyncOptions, SyncPlan, SyncReport } from "../../StoreJobs.js"
import { ConfigurationError, type ListAssociatedStoresError, type RequestValidationError } from "../../WechatPayError.js"
import type * as BulkEngine from "../BulkEngine.js"
import { integerAtLeast } from "../Options.js"
import * as Durable from "./Durable.js"
import * as ReadAll from "./ReadAll.js"
import { SyncGuardError, SyncStoppedError } from "./Errors.js"
import type { StoreIds } from "./Ids.js"
import * as Journal from "./Journal.js"
import type { FailedStore } from "./Settle.js"
import * as StockJob from "./StockJob.js"
import * as Stop from "./Stop.js"

export { SyncGuardError, SyncStoppedError }

/** What walking the listing can fail with. */
export type ListingError = ListAssociatedStoresError

/** The most stores a sync may disassociate unless told otherwise. */
export const DEFAULT_MAX_REMOVALS = 1_000

const planFrom = (
  service: Service,
  read: ReadAll.Read,
  stock: StockJob.Stock,
  signals: Stop.Signals
): Effect.Effect<SyncPlan, ListingError | SyncStoppedError> =>
  Effect.gen(function*() {
    const invalid: Array<FailedStore> = []
    const valid: Array<string> = []
    for (const id of read.unique) {
      const problem = ProductCoupon.idProblem(id)
      if (problem === undefined) valid.push(id)
      else invalid.push({ storeId: id, code: "INVALID_STORE_ID", message: problem })
    }
    const count = yield* Ref.make(0)
    // A store the listing shows twice (it changed between pages) is one store.
    const current = new Set<string>()
    const walk = StockJob.counting(count, Stream.runForEach(service.associatedStores(stock), (id) => Effect.sync(() => current.add(id))))
    // A signal ends the walk where it is: the plan would be of part of the stock, so nothing is applied.
    const walked = yield* Stop.raceSignals(walk, signals)
    if (walked === "stop" || walked === "abort") {
      return yield* Effect.fail(new SyncStoppedError({ by: walked, listingRequests: yield* Ref.get(count) }))
    }
    if (Either.isLeft(walked)) return yield* Effect.fail(walked.left)
    const desired = new Set(valid)
    const toAssociate = valid.filter((id) => !current.has(id))
    const toDisassociate = [...current].filter((id) => !desired.has(id))
    return {
      desired: { input: read.input, unique: read.unique.length, duplicates: read.input - read.unique.length, invalid },
      current: current.size,
      unchanged: valid.length - toAssociate.length,
      toAssociate,
      toDisassociate,
      listingRequests: yield* Ref.get(count)
    }
  })

/** The plan only: ids checked, the listing walked, nothing else sent. */
export const plan = <E, R>(
  desired: StoreIds<E, R>,
  options: StockJob.Stock & Stop.Signals
): Effect.Effect<
  SyncPlan,
  BulkEngine.JobSourceError | ConfigurationError | RequestValidationError | ListingError | SyncStoppedError,
  R | ProductCouponStores
> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      yield* StockJob.checkOptions(options)
      const service = yield* ProductCouponStores
      const read = yield* ReadAll.readAll(desired)
      return yield* planFrom(service, read, StockJob.toStock(options), options)
    })).pipe(Effect.withSpan("StoreJobs.planSync"))

/**
 * Refuses a plan that removes more than allowed, or that leaves the stock none of its stores (an empty
 * desired set, or one that holds none of the listed stores: a wrong file) unless `maxRemovals` was given
 * high enough: emptying a stock takes a deliberate option, whatever its size.
 */
const guard = (p: Counts, maxRemovals: number | undefined): Effect.Effect<void, SyncGuardError> => {
  const { current, removals, valid } = p
  const limit = maxRemovals ?? DEFAULT_MAX_REMOVALS
  const deliberate = maxRemovals !== undefined && maxRemovals >= removals
  if (valid === 0 && !deliberate) {
    return Effect.fail(new SyncGuardError({ reason: "empty-desired", removals, maxRemovals: limit, current }))
  }
  if (removals > 0 && removals === current && !deliberate) {
    return Effect.fail(new SyncGuardError({ reason: "removes-all", removals, maxRemovals: limit, current }))
  }
  if (removals > limit) {
    return Effect.fail(new SyncGuardError({ reason: "too-many-removals", removals, maxRemovals: limit, current }))
  }
  return Effect.void
}

/** What the guard reads of a plan. */
interface Counts {
  readonly current: number
  readonly removals: number
  /** Desired ids that can be sent. */
  readonly valid: number
}

const countsOfPlan = (p: SyncPlan): Counts => ({
  current: p.current,
  removals: p.toDisassociate.length,
  valid: p.desired.unique - p.desired.invalid.length
})

/** The counts `guard` reads of a caller's plan, or why they cannot be read: it is no plan, or contradicts itself. */
const countsOf = (u: unknown): Counts | string => {
  // Read once, inside a try: a plan built by hand may have getters that throw.
  try {
    const p = u as Partial<Record<keyof SyncPlan, unknown>> | null
    if (typeof p !== "object" || p === null) return "must be a plan that planSync gave"
    const d = p.desired as { readonly unique?: unknown; readonly invalid?: unknown } | null | undefined
    const { current, toAssociate, toDisassociate } = p
    if (
      !Array.isArray(toDisassociate) || !Array.isArray(toAssociate) || typeof current !== "number" ||
      typeof d !== "object" || d === null || typeof d.unique !== "number" || !Array.isArray(d.invalid)
    ) return "must be a plan that planSync gave"
    const removals = toDisassociate.length
    const valid = d.unique - d.invalid.length
    if (!Number.isInteger(current) || current < removals || !Number.isInteger(valid) || valid < 0) {
      return "contradicts itself (its counts do not add up): pass the plan planSync gave, unchanged"
    }
    return { current, removals, valid }
  } catch {
    return "must be a plan that planSync gave (reading it failed)"
  }
}

/** `guard` for a caller's plan (from `planSync`): its `maxRemovals` and the plan itself checked first. */
export const checkPlan = (plan: SyncPlan, maxRemovals: number | undefined): Effect.Effect<void, SyncGuardError | ConfigurationError> =>
  Effect.gen(function*() {
    if (maxRemovals !== undefined) yield* integerAtLeast("maxRemovals", maxRemovals, 0)
    const counted = countsOf(plan)
    if (typeof counted === "string") return yield* new ConfigurationError({ variable: "plan", reason: counted })
    return yield* guard(counted, maxRemovals)
  })

/** Plans, guards, and (unless a dry run) applies the plan. */
export const sync = <E, R>(
  desired: StoreIds<E, R>,
  options: SyncOptions
): Effect.Effect<
  SyncReport,
  | BulkEngine.JobSourceError
  | ConfigurationError
  | RequestValidationError
  | StockJob.PreflightFailure
  | JournalError
  | SyncGuardError
  | SyncStoppedError
  | ListingError,
  R | ProductCouponStores | JobJournal
> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      yield* StockJob.checkOptions(options)
      if (options.maxRemovals !== undefined) yield* integerAtLeast("maxRemovals", options.maxRemovals, 0)
      yield* Durable.checkJournal(options.journal, false)
      const service = yield* ProductCouponStores
      const stock = StockJob.toStock(options)
      const read = yield* ReadAll.readAll(desired)
      const p = yield* planFrom(service, read, stock, options)
      yield* guard(countsOfPlan(p), options.maxRemovals)
      if (options.dryRun === true) {
        const now = new Date(yield* Clock.currentTimeMillis).toISOString()
        return {
          job: { operation: "sync", ...stock, id: globalThis.crypto.randomUUID(), startedAt: now, endedAt: now, runs: 0 },
          plan: p,
          dryRun: true
        } satisfies SyncReport
      }
      const preflight: BulkEngine.PreflightReport = options.preflight === false
        ? { status: "off" }
        : yield* StockJob.preflight(service, stock)
      const { toAssociate, toDisassociate, ...rest } = p
      const report = yield* Durable.start({
        operation: "sync",
        target: { _tag: "stock", ...stock },
        parts: [{ direction: "associate", ids: toAssociate }, { direction: "disassociate", ids: toDisassociate }],
        input: { count: read.input, unique: read.unique.length, digest: yield* Journal.digest(read.unique) },
        options: Durable.optionsOf(options),
        preflight,
        plan: rest,
        // The plan's listing is the snapshot: the parts hold only stores not yet in the state asked for.
        snapshot: { status: "done", requests: p.listingRequests }
      }, options.journal, options)
      return report as SyncReport
    })).pipe(Effect.withSpan("StoreJobs.syncStores", {
      attributes: { productCouponId: options?.productCouponId, stockId: options?.stockId, brandId: options?.brandId }
    }))
