/**
 * The foundation's typed failures. Every field is plain data that is safe to log:
 * no key material, no full signature, no Authorization header ever lands here.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { byStatus, REFUSED_LOCALLY, rejection, UNKNOWN_OUTCOME } from "./internal/behaviours.js"
import { describeTransport } from "./internal/TransportDiagnosis.js"

/** Why an attempt got no answer (refused, DNS, TLS, timeout, reset), read from the platform's error. */
export { describeTransport, diagnoseTransport, type TransportDiagnosis } from "./internal/TransportDiagnosis.js"

/**
 * What an error means for the machinery around a call. Every error a call can fail with carries
 * one (`error.behaviour`); the retry schedule, failover and the bulk job read it, so adding an
 * error is one class, not an edit to three tables.
 */
export interface Behaviour {
  /** `rate-limited` and `transient` are sent again by the retry schedule (each with its own budget); `never` is final. */
  readonly retry: "rate-limited" | "transient" | "never"
  /**
   * `failed`: the call provably changed nothing (a trusted rejection, or refused before sending), so a
   * job reports its stores as failed. `unresolved`: the outcome is unknown (or nothing was sent because
   * the job stopped), so its stores are unresolved.
   */
  readonly outcome: "failed" | "unresolved"
  /** Every further call of a job would fail the same way: the job stops after this one. */
  readonly stopsJob: boolean
  /** No answer came from the domain at all: the next attempts go to the backup domain. */
  readonly triggersFailover: boolean
}

/** Anything a call can fail with: it says how it behaves. */
export interface HasBehaviour {
  readonly _tag: string
  readonly message: string
  readonly behaviour: Behaviour
}

/** Configuration that is missing or malformed, naming the variable or option at fault. */
export class ConfigurationError extends Schema.TaggedError<ConfigurationError>(
  "effect-wechatpay/ConfigurationError"
)("ConfigurationError", {
  variable: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.variable}: ${this.reason}`
  }
}

/** A key or certificate that cannot be used, with the format that was expected. */
export class KeyFormatError extends Schema.TaggedError<KeyFormatError>(
  "effect-wechatpay/KeyFormatError"
)("KeyFormatError", {
  source: Schema.String,
  expected: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.source}: ${this.reason} (expected ${this.expected})`
  }
}

/** A request body that has no JSON form (a BigInt, a cycle). */
export class RequestEncodeError extends Schema.TaggedError<RequestEncodeError>("effect-wechatpay/RequestEncodeError")(
  "RequestEncodeError",
  { reason: Schema.String }
) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return REFUSED_LOCALLY
  }

  override get message(): string {
    return `the request body cannot be encoded as JSON: ${this.reason}`
  }
}

/** The crypto backend refused to sign (should not happen with a key that imported). */
export class SigningError extends Schema.TaggedError<SigningError>("effect-wechatpay/SigningError")(
  "SigningError",
  { reason: Schema.String, cause: Schema.optional(Schema.Defect) }
) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `signing failed: ${this.reason}`
  }
}

/**
 * No HTTP response was obtained (connection refused or reset, DNS, TLS), or the
 * body could not be read. `phase` says whether anything came back: failover only
 * makes sense for `"request"`.
 */
export class TransportError extends Schema.TaggedError<TransportError>("effect-wechatpay/TransportError")(
  "TransportError",
  {
    phase: Schema.Literal("request", "response"),
    method: Schema.String,
    url: Schema.String,
    reason: Schema.String,
    cause: Schema.optional(Schema.Defect)
  }
) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return { retry: "transient", outcome: "unresolved", stopsJob: false, triggersFailover: this.phase === "request" }
  }

  override get message(): string {
    return `${this.method} ${this.url}: transport failure (${this.phase}): ${describeTransport(this)}`
  }
}

/** The attempt took longer than the per-attempt timeout; the outcome is unknown. */
export class TimeoutError extends Schema.TaggedError<TimeoutError>("effect-wechatpay/TimeoutError")(
  "TimeoutError",
  { method: Schema.String, url: Schema.String, timeoutMillis: Schema.Number }
) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return { retry: "transient", outcome: "unresolved", stopsJob: false, triggersFailover: true }
  }

  override get message(): string {
    return `${this.method} ${this.url}: no response within ${this.timeoutMillis} ms`
  }
}

const responseFields = {
  status: Schema.Number,
  requestId: Schema.optional(Schema.String)
}

