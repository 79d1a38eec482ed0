/**
 * Failures decided on this side, with no answer from WeChat Pay: configuration and keys that
 * cannot be used, a request refused or not encodable, signing that failed, a call not sent.
 */
import { Schema } from "effect"
import { NO_PERMIT, REFUSED_LOCALLY, UNKNOWN_OUTCOME } from "../behaviours.js"
import type { Behaviour } from "./Behaviour.js"

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

/**
 * The rate limiter could not grant the attempt a permit: a limiter the application provides (a quota
 * shared through Redis, say) could not reach its store. Nothing was sent. Retried as a transient
 * failure; a bulk job that still meets it stops, its stores unresolved, since every call waits on
 * the same limiter.
 */
export class RateLimiterError extends Schema.TaggedError<RateLimiterError>("effect-wechatpay/RateLimiterError")(
  "RateLimiterError",
  { quota: Schema.String, reason: Schema.String }
) {
  get behaviour(): Behaviour {
    return NO_PERMIT
  }

  override get message(): string {
    return `not sent: the rate limiter of quota ${this.quota} could not grant a permit: ${this.reason}`
  }
}
