/**
 * The disassociate-stores endpoint (批次取消关联门店) as an Effect service:
 * local validation, one serialization, a fresh signature per attempt, one typed
 * error per documented case, retries on 429/5xx/transport failures, a shared
 * client-side rate limit, a per-attempt timeout and primary/backup failover.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import {
  Clock,
  Context,
  DefaultServices,
  Deferred,
  Duration,
  Effect,
  Either,
  type Exit,
  Fiber,
  Layer,
  ScheduleDecision,
  ScheduleIntervals,
  type Scope,
  type Tracer
} from "effect"
import * as ProductCoupon from "./ProductCoupon.js"
import * as DomainFailover from "./internal/DomainFailover.js"
import type * as MerchantConfigModule from "./MerchantConfig.js"
import type { MerchantConfig } from "./MerchantConfig.js"
import { type DisassociateStoresError, fromApiError, NotSentError } from "./WechatPayError.js"
import * as RetryPolicy from "./internal/RetryPolicy.js"
import * as WechatPayClientModule from "./WechatPayClient.js"
import { WechatPayClient } from "./WechatPayClient.js"
import { ConfigurationError, type KeyFormatError, TimeoutError } from "./WechatPayError.js"

export type { DisassociateStoresInput, DisassociateStoresResult } from "./ProductCoupon.js"
export type { DisassociateStoresError } from "./WechatPayError.js"

/** @since 0.1.0 */
export interface Service {
  readonly disassociateStores: (
    input: ProductCoupon.DisassociateStoresInput
  ) => Effect.Effect<ProductCoupon.DisassociateStoresResult, DisassociateStoresError>
}

/** @since 0.1.0 */
export class ProductCouponStores extends Context.Tag("effect-wechatpay/ProductCouponStores")<
  ProductCouponStores,
  Service
>() {}

/** What happened in one HTTP attempt (for bulk reports, soaks and metrics). */
export interface AttemptEvent {
  /** 1-based, within one call. */
  readonly attempt: number
  readonly baseUrl: string
  readonly outcome: "success" | DisassociateStoresError["_tag"]
  readonly status?: number | undefined
  readonly requestId?: string | undefined
  readonly willRetry: boolean
  /** What the attempt failed with (absent on success): lets a bulk job tell why a host could not be reached. */
  readonly error?: DisassociateStoresError | undefined
}

/** Called once after every HTTP attempt, including a timed-out one. Defaults to a no-op. */
export class AttemptObserver extends Context.Reference<AttemptObserver>()(
  "effect-wechatpay/ProductCouponStores/AttemptObserver",
  {
    defaultValue: (): { readonly onAttempt: (event: AttemptEvent) => Effect.Effect<void> } => ({
      onAttempt: () => Effect.void
    })
  }
) {}

/**
 * A graceful stop for calls already in progress. When `stopped` is done, a call
 * made under this reference starts no further attempt: a pending rate-limit wait
 * or retry back-off ends at once, and the call fails with its last error (or with
 * `NotSentError` if nothing was sent yet). An attempt already on the wire finishes,
 * bounded by the per-attempt timeout. Defaults to no signal (the loop reads it once
 * per call and adds nothing else). `BulkDisassociation` installs one per job.
 */
export class StopSignal extends Context.Reference<StopSignal>()(
  "effect-wechatpay/ProductCouponStores/StopSignal",
  { defaultValue: (): { readonly stopped: Deferred.Deferred<void> | undefined } => ({ stopped: undefined }) }
) {}

/** The documented limit of this endpoint: 20 requests per second. */
export const DEFAULT_RATE_LIMIT = { limit: 20, interval: Duration.seconds(1) } as const
/** Per-attempt timeout; past it the attempt fails with `TimeoutError` (and may be retried). */
export const DEFAULT_TIMEOUT = Duration.seconds(10)

