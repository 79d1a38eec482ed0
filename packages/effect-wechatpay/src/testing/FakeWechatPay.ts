/**
 * The simulated WeChat Pay behind both sandbox forms (`SandboxHttpClient` in
 * memory, `SandboxServer` over loopback HTTP): product-coupon state, the rules
 * of the store family and seeded fault injection. One implementation of the
 * rules over one state; the forms only move bytes. The endpoints (partner mode,
 * see {@link OPERATIONS} and {@link ROUTES}):
 * - 批次取消关联门店 `POST …/stocks/{stock_id}/disassociate-stores`
 * - 批次关联门店 `POST …/stocks/{stock_id}/associate-stores`
 * - 查询批次关联门店列表 `GET …/stocks/{stock_id}/associated-stores?brand_id&page_size&page_token`
 * - 查询商品券指定批次 `GET …/stocks/{stock_id}?brand_id`
 * - 批次组关联门店 / 批次组取消关联门店 `POST …/stock-bundles/{stock_bundle_id}/associate-stores`, `…/disassociate-stores`
 *
 * Every request, whatever it addresses, is authenticated the same way: the
 * signature covers the request-target exactly as received, query included
 * (see `ServerProtocol.checkRequest`), and counts against the one rate limit.
 *
 * Where the documentation is silent, this fake decides (and the tests pin it):
 * - A store of the brand that is not (or no longer) associated with the stock
 *   lands in `success_store_list`: the call's goal, "not associated", holds, and
 *   a retry of a call whose answer was lost must not turn successes into
 *   failures. `notAssociated: "failed"` makes it a failure instead
 *   (`INVALID_REQUEST` / {@link MESSAGES.storeNotAssociated}). Likewise a store
 *   already associated is a success of 批次关联门店; `alreadyAssociated: "failed"`
 *   makes it a failure ({@link MESSAGES.storeAlreadyAssociated}).
 * - A stock of a `PROGRESSIVE_BUNDLE` coupon is refused by the stock-level store
 *   calls with 400 `INVALID_REQUEST` ({@link MESSAGES.progressiveBundle}); the
 *   protocol notes say such stocks must use the stock-bundle variant. The
 *   listing and the stock query serve them.
 * - More than 200 entries in `store_list` is counted before de-duplication; an
 *   empty `store_list` is a `PARAM_ERROR` too.
 * - Checks run in this order: Accept/User-Agent (400), signature (401), rate
 *   limit (429), route (404), path, body or query (400 PARAM_ERROR), brand
 *   authorization (403), product coupon (404, also when it belongs to another
 *   brand), stock or bundle (404), usage mode (400), expiry (400), deactivation
 *   (400), store scope (400), then the stores.
 * - Only authenticated requests count against the rate limit: one sliding
 *   one-second window for the whole sandbox, shared by every endpoint (the
 *   documented 20/s is per service provider, not per endpoint).
 * - A stock is expired when marked so, when its state is `STOPPED` ("已到达结束
 *   时间"), or when the sandbox clock has reached its `availableEndMillis`. The
 *   fake never changes a stock's state by itself.
 * - Association, disassociation and the listing refuse an expired stock, a
 *   `DEACTIVATED` one and one whose `store_scope` is not `SPECIFIC`: the
 *   partner pages of all three (and of the bundle calls) give "store_scope为
 *   SPECIFIC" and "批次未失效或过期" as preconditions. The stock query serves
 *   any stock. The associate, list and bundle pages' error tables
 *   were not found: the fake answers with the disassociate table's codes, in
 *   its own wording ({@link MESSAGES}).
 * - A bundle call checks every stock of the bundle first; if any is refused,
 *   nothing changes. Then it applies to every stock: a store succeeds when it
 *   is the brand's (with `notAssociated`/`alreadyAssociated: "failed"`, when it
 *   changed with at least one stock).
 * - The listing pages in the sorted order of store ids, and `next_page_token`
 *   names the last store id returned: a full walk returns every store
 *   associated from its start to its end exactly once, even while other calls
 *   change the stock between pages; a store added or removed during the walk
 *   appears once or not at all, never twice. `total_count` is the count at the
 *   time of each page. The last page has no `next_page_token`
 *   (`lastPageToken: "empty"` sends `""`). A token is bound to its stock.
 * - The stock query reports the seed's `state` and times as RFC 3339 strings in
 *   `+08:00`; a PROGRESSIVE_BUNDLE coupon's stock has its available period under
 *   `progressive_bundle_usage_rule` (not `single_usage_rule`) and its bundle in
 *   `stock_bundle_info`, as in the official samples' model.
 * - Empty `success_store_list` / `failed_store_list` are left out (both are
 *   optional in the documentation); `emptyLists: "include"` sends `[]`.
 *
 * The parts, one concern each, under `fake/`: `State` (the seed and the
 * in-memory world), `Routes` (which endpoint a request addresses), `Rules`
 * (what a request does and answers), `Faults` (which request gets which fault)
 * and `Wire` (authentication, the signed answer bytes and headers, the request
 * log). This module wires them together.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { ConfigurationError } from "../WechatPayError.js"
import { describeType } from "../internal/describeType.js"
import * as Faults from "./fake/Faults.js"
import * as Rules from "./fake/Rules.js"
import * as State from "./fake/State.js"
import * as Wire from "./fake/Wire.js"
import * as TestKeys from "./TestKeys.js"

export {
  DEFAULT_AVAILABLE_BEGIN_MILLIS,
  DEFAULT_AVAILABLE_END_MILLIS,
  DEFAULT_DEACTIVATE_MILLIS,
  DEFAULT_EXPIRED_END_MILLIS,
  Fixture,
  generate,
  otherBrandStoreId,
  storeId
} from "./fake/State.js"
export type {
  BrandSeed,
  GenerateOptions,
  ProductCouponSeed,
  Seed,
  StockSeed,
  StockState,
  StoreScope,
  UsageMode
} from "./fake/State.js"
export {
  decodePageToken,
  DEFAULT_PAGE_SIZE,
  encodePageToken,
  ENDPOINT_PATH,
  MAX_PAGE_SIZE,
  MAX_STORES_PER_CALL,
  MESSAGES,
  rfc3339
} from "./fake/Rules.js"
export type { StockChange } from "./fake/Rules.js"
export { OPERATIONS, ROUTES } from "./fake/Routes.js"
export type { Operation } from "./fake/Routes.js"
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
  /** The stores of `stockId` right now, in the listing's order (a copy; empty for an unknown stock). */
  readonly associatedStores: (stockId: string) => ReadonlyArray<string>
  /** The stocks of the stock bundle `stockBundleId`, in seed order (empty for an unknown bundle). */
  readonly bundleStockIds: (stockBundleId: string) => ReadonlyArray<string>
  /** Everything received so far, oldest first (a live, read-only view). */
  readonly log: ReadonlyArray<Wire.LogEntry>
  readonly clearLog: Effect.Effect<void>
  /** Replaces the fault plan (and re-seeds the PRNG); options that cannot work fail and leave the plan as it was. */
  readonly setFaults: (faults: Faults.FaultOptions) => Effect.Effect<void, ConfigurationError>
  /** A whole number of requests a second, or `false`; anything else fails and leaves the limit as it was. */
  readonly setRateLimit: (perSecond: number | false) => Effect.Effect<void, ConfigurationError>
  /** While down, the forms refuse or reset every request to the primary endpoint. */
  readonly setPrimaryDown: (down: boolean) => Effect.Effect<void>
  readonly isPrimaryDown: () => boolean
}

