/**
 * The fault catalogue and the plan that picks which request gets which fault
 * (a script first, then seeded random rates with bursts). What each fault
 * looks like on the wire is built in `Wire.ts`.
 *
 * @since 0.1.0
 */
import * as Prng from "../Prng.js"

/** Every injectable fault, in the order rates are accumulated. */
export const FAULTS = [
  "rateLimit",
  "systemError",
  "badGateway",
  "serviceUnavailable",
  "connectionReset",
  "connectionResetAfterApply",
  "slow",
  "probeSignature",
  "wrongSignature",
  "staleTimestamp",
  "truncatedBody",
  "nonJsonBody",
  "primaryDown"
] as const

export type Fault = typeof FAULTS[number]

/**
 * Whether the request is processed (stores may change state) before the
 * fault strikes. For the `true` ones the client cannot know the outcome.
 * - rateLimit (429), systemError (500), badGateway (502, HTML, unsigned),
 *   serviceUnavailable (503, JSON, unsigned), connectionReset: refused or lost
 *   before anything happened.
 * - connectionResetAfterApply: processed, then the connection drops unanswered.
 * - slow: processed at once, answered `slowMillis` later.
 * - probeSignature / wrongSignature / staleTimestamp: processed, the answer's
 *   signature is a `WECHATPAY/SIGNTEST/` probe / off by one byte / 10 minutes old.
 * - truncatedBody: processed; headers announce the full body, half of it
 *   arrives, then the connection drops.
 * - nonJsonBody: processed; the answer is a correctly signed non-JSON body.
 * - primaryDown: a request to the primary endpoint is dropped unanswered, as
 *   if the primary were unreachable (a request to the backup is unaffected and
 *   logged without a fault). For a lasting outage use `setPrimaryDown`.
 */
export const PROCESSED_BEFORE_FAULT: Readonly<Record<Fault, boolean>> = {
  rateLimit: false,
  systemError: false,
  badGateway: false,
  serviceUnavailable: false,
  connectionReset: false,
  connectionResetAfterApply: true,
  slow: true,
  probeSignature: true,
  wrongSignature: true,
  staleTimestamp: true,
  truncatedBody: true,
  nonJsonBody: true,
  primaryDown: false
}

export interface FaultOptions {
  /** PRNG seed; the same seed gives the same fault sequence. Default 1. */
  readonly seed?: number | undefined
  /** Per-request probability of each fault (their sum should stay ≤ 1). */
  readonly rates?: Partial<Record<Fault, number>> | undefined
  /** Faults for the next requests, in order (`"none"` = a normal answer); consulted before `rates`. */
  readonly script?: ReadonlyArray<Fault | "none"> | undefined
  /** When a fault is drawn from `rates`, it hits this many consecutive requests (e.g. 429 bursts). Default 1. */
  readonly burst?: Partial<Record<Fault, number>> | undefined
  /** How late a `slow` answer is; default 30 s. */
  readonly slowMillis?: number | undefined
}

const isFault = (name: string): name is Fault => (FAULTS as ReadonlyArray<string>).includes(name)
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x)

/**
 * The first of `options` that cannot work, as `[option, reason]` (e.g. a NaN rate, or a
 * misspelt fault that would be logged yet never injected); `undefined` when all can.
 */
export const checkFaultOptions = (options: FaultOptions | undefined): readonly [string, string] | undefined => {
  if (options === undefined) return undefined
  if (!isRecord(options)) return ["faults", "must be an object"]
  const { burst, rates, script, seed, slowMillis } = options
  if (seed !== undefined && !(typeof seed === "number" && Number.isFinite(seed))) return ["faults.seed", "must be a finite number"]
  if (slowMillis !== undefined && !(typeof slowMillis === "number" && Number.isFinite(slowMillis) && slowMillis >= 0)) {
    return ["faults.slowMillis", "must be a finite number of milliseconds ≥ 0"]
  }
  if (rates !== undefined) {
    if (!isRecord(rates)) return ["faults.rates", "must be an object of fault → probability"]
    for (const [name, rate] of Object.entries(rates)) {
      if (!isFault(name)) return ["faults.rates", `${name} is not a fault (${FAULTS.join(", ")})`]
      if (rate !== undefined && !(typeof rate === "number" && rate >= 0 && rate <= 1)) {
        return ["faults.rates", `${name} must be a probability in [0, 1]`]
      }
    }
  }
  if (burst !== undefined) {
    if (!isRecord(burst)) return ["faults.burst", "must be an object of fault → request count"]
    for (const [name, n] of Object.entries(burst)) {
      if (!isFault(name)) return ["faults.burst", `${name} is not a fault (${FAULTS.join(", ")})`]
      if (n !== undefined && !(typeof n === "number" && Number.isSafeInteger(n) && n >= 1)) {
        return ["faults.burst", `${name} must be a whole number of requests ≥ 1`]
      }
    }
  }
  if (script !== undefined) {
    if (!Array.isArray(script)) return ["faults.script", "must be an array of faults"]
    for (const entry of script as ReadonlyArray<unknown>) {
      if (entry !== "none" && !(typeof entry === "string" && isFault(entry))) {
        return ["faults.script", `${String(entry)} is neither a fault (${FAULTS.join(", ")}) nor "none"`]
      }
    }
  }
  return undefined
}

export interface FaultPlan {
  /** The fault for the next request, `undefined` for none. Call exactly once per request. */
  readonly next: () => Fault | undefined
  /** How late a `slow` answer is, under the current options. */
  readonly slowMillis: () => number
  /** Replaces the options and starts over: PRNG re-seeded, script from its start, no burst pending. */
  readonly replace: (options: FaultOptions) => void
}

export const makePlan = (options: FaultOptions = {}): FaultPlan => {
  let faults = options
  let prng = Prng.make(faults.seed ?? 1)
  let scriptAt = 0
  let burstFault: Fault | undefined
  let burstLeft = 0
  const next = (): Fault | undefined => {
    const script = faults.script
    if (script !== undefined && scriptAt < script.length) {
      const f = script[scriptAt++]!
      return f === "none" ? undefined : f
    }
    if (burstLeft > 0) {
      burstLeft--
      return burstFault
    }
    const rates = faults.rates
    if (rates === undefined) return undefined
    // One draw per request, whatever the rates: the sequence depends on the seed alone.
    const r = prng.next()
    let acc = 0
    for (const f of FAULTS) {
      acc += rates[f] ?? 0
      if (r < acc) {
        burstFault = f
        burstLeft = Math.max(1, Math.floor(faults.burst?.[f] ?? 1)) - 1
        return f
      }
    }
    return undefined
  }
  return {
    next,
    slowMillis: () => faults.slowMillis ?? 30_000,
    replace: (updated) => {
      faults = updated
      prng = Prng.make(updated.seed ?? 1)
      scriptAt = 0
      burstLeft = 0
    }
  }
}
