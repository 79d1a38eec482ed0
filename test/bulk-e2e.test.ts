// The bulk job end to end over real HTTP: BulkDisassociation.disassociateAll → ProductCouponStores →
// FetchHttpClient → the loopback SandboxServer, which checks signatures, applies the rules and injects
// faults. The report is checked against what the sandbox really did (its state and its request log).
// Retry delays are a few milliseconds so the suite stays quick.
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { BulkDisassociation, ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, type SandboxServer, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition } from "./support/Bulk.js"
import * as Sandbox from "./support/Sandbox.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId

/** A loopback sandbox of `stores` stores (and 50 of another brand). */
const serve = (stores: number, options: Omit<FakeWechatPay.Options, "keys" | "seed"> = {}) =>
  Sandbox.serve({ seed: FakeWechatPay.generate({ stores, otherBrandStores: 50 }), ...options })

/** The service over real HTTP to `server`, with retry delays of a few milliseconds. */
const service = (server: SandboxServer.Service, options: ProductCouponStores.Options = {}) =>
  Sandbox.serviceLayer(server, {
    retry: { baseDelay: "1 millis", maxDelay: "5 millis", jitter: 0, maxRateLimitRetries: 12, maxTransientRetries: 12 },
    rateLimit: false,
    ...options
  })

const job = { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId } as const

