/**
 * A bulk job on one stock's stores, in either direction: the ids checked, the stock checked
 * once (the preflight), the bulk engine driving the endpoint, and the listing walked once to
 * settle what the calls left unknown (the verification). Only the call and whether it puts
 * stores in the listing or takes them out differ between associating and disassociating.
 */
import { Clock, Effect, Either, Option, Ref, Stream } from "effect"
import * as ProductCoupon from "../../ProductCoupon.js"
import { AttemptObserver, ProductCouponStores } from "../../ProductCouponStores.js"
import type { AttemptEvent, Service } from "../../ProductCouponStores.js"
import {
  type ConfigurationError,
  type GetStockError,
  type HasBehaviour,
  PreflightStockEndedError,
  PreflightStockStateError,
  PreflightStoreScopeError,
  RequestValidationError
} from "../../WechatPayError.js"
import * as BulkEngine from "../BulkEngine.js"
import { wholeNumber } from "../Options.js"
import { checkJobIds, type StoreIds } from "./Ids.js"
import { CallRecorder } from "./Recorder.js"
import { type StoreListAnswer, storeListJob } from "./Settle.js"
import * as Stop from "./Stop.js"

/** The stock a job works on. */
export interface Stock {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
}

/** A stock job's options: the stock, how the engine runs, and the two checks around it. */
export interface Options extends BulkEngine.JobOptions, Stock {
  /**
   * One stock query before any store is sent; a stock that is not `SPECIFIC`, is `STOPPED` or
   * `DEACTIVATED`, or whose available end time is past fails the job. Default `true`.
   */
  readonly preflight?: boolean | undefined
  /**
   * When the job ends with unresolved stores (and was not stopped), walk the stock's listing
   * once to settle them; stores still to do are sent once more. Default `true`.
   */
  readonly verify?: boolean | undefined
}

/** What differs between associating and disassociating. */
export interface Direction {
  /** The job's name in logs. */
  readonly name: string
  /** The job's span. */
  readonly span: string
  /** One call of the endpoint for a chunk. */
  readonly call: (service: Service, stock: Stock) => (chunk: ReadonlyArray<string>) => Effect.Effect<StoreListAnswer, HasBehaviour>
  /** Whether a store the call succeeded for is then in the stock's listing (associate) or not (disassociate). */
  readonly listedWhenDone: boolean
}

/** Disassociating: a store it succeeded for is no longer in the stock's listing. */
export const disassociating: Direction = {
  name: "BulkDisassociation",
  span: "BulkStores.disassociateAll",
  listedWhenDone: false,
  call: (service, stock) => (chunk) => service.disassociateStores({ ...stock, storeList: chunk.map((storeId) => ({ storeId })) })
}

/** Associating: a store it succeeded for is then in the stock's listing. */
export const associating: Direction = {
  name: "BulkAssociation",
  span: "BulkStores.associateAll",
  listedWhenDone: true,
  call: (service, stock) => (chunk) => service.associateStores({ ...stock, storeList: chunk.map((storeId) => ({ storeId })) })
}

/** What the preflight can refuse a job with: the stock as it is, or the query's own definite answer. */
export type PreflightFailure = PreflightStoreScopeError | PreflightStockStateError | PreflightStockEndedError | GetStockError

/** The job's three ids, checked as the service would check them, once, up front. */
const checkIds = (options: Stock) =>
  checkJobIds([
    ["productCouponId", options.productCouponId, true],
    ["stockId", options.stockId, true],
    ["brandId", options.brandId, false]
  ])

