// BulkStores.associateBundleAll / disassociateBundleAll (批次组关联门店 / 批次组取消关联门店) over the in-memory
// fake: the one bulk engine driving the bundle endpoints. The report is checked against what the fake did to
// EACH stock of the fixture bundle (its state and its request log). Neither check of a stock job is available
// for a bundle (no bundle query, the listing is per stock): the report says so and settles nothing by guessing.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import { BulkStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, operations, storesOf, withFake } from "./support/Bulk.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const bundle = { productCouponId: F.bundleProductCouponId, stockBundleId: F.stockBundleId, brandId: F.brandId }
const bundleStocks = [F.bundleStockId, F.bundleSecondStockId] as const
const bundleCall = (direction: "associate" | "disassociate") => `${direction}StockBundleStores`

/** The fixture world with the bundle's second stock expired (so every bundle call is refused as a whole). */
const withExpiredSecondStock = (seed: FakeWechatPay.Seed): FakeWechatPay.Seed => ({
  ...seed,
  productCoupons: seed.productCoupons.map((coupon) =>
    coupon.productCouponId !== F.bundleProductCouponId ? coupon : {
      ...coupon,
      stocks: coupon.stocks.map((stock) => stock.stockId === F.bundleSecondStockId ? { ...stock, expired: true } : stock)
    }
  )
})

