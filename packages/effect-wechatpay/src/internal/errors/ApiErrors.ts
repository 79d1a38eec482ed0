/**
 * The API errors: one class per documented row of an endpoint's error table, each with its
 * behaviour. The per-endpoint unions of them are in `WechatPayError`.
 */
import { Schema } from "effect"
import { byStatus, rejection, UNKNOWN_OUTCOME } from "../behaviours.js"
import type { Behaviour } from "./Behaviour.js"

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
