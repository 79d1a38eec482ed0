/**
 * A client's settings for a running sandbox: the `WECHATPAY_*` environment
 * variables `MerchantConfig.layerConfig` reads, with the keys written to files
 * (the private key readable by the owner only). The CLI's `sandbox` command
 * prints these; programs can use `TestKeys.merchantOptions` instead.
 *
 * @since 0.1.0
 */
import { Effect, Redacted } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as MerchantConfig from "../MerchantConfig.js"
import { SandboxError } from "./SandboxServer.js"
import type { TestKeys } from "./TestKeys.js"

export interface ClientSettings {
  /** Variable name → value; key contents are not in here, only file paths. */
  readonly env: Readonly<Record<string, string>>
  readonly privateKeyFile: string
  readonly publicKeyFile: string
}

/** The file names written into the directory. */
export const PRIVATE_KEY_FILE = "apiclient_key.pem"
export const PUBLIC_KEY_FILE = "wechatpay_public_key.pem"

/** Writes the two key files into `directory` (created if needed) and returns the variables. */
export const write = (
  keys: TestKeys,
  urls: { readonly baseUrl: string; readonly backupBaseUrl: string },
  directory: string
): Effect.Effect<ClientSettings, SandboxError> =>
  Effect.tryPromise({
    try: async () => {
      const dir = Path.resolve(directory)
      await Fs.mkdir(dir, { recursive: true })
      const privateKeyFile = Path.join(dir, PRIVATE_KEY_FILE)
      const publicKeyFile = Path.join(dir, PUBLIC_KEY_FILE)
      await Fs.writeFile(privateKeyFile, Redacted.value(keys.merchantPrivateKeyPem), { mode: 0o600 })
      await Fs.writeFile(publicKeyFile, keys.wechatpayPublicKeyPem, { mode: 0o644 })
      const env: Record<string, string> = {
        [MerchantConfig.ENV.mchid]: keys.mchid,
        [MerchantConfig.ENV.merchantSerialNo]: keys.merchantSerialNo,
        [MerchantConfig.ENV.privateKeyFile]: privateKeyFile,
        [MerchantConfig.ENV.publicKeyId]: keys.wechatpayPublicKeyId,
        [MerchantConfig.ENV.publicKeyFile]: publicKeyFile,
        [MerchantConfig.ENV.baseUrl]: urls.baseUrl,
        [MerchantConfig.ENV.backupBaseUrl]: urls.backupBaseUrl
      }
      return { env, privateKeyFile, publicKeyFile }
    },
    catch: (cause) =>
      new SandboxError({
        operation: `write settings to ${directory}`,
        reason: cause instanceof Error && "code" in cause ? String(cause.code) : "write failed"
      })
  })

/** `export NAME='value'` lines for a POSIX shell. */
export const toShell = (settings: ClientSettings): string =>
  Object.entries(settings.env).map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`).join("\n")
