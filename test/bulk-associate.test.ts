// BulkStores.associateAll end to end over the in-memory fake: the report is checked against what the fake
// really did (its state and its request log). The engine's properties for both directions are in
// bulk-properties (stub service); the preflight and the verification have their own files.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { BulkDisassociation, BulkStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, operations, stockOf, storesOf, withFake } from "./support/Bulk.js"
import * as RecordingTracer from "./support/RecordingTracer.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const job = stockOf(F.stockId)

describe("associateAll over the in-memory fake", () => {
  it.effect("1,000 stores with duplicates, foreign and unsendable ids: every id once, chunks of 200, the fake agrees", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 1_000, otherBrandStores: 20, associated: 0 }) }, (fake) =>
      Effect.gen(function*() {
        const ids: Array<string> = []
        for (let i = 0; i < 1_000; i++) {
          ids.push(s(i))
          if (i % 10 === 9) ids.push(s(i - 3))
          if (i % 100 === 0) ids.push(FakeWechatPay.otherBrandStoreId(i / 100))
        }
        ids.push("", "a\u0001b")
        const report = yield* BulkStores.associateAll(ids, { ...job, concurrency: 3 })
        assertPartition(report, ids)
        assert.strictEqual(report.summary.duplicates, 100)
        assert.strictEqual(report.summary.succeeded, 1_000)
        assert.strictEqual(report.summary.unresolved, 0)
        // The foreign stores are refused by WeChat Pay, the unsendable ids by the client before sending.
        assert.deepStrictEqual(new Set(report.failed.map((f) => f.code)), new Set(["INVALID_REQUEST", "INVALID_STORE_ID"]))
        assert.strictEqual(report.failed.length, 12)
        for (let i = 0; i < 1_000; i++) assert.isTrue(fake.isAssociated(F.stockId, s(i)), s(i))
        assert.strictEqual(fake.associatedCount(F.stockId), 1_000)
        // The log: the stock query, then the store calls, each of at most 200 distinct stores.
        assert.strictEqual(operations(fake)[0], "getStock")
        const calls = fake.log.filter((e) => e.operation === "associateStores")
        assert.strictEqual(calls.length, Math.ceil(1_010 / 200))
        assert.strictEqual(report.summary.chunks, calls.length)
        for (const call of calls) {
          const stores = storesOf(call)
          assert.isAtMost(stores.length, 200)
          assert.strictEqual(new Set(stores).size, stores.length)
        }
        assert.strictEqual(report.preflight?.status, "passed")
        assert.strictEqual(report.verification?.status, "not-needed")
      })))

  it.effect("associate then disassociate restores the stock's set", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 600, associated: 250 }) }, (fake) =>
      Effect.gen(function*() {
        const before = [...fake.associatedStores(F.stockId)].sort()
        const added = Array.from({ length: 350 }, (_, i) => s(250 + i))
        const up = yield* BulkStores.associateAll(added, job)
        assert.strictEqual(up.summary.succeeded, 350)
        assert.strictEqual(fake.associatedCount(F.stockId), 600)
        const down = yield* BulkStores.disassociateAll(added, job)
        assert.strictEqual(down.summary.succeeded, 350)
        assert.deepStrictEqual([...fake.associatedStores(F.stockId)].sort(), before)
      })))

  it.effect("faults on the way (429, 500, resets after applying): every store once, what succeeded is associated", () =>
    withFake({
      seed: FakeWechatPay.generate({ stores: 2_000, associated: 0 }),
      faults: { seed: 3, rates: { rateLimit: 0.1, systemError: 0.05, connectionResetAfterApply: 0.1 } }
    }, (fake) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 2_000 }, (_, i) => s(i))
        const report = yield* BulkStores.associateAll(ids, { ...job, concurrency: 4 })
        assertPartition(report, ids)
        assert.isAbove(fake.log.filter((e) => e.fault !== undefined).length, 0)
        for (const id of report.succeeded) assert.isTrue(fake.isAssociated(F.stockId, id), id)
        for (const f of report.failed) assert.isFalse(fake.isAssociated(F.stockId, f.storeId), f.storeId)
        // Settled by the listing only where the listing shows the store associated.
        for (const id of report.settledByListing ?? []) assert.isTrue(fake.isAssociated(F.stockId, id), id)
        assert.strictEqual(report.summary.settledByListing, (report.settledByListing ?? []).length)
      })))

  it.effect("a source that breaks part-way: the ids read are sent and reported, with the preflight, in the error", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 500, associated: 0 }) }, (fake) =>
      Effect.gen(function*() {
        const read = Array.from({ length: 450 }, (_, i) => s(i))
        const error = yield* Effect.flip(
          BulkStores.associateAll(Stream.concat(Stream.fromIterable(read), Stream.fail("disk gone")), job)
        )
        assert.strictEqual(error._tag, "StoreSourceError")
        if (error._tag !== "StoreSourceError" || !("report" in error)) return assert.fail("expected a StoreSourceError")
        assert.strictEqual(error.cause, "disk gone")
        assertPartition(error.report, read)
        assert.strictEqual(error.report.stoppedBy?.code, BulkStores.SOURCE_FAILED)
        assert.strictEqual(error.report.preflight?.status, "passed")
        assert.strictEqual(error.report.verification?.status, "skipped")
        for (const id of error.report.succeeded) assert.isTrue(fake.isAssociated(F.stockId, id))
        assert.strictEqual(error.report.summary.succeeded, 450)
      })))

  it.effect("a graceful stop: every store accounted for, what succeeded is associated, and no listing walk after a stop", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 500, associated: 0 }) }, (fake) =>
      Effect.gen(function*() {
        const ids = Array.from({ length: 500 }, (_, i) => s(i))
        const report = yield* BulkStores.associateAll(ids, { ...job, stopWhen: Effect.void })
        assertPartition(report, ids)
        assert.strictEqual(report.stoppedBy?.tag, BulkStores.STOPPED_BY_CALLER)
        assert.isAbove(report.summary.unresolved, 0)
        for (const u of report.unresolved) assert.match(u.reason, /^not sent/)
        assert.strictEqual(fake.associatedCount(F.stockId), report.summary.succeeded)
        assert.strictEqual(report.verification?.status, "skipped")
        assert.notInclude(operations(fake), "listAssociatedStores")
      })))
})

describe("each bulk job's span is named after the function that was called", () => {
  const spanNames = <A, E, R>(job: Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const spans: Array<RecordingTracer.RecordingSpan> = []
      yield* Effect.withTracer(job, RecordingTracer.make(spans))
      return spans.map((span) => span.name)
    })

  it.effect("BulkStores.associateAll, BulkStores.disassociateAll, BulkDisassociation.disassociateAll", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 10, associated: 5 }) }, () =>
      Effect.gen(function*() {
        const ids = [s(0), s(1)]
        assert.include(yield* spanNames(BulkStores.associateAll(ids, job)), "BulkStores.associateAll")
        const disassociate = yield* spanNames(BulkStores.disassociateAll(ids, job))
        assert.include(disassociate, "BulkStores.disassociateAll")
        assert.notInclude(disassociate, "BulkDisassociation.disassociateAll")
        assert.include(yield* spanNames(BulkDisassociation.disassociateAll(ids, job)), "BulkDisassociation.disassociateAll")
      })))
})