/** Runs `effect` counting its HTTP attempts into `count`; an observer the caller installed still sees each one. */
export const counting = <A, E, R>(count: Ref.Ref<number>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(AttemptObserver, (outer) =>
    Effect.provideService(effect, AttemptObserver, {
      onAttempt: (event: AttemptEvent) => Effect.zipRight(Ref.update(count, (n) => n + 1), outer.onAttempt(event))
    }))

export const toStock = (options: Stock): Stock => ({
  productCouponId: options.productCouponId,
  stockId: options.stockId,
  brandId: options.brandId
})

/**
 * The stock query and its verdict. A definite answer refuses the job: the stock as it is, or the
 * query's own trusted rejection (`behaviour.outcome` `failed`: a signed 404, `NO_AUTH`, …, which
 * every store call would meet too). An answer that settles nothing (a transport error, a timeout,
 * a 5xx or 429 after the retries, an unsigned or unverifiable answer) does not block the job:
 * the report says the preflight was skipped and why.
 */
export const preflight = (service: Service, stock: Stock): Effect.Effect<BulkEngine.PreflightReport, PreflightFailure> =>
  Effect.gen(function*() {
    const count = yield* Ref.make(0)
    const answer = yield* Effect.either(counting(count, service.getStock(stock)))
    const requests = yield* Ref.get(count)
    if (Either.isLeft(answer)) {
      const error = answer.left
      if (error.behaviour.outcome === "failed") return yield* Effect.fail(error)
      return { status: "skipped", reason: `the stock query failed: ${error._tag}: ${error.message}`, requests } as const
    }
    const found = answer.right
    const ids = { productCouponId: stock.productCouponId, stockId: stock.stockId, requestId: found.requestId }
    if (found.storeScope !== "SPECIFIC") return yield* new PreflightStoreScopeError({ ...ids, storeScope: found.storeScope })
    if (found.state === "STOPPED" || found.state === "DEACTIVATED") {
      return yield* new PreflightStockStateError({ ...ids, state: found.state })
    }
    // A bundle coupon's period lives elsewhere (not decoded yet): no end time, so nothing to hold against the stock.
    const end = found.singleUsageRule?.couponAvailablePeriod?.availableEndTime
    const endMillis = end === undefined ? Number.NaN : Date.parse(end)
    const now = yield* Clock.currentTimeMillis
    if (end !== undefined && Number.isFinite(endMillis) && now > endMillis) {
      return yield* new PreflightStockEndedError({ ...ids, availableEndTime: end, checkedAt: new Date(now).toISOString() })
    }
    return {
      status: "passed",
      state: found.state,
      storeScope: found.storeScope,
      ...(end === undefined ? {} : { availableEndTime: end }),
      ...(found.requestId === undefined ? {} : { requestId: found.requestId }),
      requests
    } as const
  })

export const noVerification = (status: BulkEngine.VerificationReport["status"], reason?: string): BulkEngine.VerificationReport => ({
  status,
  ...(reason === undefined ? {} : { reason }),
  settled: 0,
  resent: 0,
  requests: 0
})

/** The report with the stock job's fields, before any verification. */
export const withChecks = (
  report: BulkEngine.Report,
  preflightReport: BulkEngine.PreflightReport,
  verification: BulkEngine.VerificationReport
): BulkEngine.Report => ({
  ...report,
  summary: { ...report.summary, settledByListing: 0, resent: 0 },
  preflight: preflightReport,
  verification,
  settledByListing: []
})

const describe = (error: HasBehaviour): string => `${error._tag}: ${error.message}`

/**
 * Walks the listing once and settles the unresolved stores: those the listing shows in the state
 * asked for are `succeeded` (and listed in `settledByListing`); the others are sent once more,
 * through the engine, and reported by that call's answer. A job that was stopped is not verified:
 * the caller (or an error every call would meet) asked for nothing more to be sent.
 */
export const verify = (
  service: Service,
  stock: Stock,
  direction: Direction,
  job: BulkEngine.Job<StoreListAnswer, HasBehaviour>,
  options: Options,
  report: BulkEngine.Report
): Effect.Effect<BulkEngine.Report> =>
  Effect.gen(function*() {
    if (options.verify === false) return { ...report, verification: noVerification("off") }
    if (report.unresolved.length === 0) return { ...report, verification: noVerification("not-needed") }
    if (report.stoppedBy !== undefined) {
      const why = report.stoppedBy
      return { ...report, verification: noVerification("skipped", `the job stopped (${why.code}): ${why.message}`) }
    }

    // Only the unresolved ids are held: the listing itself streams past.
    const pending = new Set(report.unresolved.map((u) => u.storeId))
    const listed = new Set<string>()
    const count = yield* Ref.make(0)
    const walking = counting(
      count,
      Stream.runForEach(service.associatedStores(stock), (id) =>
        Effect.sync(() => {
          if (pending.has(id)) listed.add(id)
        }))
    )
    // The caller's stop and abort still hold while the listing is walked, and the stores stay as they are.
    // They are the job's signals, started once when the job started (`Stop.once`): awaited here, not restarted.
    const walk = yield* Stop.raceSignals(walking, options)
    const requests = yield* Ref.get(count)
    if (walk === "stop" || walk === "abort") {
      // The job was cut short: its unresolved stores are for a resume (or a later listing) to settle.
      const reason = `${walk === "stop" ? "stopped" : "aborted"} by the caller during the listing walk`
      const stoppedBy: BulkEngine.StopReason = {
        ...(walk === "stop" ? { tag: Stop.STOPPED_BY_CALLER, code: "STOPPED" } : { tag: Stop.ABORTED_BY_CALLER, code: "ABORTED" }),
        message: `${reason}: ${pending.size} store(s) stay unresolved`
      }
      return { ...report, stoppedBy, verification: { ...noVerification("skipped", reason), requests } }
    }
    if (Either.isLeft(walk)) {
      const reason = `the listing could not be walked: ${describe(walk.left)}`
      yield* Effect.logWarning(`${direction.name}: ${reason}; ${pending.size} store(s) stay unresolved`)
      return { ...report, verification: { ...noVerification("failed", reason), requests } }
    }

    const settled: Array<string> = []
    const resend: Array<string> = []
    for (const u of report.unresolved) {
      if (listed.has(u.storeId) === direction.listedWhenDone) settled.push(u.storeId)
      else resend.push(u.storeId)
    }
    // A durable job records what the listing settled; should that write fail, a resume walks the listing again.
    const recorder = yield* Effect.serviceOption(CallRecorder)
    if (Option.isSome(recorder) && settled.length > 0) {
      yield* recorder.value.listed(settled).pipe(
        Effect.catchAll((failure) => Effect.logWarning(`${direction.name}: the journal could not record the listing: ${failure.message}`))
      )
    }

    // One more call per chunk, with the engine's guarantees (first call alone, stops, the caller's stop and abort).
    const again = resend.length === 0 ? Option.none<BulkEngine.Report>() : Option.some(
      yield* BulkEngine.run<StoreListAnswer, HasBehaviour, never, never>(resend, job, {
        concurrency: options.concurrency,
        chunkSize: options.chunkSize,
        stopWhen: options.stopWhen,
        abortWhen: options.abortWhen
      }).pipe(
        // An array cannot break and the options were checked already; should it fail anyway, the
        // stores stay unresolved, with the reason.
        Effect.catchAll((error) =>
          Effect.succeed<BulkEngine.Report>({
            summary: { ...report.summary, succeeded: 0, failed: 0, unresolved: resend.length, chunks: 0, requests: 0, retries: {} },
            succeeded: [],
            failed: [],
            unresolved: resend.map((storeId) => ({ storeId, reason: `the re-send could not run: ${error._tag}` })),
            anomalies: []
          })
        )
      )
    )
    const sent = Option.getOrUndefined(again)
    const retries = { ...report.summary.retries }
    if (sent !== undefined) {
      for (const [tag, n] of Object.entries(sent.summary.retries)) retries[tag] = (retries[tag] ?? 0) + n
    }
    const succeeded = [...report.succeeded, ...settled, ...(sent?.succeeded ?? [])]
    const failed = [...report.failed, ...(sent?.failed ?? [])]
    // A store sent again keeps its history: the reason says this was its second call.
    const unresolved = (sent?.unresolved ?? []).map((u) => ({ ...u, reason: `sent again after the listing: ${u.reason}` }))
    return {
      summary: {
        ...report.summary,
        succeeded: succeeded.length,
        failed: failed.length,
        unresolved: unresolved.length,
        chunks: report.summary.chunks + (sent?.summary.chunks ?? 0),
        requests: report.summary.requests + (sent?.summary.requests ?? 0),
        retries,
        settledByListing: settled.length,
        resent: resend.length
      },
      succeeded,
      failed,
      unresolved,
      anomalies: [...report.anomalies, ...(sent?.anomalies ?? [])],
      ...(sent?.stoppedBy === undefined ? {} : { stoppedBy: sent.stoppedBy }),
      preflight: report.preflight,
      verification: { status: "done", settled: settled.length, resent: resend.length, requests },
      settledByListing: settled
    }
  })

/**
 * Runs a stock job after its preflight (unless `preflight: false`). Fails before anything is sent
 * on bad options or ids, or when the preflight refuses the stock; fails with a `JobSourceError`
 * holding the report so far when the id source breaks part-way (that report is not verified: the
 * job stopped).
 */
export const run = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options,
  direction: Direction
): Effect.Effect<
  BulkEngine.Report,
  BulkEngine.JobSourceError | ConfigurationError | RequestValidationError | PreflightFailure,
  R | ProductCouponStores
> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      yield* checkOptions(options)
      const service = yield* ProductCouponStores
      const checked: BulkEngine.PreflightReport = options.preflight === false
        ? { status: "off" }
        : yield* preflight(service, toStock(options))
      return yield* runChecked(ids, options, direction, checked)
    })).pipe(Effect.withSpan(direction.span, {
      attributes: { productCouponId: options?.productCouponId, stockId: options?.stockId, brandId: options?.brandId }
    }))

/** What every job checks before it sends anything, the stock query included. */
export const checkOptions = (options: Options): Effect.Effect<void, ConfigurationError | RequestValidationError> =>
  Effect.gen(function*() {
    yield* checkIds(options)
    // The engine checks these too; checked here first so that bad options send not even the stock query.
    yield* wholeNumber("chunkSize", options.chunkSize, ProductCoupon.MAX_STORES, ProductCoupon.MAX_STORES)
    yield* wholeNumber("concurrency", options.concurrency, 4, Number.MAX_SAFE_INTEGER)
  })

/**
 * Runs a stock job with no preflight (`preflight` is ignored): what `BulkDisassociation.disassociateAll`
 * runs, whose error channel stays as it was. `verify` still applies.
 */
export const runUnchecked = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options,
  direction: Direction,
  span: string
): Effect.Effect<BulkEngine.Report, BulkEngine.JobSourceError | ConfigurationError | RequestValidationError, R | ProductCouponStores> =>
  Stop.once(options, (options) =>
    Effect.zipRight(
      checkOptions(options),
      // Without verification the report is the engine's, field for field, as this job always gave it.
      options.verify === false ? runPlain(ids, options, direction) : runChecked(ids, options, direction, { status: "off" })
    )).pipe(
    Effect.withSpan(span, {
      attributes: { productCouponId: options?.productCouponId, stockId: options?.stockId, brandId: options?.brandId }
    })
  )

