/**
 * Response-signature verification: the four `Wechatpay-*` headers, the clock
 * window, the probe prefix, the key for the serial, and RSA over the raw body
 * bytes. Each failure is its own typed error.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Option } from "effect"
import * as Authorization from "./Authorization.js"
import type * as KeyStore from "./KeyStore.js"
import type * as Signer from "./Signer.js"
import {
  InvalidSignatureError,
  MissingSignatureHeadersError,
  SignatureProbeError,
  StaleTimestampError,
  UnknownSerialError,
  type VerificationError
} from "./WechatPayError.js"

/** The response headers that carry the signature, in lower case as `Headers` stores them. */
export const SIGNATURE_HEADERS = [
  "wechatpay-timestamp",
  "wechatpay-nonce",
  "wechatpay-signature",
  "wechatpay-serial"
] as const

/** What verification looks at. */
export interface ReceivedResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
}

/** Does the response carry any signature header at all? (An error page from a gateway does not.) */
export const isSigned = (headers: ReceivedResponse["headers"]): boolean =>
  SIGNATURE_HEADERS.some((name) => headers[name] !== undefined)

/** Verifies one response; resolves to nothing when the signature is good. */
export type Verify = (response: ReceivedResponse) => Effect.Effect<void, VerificationError>

/** Builds a verifier over a key store and a crypto backend. */
export const make = (
  keys: KeyStore.Service,
  signer: Signer.Service,
  maxClockSkew: Duration.DurationInput
): Verify => {
  const toleranceSeconds = Duration.toSeconds(maxClockSkew)
  return (response) =>
    Effect.gen(function*() {
      const h = response.headers
      const requestId = h["request-id"]
      const base = requestId === undefined ? { status: response.status } : { status: response.status, requestId }
      const missing = SIGNATURE_HEADERS.filter((name) => h[name] === undefined || h[name] === "")
      if (missing.length > 0) return yield* new MissingSignatureHeadersError({ ...base, missing })
      const timestamp = h["wechatpay-timestamp"]!
      const nonce = h["wechatpay-nonce"]!
      const signature = h["wechatpay-signature"]!
      const serial = h["wechatpay-serial"]!
      // Probes are deliberate: report them as such, before anything else could mask them.
      if (signature.startsWith(Authorization.PROBE_PREFIX)) {
        return yield* new SignatureProbeError({ ...base, serial: serial.slice(0, 128) })
      }
      const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const ts = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN
      if (!(Math.abs(nowSeconds - ts) < toleranceSeconds)) {
        return yield* new StaleTimestampError({ ...base, timestamp: timestamp.slice(0, 32), nowSeconds, toleranceSeconds })
      }
      const key = yield* keys.lookup(serial)
      if (Option.isNone(key)) {
        return yield* new UnknownSerialError({ ...base, serial: serial.slice(0, 128), knownSerials: yield* keys.knownSerials })
      }
      const ok = yield* signer.verify(key.value, Authorization.responseMessage(timestamp, nonce, response.body), signature)
      if (!ok) {
        return yield* new InvalidSignatureError({
          ...base,
          serial,
          reason: "RSA-SHA256 over timestamp\\nnonce\\nbody\\n does not match"
        })
      }
    })
}
