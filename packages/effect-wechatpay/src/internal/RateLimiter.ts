/**
 * The client-side rate limit: evenly spaced permits, shared by every fiber that
 * holds the limiter. Every HTTP attempt, retries included, takes one. WeChat Pay
 * counts a quota per service provider across several endpoints, so limiters are
 * kept per quota: every endpoint that names the same quota takes its permits
 * from the same limiter.
 */
import { Clock, Context, Duration, Effect, Either, Scope } from "effect"
import { ConfigurationError, type RateLimiterError } from "../WechatPayError.js"
import { finiteMillis } from "./Options.js"

/** A documented limit: `limit` requests per `interval`. */
export interface RateLimit {
  readonly limit: number
  readonly interval?: Duration.DurationInput | undefined
}

/** A documented limit and the quota it belongs to: endpoints naming the same quota share it. */
export interface Quota extends RateLimit {
  readonly name: string
}

/** One quota as a limiter enforces it, the limit resolved (the documented one or the service's option). */
export interface QuotaSpec {
  /** The quota's name, as the endpoints declare it. */
  readonly quota: string
  /** Whose quota it is (WeChat Pay counts it per service provider): a limiter shared by processes keys on both. */
  readonly mchid: string
  readonly limit: number
  readonly intervalMillis: number
}

/**
 * Slack on the sliding window, past the end of the attempt `limit` permits back
 * (see the limiter): covers clock granularity and the gap between the server
 * admitting a request and our clock reading its answer (docs/benchmarks.md has
 * the loopback measurement behind it). It costs one guard per `limit` permits.
 */
export const WINDOW_GUARD_MILLIS = 20

export interface Limiter {
  /**
   * Runs `effect` once its permit is granted; an interrupted wait gives the slot back. A limiter that
   * cannot grant one (its store unreachable) fails with `RateLimiterError`, never with a defect.
   */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | RateLimiterError, R>
}

/**
 * Evenly spaced permits, one per `interval / limit`. Each slot is computed on the
 * clock from the previous slot rather than by sleeping once per permit (effect's
 * token bucket), whose wake-up delays add up to a rate well below the documented
 * one over a long job (docs/benchmarks.md). And since a late grant followed by an on-time
 * one would sit closer than the spacing, a slot is also never earlier than
 * `interval` + {@link WINDOW_GUARD_MILLIS} after the permit `limit` back was
 * granted or, once its attempt has finished, after it finished: the server saw
 * that request before it answered, so however late it arrived after its grant
 * (signing, a busy event loop, GC), no window of `interval` sees more than
 * `limit`. One fiber at a time waits for its slot; an interrupted wait gives
 * the slot back.
 */
export const evenLimiter = (limit: number, intervalMillis: number): Effect.Effect<Limiter> =>
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
    // A slot is only granted after its wait: a wait interrupted (a stop, a caller giving up) takes nothing.
    const take = turn.withPermits(1)(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const slot = Math.max(now, lastSlot + spacing, window > 0 ? seen[oldest]! + intervalMillis + WINDOW_GUARD_MILLIS : now)
      if (slot > now) yield* Effect.sleep(Duration.millis(slot - now))
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
    return { run: (effect) => Effect.flatMap(take, (at) => whileHeld(at, effect)) }
  })

/** No limit at all (`rateLimit: false`). */
export const unlimited: Limiter = { run: (effect) => effect }

/**
 * What builds the limiter of a quota, once per service and quota. The default keeps
 * the permits in this process ({@link evenLimiter}); a quota shared by several
 * processes (one store of permits per `mchid` and quota, e.g. in Redis) is a
 * different value of this reference, provided to the service's layer. Not consulted
 * when the rate limit is turned off.
 */
export class RateLimiter extends Context.Reference<RateLimiter>()("effect-wechatpay/RateLimiter", {
  defaultValue: (): {
    readonly limiter: (quota: QuotaSpec) => Effect.Effect<Limiter, ConfigurationError, Scope.Scope>
  } => ({
    // One permit per slot rather than a bucket of `limit`: a full bucket plus its
    // refill would let 2×limit through in the first interval and provoke 429.
    limiter: (quota) => evenLimiter(quota.limit, quota.intervalMillis)
  })
}) {}

/** The most permits an interval may allow: the sliding window holds one entry per permit. */
export const MAX_LIMIT = 100_000

/** The limit to enforce: `rateLimit` (`false`: none), or else the quota's documented one. */
export const resolve = (
  rateLimit: RateLimit | false | undefined,
  documented: RateLimit
): Either.Either<{ readonly limit: number; readonly intervalMillis: number } | false, ConfigurationError> => {
  if (rateLimit === false) return Either.right(false)
  if (rateLimit !== undefined && (typeof rateLimit !== "object" || rateLimit === null)) {
    return Either.left(new ConfigurationError({ variable: "rateLimit", reason: "must be { limit, interval } or false" }))
  }
  const { interval, limit } = rateLimit ?? documented
  // The limiter keeps one slot per permit of its window.
  if (!(typeof limit === "number" && limit > 0 && limit <= MAX_LIMIT)) {
    return Either.left(
      new ConfigurationError({
        variable: "rateLimit.limit",
        reason: `must be a positive number of at most ${MAX_LIMIT} (no limit at all is rateLimit: false)`
      })
    )
  }
  return Either.map(
    finiteMillis("rateLimit.interval", interval ?? documented.interval ?? Duration.seconds(1), true),
    (intervalMillis) => ({ limit, intervalMillis })
  )
}

/**
 * A service's limiters: one per quota name, built by the {@link RateLimiter} in scope
 * the first time an endpoint asks for it and handed to every endpoint that names the
 * same quota. `rateLimit` replaces each quota's documented limit; `false`: none.
 */
export const perQuota = (
  rateLimit: RateLimit | false | undefined,
  mchid: string
): Effect.Effect<(quota: Quota) => Effect.Effect<Limiter, ConfigurationError>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const factory = yield* RateLimiter
    const scope = yield* Effect.scope
    const lock = yield* Effect.makeSemaphore(1)
    const built = new Map<string, Limiter>()
    return (quota) =>
      lock.withPermits(1)(Effect.suspend(() => {
        const known = built.get(quota.name)
        if (known !== undefined) return Effect.succeed(known)
        return Effect.flatMap(resolve(rateLimit, quota), (resolved) =>
          resolved === false
            ? Effect.succeed(unlimited)
            : Scope.extend(factory.limiter({ quota: quota.name, mchid, ...resolved }), scope)).pipe(
            Effect.tap((limiter) => Effect.sync(() => built.set(quota.name, limiter)))
          )
      }))
  })

