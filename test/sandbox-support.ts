// Shared set-up for the sandbox tests: one key pair per test file (RSA generation is slow),
// a fresh fake per test, and this library's client over it.
import { HttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { WechatPayClient } from "../src/index.js"
import { FakeWechatPay, SandboxHttpClient, TestKeys } from "../src/testing/index.js"

export const keys = Effect.runSync(TestKeys.generate())

export const F = FakeWechatPay.Fixture

export const endpointPath = (productCouponId: string, stockId: string): string =>
  `/v3/marketing/partner/product-coupon/product-coupons/${productCouponId}/stocks/${stockId}/disassociate-stores`

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

/** One signed attempt through WechatPayClient.execute; the verified JSON body. */
export const disassociate = (
  productCouponId: string,
  stockId: string,
  payload: unknown,
  baseUrl?: string
) =>
  Effect.flatMap(WechatPayClient.WechatPayClient, (client) =>
    client.execute(WechatPayClient.prepareText("POST", endpointPath(productCouponId, stockId), JSON.stringify(payload)), baseUrl)).pipe(
      Effect.map((r) => ({ requestId: r.requestId, json: JSON.parse(decoder.decode(r.body)) as Record<string, unknown> }))
    )
