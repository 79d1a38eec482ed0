/**
 * What every endpoint call shares between its signed attempts: the rate limit,
 * the base URL (failover), the per-attempt timeout, the retry schedule, the
 * attempt observer and the stop signal. An endpoint hands it a request and how
 * to read an answer; it hands back the typed result.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Context, Deferred, Duration, Effect, Either, Schedule, ScheduleDecision, type Scope, type Tracer } from "effect"
import { MerchantConfig } from "../MerchantConfig.js"
import type { ExecuteError, VerifiedResponse } from "../WechatPayClient.js"
import { WechatPayClient } from "../WechatPayClient.js"
import {
  type ConfigurationError,
  type HasBehaviour,
  NotSentError,
  type RateLimiterError,
  type ResponseDecodeError,
  TimeoutError,
  type WechatPayApiError
} from "../WechatPayError.js"
import * as AttemptDeadline from "./AttemptDeadline.js"
import * as AttemptProgress from "./AttemptProgress.js"
import * as DomainFailover from "./DomainFailover.js"
import { finiteMillis, objectOption } from "./Options.js"
import * as RateLimiter from "./RateLimiter.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as Timeout from "./Timeout.js"

/** What happened in one HTTP attempt (for bulk reports, soaks and metrics). */
export interface AttemptEvent<E = HasBehaviour & { readonly _tag: string }> {
  /** 1-based, within one call. */
  readonly attempt: number
  readonly baseUrl: string
  readonly outcome: "success" | (E extends { readonly _tag: infer T } ? T : string)
  readonly status?: number | undefined
  readonly requestId?: string | undefined
  readonly willRetry: boolean
  /** What the attempt failed with (absent on success): lets a bulk job tell why a host could not be reached. */
  readonly error?: E | undefined
}

/** Called once after every HTTP attempt, including a timed-out one. Defaults to a no-op. */
export class AttemptObserver extends Context.Reference<AttemptObserver>()(
  "effect-wechatpay/ProductCouponStores/AttemptObserver",
  {
    defaultValue: (): { readonly onAttempt: (event: AttemptEvent<any>) => Effect.Effect<void> } => ({
      onAttempt: () => Effect.void
    })
  }
) {}

/**
 * A graceful stop for calls already in progress. When `stopped` is done, a call
 * made under this reference starts no further attempt: a pending rate-limit wait
 * or retry back-off ends at once, and the call fails with its last error (or with
 * `NotSentError` if nothing was sent yet). An attempt already on the wire finishes,
 * bounded by the per-attempt timeout. Defaults to no signal.
 */
export class StopSignal extends Context.Reference<StopSignal>()(
  "effect-wechatpay/ProductCouponStores/StopSignal",
  { defaultValue: (): { readonly stopped: Deferred.Deferred<void> | undefined } => ({ stopped: undefined }) }
) {}

/** Per-attempt timeout; past it the attempt fails with `TimeoutError` (and may be retried). */
export const DEFAULT_TIMEOUT = Duration.seconds(10)

/** Tuning shared by every endpoint of a service; every field has a documented default. */
export interface Options {
  /** Retry policy, or `false` to send each call exactly once. */
  readonly retry?: RetryPolicy.Options | false | undefined
  /**
   * Client-side rate limit of the service's quota: WeChat Pay counts one quota per service
   * provider across the endpoints, so every endpoint naming it and every fiber using the
   * service take permits from one limiter; every HTTP attempt, retries included, takes one.
   * Permits are spread evenly (one per interval/limit), and no window of `interval` sees
   * more than `limit`. Default: the quota's documented limit; `false` turns it off.
   */
  readonly rateLimit?: RateLimiter.RateLimit | false | undefined
  /** Per-attempt timeout. Default {@link DEFAULT_TIMEOUT}. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Primary/backup domain failover (URLs from `MerchantConfig`). `window`: how long
   * the backup stays in use, default 3 minutes. `false` always uses the primary.
   */
  readonly failover?: { readonly window?: Duration.DurationInput | undefined } | false | undefined
}

/** What one call needs to know about its endpoint's answers. */
export interface Reading<A, E> {
  /** The span's name, e.g. `ProductCouponStores.disassociateStores`. */
  readonly span: string
  /** The endpoint's error table applied to a WeChat Pay error answer. */
  readonly apiError: (error: WechatPayApiError) => E
  /** A verified 2xx answer read as the result. */
  readonly decode: (response: VerifiedResponse) => Either.Either<A, ResponseDecodeError>
}