/** A signed response lacked one or more `Wechatpay-*` headers (an unsigned 2xx must be treated as forged). */
export class MissingSignatureHeadersError extends Schema.TaggedError<MissingSignatureHeadersError>(
  "effect-wechatpay/MissingSignatureHeadersError"
)("MissingSignatureHeadersError", {
  ...responseFields,
  missing: Schema.Array(Schema.String)
}) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `response ${this.status} is missing ${this.missing.join(", ")} (request id ${this.requestId ?? "none"})`
  }
}

/** `Wechatpay-Timestamp` is not a number, or too far from the local clock (either direction). */
export class StaleTimestampError extends Schema.TaggedError<StaleTimestampError>(
  "effect-wechatpay/StaleTimestampError"
)("StaleTimestampError", {
  ...responseFields,
  timestamp: Schema.String,
  nowSeconds: Schema.Number,
  toleranceSeconds: Schema.Number
}) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `response timestamp ${this.timestamp} is not within ${this.toleranceSeconds}s of now (${this.nowSeconds})`
  }
}

/** `Wechatpay-Serial` names a key this client does not hold. Lists the known ids, never keys. */
export class UnknownSerialError extends Schema.TaggedError<UnknownSerialError>(
  "effect-wechatpay/UnknownSerialError"
)("UnknownSerialError", {
  ...responseFields,
  serial: Schema.String,
  knownSerials: Schema.Array(Schema.String)
}) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `response signed with unknown serial ${this.serial}; known: ${this.knownSerials.join(", ") || "none"}`
  }
}

/** The signature does not verify over the raw body with the key for its serial. */
export class InvalidSignatureError extends Schema.TaggedError<InvalidSignatureError>(
  "effect-wechatpay/InvalidSignatureError"
)("InvalidSignatureError", {
  ...responseFields,
  serial: Schema.String,
  reason: Schema.String
}) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `response signature does not verify with ${this.serial}: ${this.reason}`
  }
}

/**
 * WeChat Pay deliberately sent a `WECHATPAY/SIGNTEST/` probe signature. The request
 * was delivered, so its effect is unknown; the response must not be trusted.
 */
export class SignatureProbeError extends Schema.TaggedError<SignatureProbeError>(
  "effect-wechatpay/SignatureProbeError"
)("SignatureProbeError", {
  ...responseFields,
  serial: Schema.String
}) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `response carried a WECHATPAY/SIGNTEST/ probe signature (request id ${this.requestId ?? "none"}); outcome unknown`
  }
}

/** Any failure of response verification. */
export type VerificationError =
  | MissingSignatureHeadersError
  | StaleTimestampError
  | UnknownSerialError
  | InvalidSignatureError
  | SignatureProbeError

/**
 * A non-2xx answer with a WeChat Pay error body `{code, message, detail?}`.
 * `verified` says whether the error response carried a signature that checked out.
 */
export class WechatPayApiError extends Schema.TaggedError<WechatPayApiError>(
  "effect-wechatpay/WechatPayApiError"
)("WechatPayApiError", {
  ...responseFields,
  code: Schema.String,
  message: Schema.String,
  detail: Schema.optional(Schema.Unknown),
  verified: Schema.Boolean
}) {
  /** Before it is mapped to an endpoint's row: judged by its status. See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return byStatus(this.status)
  }
}

/** A non-2xx answer whose body is not a WeChat Pay error (a gateway page, an empty body). */
export class UnexpectedResponseError extends Schema.TaggedError<UnexpectedResponseError>(
  "effect-wechatpay/UnexpectedResponseError"
)("UnexpectedResponseError", {
  ...responseFields,
  excerpt: Schema.String,
  verified: Schema.Boolean
}) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return byStatus(this.status)
  }

  override get message(): string {
    return `unexpected ${this.status} response (request id ${this.requestId ?? "none"}): ${this.excerpt}`
  }
}

/** A verified 2xx whose body does not match the endpoint's schema. */
export class ResponseDecodeError extends Schema.TaggedError<ResponseDecodeError>(
  "effect-wechatpay/ResponseDecodeError"
)("ResponseDecodeError", {
  ...responseFields,
  issue: Schema.String,
  excerpt: Schema.String
}) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `response ${this.status} could not be decoded (request id ${this.requestId ?? "none"}): ${this.issue}`
  }
}

/** Longest body excerpt kept in an error, so a large gateway page cannot bloat logs. */
export const EXCERPT_LIMIT = 512

