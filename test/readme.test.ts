// The README's examples, compiled and run, so the documentation cannot rot.
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Logger, LogLevel, Stream } from "effect"
import { BulkStores, KeyStore, ProductCoupon, ProductCouponStores, Signer, WechatPayClient, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxHttpClient } from "../packages/effect-wechatpay/src/testing/index.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"

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

// The endpoints the README program never calls.
const unused = {
  associateStores: () => Effect.dieMessage("the program does not associate stores"),
  listAssociatedStores: () => Effect.dieMessage("the program does not list stores"),
  associatedStores: () => Stream.dieMessage("the program does not list stores"),
  getStock: () => Effect.dieMessage("the program does not query the stock"),
  associateStockBundleStores: () => Effect.dieMessage("the program does not touch bundles"),
  disassociateStockBundleStores: () => Effect.dieMessage("the program does not touch bundles")
}

// The README's bulk-jobs sample, as written there but for the fixture's stock.
const options: BulkStores.Options = {
  productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId,
  concurrency: 4,
  onProgress: (event) => Effect.log(event)
}
const job = (storeIds: ReadonlyArray<string>) => Effect.gen(function*() {
  const removed = yield* BulkStores.disassociateAll(storeIds, options)
  const added = yield* BulkStores.associateAll(storeIds, options)
  return { removed, added }
})

/** The README's wiring of the real service over the in-memory fake WeChat Pay with `stores` stores. */
const fakeLive = (stores: number) =>
  ProductCouponStores.layer({ rateLimit: false }).pipe(
    Layer.provideMerge(WechatPayClient.layerServices),
    Layer.provide(Signer.layer),
    Layer.provide(KeyStore.layer),
    Layer.provideMerge(SandboxHttpClient.layerSandbox({ seed: FakeWechatPay.generate({ stores }) }))
  )

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

  it.effect("the same wiring over effect-wechatpay/undici's UndiciHttpClient", () =>
    Effect.gen(function*() {
      const main = program.pipe(
        Effect.provide(ProductCouponStores.layerConfig()),
        Effect.provide(UndiciHttpClient.layer)
      )
      const error = yield* main.pipe(Effect.flip, Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      assert.strictEqual(error._tag, "ConfigurationError")
      assert.include(error.message, "WECHATPAY_MCHID")
    }))

  // What a stub is for: testing the application's own handling of answers and errors, here the
  // README program's warnings, without WeChat Pay.
  const logged = <E>(effect: Effect.Effect<unknown, E>) =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => void lines.push(Array.isArray(message) ? message.join(" ") : String(message)))
      yield* effect.pipe(Effect.provide(Logger.add(capture)))
      return lines
    })

  it.effect("a stub service swapped in: the program warns about each failed store", () =>
    Effect.gen(function*() {
      const sent: Array<ProductCouponStores.DisassociateStoresInput> = []
      const TestStores = Layer.succeed(ProductCouponStores.ProductCouponStores, {
        disassociateStores: (input) => {
          sent.push(input)
          const [first, ...rest] = input.storeList
          return Effect.succeed({
            totalCount: input.storeList.length,
            successStoreList: rest.map((s) => ({ storeId: ProductCoupon.StoreId.make(s.storeId) })),
            failedStoreList: [{ storeId: ProductCoupon.StoreId.make(first!.storeId), code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }],
            requestId: "test"
          })
        },
        ...unused
      })
      const lines = yield* logged(program.pipe(Effect.provide(TestStores)))
      assert.strictEqual(sent.length, 1)
      assert.deepStrictEqual(lines, [`store ${FakeWechatPay.storeId(0)}: INVALID_REQUEST 门店ID非法或不属于当前品牌`])
    }))

  it.effect("a stub service that fails with a typed error: the program's catchTags handles it", () =>
    Effect.gen(function*() {
      const Expired = Layer.succeed(ProductCouponStores.ProductCouponStores, {
        disassociateStores: () =>
          Effect.fail(new WechatPayError.StockExpiredError({
            status: 400, code: "INVALID_REQUEST", message: "已过期的批次不可取消关联门店", requestId: "REQ-EXP", verified: true
          })),
        ...unused
      })
      assert.deepStrictEqual(yield* logged(program.pipe(Effect.provide(Expired))), ["stock expired (request REQ-EXP)"])
    }))

  it.effect("the real service over the in-memory fake WeChat Pay", () =>
    Effect.gen(function*() {
      const FakeLive = fakeLive(1_000)
      const [result, stillAssociated] = yield* Effect.gen(function*() {
        const r = yield* program
        const fake = yield* FakeWechatPay.FakeWechatPay
        return [r, fake.isAssociated(F.stockId, FakeWechatPay.storeId(0))] as const
      }).pipe(Effect.provide(FakeLive))
      assert.strictEqual(result && result.successStoreList.length, 2)
      assert.isFalse(stillAssociated)
    }))

  it.effect("the bulk-jobs sample takes stores out and puts them back", () =>
    Effect.gen(function*() {
      const FakeLive = fakeLive(500)
      const ids = Array.from({ length: 450 }, (_, i) => FakeWechatPay.storeId(i))
      const [{ added, removed }, associated] = yield* Effect.gen(function*() {
        const reports = yield* job(ids)
        const fake = yield* FakeWechatPay.FakeWechatPay
        return [reports, ids.filter((id) => fake.isAssociated(F.stockId, id)).length] as const
      }).pipe(Effect.provide(FakeLive), Logger.withMinimumLogLevel(LogLevel.Warning))
      assert.strictEqual(removed.summary.succeeded, 450)
      assert.strictEqual(removed.summary.chunks, 3)
      assert.strictEqual(added.summary.succeeded, 450)
      assert.strictEqual(associated, 450)
    }))
})
