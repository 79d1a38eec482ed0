// The README's examples, compiled and run, so the documentation cannot rot.
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { DisassociateStores, KeyStore, ProductCouponStores, Signer, WechatPayClient } from "../src/index.js"
import { FakeWechatPay, SandboxHttpClient } from "../src/testing/index.js"

const F = FakeWechatPay.Fixture

const program = Effect.gen(function*() {
  const stores = yield* ProductCouponStores.ProductCouponStores
  const result = yield* stores.disassociateStores({
    productCouponId: F.productCouponId,
    stockId: F.stockId,
    brandId: F.brandId,
    storeList: [{ storeId: FakeWechatPay.storeId(0) }, { storeId: FakeWechatPay.storeId(1) }]
  })
  for (const f of result.failedStoreList) yield* Effect.logWarning(`store ${f.storeId}: ${f.code} ${f.message}`)
  return result
}).pipe(Effect.catchTags({
  StockExpiredError: (e) => Effect.logWarning(`stock expired (request ${e.requestId})`),
  StockNotFoundError: (e) => Effect.logWarning(`no such stock: ${e.message}`)
}))

describe("README examples", () => {
  it.effect("the live wiring, with no WECHATPAY_* variables, names the first missing one and sends nothing", () =>
    Effect.gen(function*() {
      const main = program.pipe(
        Effect.provide(ProductCouponStores.layerConfig({ retry: { maxRateLimitRetries: 8 }, timeout: "5 seconds" })),
        Effect.provide(FetchHttpClient.layer)
      )
      const error = yield* main.pipe(Effect.flip, Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      assert.strictEqual(error._tag, "ConfigurationError")
      assert.include(error.message, "WECHATPAY_MCHID")
    }))

  it.effect("a stub service swapped in", () =>
    Effect.gen(function*() {
      const TestStores = Layer.succeed(ProductCouponStores.ProductCouponStores, {
        disassociateStores: (input) =>
          Effect.succeed({
            totalCount: input.storeList.length,
            successStoreList: input.storeList.map((s) => ({ storeId: DisassociateStores.StoreId.make(s.storeId) })),
            failedStoreList: [],
            requestId: "test"
          })
      })
      const result = yield* program.pipe(Effect.provide(TestStores))
      assert.deepStrictEqual(result && result.totalCount, 2)
    }))

  it.effect("the real service over the in-memory fake WeChat Pay", () =>
    Effect.gen(function*() {
      const FakeLive = ProductCouponStores.layer({ rateLimit: false }).pipe(
        Layer.provideMerge(WechatPayClient.layerServices),
        Layer.provide(Signer.layer),
        Layer.provide(KeyStore.layer),
        Layer.provideMerge(SandboxHttpClient.layerSandbox({ seed: FakeWechatPay.generate({ stores: 1_000 }) }))
      )
      const [result, stillAssociated] = yield* Effect.gen(function*() {
        const r = yield* program
        const fake = yield* FakeWechatPay.FakeWechatPay
        return [r, fake.isAssociated(F.stockId, FakeWechatPay.storeId(0))] as const
      }).pipe(Effect.provide(FakeLive))
      assert.strictEqual(result && result.successStoreList.length, 2)
      assert.isFalse(stillAssociated)
    }))
})