/** The errors any call can end with besides its endpoint's own. */
export type CallError = Exclude<ExecuteError, WechatPayApiError> | TimeoutError | ResponseDecodeError | NotSentError | RateLimiterError

/** A request ready to send (URL relative to the base URL), and its span's attributes (never secrets). */
export interface Prepared {
  readonly request: HttpClientRequest.HttpClientRequest
  readonly attributes: Readonly<Record<string, string | number>> | undefined
}

/** Sends a request, built inside the call's span, with every attempt signed afresh. */
export interface Caller {
  readonly call: <
    A extends { readonly requestId: string | undefined },
    E extends HasBehaviour & { readonly _tag: string },
    E0
  >(
    prepare: () => Either.Either<Prepared, E0>,
    reading: Reading<A, E>
  ) => Effect.Effect<A, E0 | E | CallError>
}

const parkIfDone = (stop: Deferred.Deferred<void>) =>
  Effect.flatMap(Deferred.isDone(stop), (done) => done ? Effect.never : Effect.void)

type AnyError = HasBehaviour & { readonly _tag: string }

const responseInfo = (error: AnyError): { status?: number; requestId?: string } => {
  const e = error as { readonly status?: unknown; readonly requestId?: unknown }
  return typeof e.status === "number"
    ? typeof e.requestId === "string" ? { status: e.status, requestId: e.requestId } : { status: e.status }
    : {}
}

/** Callers that share one failover state, and one rate limiter per quota. */
export interface Core {
  /** A caller for an endpoint counting against `quota`: it shares the limiter of every caller of the same quota. */
  readonly caller: (quota: RateLimiter.Quota) => Effect.Effect<Caller, ConfigurationError>
}

