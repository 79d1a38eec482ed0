// The family end to end: the real service over the in-memory fake WeChat Pay (SandboxStores.layer),
// whose state the results are checked against. Wire shapes, rows and retries are pinned by the other
// family-* files against the recording client; here the calls meet a server that keeps state.
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxStores } from "../packages/effect-wechatpay/src/testing/index.js"

const F = FakeWechatPay.Fixture
const stockOf = (stockId: string) => ({ productCouponId: F.productCouponId, stockId, brandId: F.brandId })

const withFake = <A, E>(
  f: (stores: ProductCouponStores.Service, fake: FakeWechatPay.Service) => Effect.Effect<A, E>,
  seed: FakeWechatPay.Seed = FakeWechatPay.generate({ stores: 450 })
) =>
  Effect.gen(function*() {
    const stores = yield* ProductCouponStores.ProductCouponStores
    const fake = yield* FakeWechatPay.FakeWechatPay
    return yield* f(stores, fake)
  }).pipe(Effect.provide(SandboxStores.layer({ seed })))

describe("getStock against the fake", () => {
  it.effect("each fixture stock's state and scope, the deactivation fields, and the typed 404s", () =>
    withFake((stores) =>
      Effect.gen(function*() {
        const expected: ReadonlyArray<readonly [string, string, string]> = [
          [F.stockId, "SENDING", "SPECIFIC"],
          [F.auditingStockId, "AUDITING", "SPECIFIC"],
          [F.pausedStockId, "PAUSED", "SPECIFIC"],
          [F.deactivatedStockId, "DEACTIVATED", "SPECIFIC"],
          [F.allScopeStockId, "SENDING", "ALL"],
          [F.noneScopeStockId, "SENDING", "NONE"]
        ]
        for (const [stockId, state, scope] of expected) {
          const stock = yield* stores.getStock(stockOf(stockId))
          assert.deepStrictEqual([stock.stockId, stock.state, stock.storeScope] as ReadonlyArray<string>, [stockId, state, scope])
          assert.strictEqual<string>(stock.productCouponId, F.productCouponId)
        }
        const deactivated = yield* stores.getStock(stockOf(F.deactivatedStockId))
        assert.isString(deactivated.deactivateTime)
        assert.strictEqual(deactivated.deactivateReason, "沙箱：品牌方已使该批次失效")
        const ended = yield* stores.getStock(stockOf(F.endedStockId))
        assert.strictEqual(ended.singleUsageRule?.couponAvailablePeriod?.availableEndTime, "2025-06-30T23:59:59+08:00")
        const missing = yield* Effect.flip(stores.getStock(stockOf("999999999")))
        assert.strictEqual(missing._tag, "StockNotFoundError")
        const noCoupon = yield* Effect.flip(stores.getStock({ ...stockOf(F.stockId), productCouponId: "299999999" }))
        assert.strictEqual(noCoupon._tag, "ProductCouponNotFoundError")
      })
    ))
})

describe("associatedStores against the fake", () => {
  it.effect("walks exactly the stock's stores, in pages of 200 and of 7", () =>
    withFake((stores, fake) =>
      Effect.gen(function*() {
        const expected = fake.associatedStores(F.stockId)
        assert.strictEqual(expected.length, 450)
        const byDefault = yield* Stream.runCollect(stores.associatedStores(stockOf(F.stockId)))
        assert.deepStrictEqual(Chunk.toReadonlyArray(byDefault) as ReadonlyArray<string>, expected)
        const small = yield* Stream.runCollect(stores.associatedStores({ ...stockOf(F.stockId), pageSize: 7 }))
        assert.deepStrictEqual(Chunk.toReadonlyArray(small) as ReadonlyArray<string>, expected)
        const pages = fake.log.filter((e) => e.target.includes("/associated-stores"))
        assert.strictEqual(pages.length, 3 + Math.ceil(450 / 7))
      })
    ))

  it.effect("associate, then the walk sees it; disassociate, then it does not", () =>
    withFake((stores, fake) =>
      Effect.gen(function*() {
        const extra = FakeWechatPay.storeId(449)
        const added = yield* stores.associateStores({ ...stockOf(F.stockId), storeList: [{ storeId: extra }] })
        assert.deepStrictEqual(added.successStoreList.map((s) => s.storeId) as ReadonlyArray<string>, [extra])
        assert.isTrue(fake.isAssociated(F.stockId, extra))
        const after = Chunk.toReadonlyArray(yield* Stream.runCollect(stores.associatedStores(stockOf(F.stockId))))
        assert.include(after as ReadonlyArray<string>, extra)
        yield* stores.disassociateStores({ ...stockOf(F.stockId), storeList: [{ storeId: extra }] })
        const again = Chunk.toReadonlyArray(yield* Stream.runCollect(stores.associatedStores(stockOf(F.stockId))))
        assert.notInclude(again as ReadonlyArray<string>, extra)
        assert.strictEqual(again.length, 449)
      }), FakeWechatPay.generate({ stores: 450, associated: 449 })))

  it.effect("a stock whose scope is not SPECIFIC ends the walk with a typed error and emits nothing", () =>
    withFake((stores) =>
      Effect.gen(function*() {
        const seen: Array<string> = []
        const end = yield* Effect.either(
          Stream.runForEach(stores.associatedStores(stockOf(F.allScopeStockId)), (id) => Effect.sync(() => seen.push(id)))
        )
        assert.isTrue(Either.isLeft(end) && end.left._tag === "InvalidRequestError")
        assert.deepStrictEqual(seen, [])
      })
    ))
})

describe("the store calls' sub-cases against the fake", () => {
  it.effect("associate on an expired stock and on an ALL-scope stock: the typed sub-case errors", () =>
    withFake((stores) =>
      Effect.gen(function*() {
        const storeList = [{ storeId: FakeWechatPay.storeId(0) }]
        const expired = yield* Effect.flip(stores.associateStores({ ...stockOf(F.expiredStockId), storeList }))
        assert.strictEqual(expired._tag, "StockExpiredError")
        const all = yield* Effect.flip(stores.associateStores({ ...stockOf(F.allScopeStockId), storeList }))
        assert.strictEqual(all._tag, "StockScopeNotSpecificError")
        assert.isTrue(all.behaviour.stopsJob)
      })
    ))
})

describe("the stock-bundle calls against the fake", () => {
  it.effect("associate a store with the bundle: every stock of it has it; disassociate: none has", () =>
    withFake((stores, fake) =>
      Effect.gen(function*() {
        const stocks = fake.bundleStockIds(F.stockBundleId)
        assert.strictEqual(stocks.length, 2)
        const store = FakeWechatPay.storeId(20)
        const input = { productCouponId: F.bundleProductCouponId, stockBundleId: F.stockBundleId, brandId: F.brandId, storeList: [{ storeId: store }] }
        for (const stockId of stocks) assert.isFalse(fake.isAssociated(stockId, store))
        const added = yield* stores.associateStockBundleStores(input)
        assert.deepStrictEqual(added.successStoreList.map((s) => s.storeId) as ReadonlyArray<string>, [store])
        for (const stockId of stocks) assert.isTrue(fake.isAssociated(stockId, store))
        yield* stores.disassociateStockBundleStores(input)
        for (const stockId of stocks) assert.isFalse(fake.isAssociated(stockId, store))
        const missing = yield* Effect.flip(stores.associateStockBundleStores({ ...input, stockBundleId: "999999999" }))
        assert.strictEqual(missing._tag, "NotFoundError")
      })
    ))
})