/** Tuning of the service; every field has a documented default. */
export interface Options {
  /** Retry policy (see `RetryPolicy`), or `false` to send each call exactly once. */
  readonly retry?: RetryPolicy.Options | false | undefined
  /**
   * Client-side rate limit shared by every fiber using this service; every HTTP
   * attempt, retries included, takes a permit. Permits are spread evenly
   * (one per interval/limit), and no window of `interval` sees more than `limit`
   * (with {@link WINDOW_GUARD_MILLIS} to spare).
   * Default {@link DEFAULT_RATE_LIMIT}; `false` turns it off.
   */
  readonly rateLimit?: { readonly limit: number; readonly interval?: Duration.DurationInput | undefined } | false | undefined
  /** Per-attempt timeout. Default {@link DEFAULT_TIMEOUT}. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Primary/backup domain failover (URLs from `MerchantConfig`). `window`: how long
   * the backup stays in use, default 3 minutes. `false` always uses the primary.
   */
  readonly failover?: { readonly window?: Duration.DurationInput | undefined } | false | undefined
}

const finiteMillis = (variable: string, input: Duration.DurationInput, positive: boolean) => {
  const d = Duration.decodeUnknown(input)
  return d._tag === "Some" && Duration.isFinite(d.value) && (!positive || Duration.toMillis(d.value) > 0)
    ? Either.right(Duration.toMillis(d.value))
    : Either.left(new ConfigurationError({ variable, reason: `must be a finite${positive ? ", positive" : ""} duration` }))
}

/**
 * Slack on the sliding window, past the end of the attempt `limit` permits back
 * (see the limiter): covers clock granularity and the gap between the server
 * admitting a request and our clock reading its answer. Measured on loopback:
 * with the window counted from grant times alone, 20 ms still let one 429 in
 * 500 calls through (a request arrived 29 ms after its grant); counted from the
 * attempt's end, none. It costs one guard per `limit` permits (0.5 s over 500
 * calls at 20/s).
 */
export const WINDOW_GUARD_MILLIS = 20

/** Returned instead of a result when a stop signal won over the wait for a permit. */
const STOPPED: unique symbol = Symbol.for("effect-wechatpay/ProductCouponStores/stopped")
type Stopped = typeof STOPPED

interface Limiter {
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** `run`, but a stop before or during the wait for the permit gives the slot back and skips `effect`. */
  readonly runUnless: <A, E, R>(effect: Effect.Effect<A, E, R>, stop: Deferred.Deferred<void>) => Effect.Effect<A | Stopped, E, R>
}

// Interrupts `self` when `stop` completes first (one extra fiber: only used under a stop signal).
const unlessStopped = <A, E, R>(self: Effect.Effect<A, E, R>, stop: Deferred.Deferred<void>): Effect.Effect<A | Stopped, E, R> =>
  Effect.raceFirst(self, Effect.as(Deferred.await(stop), STOPPED))

/**
 * Evenly spaced permits, one per `interval / limit`. Each slot is computed on the
 * clock from the previous slot rather than by sleeping once per permit (effect's
 * token bucket), whose wake-up delays add up: ~5 ms a permit, 10% slower than the
 * documented rate over a long job. And since a late grant followed by an on-time
 * one would sit closer than the spacing, a slot is also never earlier than
 * `interval` + {@link WINDOW_GUARD_MILLIS} after the permit `limit` back was
 * granted or, once its attempt has finished, after it finished: the server saw
 * that request before it answered, so however late it arrived after its grant
 * (signing, a busy event loop, GC), no window of `interval` sees more than
 * `limit`. One fiber at a time waits for its slot; an interrupted wait gives
 * the slot back.
 */
