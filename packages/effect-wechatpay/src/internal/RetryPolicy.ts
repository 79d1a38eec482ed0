/**
 * When to send the same request again, and after how long. 429 means "请求未受理"
 * (not accepted), so it is retried with jittered exponential backoff; 5xx and
 * transport failures are retried a few times ("一般重试2~3次"); 4xx, decode and
 * verification failures never are (a probe or forged answer must surface).
 *
 * The decision is a pure function ({@link decide}); {@link schedule} lifts it
 * into an effect `Schedule`, so it also works with plain `Effect.retry`.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Either, Random, Schedule, ScheduleDecision, ScheduleInterval } from "effect"
import { ConfigurationError, type HasBehaviour } from "../WechatPayError.js"
import { finiteMillis, integerAtLeast, objectOption } from "./Options.js"

/** How an error bears on retrying. */
export type Retryability = "rate-limited" | "transient" | "final"

/** Classifies a failure of one attempt: what the error itself says (`behaviour.retry`). */
export const classify = (error: HasBehaviour): Retryability => {
  const retry = error.behaviour.retry
  return retry === "never" ? "final" : retry
}


/** Tuning; every field has a documented default. */
export interface Options {
  /** Delay before the first retry. Default 500 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** Growth per retry. Default 2. */
  readonly factor?: number | undefined
  /** No single delay is longer than this (jitter included). Default 8 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /** Each delay is scaled by a random factor in [1 − jitter, 1 + jitter]. Default 0.2; 0 turns jitter off. */
  readonly jitter?: number | undefined
  /** Retries after 429 RATELIMIT_EXCEEDED. Default 6. */
  readonly maxRateLimitRetries?: number | undefined
  /** Retries after 5xx, transport failures and timeouts. Default 3. */
  readonly maxTransientRetries?: number | undefined
  /** The sum of all delays of one call never exceeds this. Default 30 s. */
  readonly maxTotalDelay?: Duration.DurationInput | undefined
}

/** Resolved options, in milliseconds. */
export interface Policy {
  readonly baseDelayMillis: number
  readonly factor: number
  readonly maxDelayMillis: number
  readonly jitter: number
  readonly maxRateLimitRetries: number
  readonly maxTransientRetries: number
  readonly maxTotalDelayMillis: number
}

export const DEFAULTS: Policy = {
  baseDelayMillis: 500,
  factor: 2,
  maxDelayMillis: 8_000,
  jitter: 0.2,
  maxRateLimitRetries: 6,
  maxTransientRetries: 3,
  maxTotalDelayMillis: 30_000
}

/** A policy that never retries. */
export const NONE: Policy = { ...DEFAULTS, maxRateLimitRetries: 0, maxTransientRetries: 0 }

const millis = (name: string, input: Duration.DurationInput | undefined, fallback: number) =>
  input === undefined ? Either.right(fallback) : finiteMillis(`retry.${name}`, input, false)

const count = (name: string, value: number | undefined, fallback: number) =>
  value === undefined ? Either.right(fallback) : integerAtLeast(`retry.${name}`, value, 0)

/** Checks options and fills in defaults. */
export const resolve = (options: Options = {}): Either.Either<Policy, ConfigurationError> =>
  Either.gen(function*() {
    // From plain JavaScript anything may come: `retry: null`, `retry: 5`, `retry: true`.
    yield* objectOption("retry", options, "an object of retry options or false")
    const factor = options.factor ?? DEFAULTS.factor
    if (!(typeof factor === "number" && Number.isFinite(factor) && factor >= 1)) {
      return yield* Either.left(new ConfigurationError({ variable: "retry.factor", reason: "must be a number ≥ 1" }))
    }
    const jitter = options.jitter ?? DEFAULTS.jitter
    if (!(typeof jitter === "number" && jitter >= 0 && jitter <= 1)) {
      return yield* Either.left(new ConfigurationError({ variable: "retry.jitter", reason: "must be between 0 and 1" }))
    }
    return {
      baseDelayMillis: yield* millis("baseDelay", options.baseDelay, DEFAULTS.baseDelayMillis),
      factor,
      maxDelayMillis: yield* millis("maxDelay", options.maxDelay, DEFAULTS.maxDelayMillis),
      jitter,
      maxRateLimitRetries: yield* count("maxRateLimitRetries", options.maxRateLimitRetries, DEFAULTS.maxRateLimitRetries),
      maxTransientRetries: yield* count("maxTransientRetries", options.maxTransientRetries, DEFAULTS.maxTransientRetries),
      maxTotalDelayMillis: yield* millis("maxTotalDelay", options.maxTotalDelay, DEFAULTS.maxTotalDelayMillis)
    }
  })

/** What the schedule remembers within one call. */
export interface State {
  /** Retries granted so far (all classes). */
  readonly retries: number
  readonly rateLimited: number
  readonly transient: number
  /** Sum of the delays granted so far, in ms. */
  readonly sleptMillis: number
}

export const initialState: State = { retries: 0, rateLimited: 0, transient: 0, sleptMillis: 0 }

/**
 * The pure decision: `undefined` to give up, otherwise the delay before the
 * next attempt. `random` is in [0, 1) and only feeds the jitter.
 */
export const decide = (
  policy: Policy,
  state: State,
  error: HasBehaviour,
  random: number
): { readonly delayMillis: number; readonly state: State } | undefined => {
  const kind = classify(error)
  if (kind === "final") return undefined
  const rateLimited = state.rateLimited + (kind === "rate-limited" ? 1 : 0)
  const transient = state.transient + (kind === "transient" ? 1 : 0)
  if (rateLimited > policy.maxRateLimitRetries || transient > policy.maxTransientRetries) return undefined
  const exponential = policy.baseDelayMillis * Math.pow(policy.factor, state.retries)
  const scale = 1 - policy.jitter + 2 * policy.jitter * random
  const delayMillis = Math.round(Math.min(policy.maxDelayMillis, exponential * scale))
  const sleptMillis = state.sleptMillis + delayMillis
  if (sleptMillis > policy.maxTotalDelayMillis) return undefined
  return { delayMillis, state: { retries: state.retries + 1, rateLimited, transient, sleptMillis } }
}

/**
 * The policy as a `Schedule` over the attempt's error: output is the state
 * after the decision. Jitter draws from effect's `Random` (deterministic under
 * `TestRandom`), delays are slept on effect's `Clock` (so `TestClock` drives them).
 */
export const schedule = (policy: Policy = DEFAULTS): Schedule.Schedule<State, HasBehaviour> =>
  Schedule.makeWithState(initialState, (now, error: HasBehaviour, state: State) =>
    Effect.map(policy.jitter === 0 ? Effect.succeed(0.5) : Random.next, (random) => {
      const next = decide(policy, state, error, random)
      return next === undefined
        ? [state, state, ScheduleDecision.done] as const
        : [next.state, next.state, ScheduleDecision.continueWith(ScheduleInterval.after(now + next.delayMillis))] as const
    }))
