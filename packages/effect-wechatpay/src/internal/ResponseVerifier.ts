/**
 * Response-signature verification: the four `Wechatpay-*` headers, the clock
 * window, the probe prefix, the key for the serial, and RSA over the raw body
 * bytes. Each failure is its own typed error.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Option } from "effect"
import * as Authorization from "./Authorization.js"
import type * as KeyStore from "../KeyStore.js"
import type * as Signer from "../Signer.js"
import {
  InvalidSignatureError,
  MissingSignatureHeadersError,
  SignatureProbeError,
  StaleTimestampError,
  UnknownSerialError,
  type VerificationError
} from "../WechatPayError.js"

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

/**
 * Builds a verifier over a key store and a crypto backend. It runs on every
 * answer, so the checks that need no service are plain code: only the clock,
 * the key lookup and the RSA check are effects.
 */
export const make = (
  keys: KeyStore.Service,
  signer: Signer.Service,
  maxClockSkew: Duration.DurationInput
): Verify => {
  const toleranceSeconds = Duration.toSeconds(maxClockSkew)
  return (response) =>
    Effect.clockWith((clock): Effect.Effect<void, VerificationError> => {
      const h = response.headers
      const requestId = h["request-id"]
      const base = requestId === undefined ? { status: response.status } : { status: response.status, requestId }
      const timestamp = h["wechatpay-timestamp"]
      const nonce = h["wechatpay-nonce"]
      const signature = h["wechatpay-signature"]
      const serial = h["wechatpay-serial"]
      if (!timestamp || !nonce || !signature || !serial) {
        const missing = SIGNATURE_HEADERS.filter((name) => h[name] === undefined || h[name] === "")
        return Effect.fail(new MissingSignatureHeadersError({ ...base, missing }))
      }
      // Probes are deliberate: report them as such, before anything else could mask them.
      if (signature.startsWith(Authorization.PROBE_PREFIX)) {
        return Effect.fail(new SignatureProbeError({ ...base, serial: serial.slice(0, 128) }))
      }
      const nowSeconds = Math.floor(clock.unsafeCurrentTimeMillis() / 1000)
      const ts = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN
      if (!(Math.abs(nowSeconds - ts) < toleranceSeconds)) {
        return Effect.fail(
          new StaleTimestampError({ ...base, timestamp: timestamp.slice(0, 32), nowSeconds, toleranceSeconds })
        )
      }
      return Effect.flatMap(keys.lookup(serial), (key): Effect.Effect<void, VerificationError> =>
        Option.isNone(key)
          ? Effect.flatMap(keys.knownSerials, (knownSerials) =>
            Effect.fail(new UnknownSerialError({ ...base, serial: serial.slice(0, 128), knownSerials })))
          : Effect.flatMap(
            signer.verify(key.value, Authorization.responseMessage(timestamp, nonce, response.body), signature),
            (ok) =>
              ok
                ? Effect.void
                : Effect.fail(
                  new InvalidSignatureError({
                    ...base,
                    serial,
                    reason: "RSA-SHA256 over timestamp\\nnonce\\nbody\\n does not match"
                  })
                )
          ))
    })
}
