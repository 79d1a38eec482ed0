/**
 * The client-side rate limit: evenly spaced permits, shared by every fiber that
 * holds the limiter. Every HTTP attempt, retries included, takes one.
 */
import { Clock, Duration, Effect } from "effect"
import { ConfigurationError } from "../WechatPayError.js"
import { finiteMillis } from "./Options.js"

/** A documented limit: `limit` requests per `interval`. */
export interface RateLimit {
  readonly limit: number
  readonly interval?: Duration.DurationInput | undefined
}

/**
 * Slack on the sliding window, past the end of the attempt `limit` permits back
 * (see the limiter): covers clock granularity and the gap between the server
 * admitting a request and our clock reading its answer (docs/benchmarks.md has
 * the loopback measurement behind it). It costs one guard per `limit` permits.
 */
export const WINDOW_GUARD_MILLIS = 20

export interface Limiter {
  /** Runs `effect` once its permit is granted; an interrupted wait gives the slot back. */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
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

/** A limiter for `rateLimit` (`false`: none), falling back to the endpoint's documented `documented` limit. */
export const make = (
  rateLimit: RateLimit | false | undefined,
  documented: RateLimit
): Effect.Effect<Limiter, ConfigurationError> =>
  Effect.gen(function*() {
    if (rateLimit === false) return { run: (effect) => effect }
    const { interval, limit } = rateLimit ?? documented
    if (!(Number.isFinite(limit) && limit > 0)) {
      return yield* new ConfigurationError({ variable: "rateLimit.limit", reason: "must be a positive number" })
    }
    const intervalMillis = yield* finiteMillis("rateLimit.interval", interval ?? documented.interval ?? Duration.seconds(1), true)
    // One permit per slot rather than a bucket of `limit`: a full bucket plus its
    // refill would let 2×limit through in the first interval and provoke 429.
    return yield* evenLimiter(limit, intervalMillis)
  })

