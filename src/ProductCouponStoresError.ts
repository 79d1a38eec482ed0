/**
 * One typed error per row of the endpoint's error table, so callers can
 * `Effect.catchTag` exactly the case they handle. Rows that share a code
 * (INVALID_REQUEST, NOT_FOUND) are told apart by a distinctive fragment of the
 * documented message; when the wording changes, the generic error for that
 * code is the fallback, never a defect.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { type Behaviour, byStatus, UNKNOWN_OUTCOME } from "./WechatPayError.js"
import type { RequestValidationError } from "./DisassociateStores.js"
import type {
  MissingSignatureHeadersError,
  ResponseDecodeError,
  SignatureProbeError,
  SigningError,
  StaleTimestampError,
  TimeoutError,
  TransportError,
  UnexpectedResponseError,
  UnknownSerialError,
  InvalidSignatureError,
  WechatPayApiError
} from "./WechatPayError.js"

/** What every API error carries: the answer as received, nothing secret. */
const fields = {
  status: Schema.Number,
  code: Schema.String,
  message: Schema.String,
  detail: Schema.optional(Schema.Unknown),
  requestId: Schema.optional(Schema.String),
  /** Whether the error response carried a signature that checked out. */
  verified: Schema.Boolean
}

/**
 * A documented rejection is final. It proves the stores were left alone only when the answer was
 * signed: an unsigned 4xx could come from anything on the way (protocol notes §2.3), except 401
 * SIGN_ERROR, which WeChat Pay cannot sign by design. Errors that every further call would meet
 * (an expired or missing stock, no permission, a bad signature) stop a bulk job.
 */
const rejection = (trusted: boolean, stopsJob: boolean): Behaviour => ({
  retry: "never",
  outcome: trusted ? "failed" : "unresolved",
  stopsJob,
  triggersFailover: false
})

/** 400 PARAM_ERROR 参数错误. */
export class ParamError extends Schema.TaggedError<ParamError>("effect-wechatpay/ParamError")("ParamError", fields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, false)
  }
}

/** 400 INVALID_REQUEST, any case other than the two documented ones below. */
export class InvalidRequestError extends Schema.TaggedError<InvalidRequestError>(
  "effect-wechatpay/InvalidRequestError"
)("InvalidRequestError", fields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, false)
  }
}

/** 400 INVALID_REQUEST 已过期的批次不可取消关联门店 — the stock has expired. */
export class StockExpiredError extends Schema.TaggedError<StockExpiredError>("effect-wechatpay/StockExpiredError")(
  "StockExpiredError",
  fields
) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 400 INVALID_REQUEST 只有 store_scope 为 SPECIFIC 的批次可以取消关联门店. */
export class StockScopeNotSpecificError extends Schema.TaggedError<StockScopeNotSpecificError>(
  "effect-wechatpay/StockScopeNotSpecificError"
)("StockScopeNotSpecificError", fields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 401 SIGN_ERROR 验证不通过. */
export class SignError extends Schema.TaggedError<SignError>("effect-wechatpay/SignError")("SignError", fields) {
  get behaviour(): Behaviour {
    return rejection(true, true)
  }
}

/** 403 NO_AUTH 缺少业务相关权限. */
export class NoAuthError extends Schema.TaggedError<NoAuthError>("effect-wechatpay/NoAuthError")("NoAuthError", fields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 404 NOT_FOUND, when the message names neither documented case. */
export class NotFoundError extends Schema.TaggedError<NotFoundError>("effect-wechatpay/NotFoundError")(
  "NotFoundError",
  fields
) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 404 NOT_FOUND 未找到 product_coupon_id 对应的商品券. */
export class ProductCouponNotFoundError extends Schema.TaggedError<ProductCouponNotFoundError>(
  "effect-wechatpay/ProductCouponNotFoundError"
)("ProductCouponNotFoundError", fields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 404 NOT_FOUND 未找到 stock_id 对应的商品券批次. */
export class StockNotFoundError extends Schema.TaggedError<StockNotFoundError>(
  "effect-wechatpay/StockNotFoundError"
)("StockNotFoundError", fields) {
  get behaviour(): Behaviour {
    return rejection(this.verified, true)
  }
}

/** 429 RATELIMIT_EXCEEDED 请求超过接口频率限制 — not accepted; safe to retry with the same parameters. */
export class RateLimitExceededError extends Schema.TaggedError<RateLimitExceededError>(
  "effect-wechatpay/RateLimitExceededError"
)("RateLimitExceededError", fields) {
  get behaviour(): Behaviour {
    return { ...UNKNOWN_OUTCOME, retry: "rate-limited" }
  }
}

/** 500 SYSTEM_ERROR 系统异常,请稍后重试. */
export class SystemError extends Schema.TaggedError<SystemError>("effect-wechatpay/SystemError")("SystemError", fields) {
  get behaviour(): Behaviour {
    return { ...UNKNOWN_OUTCOME, retry: "transient" }
  }
}

/** Any status/code pair the endpoint does not document; keeps everything that came back. */
export class UnknownApiError extends Schema.TaggedError<UnknownApiError>("effect-wechatpay/UnknownApiError")(
  "UnknownApiError",
  fields
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

/** Everything `disassociateStores` can fail with: exactly this union. */
export type DisassociateStoresError =
  | ApiError
  | RequestValidationError
  | TransportError
  | TimeoutError
  | SigningError
  | MissingSignatureHeadersError
  | StaleTimestampError
  | UnknownSerialError
  | InvalidSignatureError
  | SignatureProbeError
  | UnexpectedResponseError
  | ResponseDecodeError
  | NotSentError

/**
 * Maps the foundation's generic API error to this endpoint's row. Status and
 * code must both match a documented row; message fragments only refine it.
 */
export const fromApiError = (error: WechatPayApiError): ApiError => {
  const props = {
    status: error.status,
    code: error.code,
    message: error.message,
    detail: error.detail,
    verified: error.verified,
    ...(error.requestId === undefined ? {} : { requestId: error.requestId })
  }
  const m = error.message
  switch (`${error.status} ${error.code}`) {
    case "400 PARAM_ERROR":
      return new ParamError(props)
    case "400 INVALID_REQUEST":
      if (m.includes("过期")) return new StockExpiredError(props)
      if (m.includes("store_scope")) return new StockScopeNotSpecificError(props)
      return new InvalidRequestError(props)
    case "401 SIGN_ERROR":
      return new SignError(props)
    case "403 NO_AUTH":
      return new NoAuthError(props)
    case "404 NOT_FOUND":
      if (m.includes("product_coupon_id")) return new ProductCouponNotFoundError(props)
      if (m.includes("stock_id")) return new StockNotFoundError(props)
      return new NotFoundError(props)
    case "429 RATELIMIT_EXCEEDED":
      return new RateLimitExceededError(props)
    case "500 SYSTEM_ERROR":
      return new SystemError(props)
    default:
      return new UnknownApiError(props)
  }
}