/** @since 0.1.0 */
export class FakeWechatPay extends Context.Tag("effect-wechatpay/testing/FakeWechatPay")<FakeWechatPay, Service>() {}

const refusal = ([option, reason]: readonly [string, string]) =>
  new ConfigurationError({ variable: `FakeWechatPay.${option}`, reason })

/** The first option that cannot work (a NaN rate limit, a misspelt fault, …), as the error `make` fails with. */
export const checkOptions = (options: Omit<Options, "keys">): ConfigurationError | undefined => {
  const bad = checkShape(options) ?? Rules.checkRuleOptions(options) ?? Faults.checkFaultOptions(options.faults)
  return bad === undefined ? undefined : refusal(bad)
}

/** What plain JavaScript may get wrong before any rule is read: the options, the seed, the keys, `primaryDown`. */
const checkShape = (options: unknown): readonly [string, string] | undefined => {
  if (typeof options !== "object" || options === null) return ["options", `must be an object, got ${describeType(options)}`]
  const o = options as { readonly seed?: unknown; readonly keys?: unknown; readonly primaryDown?: unknown }
  if (o.seed !== undefined) {
    const problem = State.seedProblem(o.seed)
    if (problem !== undefined) return ["seed", problem]
  }
  if (o.keys !== undefined && (typeof o.keys !== "object" || o.keys === null || typeof (o.keys as { mchid?: unknown }).mchid !== "string")) {
    return ["keys", "must be TestKeys (from TestKeys.generate or TestKeys.official)"]
  }
  if (o.primaryDown !== undefined && typeof o.primaryDown !== "boolean") return ["primaryDown", "must be true or false"]
  return undefined
}

/**
 * Builds the sandbox synchronously from keys you already have. Throws the
 * {@link checkOptions} `ConfigurationError` for options that cannot work; {@link make}
 * and {@link layer} fail with it instead.
 */
export const makeWith = (keys: TestKeys.TestKeys, options: Omit<Options, "keys"> = {}): Service => {
  const refused = checkOptions(options)
  if (refused !== undefined) throw refused
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
    associatedStores: (stockId) => State.associatedStores(state, stockId),
    bundleStockIds: (stockBundleId) => State.bundleStockIds(state, stockBundleId),
    log: log.entries,
    clearLog: Effect.sync(log.clear),
    setFaults: (faults) =>
      Effect.suspend(() => {
        const bad = Faults.checkFaultOptions(faults)
        return bad === undefined ? Effect.sync(() => plan.replace(faults)) : Effect.fail(refusal(bad))
      }),
    setRateLimit: (perSecond) =>
      Effect.suspend(() => {
        const bad = Rules.checkRateLimit(perSecond)
        return bad === undefined ? Effect.sync(() => rules.setRateLimit(perSecond)) : Effect.fail(refusal(["rateLimit", bad]))
      }),
    setPrimaryDown: (down) =>
      Effect.sync(() => {
        primaryDown = down
      }),
    isPrimaryDown: () => primaryDown
  }
}

/** Builds the sandbox, generating keys unless given; fails for options that cannot work ({@link checkOptions}). */
export const make = (options: Options = {}): Effect.Effect<Service, ConfigurationError> =>
  Effect.suspend(() => {
    const refused = checkOptions(options)
    if (refused !== undefined) return Effect.fail(refused)
    return Effect.map(
      options.keys === undefined ? TestKeys.generate() : Effect.succeed(options.keys),
      (keys) => makeWith(keys, options)
    )
  })

/** @since 0.1.0 */
export const layer = (options: Options = {}): Layer.Layer<FakeWechatPay, ConfigurationError> =>
  Layer.effect(FakeWechatPay, make(options))