const evenLimiter = (limit: number, intervalMillis: number): Effect.Effect<Limiter> =>
  Effect.gen(function*() {
    const spacing = intervalMillis / limit
    const turn = yield* Effect.makeSemaphore(1)
    // The last `limit` permits (a sliding window; integer limits only): when each
    // was granted, or finished if it has, and which permit holds each entry.
    const window = Number.isInteger(limit) ? limit : 0
    const seen = new Array<number>(window).fill(Number.NEGATIVE_INFINITY)
    const holder = new Array<number>(window).fill(-1)
    let oldest = 0
    let granted = 0
    let lastSlot = Number.NEGATIVE_INFINITY
    // Under a stop signal, a stop before or during the wait for the slot gives the slot back. Only
    // that sleep is raced (a fiber only when there is a wait): fibers queued on `turn` behind it
    // then find the stop as soon as they get their turn.
    const takeWith = (stop: Deferred.Deferred<void> | undefined) =>
      turn.withPermits(1)(Effect.gen(function*() {
        if (stop !== undefined && (yield* Deferred.isDone(stop))) return STOPPED
        const now = yield* Clock.currentTimeMillis
        const slot = Math.max(now, lastSlot + spacing, window > 0 ? seen[oldest]! + intervalMillis + WINDOW_GUARD_MILLIS : now)
        if (slot > now) {
          const sleep = Effect.sleep(Duration.millis(slot - now))
          if (stop === undefined) yield* sleep
          else if ((yield* unlessStopped(sleep, stop)) === STOPPED) return STOPPED
        }
        return grant(slot, yield* Clock.currentTimeMillis)
      }))
    const grant = (slot: number, now: number): number => {
      lastSlot = slot
      if (window === 0) return -1
      const at = oldest
      seen[at] = now
      holder[at] = granted++
      oldest = (oldest + 1) % window
      return at
    }
    const take = takeWith(undefined)
    // Moves the entry to the attempt's end, unless `limit` newer permits have reused it.
    const finished = (at: number, permit: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (holder[at] === permit) seen[at] = Math.max(seen[at]!, now)
        }))
    const whileHeld = <A, E, R>(at: number, effect: Effect.Effect<A, E, R>) => {
      if (window === 0) return effect
      const permit = holder[at]!
      return Effect.ensuring(effect, finished(at, permit))
    }
    const runUnless = <A, E, R>(effect: Effect.Effect<A, E, R>, stop: Deferred.Deferred<void>) =>
      Effect.flatMap(
        takeWith(stop),
        (at): Effect.Effect<A | Stopped, E, R> => at === STOPPED ? Effect.succeed(STOPPED) : whileHeld(at, effect)
      )
    return { run: (effect) => Effect.flatMap(take, (at) => whileHeld(at as number, effect)), runUnless }
  })

const makeLimiter = (
  rateLimit: Options["rateLimit"]
): Effect.Effect<Limiter, ConfigurationError> =>
  Effect.gen(function*() {
    if (rateLimit === false) return { run: (effect) => effect, runUnless: (effect) => effect }
    const { interval, limit } = rateLimit ?? DEFAULT_RATE_LIMIT
    if (!(Number.isFinite(limit) && limit > 0)) {
      return yield* new ConfigurationError({ variable: "rateLimit.limit", reason: "must be a positive number" })
    }
    const intervalMillis = yield* finiteMillis("rateLimit.interval", interval ?? DEFAULT_RATE_LIMIT.interval, true)
    // One permit per slot rather than a bucket of `limit`: a full bucket plus its
    // refill would let 2×limit through in the first interval and provoke 429.
    return yield* evenLimiter(limit, intervalMillis)
  })

const responseInfo = (error: DisassociateStoresError): { status?: number; requestId?: string } =>
  "status" in error
    ? error.requestId === undefined ? { status: error.status } : { status: error.status, requestId: error.requestId }
    : {}

// effect's default (real-time) Clock, to tell real time from a TestClock or a custom clock.
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/**
 * `Effect.timeoutFail` for one attempt, at about half its cost where time is
 * real: the attempt runs in one child fiber and a plain timer races it, instead
 * of two racing fibers (one of them sleeping); see docs/benchmarks.md. Under any
 * other Clock (a `TestClock`, say) it is `Effect.timeoutFail`, so time stays the
 * Clock's. Both interrupt the attempt when the time is up.
 */
const timeoutFail = <A, E, R, E2>(
  self: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock) =>
    clock !== liveClock
      ? Effect.timeoutFail(self, { duration: millis, onTimeout })
      : Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Effect.fork(restore(self)), (fiber) =>
          restore(Effect.async<A, E | E2>((resume) => {
            const finished = (exit: Exit.Exit<A, E>) => {
              clearTimeout(timer)
              resume(exit)
            }
            const timer = setTimeout(() => {
              fiber.removeObserver(finished)
              resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(onTimeout())))
            }, millis)
            fiber.addObserver(finished)
            // The caller was interrupted: stop the timer and the attempt.
            return Effect.suspend(() => {
              clearTimeout(timer)
              fiber.removeObserver(finished)
              return Fiber.interrupt(fiber)
            })
          })))
      )
  )

