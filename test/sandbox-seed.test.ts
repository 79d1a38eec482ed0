// A seed from FakeWechatPay.generate() is data, not a one-shot stream: the README's FakeLive layer,
// provided to many tests, and several fakes built from one seed all start from the same world.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { KeyStore, ProductCouponStores, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxHttpClient } from "../packages/effect-wechatpay/src/testing/index.js"
import { keys } from "./sandbox-support.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId

// Exactly the README's pattern: one seed, built once, in a layer every test provides.
const FakeLive = ProductCouponStores.layer({ rateLimit: false }).pipe(
  Layer.provideMerge(WechatPayClient.layerServices),
  Layer.provide(Signer.layer),
  Layer.provide(KeyStore.layer),
  Layer.provideMerge(SandboxHttpClient.layerSandbox({ seed: FakeWechatPay.generate({ stores: 1_000 }) }))
)

// Each test disassociates two stores and expects the full world it started from.
const useFakeOnce = Effect.gen(function*() {
  const fake = yield* FakeWechatPay.FakeWechatPay
  const before = fake.associatedCount(F.stockId)
  const stores = yield* ProductCouponStores.ProductCouponStores
  const result = yield* stores.disassociateStores({
    productCouponId: F.productCouponId,
    stockId: F.stockId,
    brandId: F.brandId,
    storeList: [{ storeId: s(0) }, { storeId: s(999) }]
  })
  return { before, after: fake.associatedCount(F.stockId), succeeded: result.successStoreList.length }
}).pipe(Effect.provide(FakeLive))

describe("sandbox seed: reusable", () => {
  it.effect("the README's FakeLive, first test: 1,000 associated stores", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* useFakeOnce, { before: 1_000, after: 998, succeeded: 2 })
    }))

  it.effect("the README's FakeLive, second test: again 1,000, not what the first left nor an empty world", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* useFakeOnce, { before: 1_000, after: 998, succeeded: 2 })
    }))

  it.effect("one seed, two fakes at once: both see the whole world, and each its own state", () =>
    Effect.sync(() => {
      const seed = FakeWechatPay.generate({ stores: 1_000, associated: 600 })
      const a = FakeWechatPay.makeWith(keys, { seed })
      const b = FakeWechatPay.makeWith(keys, { seed })
      for (const fake of [a, b]) {
        assert.strictEqual(fake.associatedCount(F.stockId), 600)
        assert.strictEqual(fake.associatedCount(F.expiredStockId), 10)
        assert.strictEqual(fake.associatedCount(F.bundleStockId), 10)
        assert.strictEqual(fake.associatedCount(F.otherBrandStockId), 10)
        assert.isTrue(fake.isAssociated(F.stockId, s(599)))
        assert.isFalse(fake.isAssociated(F.stockId, s(600)))
      }
    }))

  it.effect("store lists of a seed can be walked again, in the same order", () =>
    Effect.sync(() => {
      const seed = FakeWechatPay.generate({ stores: 5, otherBrandStores: 2 })
      for (const brand of seed.brands) assert.deepStrictEqual([...brand.storeIds], [...brand.storeIds])
      for (const coupon of seed.productCoupons) {
        for (const stock of coupon.stocks) {
          assert.deepStrictEqual([...(stock.associatedStoreIds ?? [])], [...(stock.associatedStoreIds ?? [])])
        }
      }
      assert.deepStrictEqual([...seed.brands[0]!.storeIds], [s(0), s(1), s(2), s(3), s(4)])
    }))
})