/** The request was refused locally, before anything was signed or sent. */
export class RequestValidationError extends Schema.TaggedError<RequestValidationError>(
  "effect-wechatpay/RequestValidationError"
)("RequestValidationError", {
  /** The domain name of the field at fault, e.g. `storeList[3].storeId`. */
  field: Schema.String,
  reason: Schema.String,
  /** For store entries: the position in `storeList`. */
  index: Schema.optional(Schema.Number)
}) {
  /** Nothing was signed or sent. See `WechatPayError.Behaviour`. */
  get behaviour(): Behaviour {
    return REFUSED_LOCALLY
  }

  override get message(): string {
    return `${this.field}: ${this.reason}`
  }
}


// ---- API errors: one class per documented row of an endpoint's error table ----

/** What every API error carries: the answer as received, nothing secret. */
const apiErrorFields = {
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String,
  detail: Schema.optional(Schema.Unknown),
  requestId: Schema.optional(Schema.String),
  /** Whether the error response carried a signature that checked out. */
  verified: Schema.Boolean
}

/** 400 PARAM_ERROR 参数错误. */
export class ParamError extends Schema.TaggedError<ParamError>("effect-wechatpay/ParamError")("ParamError", apiErrorFields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, false)
  }
}

/** 400 INVALID_REQUEST, any case other than the two documented ones below. */
export class InvalidRequestError extends Schema.TaggedError<InvalidRequestError>(
  "effect-wechatpay/InvalidRequestError"
)("InvalidRequestError", apiErrorFields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, false)
  }
}

