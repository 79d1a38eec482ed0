/**
 * The simulated WeChat Pay behind both sandbox forms (`SandboxHttpClient` in
 * memory, `SandboxServer` over loopback HTTP): product-coupon state, the rules
 * of "批次取消关联门店" and seeded fault injection. One implementation of the
 * rules; the forms only move bytes.
 *
 * Where the documentation is silent, this fake decides (and the tests pin it):
 * - A store of the brand that is not (or no longer) associated with the stock
 *   lands in `success_store_list`: the call's goal, "not associated", holds, and
 *   a retry of a call whose answer was lost must not turn successes into
 *   failures. `notAssociated: "failed"` makes it a failure instead
 *   (`INVALID_REQUEST` / {@link MESSAGES.storeNotAssociated}).
 * - A stock of a `PROGRESSIVE_BUNDLE` coupon is refused with 400
 *   `INVALID_REQUEST` ({@link MESSAGES.progressiveBundle}); the protocol notes
 *   say such stocks must use the stock-bundle variant.
 * - More than 200 entries in `store_list` is counted before de-duplication; an
 *   empty `store_list` is a `PARAM_ERROR` too.
 * - Checks run in this order: Accept/User-Agent (400), signature (401), rate
 *   limit (429), route (404), body (400 PARAM_ERROR), brand authorization (403),
 *   product coupon (404, also when it belongs to another brand), stock (404),
 *   usage mode (400), expiry (400), store scope (400), then the stores.
 * - Only authenticated requests count against the rate limit (one sliding
 *   one-second window for the whole sandbox).
 * - A stock is expired when marked so or when the sandbox clock has reached
 *   its `availableEndMillis`.
 * - Empty `success_store_list` / `failed_store_list` are left out (both are
 *   optional in the documentation); `emptyLists: "include"` sends `[]`.
 *
 * The parts, one concern each, under `fake/`: `State` (the seed and the
 * in-memory world), `Rules` (what a request does and answers), `Faults` (which
 * request gets which fault) and `Wire` (authentication, the signed answer
 * bytes and headers, the request log). This module wires them together.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import * as Faults from "./fake/Faults.js"
import * as Rules from "./fake/Rules.js"
import * as State from "./fake/State.js"
import * as Wire from "./fake/Wire.js"
import * as TestKeys from "./TestKeys.js"

export { Fixture, generate, otherBrandStoreId, storeId } from "./fake/State.js"
export type {
  BrandSeed,
  GenerateOptions,
  ProductCouponSeed,
  Seed,
  StockSeed,
  StoreScope,
  UsageMode
} from "./fake/State.js"
export { ENDPOINT_PATH, MAX_STORES_PER_CALL, MESSAGES } from "./fake/Rules.js"
export { FAULTS, PROCESSED_BEFORE_FAULT } from "./fake/Faults.js"
export type { Fault, FaultOptions } from "./fake/Faults.js"
export { flipFirstByte } from "./fake/Wire.js"
export type { Endpoint, LogEntry, Outcome, Request } from "./fake/Wire.js"

export interface Options extends Rules.RuleOptions {
  /** Key material; generated when absent. */
  readonly keys?: TestKeys.TestKeys | undefined
  /** Starting state; default {@link generate}`()`. */
  readonly seed?: State.Seed | undefined
  readonly faults?: Faults.FaultOptions | undefined
  readonly primaryDown?: boolean | undefined
}

/** @since 0.1.0 */
export interface Service {
  readonly keys: TestKeys.TestKeys
  /** Runs the rules and the fault plan for one request at `nowMillis`. Never fails. */
  readonly handle: (request: Wire.Request, nowMillis: number) => Wire.Outcome
  /** Is `storeId` associated with `stockId` right now? */
  readonly isAssociated: (stockId: string, storeId: string) => boolean
  /** How many stores `stockId` has (0 for an unknown stock). */
  readonly associatedCount: (stockId: string) => number
  /** Everything received so far, oldest first (a live, read-only view). */
  readonly log: ReadonlyArray<Wire.LogEntry>
  readonly clearLog: Effect.Effect<void>
  /** Replaces the fault plan (and re-seeds the PRNG). */
  readonly setFaults: (faults: Faults.FaultOptions) => Effect.Effect<void>
  readonly setRateLimit: (perSecond: number | false) => Effect.Effect<void>
  /** While down, the forms refuse or reset every request to the primary endpoint. */
  readonly setPrimaryDown: (down: boolean) => Effect.Effect<void>
  readonly isPrimaryDown: () => boolean
}

/** @since 0.1.0 */
export class FakeWechatPay extends Context.Tag("effect-wechatpay/testing/FakeWechatPay")<FakeWechatPay, Service>() {}

/** Builds the sandbox synchronously from keys you already have. */
export const makeWith = (keys: TestKeys.TestKeys, options: Omit<Options, "keys"> = {}): Service => {
  const state = State.fromSeed(options.seed ?? State.generate())
  const rules = Rules.make(state, options)
  const plan = Faults.makePlan(options.faults)
  const log = Wire.makeLog()
  let primaryDown = options.primaryDown ?? false

  const handle = (request: Wire.Request, now: number): Wire.Outcome => {
    const received = log.receive(request, now)
    const drawn = plan.next()
    // Scripts and rates stay aligned with requests whatever endpoint they hit.
    const fault = drawn === "primaryDown" && request.endpoint !== "primary" ? undefined : drawn
    const answers = Wire.answers(keys, received.requestId, now)
    const refused = answers.beforeRules(fault)
    if (refused !== undefined) {
      received.record(fault, undefined, refused)
      return refused
    }
    const verdict = Wire.authenticate(request, keys, now) ?? rules.decide(request, now)
    const outcome = answers.afterRules(verdict, fault, plan.slowMillis())
    received.record(fault, verdict, outcome)
    return outcome
  }

  return {
    keys,
    handle,
    isAssociated: (stockId, storeId) => State.isAssociated(state, stockId, storeId),
    associatedCount: (stockId) => State.associatedCount(state, stockId),
    log: log.entries,
    clearLog: Effect.sync(log.clear),
    setFaults: (faults) => Effect.sync(() => plan.replace(faults)),
    setRateLimit: (perSecond) => Effect.sync(() => rules.setRateLimit(perSecond)),
    setPrimaryDown: (down) =>
      Effect.sync(() => {
        primaryDown = down
      }),
    isPrimaryDown: () => primaryDown
  }
}

/** Builds the sandbox, generating keys unless given. */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  Effect.map(
    options.keys === undefined ? TestKeys.generate() : Effect.succeed(options.keys),
    (keys) => makeWith(keys, options)
  )

/** @since 0.1.0 */
export const layer = (options: Options = {}): Layer.Layer<FakeWechatPay> => Layer.effect(FakeWechatPay, make(options))
