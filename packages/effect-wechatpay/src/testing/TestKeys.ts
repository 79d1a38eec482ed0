/**
 * Throw-away key material for fakes and tests: a merchant key pair (the
 * client signs with it, the fake checks with it) and a WeChat Pay key pair
 * (the fake signs responses, the client verifies). Generated with
 * `node:crypto`; the testing entry point is Node-only by design.
 *
 * @since 0.1.0
 */
import { Effect, Redacted } from "effect"
import * as NodeCrypto from "node:crypto"
import type * as MerchantConfig from "../MerchantConfig.js"

/** Both sides' keys, as PEM and as parsed `KeyObject`s. */
export interface TestKeys {
  readonly mchid: string
  readonly merchantSerialNo: string
  readonly merchantPrivateKeyPem: Redacted.Redacted<string>
  readonly merchantPublicKey: NodeCrypto.KeyObject
  readonly merchantPublicKeyPem: string
  readonly wechatpayPublicKeyId: string
  readonly wechatpayPrivateKey: NodeCrypto.KeyObject
  readonly wechatpayPublicKeyPem: string
}

export interface Options {
  readonly mchid?: string | undefined
  readonly merchantSerialNo?: string | undefined
  readonly wechatpayPublicKeyId?: string | undefined
}

const rsaPair = () => NodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 })

/** Generates fresh key pairs (about 100 ms of CPU). */
export const generate = (options: Options = {}): Effect.Effect<TestKeys> =>
  Effect.sync(() => {
    const merchant = rsaPair()
    const wechatpay = rsaPair()
    return {
      mchid: options.mchid ?? "1900000109",
      merchantSerialNo: options.merchantSerialNo ?? "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
      merchantPrivateKeyPem: Redacted.make(merchant.privateKey.export({ type: "pkcs8", format: "pem" }).toString()),
      merchantPublicKey: merchant.publicKey,
      merchantPublicKeyPem: merchant.publicKey.export({ type: "spki", format: "pem" }).toString(),
      wechatpayPublicKeyId: options.wechatpayPublicKeyId ?? "PUB_KEY_ID_0114232134912410000000000000000001",
      wechatpayPrivateKey: wechatpay.privateKey,
      wechatpayPublicKeyPem: wechatpay.publicKey.export({ type: "spki", format: "pem" }).toString()
    }
  })

/** The client-side configuration that trusts these keys. */
export const merchantOptions = (
  keys: TestKeys,
  urls: { readonly baseUrl?: string | undefined; readonly backupBaseUrl?: string | undefined } = {}
): MerchantConfig.Options => ({
  mchid: keys.mchid,
  merchantSerialNo: keys.merchantSerialNo,
  privateKey: keys.merchantPrivateKeyPem,
  publicKeyId: keys.wechatpayPublicKeyId,
  publicKey: keys.wechatpayPublicKeyPem,
  baseUrl: urls.baseUrl,
  backupBaseUrl: urls.backupBaseUrl
})