describe("bulk end to end over the loopback sandbox", () => {
  it.scopedLive("10,000 stores, 10% duplicates, 429/500/reset faults: every store once, the sandbox agrees", () =>
    Effect.gen(function*() {
      const STORES = 10_000
      const { fake, server } = yield* serve(STORES, {
        faults: {
          seed: 7,
          rates: { rateLimit: 0.1, systemError: 0.05, connectionReset: 0.05, connectionResetAfterApply: 0.05 }
        }
      })
      // Every store once, every tenth again later, and 30 stores of another brand.
      const ids: Array<string> = []
      for (let i = 0; i < STORES; i++) {
        ids.push(s(i))
        if (i % 10 === 9) ids.push(s(i - 5))
        if (i % 333 === 0) ids.push(FakeWechatPay.otherBrandStoreId(i % 50))
      }
      const progress: Array<BulkDisassociation.ProgressEvent> = []
      const report = yield* BulkDisassociation.disassociateAll(ids, {
        ...job,
        concurrency: 4,
        onProgress: (e) => Effect.sync(() => void progress.push(e))
      }).pipe(Effect.provide(service(server)))

      assertPartition(report, ids)
      assert.strictEqual(report.summary.duplicates, 1_000)
      // The sandbox's state agrees with `succeeded`: every main-brand store is disassociated exactly when reported so.
      const succeeded = new Set(report.succeeded)
      for (let i = 0; i < STORES; i++) assert.strictEqual(fake.isAssociated(F.stockId, s(i)), !succeeded.has(s(i)), s(i))
      // With generous retries every main-brand store goes through; the foreign ones are failed by WeChat Pay.
      assert.strictEqual(report.summary.succeeded, STORES)
      assert.strictEqual(report.summary.unresolved, 0)
      assert.deepStrictEqual(new Set(report.failed.map((f) => f.code)), new Set(["INVALID_REQUEST"]))
      for (const f of report.failed) assert.isTrue(f.storeId.startsWith("3"), f.storeId)
      // Requests counts every HTTP attempt the server saw; the faults were hit and retried.
      assert.strictEqual(report.summary.requests, fake.log.length)
      assert.strictEqual(report.summary.chunks, Math.ceil(report.summary.unique / 200))
      const faulted = fake.log.filter((e) => e.fault !== undefined).length
      assert.isAbove(faulted, 0)
      const retried = Object.values(report.summary.retries).reduce((a, b) => a + b, 0)
      assert.strictEqual(retried, faulted)
      assert.strictEqual(report.summary.requests, report.summary.chunks + retried)
      // No chunk above 200 stores reached the server.
      for (const e of fake.log) assert.isAtMost((JSON.parse(e.bodyText) as { store_list: Array<unknown> }).store_list.length, 200)
      // Progress reached the end.
      const last = progress.filter((e) => e._tag === "ChunkSettled").at(-1)
      assert.strictEqual(last?._tag === "ChunkSettled" ? last.done : -1, report.summary.unique)
    }), 60_000)

  it.scopedLive("a stopping error (expired stock) stops after one call; the rest is unresolved with its reason", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve(1_000)
      const ids = Array.from({ length: 1_000 }, (_, i) => s(i))
      const report = yield* BulkDisassociation.disassociateAll(ids, { ...job, stockId: F.expiredStockId, concurrency: 4 }).pipe(
        Effect.provide(service(server))
      )
      assert.strictEqual(fake.log.length, 1)
      assert.strictEqual(report.summary.requests, 1)
      assertPartition(report, ids)
      assert.deepStrictEqual(report.stoppedBy, { tag: "StockExpiredError", code: "INVALID_REQUEST", message: FakeWechatPay.MESSAGES.stockExpired })
      // The call that was answered: its stores were definitively refused.
      assert.deepStrictEqual(report.failed.map((f) => f.storeId), ids.slice(0, 200))
      // The stores never sent: unresolved, saying why.
      assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ids.slice(200))
      for (const u of report.unresolved) assert.include(u.reason, FakeWechatPay.MESSAGES.stockExpired)
    }))

  for (const [name, stockId, productCouponId, brandId, tag] of [
    ["store_scope not SPECIFIC", F.allScopeStockId, F.productCouponId, F.brandId, "StockScopeNotSpecificError"],
    ["stock not found", "987654321", F.productCouponId, F.brandId, "StockNotFoundError"],
    ["product coupon not found", F.stockId, "299999999", F.brandId, "ProductCouponNotFoundError"],
    ["NO_AUTH", F.stockId, F.productCouponId, F.unauthorizedBrandId, "NoAuthError"]
  ] as const) {
    it.scopedLive(`${name} stops the job after one call`, () =>
      Effect.gen(function*() {
        const { fake, server } = yield* serve(600)
        const ids = Array.from({ length: 600 }, (_, i) => s(i))
        const report = yield* BulkDisassociation.disassociateAll(ids, { productCouponId, stockId, brandId, concurrency: 3 }).pipe(
          Effect.provide(service(server))
        )
        assert.strictEqual(fake.log.length, 1)
        assert.strictEqual(report.stoppedBy?.tag, tag)
        assert.strictEqual(report.summary.failed, 200)
        assert.strictEqual(report.summary.unresolved, 400)
        assert.strictEqual(fake.associatedCount(F.stockId), 600)
      }))
  }

  it.scopedLive("SIGN_ERROR (the merchant key does not match) stops after one call", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve(400)
      // A second key pair of its own: the point is a merchant key the sandbox does not trust.
      const other = yield* TestKeys.generate()
      const wrongKey = ProductCouponStores.layerMerchant(
        { ...Sandbox.merchantOptions(server), privateKey: other.merchantPrivateKeyPem },
        { rateLimit: false }
      ).pipe(Layer.provide(FetchHttpClient.layer))
      const ids = Array.from({ length: 400 }, (_, i) => s(i))
      const report = yield* BulkDisassociation.disassociateAll(ids, { ...job, concurrency: 2 }).pipe(Effect.provide(wrongKey))
      assert.strictEqual(fake.log.length, 1)
      assert.strictEqual(report.stoppedBy?.tag, "SignError")
      assertPartition(report, ids)
      assert.strictEqual(fake.associatedCount(F.stockId), 400)
    }))

  it.scopedLive("a probe signature leaves its chunk unresolved (the sandbox did apply it); the others succeed", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve(1_000, { faults: { script: ["probeSignature"] } })
      const ids = Array.from({ length: 1_000 }, (_, i) => s(i))
      const report = yield* BulkDisassociation.disassociateAll(ids, { ...job, concurrency: 4 }).pipe(Effect.provide(service(server)))
      assertPartition(report, ids)
      // The first call went alone and drew the probe: its 200 stores are unresolved, never retried.
      assert.strictEqual(fake.log[0]!.fault, "probeSignature")
      assert.strictEqual(fake.log.length, 5)
      assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ids.slice(0, 200))
      for (const u of report.unresolved) {
        assert.match(u.reason, /^SignatureProbeError/)
        assert.strictEqual(u.requestId, fake.log[0]!.requestId)
      }
      assert.deepStrictEqual(report.succeeded, ids.slice(200))
      // Why "unresolved" and not "failed": the sandbox processed the request before answering.
      assert.deepStrictEqual(fake.log[0]!.changedStores, ids.slice(0, 200))
    }))

  it.scopedLive("a timed-out call without retries leaves its stores unresolved", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve(300, { faults: { script: ["slow"], slowMillis: 5_000 } })
      const ids = Array.from({ length: 300 }, (_, i) => s(i))
      const report = yield* BulkDisassociation.disassociateAll(ids, job).pipe(
        Effect.provide(service(server, { retry: false, timeout: "200 millis" }))
      )
      assertPartition(report, ids)
      assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ids.slice(0, 200))
      for (const u of report.unresolved) assert.match(u.reason, /^TimeoutError/)
      assert.deepStrictEqual(report.succeeded, ids.slice(200))
      assert.strictEqual(fake.log.length, 2)
    }))
})