const runPlain = <E, R>(
  ids: StoreIds<E, R>,
  options: Options,
  direction: Direction
): Effect.Effect<BulkEngine.Report, BulkEngine.JobSourceError | ConfigurationError, R | ProductCouponStores> =>
  Effect.flatMap(ProductCouponStores, (service) => BulkEngine.run(ids, engineJob(service, options, direction), options))

export const engineJob = (service: Service, options: Options, direction: Direction): BulkEngine.Job<StoreListAnswer, HasBehaviour> =>
  storeListJob(direction.name, service, direction.call(service, toStock(options)))

const runChecked = <E, R>(
  ids: StoreIds<E, R>,
  options: Options,
  direction: Direction,
  checked: BulkEngine.PreflightReport
): Effect.Effect<BulkEngine.Report, BulkEngine.JobSourceError | ConfigurationError, R | ProductCouponStores> =>
  Effect.gen(function*() {
    const service = yield* ProductCouponStores
    const stock = toStock(options)
    const job = engineJob(service, options, direction)
    const report = yield* BulkEngine.run(ids, job, options).pipe(
      Effect.mapError((error): BulkEngine.JobSourceError | ConfigurationError =>
        error._tag === "StoreSourceError"
          ? {
            ...error,
            report: withChecks(
              error.report,
              checked,
              options.verify === false ? noVerification("off") : noVerification("skipped", "the id source broke: the job stopped")
            )
          }
          : error
      )
    )
    return yield* verify(service, stock, direction, job, options, withChecks(report, checked, noVerification("not-needed")))
  })