/** Builds the service over a `WechatPayClient`; the rate limiter lives as long as the scope. */
export const make = (
  options: Options = {}
): Effect.Effect<Service, ConfigurationError, WechatPayClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* WechatPayClient
    const policy = options.retry === false ? RetryPolicy.NONE : yield* RetryPolicy.resolve(options.retry)
    const schedule = RetryPolicy.schedule(policy)
    const timeoutMillis = yield* finiteMillis("timeout", options.timeout ?? DEFAULT_TIMEOUT, true)
    const limit = yield* makeLimiter(options.rateLimit)
    const failover = options.failover === false
      ? DomainFailover.disabled(client.config.baseUrl)
      : yield* DomainFailover.make({
        primary: client.config.baseUrl,
        backup: client.config.backupBaseUrl,
        window: yield* finiteMillis(
          "failover.window",
          options.failover?.window ?? DomainFailover.DEFAULT_WINDOW,
          false
        )
      })

    const attempt = (prepared: WechatPayClientModule.Prepared, baseUrl: string) =>
      client.execute(prepared, baseUrl).pipe(
        Effect.catchTag("WechatPayApiError", (e) => Effect.fail(fromApiError(e))),
        (effect) =>
          timeoutFail(
            effect,
            timeoutMillis,
            () => new TimeoutError({ method: prepared.method, url: baseUrl + prepared.path, timeoutMillis })
          ),
        Effect.flatMap((response) =>
          Effect.map(ProductCoupon.decodeResponse(response), (value) => ({ status: response.status, value }))
        )
      )

    // Each attempt takes a permit first, then picks the domain: the wait may span a failover window.
    const onDomain = (prepared: WechatPayClientModule.Prepared) =>
      Effect.flatMap(failover.current, (baseUrl) =>
        Effect.map(Effect.either(attempt(prepared, baseUrl)), (result) => [baseUrl, result] as const))
    // Under a stop signal: no permit is waited for, and nothing is sent, once the stop is requested.
    type Attempted = Effect.Effect.Success<ReturnType<typeof onDomain>>
    const limitedAttempt = (
      prepared: WechatPayClientModule.Prepared,
      stop: Deferred.Deferred<void> | undefined
    ): Effect.Effect<Attempted | Stopped> =>
      stop === undefined ? limit.run(onDomain(prepared)) : limit.runUnless(
        Effect.flatMap(
          Deferred.isDone(stop),
          (late): Effect.Effect<Attempted | Stopped> => late ? Effect.succeed(STOPPED) : onDomain(prepared)
        ),
        stop
      )

    type Result = ProductCoupon.DisassociateStoresResult
    type OnAttempt = AttemptObserver["Type"]["onAttempt"]
    type Stop = Deferred.Deferred<void> | undefined
    /** The previous attempt's failure, which a stopped call ends with. */
    type Last = { readonly baseUrl: string; readonly error: DisassociateStoresError } | undefined

    // How the call ended, on its span.
    const recordEnd = (span: Tracer.Span, attempts: number, requestId: string | undefined, baseUrl: string) => {
      span.attribute("wechatpay.attempts", attempts)
      span.attribute("wechatpay.request_id", requestId ?? "")
      span.attribute("wechatpay.base_url", baseUrl)
    }

    // The schedule is stepped by hand (not Effect.retry) so the observer learns
    // whether an attempt will be retried before the backoff sleep, and so each
    // attempt can pick its domain after the previous failure was reported.
    const endWith = (span: Tracer.Span, n: number, baseUrl: string, error: DisassociateStoresError) => {
      recordEnd(span, n, responseInfo(error).requestId, baseUrl)
      span.attribute("wechatpay.error", error._tag)
      return Effect.fail(error)
    }

    // A stop ended the call before attempt `n`: it fails with what the last attempt failed with.
    const stopped = (span: Tracer.Span, n: number, last: Last): Effect.Effect<never, DisassociateStoresError> => {
      if (last !== undefined) return endWith(span, n - 1, last.baseUrl, last.error)
      span.attribute("wechatpay.attempts", 0)
      span.attribute("wechatpay.error", "NotSentError")
      return Effect.fail(new NotSentError({ reason: "the caller asked to stop before the first attempt" }))
    }

    const afterFailure = (
      span: Tracer.Span,
      onAttempt: OnAttempt,
      stop: Stop,
      n: number,
      state: unknown,
      baseUrl: string,
      error: DisassociateStoresError
    ): Effect.Effect<unknown, DisassociateStoresError> =>
      Effect.gen(function*() {
        if (DomainFailover.triggersFailover(error)) yield* failover.reportFailure(baseUrl)
        const now = yield* Clock.currentTimeMillis
        const [next, , decision] = yield* schedule.step(now, error, state)
        // A stop already requested means no retry, and the observer hears so.
        const willRetry = ScheduleDecision.isContinue(decision) && (stop === undefined || !(yield* Deferred.isDone(stop)))
        yield* onAttempt({ attempt: n, baseUrl, outcome: error._tag, ...responseInfo(error), willRetry, error })
        if (!willRetry) return yield* endWith(span, n, baseUrl, error)
        const delay = ScheduleIntervals.start(decision.intervals) - now
        if (delay > 0) {
          const sleep = Effect.sleep(Duration.millis(delay))
          // A stop cuts the back-off short; the next step then sees it and sends nothing.
          yield* stop === undefined ? sleep : unlessStopped(sleep, stop)
        }
        return next
      })

    // Attempt `n`; the common case (success at once) is a few plain steps.
    const run = (
      prepared: WechatPayClientModule.Prepared,
      span: Tracer.Span,
      onAttempt: OnAttempt,
      stop: Stop,
      n: number,
      state: unknown,
      last: Last
    ): Effect.Effect<Result, DisassociateStoresError> =>
      Effect.flatMap(limitedAttempt(prepared, stop), (out) => {
        if (out === STOPPED) return stopped(span, n, last)
        const [baseUrl, result] = out
        if (Either.isRight(result)) {
          const { status, value } = result.right
          recordEnd(span, n, value.requestId, baseUrl)
          return Effect.as(
            onAttempt({ attempt: n, baseUrl, outcome: "success", status, requestId: value.requestId, willRetry: false }),
            value
          )
        }
        const error = result.left
        return Effect.flatMap(
          afterFailure(span, onAttempt, stop, n, state, baseUrl, error),
          (next) => run(prepared, span, onAttempt, stop, n + 1, next, { baseUrl, error })
        )
      })

    const disassociateStores = (input: ProductCoupon.DisassociateStoresInput) =>
      Effect.useSpan(
        "ProductCouponStores.disassociateStores",
        { kind: "client", captureStackTrace: false },
        (span): Effect.Effect<Result, DisassociateStoresError> => {
          const validated = ProductCoupon.validate(input)
          if (Either.isLeft(validated)) return Effect.fail(validated.left)
          const request = validated.right
          span.attribute("wechatpay.product_coupon_id", request.productCouponId)
          span.attribute("wechatpay.stock_id", request.stockId)
          span.attribute("wechatpay.brand_id", request.brandId)
          span.attribute("wechatpay.store_count", request.storeList.length)
          // Serialized once (a body of strings always has a JSON form); every attempt
          // signs and sends these same bytes.
          const prepared = WechatPayClientModule.prepareText(
            "POST",
            ProductCoupon.path(request),
            JSON.stringify(ProductCoupon.encodeBody(request))
          )
          return Effect.withParentSpan(
            Effect.flatMap(Effect.context<never>(), (context) =>
              run(
                prepared,
                span,
                Context.get(context, AttemptObserver).onAttempt,
                Context.get(context, StopSignal).stopped,
                1,
                schedule.initial,
                undefined
              )),
            span
          )
        }
      )

    return ProductCouponStores.of({ disassociateStores })
  })

/** The service over a `WechatPayClient` you provide (e.g. `WechatPayClient.layer(...)`). */
export const layer = (options?: Options): Layer.Layer<ProductCouponStores, ConfigurationError, WechatPayClient> =>
  Layer.scoped(ProductCouponStores, make(options))

/** Service and client from the `WECHATPAY_*` environment variables; only `HttpClient` is left to the application. */
export const layerConfig = (
  options?: Options
): Layer.Layer<
  ProductCouponStores | WechatPayClient | MerchantConfig,
  ConfigurationError | KeyFormatError,
  HttpClient.HttpClient
> => layer(options).pipe(Layer.provideMerge(WechatPayClientModule.layerConfig))

/** Service and client from plain merchant options; only `HttpClient` is left to the application. */
export const layerMerchant = (
  merchant: MerchantConfigModule.Options,
  options?: Options
): Layer.Layer<
  ProductCouponStores | WechatPayClient | MerchantConfig,
  ConfigurationError | KeyFormatError,
  HttpClient.HttpClient
> => layer(options).pipe(Layer.provideMerge(WechatPayClientModule.layer(merchant)))
