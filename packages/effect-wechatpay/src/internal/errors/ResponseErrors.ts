/**
 * What went wrong with an attempt's answer: none came (transport, timeout), it cannot be trusted
 * (response verification), or it is not a usable success (a non-2xx, a body that does not decode).
 */
import { Schema } from "effect"
import { byStatus, UNKNOWN_OUTCOME } from "../behaviours.js"
import { describeTransport } from "../TransportDiagnosis.js"
import type { Behaviour } from "./Behaviour.js"

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

/**
 * The attempt took longer than the per-attempt timeout; the outcome is unknown. `phase` says how far it
 * got: `"response"` once the answer's status line and headers had come (the host answered, slowly: no
 * failover), `"request"` (or absent) before any answer.
 */
export class TimeoutError extends Schema.TaggedError<TimeoutError>("effect-wechatpay/TimeoutError")(
  "TimeoutError",
  {
    method: Schema.String,
    url: Schema.String,
    timeoutMillis: Schema.Number,
    phase: Schema.optional(Schema.Literal("request", "response"))
  }
) {
  /** See {@link Behaviour}. */
  get behaviour(): Behaviour {
    return { retry: "transient", outcome: "unresolved", stopsJob: false, triggersFailover: this.phase !== "response" }
  }

  override get message(): string {
    return this.phase === "response"
      ? `${this.method} ${this.url}: the answer's body did not arrive within ${this.timeoutMillis} ms`
      : `${this.method} ${this.url}: no response within ${this.timeoutMillis} ms`
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
    const what = `unexpected ${this.status} response (request id ${this.requestId ?? "none"})`
    return this.excerpt === "" ? `${what}, with an empty body` : `${what}: ${this.excerpt}`
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
