/**
 * Checks of user-supplied tuning, in one place: every option that is a duration
 * or a count is judged by these, and a bad one is a `ConfigurationError` naming it.
 */
import { Duration, Effect, Either, Option } from "effect"
import { ConfigurationError } from "../WechatPayError.js"
import { describeType } from "./describeType.js"

/**
 * A duration as given, or none when it is not one. Effect's decoding turns a negative or NaN number, a
 * negative bigint or tuple and a string such as "-5 seconds" into zero; here they are not durations, so
 * that `baseDelay: -1000` is refused rather than read as "no back-off".
 */
export const durationOf = (input: unknown): Option.Option<Duration.Duration> => {
  const nonNegative = (x: unknown) =>
    typeof x === "bigint" ? x >= 0n : typeof x === "number" && (x >= 0 || x === Number.POSITIVE_INFINITY)
  if (typeof input === "number" || typeof input === "bigint") {
    if (!nonNegative(input)) return Option.none()
  } else if (Array.isArray(input)) {
    if (!input.every(nonNegative)) return Option.none()
  } else if (typeof input === "string" && /^\s*-/.test(input)) {
    return Option.none()
  }
  return Duration.decodeUnknown(input)
}

/**
 * An options object as a plain-JavaScript caller may get it wrong (`null`, a number, an array): refused,
 * saying what was `expected` and what came.
 */
export const objectOption = (variable: string, value: unknown, expected = "an object"): Either.Either<void, ConfigurationError> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? Either.void
    : Either.left(new ConfigurationError({ variable, reason: `must be ${expected}, got ${describeType(value)}` }))

/** A finite duration (positive when `positive`), in milliseconds. */
export const finiteMillis = (
  variable: string,
  input: Duration.DurationInput,
  positive: boolean
): Either.Either<number, ConfigurationError> => {
  const d = durationOf(input)
  return d._tag === "Some" && Duration.isFinite(d.value) && (!positive || Duration.toMillis(d.value) > 0)
    ? Either.right(Duration.toMillis(d.value))
    : Either.left(new ConfigurationError({ variable, reason: `must be a finite${positive ? ", positive" : ""} duration` }))
}

/** A whole number ≥ `min`. */
export const integerAtLeast = (
  variable: string,
  value: number,
  min: number
): Either.Either<number, ConfigurationError> =>
  Number.isInteger(value) && value >= min
    ? Either.right(value)
    : Either.left(
      new ConfigurationError({
        variable,
        reason: min === 0 ? "must be a non-negative integer" : `must be an integer ≥ ${min}`
      })
    )

/** A whole number in 1..`max`, or `fallback` when absent. */
export const wholeNumber = (
  variable: string,
  value: number | undefined,
  fallback: number,
  max: number
): Either.Either<number, ConfigurationError> =>
  value === undefined
    ? Either.right(fallback)
    : Number.isInteger(value) && value >= 1 && value <= max
    ? Either.right(value)
    : Either.left(
      new ConfigurationError({ variable, reason: `must be a whole number from 1 to ${max}, got ${typeof value === "number" ? value : describeType(value)}` })
    )

/**
 * A job's options object and its hooks, as a plain-JavaScript caller may get them wrong: refused before
 * anything is read or sent.
 */
export const jobHooks = (options: unknown): Either.Either<void, ConfigurationError> => {
  if (typeof options !== "object" || options === null) {
    return Either.left(new ConfigurationError({ variable: "options", reason: "must be an object of the job's options" }))
  }
  const o = options as Record<string, unknown>
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") {
    return Either.left(new ConfigurationError({ variable: "onProgress", reason: "must be a function" }))
  }
  for (const name of ["stopWhen", "abortWhen"]) {
    if (o[name] !== undefined && !Effect.isEffect(o[name])) {
      return Either.left(new ConfigurationError({ variable: name, reason: "must be an Effect" }))
    }
  }
  return Either.void
}
