/**
 * A bulk job's preflight refusals: its one stock query found the stock's stores cannot be
 * changed, so the job stops before any store is sent.
 */
import { Schema } from "effect"
import { REFUSED_LOCALLY } from "../behaviours.js"
import type { Behaviour } from "./Behaviour.js"

/**
 * A bulk job refused by its preflight (one stock query before any store is sent): every call of
 * the job would meet the same refusal. Nothing was sent, so nothing changed; the job stops.
 */
const PREFLIGHT_REFUSED: Behaviour = { ...REFUSED_LOCALLY, stopsJob: true }

/** What every preflight refusal carries: the stock and the query's `Request-ID`. */
const preflightFields = {
  productCouponId: Schema.String,
  stockId: Schema.String,
  requestId: Schema.optional(Schema.String)
}

/** The stock's `store_scope` is not `SPECIFIC` (a value this version does not know included): its stores cannot be changed. */
export class PreflightStoreScopeError extends Schema.TaggedError<PreflightStoreScopeError>(
  "effect-wechatpay/PreflightStoreScopeError"
)("PreflightStoreScopeError", { ...preflightFields, storeScope: Schema.String }) {
  get behaviour(): Behaviour {
    return PREFLIGHT_REFUSED
  }

  override get message(): string {
    return `stock ${this.stockId}: store_scope is ${this.storeScope}; only a SPECIFIC stock's stores can be changed (nothing was sent)`
  }
}

/** The stock is `STOPPED` (its end time reached) or `DEACTIVATED`: WeChat Pay would refuse every call. */
export class PreflightStockStateError extends Schema.TaggedError<PreflightStockStateError>(
  "effect-wechatpay/PreflightStockStateError"
)("PreflightStockStateError", { ...preflightFields, state: Schema.String }) {
  get behaviour(): Behaviour {
    return PREFLIGHT_REFUSED
  }

  override get message(): string {
    return `stock ${this.stockId} is ${this.state}; its stores can no longer be changed (nothing was sent)`
  }
}

/** The stock's available end time is past, by the job's `Clock`, whatever its `state` says yet. */
export class PreflightStockEndedError extends Schema.TaggedError<PreflightStockEndedError>(
  "effect-wechatpay/PreflightStockEndedError"
)("PreflightStockEndedError", { ...preflightFields, availableEndTime: Schema.String, checkedAt: Schema.String }) {
  get behaviour(): Behaviour {
    return PREFLIGHT_REFUSED
  }

  override get message(): string {
    return `stock ${this.stockId} ended at ${this.availableEndTime} (checked at ${this.checkedAt}); its stores can no longer be changed (nothing was sent)`
  }
}

/** Every way a bulk job's preflight refuses the stock. */
export const PreflightError = Schema.Union(PreflightStoreScopeError, PreflightStockStateError, PreflightStockEndedError)
export type PreflightError = typeof PreflightError.Type
