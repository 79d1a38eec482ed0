/**
 * The keys: the merchant signing key and the WeChat Pay verification keys,
 * looked up by the `Wechatpay-Serial` a response names. PEM is parsed and
 * checked once, when the layer is built; several verification keys can be
 * held at once (public-key mode and platform certificates side by side) and
 * added or removed at run time for rotation.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer, Option, Redacted, Ref } from "effect"
import * as AttemptDeadline from "./internal/AttemptDeadline.js"
import { MerchantConfig } from "./MerchantConfig.js"
import * as Pem from "./internal/Pem.js"
import { KeyFormatError } from "./WechatPayError.js"

/** The merchant API private key as PKCS#8 DER. */
export interface MerchantKey {
  readonly serialNo: string
  readonly pkcs8: Redacted.Redacted<Uint8Array>
}

/** A key that verifies WeChat Pay signatures, named by the serial responses carry. */
export interface VerificationKey {
  readonly serial: string
  readonly kind: "public-key" | "platform-certificate"
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array
}

/** @since 0.1.0 */
export interface Service {
  readonly merchantKey: MerchantKey
  /** The key for a `Wechatpay-Serial`, if this store holds it. */
  readonly lookup: (serial: string) => Effect.Effect<Option.Option<VerificationKey>>
  /** The serials (ids, never keys) currently trusted. */
  readonly knownSerials: Effect.Effect<ReadonlyArray<string>>
  /** Trusts one more key (rotation: add the new key before WeChat Pay starts using it). */
  readonly add: (key: VerificationKey) => Effect.Effect<void>
  /** Stops trusting a key. */
  readonly remove: (serial: string) => Effect.Effect<void>
}

/** @since 0.1.0 */
export class KeyStore extends Context.Tag("effect-wechatpay/KeyStore")<KeyStore, Service>() {}

const PKCS8 = "PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)"
const SPKI = "SPKI PEM (-----BEGIN PUBLIC KEY-----)"
const X509 = "X.509 certificate PEM (-----BEGIN CERTIFICATE-----)"

/** Parses the merchant private key; a PKCS#1 or encrypted key is named as such. */
export const parsePrivateKey = (source: string, pem: Redacted.Redacted<string>): Either.Either<MerchantKey["pkcs8"], KeyFormatError> => {
  const fail = (reason: string) => Either.left(new KeyFormatError({ source, expected: PKCS8, reason }))
  const block = Pem.decode(Redacted.value(pem), ["PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])
  if (Either.isLeft(block)) return fail(block.left)
  switch (block.right.label) {
    case "PRIVATE KEY":
      break
    case "RSA PRIVATE KEY":
      return fail("this is a PKCS#1 key; convert it with `openssl pkcs8 -topk8 -nocrypt`")
    case "ENCRYPTED PRIVATE KEY":
      return fail("the key is encrypted; provide it unencrypted")
  }
  const checked = Pem.checkPkcs8Rsa(block.right.der)
  if (Either.isLeft(checked)) return fail(checked.left)
  return Either.right(Redacted.make(block.right.der))
}

/** Parses a WeChat Pay public key (SPKI PEM) for a `PUB_KEY_ID_…`. */
export const parsePublicKey = (source: string, serial: string, pem: string): Either.Either<VerificationKey, KeyFormatError> => {
  const fail = (reason: string) => Either.left(new KeyFormatError({ source, expected: SPKI, reason }))
  const block = Pem.decode(pem, ["PUBLIC KEY"])
  if (Either.isLeft(block)) return fail(block.left)
  const checked = Pem.checkSpkiRsa(block.right.der)
  if (Either.isLeft(checked)) return fail(checked.left)
  return Either.right({ serial, kind: "public-key", spki: block.right.der })
}

/** Parses a platform certificate; its serial becomes the key's name. */
export const parseCertificate = (source: string, pem: string): Either.Either<VerificationKey, KeyFormatError> => {
  const fail = (reason: string) => Either.left(new KeyFormatError({ source, expected: X509, reason }))
  const block = Pem.decode(pem, ["CERTIFICATE"])
  if (Either.isLeft(block)) return fail(block.left)
  const info = Pem.readCertificate(block.right.der)
  if (Either.isLeft(info)) return fail(info.left)
  return Either.right({ serial: info.right.serial, kind: "platform-certificate", spki: info.right.spki })
}

/** Builds a store from already-parsed keys. */
export const fromKeys = (
  merchantKey: MerchantKey,
  keys: Iterable<VerificationKey>
): Effect.Effect<Service> =>
  Effect.map(Ref.make(new Map(Array.from(keys, (k) => [k.serial, k] as const))), (ref) =>
    AttemptDeadline.markSettlesByItself(KeyStore.of({
      merchantKey,
      lookup: (serial) => Effect.map(Ref.get(ref), (m) => Option.fromNullable(m.get(serial))),
      knownSerials: Effect.map(Ref.get(ref), (m) => Array.from(m.keys())),
      add: (key) => Ref.update(ref, (m) => new Map(m).set(key.serial, key)),
      remove: (serial) =>
        Ref.update(ref, (m) => {
          const next = new Map(m)
          next.delete(serial)
          return next
        })
    })))

/** Parses every key of the configuration, once. */
export const make: Effect.Effect<Service, KeyFormatError, MerchantConfig> = Effect.gen(function*() {
  const config = yield* MerchantConfig
  const pkcs8 = yield* parsePrivateKey(
    `merchant private key (${config.sources?.privateKey ?? "privateKey"})`,
    config.privateKey
  )
  const keys: Array<VerificationKey> = []
  if (Option.isSome(config.publicKeyId) && Option.isSome(config.publicKey)) {
    keys.push(
      yield* parsePublicKey(
        `WeChat Pay public key (${config.sources?.publicKey ?? "publicKey"})`,
        config.publicKeyId.value,
        config.publicKey.value
      )
    )
  }
  for (const [i, pem] of config.platformCertificates.entries()) {
    keys.push(yield* parseCertificate(`platform certificate #${i + 1}`, pem))
  }
  return yield* fromKeys({ serialNo: config.merchantSerialNo, pkcs8 }, keys)
})

/** @since 0.1.0 */
export const layer: Layer.Layer<KeyStore, KeyFormatError, MerchantConfig> = Layer.effect(KeyStore, make)
