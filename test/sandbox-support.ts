// Shared set-up for the sandbox tests: the shared keys, a fresh fake per test, and this
// library's client over it.
import { HttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { MerchantConfig, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxHttpClient, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { keys } from "./support/Keys.js"
import { disassociatePath, post } from "./support/Requests.js"

export { keys }

export const F = FakeWechatPay.Fixture

/** The disassociate-stores path for these ids, taken from the endpoint's declaration (ids as given). */
export const endpointPath = disassociatePath

export const body = (brandId: string, storeIds: ReadonlyArray<string>) => ({
  store_list: storeIds.map((store_id) => ({ store_id })),
  brand_id: brandId
})

/** A fresh in-memory sandbox and a client layer over it. */
export const inMemory = (options: Omit<FakeWechatPay.Options, "keys"> = {}) => {
  const fake = FakeWechatPay.makeWith(keys, options)
  const layer = WechatPayClient.layer(TestKeys.merchantOptions(keys)).pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, SandboxHttpClient.make(fake)))
  )
  return { fake, layer }
}

const decoder = new TextDecoder()

/** One signed attempt through WechatPayClient.execute, to `baseUrl` (default: the configured base URL); the verified JSON body. */
export const disassociate = (
  productCouponId: string,
  stockId: string,
  payload: unknown,
  baseUrl?: string
) =>
  Effect.gen(function*() {
    const client = yield* WechatPayClient.WechatPayClient
    const base = baseUrl ?? (yield* MerchantConfig.MerchantConfig).baseUrl
    const response = yield* client.execute(post(endpointPath(productCouponId, stockId), JSON.stringify(payload), base))
    return { requestId: response.requestId, json: JSON.parse(decoder.decode(response.body)) as Record<string, unknown> }
  })
