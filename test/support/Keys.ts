// The throw-away keys of the tests: one merchant key pair and one WeChat Pay key pair,
// generated once per test file (RSA key generation is the slow part).
import { Effect } from "effect"
import type { MerchantConfig } from "../../packages/effect-wechatpay/src/index.js"
import { TestKeys } from "../../packages/effect-wechatpay/src/testing/index.js"
import { BACKUP, PRIMARY } from "./Requests.js"

export const keys: TestKeys.TestKeys = Effect.runSync(TestKeys.generate())

/** Client options trusting {@link keys}, on the default base URL. */
export const baseOptions: MerchantConfig.Options = TestKeys.merchantOptions(keys)

/** Client options trusting {@link keys}, with the primary and backup base URLs set. */
export const failoverOptions: MerchantConfig.Options = TestKeys.merchantOptions(keys, {
  baseUrl: PRIMARY,
  backupBaseUrl: BACKUP
})