/** 400 INVALID_REQUEST 已过期的批次不可取消关联门店 — the stock has expired. */
export class StockExpiredError extends Schema.TaggedError<StockExpiredError>("effect-wechatpay/StockExpiredError")(
  "StockExpiredError",
  apiErrorFields
) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 400 INVALID_REQUEST 只有 store_scope 为 SPECIFIC 的批次可以取消关联门店. */
export class StockScopeNotSpecificError extends Schema.TaggedError<StockScopeNotSpecificError>(
  "effect-wechatpay/StockScopeNotSpecificError"
)("StockScopeNotSpecificError", apiErrorFields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 401 SIGN_ERROR 验证不通过. */
export class SignError extends Schema.TaggedError<SignError>("effect-wechatpay/SignError")("SignError", apiErrorFields) {
  get behaviour(): Behaviour {
    return rejection(true, true)
  }
}

/** 403 NO_AUTH 缺少业务相关权限. */
export class NoAuthError extends Schema.TaggedError<NoAuthError>("effect-wechatpay/NoAuthError")("NoAuthError", apiErrorFields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 404 NOT_FOUND, when the message names neither documented case. */
export class NotFoundError extends Schema.TaggedError<NotFoundError>("effect-wechatpay/NotFoundError")(
  "NotFoundError",
  apiErrorFields
) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 404 NOT_FOUND 未找到 product_coupon_id 对应的商品券. */
export class ProductCouponNotFoundError extends Schema.TaggedError<ProductCouponNotFoundError>(
  "effect-wechatpay/ProductCouponNotFoundError"
)("ProductCouponNotFoundError", apiErrorFields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 404 NOT_FOUND 未找到 stock_id 对应的商品券批次. */
export class StockNotFoundError extends Schema.TaggedError<StockNotFoundError>(
  "effect-wechatpay/StockNotFoundError"
)("StockNotFoundError", apiErrorFields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 429 RATELIMIT_EXCEEDED 请求超过接口频率限制 — not accepted; safe to retry with the same parameters. */
export class RateLimitExceededError extends Schema.TaggedError<RateLimitExceededError>(
  "effect-wechatpay/RateLimitExceededError"
)("RateLimitExceededError", apiErrorFields) {
  get behaviour(): Behaviour {
    return { ...UNKNOWN_OUTCOME, retry: "rate-limited" }
  }
}

/** 500 SYSTEM_ERROR 系统异常,请稍后重试. */
export class SystemError extends Schema.TaggedError<SystemError>("effect-wechatpay/SystemError")("SystemError", apiErrorFields) {
  get behaviour(): Behaviour {
    return { ...UNKNOWN_OUTCOME, retry: "transient" }
  }
}

/** Any status/code pair the endpoint does not document; keeps everything that came back. */
export class UnknownApiError extends Schema.TaggedError<UnknownApiError>("effect-wechatpay/UnknownApiError")(
  "UnknownApiError",
  apiErrorFields
) {
  get behaviour(): Behaviour {
    return byStatus(this.status)
  }
}

/**
 * The call was given up before its first attempt was sent, because the caller
 * asked it to stop (`ProductCouponStores.StopSignal`): nothing reached WeChat Pay.
 * Only a call made under a stop signal can fail with it.
 */
export class NotSentError extends Schema.TaggedError<NotSentError>("effect-wechatpay/NotSentError")("NotSentError", {
  reason: Schema.String
}) {
  get behaviour(): Behaviour {
    return UNKNOWN_OUTCOME
  }

  override get message(): string {
    return `not sent: ${this.reason}`
  }
}

// ---- Preflight: a bulk job's stock check, refused before any store is sent ----

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

/** An API error's fields, as an endpoint's error table builds them. */
export type ApiErrorProps = Schema.Struct.Constructor<typeof apiErrorFields>

/** The documented API errors. */
export type ApiError =
  | ParamError
  | InvalidRequestError
  | StockExpiredError
  | StockScopeNotSpecificError
  | SignError
  | NoAuthError
  | NotFoundError
  | ProductCouponNotFoundError
  | StockNotFoundError
  | RateLimitExceededError
  | SystemError
  | UnknownApiError

const callErrors = [
  RequestValidationError,
  RequestEncodeError,
  SigningError,
  TransportError,
  TimeoutError,
  MissingSignatureHeadersError,
  StaleTimestampError,
  UnknownSerialError,
  InvalidSignatureError,
  SignatureProbeError,
  UnexpectedResponseError,
  ResponseDecodeError,
  NotSentError,
  UnknownApiError
] as const

/** The 400 sub-cases of the store-changing calls: a stock that is expired, or not limited to specific stores. */
const stockStateErrors = [StockExpiredError, StockScopeNotSpecificError] as const

/** The 404s every call under a product coupon can get: the coupon by name, or unnamed. */
const productCouponNotFound = [NotFoundError, ProductCouponNotFoundError] as const

/**
 * Everything `disassociateStores` can fail with: exactly this union, as a Schema (a report can
 * carry it). Its page's table, row for row.
 */
export const DisassociateStoresError = Schema.Union(
  ParamError,
  InvalidRequestError,
  ...stockStateErrors,
  SignError,
  NoAuthError,
  ...productCouponNotFound,
  StockNotFoundError,
  RateLimitExceededError,
  SystemError,
  ...callErrors
)
export type DisassociateStoresError = typeof DisassociateStoresError.Type

/**
 * Everything `associateStores` can fail with. Its page's own error table was not found, so it
 * takes disassociate's, sub-cases (an expired stock, a scope other than `SPECIFIC`) included.
 */
export const AssociateStoresError = Schema.Union(...DisassociateStoresError.members)
export type AssociateStoresError = typeof AssociateStoresError.Type

/**
 * Everything `listAssociatedStores` (and each page of `associatedStores`) can fail with. Its
 * table was not found either: the common codes and the 404s of its path ids.
 */
export const ListAssociatedStoresError = Schema.Union(
  ParamError,
  InvalidRequestError,
  SignError,
  NoAuthError,
  ...productCouponNotFound,
  StockNotFoundError,
  RateLimitExceededError,
  SystemError,
  ...callErrors
)
export type ListAssociatedStoresError = typeof ListAssociatedStoresError.Type

/** Everything `getStock` (查询商品券指定批次) can fail with: the common codes and the 404s of its path ids. */
export const GetStockError = Schema.Union(...ListAssociatedStoresError.members)
export type GetStockError = typeof GetStockError.Type

/**
 * Everything `associateStockBundleStores` and `disassociateStockBundleStores` can fail with: the
 * disassociate table without the stock's own 404 (the path names a bundle, and no message tells a
 * missing bundle apart, so that is the generic `NotFoundError`).
 */
export const StockBundleStoresError = Schema.Union(
  ParamError,
  InvalidRequestError,
  ...stockStateErrors,
  SignError,
  NoAuthError,
  ...productCouponNotFound,
  RateLimitExceededError,
  SystemError,
  ...callErrors
)
export type StockBundleStoresError = typeof StockBundleStoresError.Type

/** Every error the library fails with, as one Schema. */
export const WechatPayError = Schema.Union(
  ...DisassociateStoresError.members,
  ...PreflightError.members,
  ConfigurationError,
  KeyFormatError,
  WechatPayApiError
)
export type WechatPayError = typeof WechatPayError.Type

/** Is `u` one of the library's errors? (Every one a call can fail with carries a `behaviour`.) */
export const isWechatPayError: (u: unknown) => u is WechatPayError = Schema.is(WechatPayError)