export const make = (
  options: Options
): Effect.Effect<Core, ConfigurationError, WechatPayClient | MerchantConfig | Scope.Scope> =>
  Effect.gen(function*() {
    // From plain JavaScript anything may come: a `null` options object, `failover: true`.
    yield* objectOption("options", options)
    if (options.failover !== undefined && options.failover !== false) {
      yield* objectOption("failover", options.failover, "an object ({ window }) or false")
    }
    const client = yield* WechatPayClient
    const config = yield* MerchantConfig
    const policy = options.retry === false ? RetryPolicy.NONE : yield* RetryPolicy.resolve(options.retry)
    const timeoutMillis = yield* finiteMillis("timeout", options.timeout ?? DEFAULT_TIMEOUT, true)
    const timeouts = yield* Timeout.make(timeoutMillis)
    // A client whose transport stops its own request at the deadline needs no fiber per attempt.
    const withTimeout = AttemptDeadline.stopsAtDeadline(client) ? timeouts.runInPlace : timeouts.run
    const failover = options.failover === false
      ? DomainFailover.disabled(config.baseUrl)
      : yield* DomainFailover.make({
        primary: config.baseUrl,
        backup: config.backupBaseUrl,
        window: yield* finiteMillis("failover.window", options.failover?.window ?? DomainFailover.DEFAULT_WINDOW, false)
      })

    const limiterOf = yield* RateLimiter.perQuota(options.rateLimit, config.mchid)
    const caller = (quota: RateLimiter.Quota) =>
      Effect.map(limiterOf(quota), (limiter): Caller => ({ call: makeCall(limiter) }))

    const makeCall = (limiter: RateLimiter.Limiter) => <A extends { readonly requestId: string | undefined }, E extends AnyError, E0>(
      prepare: () => Either.Either<Prepared, E0>,
      reading: Reading<A, E>
    ): Effect.Effect<A, E0 | E | CallError> =>
      Effect.useSpan(reading.span, { kind: "client", captureStackTrace: false }, (span): Effect.Effect<A, E0 | E | CallError> => {
        const prepared = prepare()
        if (Either.isLeft(prepared)) return Effect.fail(prepared.left)
        const { attributes, request } = prepared.right
        if (attributes !== undefined) for (const key in attributes) span.attribute(key, attributes[key])
        return Effect.withParentSpan(
          Effect.flatMap(Effect.context<never>(), (context) =>
            run(
              limiter,
              request,
              reading,
              span,
              Context.get(context, AttemptObserver).onAttempt,
              Context.get(context, StopSignal).stopped
            )),
          span
        )
      })

    const run = <A extends { readonly requestId: string | undefined }, E extends AnyError>(
      limiter: RateLimiter.Limiter,
      request: HttpClientRequest.HttpClientRequest,
      reading: Reading<A, E>,
      span: Tracer.Span,
      onAttempt: AttemptObserver["Type"]["onAttempt"],
      stop: Deferred.Deferred<void> | undefined
    ): Effect.Effect<A, E | CallError> => {
      // The call's own record: which attempt this is, where it went, how the last one failed,
      // and whether one is on the wire (a stop waits for that one to finish).
      let attempt = 0
      // The last attempt the observer heard of: a permit the limiter could not grant sent nothing.
      let observed = 0
      let baseUrl = config.baseUrl
      let last: (E | CallError) | undefined
      let onWire = false

      // Once a stop is requested nothing more is sent: the attempt parks, and the stop (below)
      // ends the call with what the last attempt failed with.
      const send = Effect.flatMap(stop === undefined ? failover.current : Effect.zipRight(parkIfDone(stop), failover.current), (url) =>
        Effect.suspend(() => {
          attempt++
          baseUrl = url
          onWire = true
          const sent = HttpClientRequest.prependUrl(request, url)
          return client.execute(sent).pipe(
            Effect.catchTag("WechatPayApiError", (e) => Effect.fail(reading.apiError(e))),
            (attempt) =>
              withTimeout(attempt, (answered) =>
                new TimeoutError({
                  method: request.method,
                  url: url + request.url,
                  timeoutMillis,
                  phase: answered || AttemptProgress.isAnswered(sent) ? "response" : "request"
                })),
            Effect.flatMap((response) => Either.map(reading.decode(response), (value) => [response.status, value] as const))
          )
        }))

      const attemptOnce = Effect.matchEffect(limiter.run(send), {
        onFailure: (error: E | CallError) => {
          onWire = false
          last = error
          return error.behaviour.triggersFailover
            ? Effect.zipRight(failover.reportFailure(baseUrl), Effect.fail(error))
            : Effect.fail(error)
        },
        onSuccess: ([status, value]) => {
          span.attribute("wechatpay.attempts", attempt)
          span.attribute("wechatpay.request_id", value.requestId ?? "")
          span.attribute("wechatpay.base_url", baseUrl)
          return Effect.as(
            onAttempt({ attempt, baseUrl, outcome: "success", status, requestId: value.requestId, willRetry: false }),
            value
          )
        }
      })

      // The policy decides from the error's behaviour; a stop already requested means no retry,
      // and the observer hears of every decision before any back-off.
      const schedule = RetryPolicy.schedule(policy).pipe(
        Schedule.checkEffect(() => stop === undefined ? Effect.succeed(true) : Effect.negate(Deferred.isDone(stop))),
        Schedule.onDecision((_, decision) => {
          if (attempt === observed) return Effect.void
          observed = attempt
          const error = last!
          const willRetry = ScheduleDecision.isContinue(decision)
          return onAttempt({ attempt, baseUrl, outcome: error._tag, ...responseInfo(error), willRetry, error })
        })
      )

      const ended = (error: E | CallError) => {
        span.attribute("wechatpay.attempts", attempt)
        span.attribute("wechatpay.request_id", responseInfo(error).requestId ?? "")
        span.attribute("wechatpay.base_url", baseUrl)
        span.attribute("wechatpay.error", error._tag)
      }
      // Most calls succeed at once: the retry driver is only built after a first failure, which it
      // is handed as its first input (that first round sends nothing; it only fails again with it).
      const retried = Effect.catchAll(attemptOnce, (first) => {
        let replayed = false
        const again = Effect.suspend(() => {
          if (replayed) return attemptOnce
          replayed = true
          return Effect.fail(first)
        })
        return Effect.tapError(Effect.retry(again, schedule), (error) => Effect.sync(() => ended(error)))
      })
      if (stop === undefined) return retried

      // A stop ends a wait (for a permit, or a back-off) at once; an attempt on the wire is
      // left to finish, and the schedule's check then ends the call with its outcome.
      const stopped: Effect.Effect<never, E | CallError> = Effect.flatMap(Deferred.await(stop), () =>
        Effect.suspend(() => {
          if (onWire) return Effect.never
          if (last !== undefined) {
            ended(last)
            return Effect.fail(last)
          }
          span.attribute("wechatpay.attempts", 0)
          span.attribute("wechatpay.error", "NotSentError")
          return Effect.fail(new NotSentError({ reason: "the caller asked to stop before the first attempt" }))
        }))
      return Effect.raceFirst(retried, stopped)
    }

    return { caller }
  })
