/**
 * RSASSA-PKCS1-v1_5 with SHA-256, Base64: signing with the merchant key and
 * verifying with a WeChat Pay key. Two interchangeable backends:
 * `node:crypto` (the default: faster on Node, see `npm run bench:signer`) and
 * WebCrypto (Node, Bun, Deno, browsers and edge workers). Keys are imported
 * once and cached; the backend module itself is imported lazily so that
 * importing this file never ties an application to Node.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Encoding, Layer, Redacted } from "effect"
import * as AttemptDeadline from "./internal/AttemptDeadline.js"
import { KeyStore, type VerificationKey } from "./KeyStore.js"
import { KeyFormatError, SigningError } from "./WechatPayError.js"

/** @since 0.1.0 */
export interface Service {
  /** Which backend this is, for spans and benchmarks. */
  readonly backend: "node:crypto" | "webcrypto"
  /** Signs with the merchant key; strings are signed as their UTF-8 bytes. */
  readonly sign: (message: string | Uint8Array) => Effect.Effect<string, SigningError>
  /** Verifies a Base64 signature; `false` for a wrong signature or malformed Base64. */
  readonly verify: (key: VerificationKey, message: string | Uint8Array, signature: string) => Effect.Effect<boolean>
}

/** @since 0.1.0 */
export class Signer extends Context.Tag("effect-wechatpay/Signer")<Signer, Service>() {}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Only canonical Base64 is decoded, by both backends alike: decoders are lenient
 * in different ways (Node's skips separators and stops at padding, so "sigA, sigB",
 * two headers joined, would decode to sigA). RSA-2048 signatures are 344
 * characters; anything far longer is not worth decoding.
 */
const isCanonicalSignature = (signature: string): boolean => signature.length <= 2048 && STRICT_BASE64.test(signature)

const decodeSignature = (signature: string): Either.Either<Uint8Array, unknown> =>
  isCanonicalSignature(signature) ? Encoding.decodeBase64(signature) : Either.left("not canonical Base64")

const importFailed = (source: string, cause: unknown) =>
  new KeyFormatError({
    source,
    expected: "an RSA key the crypto backend accepts",
    reason: cause instanceof Error ? cause.name : "import failed"
  })

/** The `node:crypto` backend. */
export const makeNode: Effect.Effect<Service, KeyFormatError, KeyStore> = Effect.gen(function*() {
  const store = yield* KeyStore
  const crypto = yield* Effect.tryPromise({
    try: () => import("node:crypto"),
    catch: (cause) => importFailed("node:crypto", cause)
  })
  const privateKey = yield* Effect.try({
    try: () =>
      crypto.createPrivateKey({
        key: Buffer.from(Redacted.value(store.merchantKey.pkcs8)),
        format: "der",
        type: "pkcs8"
      }),
    catch: (cause) => importFailed("merchant private key", cause)
  })
  const publicKeys = new WeakMap<VerificationKey, import("node:crypto").KeyObject>()
  const publicKeyFor = (key: VerificationKey) => {
    let cached = publicKeys.get(key)
    if (cached === undefined) {
      cached = crypto.createPublicKey({ key: Buffer.from(key.spki), format: "der", type: "spki" })
      publicKeys.set(key, cached)
    }
    return cached
  }
  // Import every key known now, so a bad key fails the layer rather than the first response.
  for (const serial of yield* store.knownSerials) {
    const key = yield* store.lookup(serial)
    if (key._tag === "Some") {
      yield* Effect.try({ try: () => publicKeyFor(key.value), catch: (cause) => importFailed(serial, cause) })
    }
  }
  return AttemptDeadline.markSettlesByItself(Signer.of({
    backend: "node:crypto",
    sign: (message) =>
      Effect.try({
        try: () => crypto.sign("sha256", typeof message === "string" ? Buffer.from(message) : message, privateKey)
          .toString("base64"),
        catch: (cause) => new SigningError({ reason: "node:crypto refused to sign", cause })
      }),
    verify: (key, message, signature) =>
      Effect.sync(() => {
        // Node's own decoder is faster than a JS one; it is safe on canonical input only.
        if (!isCanonicalSignature(signature)) return false
        try {
          return crypto.verify(
            "sha256",
            typeof message === "string" ? Buffer.from(message) : message,
            publicKeyFor(key),
            Buffer.from(signature, "base64")
          )
        } catch {
          return false
        }
      })
  }))
})

const RSA = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const
const encoder = new TextEncoder()
// WebCrypto's typings want ArrayBuffer-backed views; ours never sit on a SharedArrayBuffer.
const view = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => bytes as Uint8Array<ArrayBuffer>

/** The WebCrypto backend (`globalThis.crypto.subtle`). */
export const makeWebCrypto: Effect.Effect<Service, KeyFormatError, KeyStore> = Effect.gen(function*() {
  const store = yield* KeyStore
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) {
    return yield* new KeyFormatError({
      source: "WebCrypto",
      expected: "globalThis.crypto.subtle",
      reason: "this runtime has no WebCrypto"
    })
  }
  const privateKey = yield* Effect.tryPromise({
    try: () => subtle.importKey("pkcs8", view(Redacted.value(store.merchantKey.pkcs8)), RSA, false, ["sign"]),
    catch: (cause) => importFailed("merchant private key", cause)
  })
  const publicKeys = new WeakMap<VerificationKey, Promise<CryptoKey>>()
  const publicKeyFor = (key: VerificationKey) => {
    let cached = publicKeys.get(key)
    if (cached === undefined) {
      cached = subtle.importKey("spki", view(key.spki), RSA, false, ["verify"])
      publicKeys.set(key, cached)
    }
    return cached
  }
  for (const serial of yield* store.knownSerials) {
    const key = yield* store.lookup(serial)
    if (key._tag === "Some") {
      const k = key.value
      yield* Effect.tryPromise({ try: () => publicKeyFor(k), catch: (cause) => importFailed(serial, cause) })
    }
  }
  return AttemptDeadline.markSettlesByItself(Signer.of({
    backend: "webcrypto",
    sign: (message) =>
      Effect.tryPromise({
        try: () => subtle.sign(RSA, privateKey, typeof message === "string" ? encoder.encode(message) : view(message)),
        catch: (cause) => new SigningError({ reason: "WebCrypto refused to sign", cause })
      }).pipe(Effect.map((sig) => Encoding.encodeBase64(new Uint8Array(sig)))),
    verify: (key, message, signature) => {
      const bytes = decodeSignature(signature)
      if (Either.isLeft(bytes)) return Effect.succeed(false)
      return Effect.promise(() =>
        publicKeyFor(key)
          .then((k) => subtle.verify(RSA, k, view(bytes.right), typeof message === "string" ? encoder.encode(message) : view(message)))
          .catch(() => false)
      )
    }
  }))
})

/** The default backend: `node:crypto`. */
export const layer: Layer.Layer<Signer, KeyFormatError, KeyStore> = Layer.effect(Signer, makeNode)

/** The portable backend. */
export const layerWebCrypto: Layer.Layer<Signer, KeyFormatError, KeyStore> = Layer.effect(Signer, makeWebCrypto)