describe("bundle jobs over the in-memory fake", () => {
  it.effect("the fixture bundle has the two stocks these tests check", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, (fake) =>
      Effect.sync(() => assert.deepStrictEqual([...fake.bundleStockIds(F.stockBundleId)], [...bundleStocks]))))

  it.effect("associate 1,000 stores with duplicates, foreign and unsendable ids: both stocks get them, chunks of 200", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 1_000, otherBrandStores: 20 }) }, (fake) =>
      Effect.gen(function*() {
        const ids: Array<string> = []
        for (let i = 0; i < 1_000; i++) {
          ids.push(s(i))
          if (i % 10 === 9) ids.push(s(i - 3))
          if (i % 100 === 0) ids.push(FakeWechatPay.otherBrandStoreId(i / 100))
        }
        ids.push("", "a\u0001b")
        const report = yield* BulkStores.associateBundleAll(ids, { ...bundle, concurrency: 3 })
        assertPartition(report, ids)
        assert.strictEqual(report.summary.duplicates, 100)
        assert.strictEqual(report.summary.succeeded, 1_000)
        assert.strictEqual(report.summary.unresolved, 0)
        // Per-store failures: the foreign stores refused by WeChat Pay, the unsendable ids by the client.
        assert.deepStrictEqual(new Set(report.failed.map((f) => f.code)), new Set(["INVALID_REQUEST", "INVALID_STORE_ID"]))
        assert.strictEqual(report.failed.length, 12)
        for (const stockId of bundleStocks) {
          for (let i = 0; i < 1_000; i++) assert.isTrue(fake.isAssociated(stockId, s(i)), `${stockId} ${s(i)}`)
          assert.strictEqual(fake.associatedCount(stockId), 1_000, stockId)
          for (const f of report.failed) assert.isFalse(fake.isAssociated(stockId, f.storeId), f.storeId)
        }
        // Only bundle calls, each of at most 200 distinct stores: no stock query, no listing.
        const calls = fake.log.filter((e) => e.operation === bundleCall("associate"))
        assert.strictEqual(calls.length, fake.log.length)
        assert.strictEqual(calls.length, Math.ceil(1_010 / 200))
        assert.strictEqual(report.summary.chunks, calls.length)
        for (const call of calls) {
          const stores = storesOf(call)
          assert.isAtMost(stores.length, 200)
          assert.strictEqual(new Set(stores).size, stores.length)
        }
        // Every sendable unique id was sent exactly once.
        const sent = calls.flatMap(storesOf)
        assert.strictEqual(sent.length, new Set(sent).size)
        assert.strictEqual(sent.length, 1_010)
        assert.deepStrictEqual(report.preflight, { status: "skipped", reason: BulkStores.NO_BUNDLE_QUERY, requests: 0 })
        assert.deepStrictEqual(report.verification, { status: "not-needed", settled: 0, resent: 0, requests: 0 })
        assert.deepStrictEqual(report.settledByListing, [])
      })))

  it.effect("chunkSize 50 from a Stream: calls of 50; disassociate then takes them out of both stocks", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 500 }) }, (fake) =>
      Effect.gen(function*() {
        const all = Array.from({ length: 500 }, (_, i) => s(i))
        const up = yield* BulkStores.associateBundleAll(Stream.fromIterable(all), { ...bundle, chunkSize: 50 })
        assert.strictEqual(up.summary.succeeded, 500)
        assert.strictEqual(up.summary.chunks, 10)
        for (const call of fake.log) assert.strictEqual(storesOf(call).length, 50)
        yield* fake.clearLog
        const out = all.slice(0, 300)
        const down = yield* BulkStores.disassociateBundleAll([...out, ...out.slice(0, 40)], { ...bundle, chunkSize: 50 })
        assertPartition(down, [...out, ...out.slice(0, 40)])
        assert.strictEqual(down.summary.succeeded, 300)
        assert.strictEqual(down.summary.duplicates, 40)
        assert.deepStrictEqual(operations(fake), Array.from({ length: 6 }, () => bundleCall("disassociate")))
        for (const stockId of bundleStocks) {
          assert.deepStrictEqual([...fake.associatedStores(stockId)].sort(), all.slice(300).sort(), stockId)
        }
        // The other coupon's stock was never touched.
        assert.strictEqual(fake.associatedCount(F.stockId), 500)
      })))

  it.effect("one stock of the bundle expired: the first call is refused as a whole, the job stops, neither stock changes", () =>
    withFake({ seed: withExpiredSecondStock(FakeWechatPay.generate({ stores: 1_000 })) }, (fake) =>
      Effect.gen(function*() {
        const before = bundleStocks.map((id) => [...fake.associatedStores(id)])
        const ids = Array.from({ length: 1_000 }, (_, i) => s(i))
        const report = yield* BulkStores.associateBundleAll(ids, { ...bundle, concurrency: 4 })
        assertPartition(report, ids)
        // The first call goes out alone; its refusal stops the job.
        assert.deepStrictEqual(operations(fake), [bundleCall("associate")])
        assert.strictEqual(report.summary.requests, 1)
        assert.deepStrictEqual(report.stoppedBy, {
          tag: "StockExpiredError",
          code: "INVALID_REQUEST",
          message: FakeWechatPay.MESSAGES.associateStockExpired
        })
        assert.deepStrictEqual(report.failed.map((f) => f.storeId), ids.slice(0, 200))
        assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ids.slice(200))
        for (const u of report.unresolved) assert.include(u.reason, FakeWechatPay.MESSAGES.associateStockExpired)
        // All or nothing: not even the stock that is not expired got a store.
        assert.deepStrictEqual(bundleStocks.map((id) => [...fake.associatedStores(id)]), before)
        // Nothing checked the bundle before the call; the report says why, and that the listing cannot settle.
        assert.deepStrictEqual(report.preflight, { status: "skipped", reason: BulkStores.NO_BUNDLE_QUERY, requests: 0 })
        assert.strictEqual(report.verification?.status, "skipped")
        assert.strictEqual(report.verification?.reason, BulkStores.NO_BUNDLE_LISTING)
      })))

  it.effect("a call applied but its answer lost: its stores stay unresolved (no listing to settle them), none re-sent", () =>
    withFake({
      seed: FakeWechatPay.generate({ stores: 450 }),
      faults: { script: ["connectionResetAfterApply"] },
      service: { retry: false as const }
    }, (fake) =>
      Effect.gen(function*() {
        assert.isTrue(FakeWechatPay.PROCESSED_BEFORE_FAULT.connectionResetAfterApply)
        const ids = Array.from({ length: 450 }, (_, i) => s(i))
        const report = yield* BulkStores.associateBundleAll(ids, bundle)
        assertPartition(report, ids)
        assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ids.slice(0, 200))
        assert.strictEqual(report.summary.succeeded, 250)
        // The fake did apply the first call to both stocks, yet the job does not guess it.
        for (const stockId of bundleStocks) for (const id of ids) assert.isTrue(fake.isAssociated(stockId, id), id)
        assert.deepStrictEqual(report.verification, {
          status: "skipped",
          reason: BulkStores.NO_BUNDLE_LISTING,
          settled: 0,
          resent: 0,
          requests: 0
        })
        assert.deepStrictEqual(report.settledByListing, [])
        assert.strictEqual(report.summary.settledByListing, 0)
        assert.strictEqual(report.summary.resent, 0)
        assert.deepStrictEqual(operations(fake), [bundleCall("associate"), bundleCall("associate"), bundleCall("associate")])
      })))

  it.effect("preflight: false and verify: false report off", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, (fake) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 50 }, (_, i) => s(i))
        const report = yield* BulkStores.disassociateBundleAll(ids, { ...bundle, preflight: false, verify: false })
        assert.deepStrictEqual(report.preflight, { status: "off" })
        assert.deepStrictEqual(report.verification, { status: "off", settled: 0, resent: 0, requests: 0 })
        assert.strictEqual(report.summary.succeeded, 50)
        assert.deepStrictEqual(operations(fake), [bundleCall("disassociate")])
        for (const stockId of bundleStocks) assert.strictEqual(fake.associatedCount(stockId), 0)
      })))

  it.effect("a bad bundle id (a dot segment) or option sends nothing and reads no id", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, (fake) =>
      Effect.gen(function*() {
        let read = 0
        const ids = Stream.fromIterable([s(0)]).pipe(Stream.tap(() => Effect.sync(() => read++)))
        const badId = yield* Effect.either(BulkStores.associateBundleAll(ids, { ...bundle, stockBundleId: ".." }))
        assert.isTrue(Either.isLeft(badId) && badId.left._tag === "RequestValidationError")
        if (Either.isLeft(badId) && badId.left._tag === "RequestValidationError") assert.strictEqual(badId.left.field, "stockBundleId")
        const badChunk = yield* Effect.either(BulkStores.disassociateBundleAll(ids, { ...bundle, chunkSize: 201 }))
        assert.isTrue(Either.isLeft(badChunk) && badChunk.left._tag === "ConfigurationError")
        assert.strictEqual(read, 0)
        assert.strictEqual(fake.log.length, 0)
      })))

  it.effect("a source that breaks part-way: the ids read are sent and reported, with the checks' fields", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 500 }) }, (fake) =>
      Effect.gen(function*() {
        const ids = Stream.concat(
          Stream.fromIterable(Array.from({ length: 300 }, (_, i) => s(i))),
          Stream.fail("disk gone")
        )
        const result = yield* Effect.either(BulkStores.disassociateBundleAll(ids, bundle))
        assert.isTrue(Either.isLeft(result) && result.left._tag === "StoreSourceError")
        if (Either.isLeft(result) && result.left._tag === "StoreSourceError") {
          const report = result.left.report
          assert.strictEqual(report.summary.succeeded + report.summary.failed + report.summary.unresolved, report.summary.unique)
          assert.deepStrictEqual(report.preflight, { status: "skipped", reason: BulkStores.NO_BUNDLE_QUERY, requests: 0 })
          // Unresolved stores (if any were cut off) are not verified: there is no bundle listing.
          assert.deepStrictEqual(
            report.verification,
            report.unresolved.length === 0
              ? { status: "not-needed", settled: 0, resent: 0, requests: 0 }
              : { status: "skipped", reason: BulkStores.NO_BUNDLE_LISTING, settled: 0, resent: 0, requests: 0 }
          )
          assert.isAbove(report.summary.unique, 0)
          for (const id of report.succeeded) {
            for (const stockId of bundleStocks) assert.isFalse(fake.isAssociated(stockId, id), id)
          }
        }
      })))

  for (const seed of [1, 2, 3]) {
    it.effect(`faults on the way (seed ${seed}): every store once; succeeded in both stocks, failed in neither`, () =>
      withFake({
        seed: FakeWechatPay.generate({ stores: 1_500, associated: 0 }),
        faults: { seed, rates: { rateLimit: 0.1, systemError: 0.05, connectionReset: 0.05, connectionResetAfterApply: 0.1 } }
      }, (fake) =>
        Effect.gen(function*() {
          const ids = Array.from({ length: 1_700 }, (_, i) => s((i * 7) % 1_500))
          ids.push(FakeWechatPay.otherBrandStoreId(0))
          const report = yield* BulkStores.associateBundleAll(ids, { ...bundle, concurrency: 4, chunkSize: 150 })
          assertPartition(report, ids)
          assert.isAbove(fake.log.filter((e) => e.fault !== undefined).length, 0)
          for (const stockId of bundleStocks) {
            for (const id of report.succeeded) assert.isTrue(fake.isAssociated(stockId, id), id)
            for (const f of report.failed) assert.isFalse(fake.isAssociated(stockId, f.storeId), f.storeId)
          }
          assert.deepStrictEqual(report.settledByListing, [])
          assert.strictEqual(
            report.verification?.status,
            report.unresolved.length === 0 ? "not-needed" : "skipped"
          )
          assert.isFalse(operations(fake).includes("listAssociatedStores"))
        })))
  }
})
