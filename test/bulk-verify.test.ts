// Settling unknown outcomes by the listing (BulkStores' `verify`), against the in-memory fake. The
// service runs without retries, so one fault leaves its whole call unresolved: a fault after the fake
// applied the call (PROCESSED_BEFORE_FAULT) must end with those stores succeeded and marked as settled
// by the listing; one before must have them sent once more (and succeed); `verify: false` leaves them.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, TestClock } from "effect"
import { BulkDisassociation } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, type Direction, directions, operations, scriptedStock, stockJob, stockOf, storesOf, withFake } from "./support/Bulk.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const STORES = 450
const ids = Array.from({ length: STORES }, (_, i) => s(i))
const firstChunk = ids.slice(0, 200)

/** 450 stores, all associated for a disassociate job, none for an associate job; no retries. */
const fakeFor = (direction: Direction, script: ReadonlyArray<FakeWechatPay.Fault | "none">) => scriptedStock(direction, script, STORES)

const storeCall = (direction: Direction) => `${direction}Stores`

describe("verify: unresolved stores settled by walking the listing once", () => {
  for (const direction of directions) {
    it.effect(`${direction}: the first call applied, then its answer lost → those 200 succeeded, settled by listing`, () =>
      // The script's first entry is the preflight's stock query; the second, the first store call (it goes out alone).
      withFake(fakeFor(direction, ["none", "connectionResetAfterApply"]), (fake) =>
        Effect.gen(function*() {
          assert.isTrue(FakeWechatPay.PROCESSED_BEFORE_FAULT.connectionResetAfterApply)
          const report = yield* stockJob(direction)(ids, stockOf(F.stockId))
          assertPartition(report, ids)
          assert.strictEqual(report.summary.succeeded, STORES)
          assert.strictEqual(report.summary.unresolved, 0)
          assert.deepStrictEqual(report.settledByListing, firstChunk)
          assert.strictEqual(report.summary.settledByListing, 200)
          assert.strictEqual(report.summary.resent, 0)
          // One walk: 450 stores are 3 pages of 200 after an associate; none left is 1 empty page after a disassociate.
          const pages = direction === "associate" ? 3 : 1
          assert.deepStrictEqual(report.verification, { status: "done", settled: 200, resent: 0, requests: pages })
          assert.strictEqual(operations(fake).filter((o) => o === "listAssociatedStores").length, pages)
          // Nothing was sent twice.
          assert.strictEqual(operations(fake).filter((o) => o === storeCall(direction)).length, 3)
          for (const id of ids) assert.strictEqual(fake.isAssociated(F.stockId, id), direction === "associate")
        })))
  }

  for (const direction of directions) {
    it.effect(`${direction}: the first call dropped before the fake applied it → sent once more, and succeeded`, () =>
      withFake(fakeFor(direction, ["none", "connectionReset"]), (fake) =>
        Effect.gen(function*() {
          assert.isFalse(FakeWechatPay.PROCESSED_BEFORE_FAULT.connectionReset)
          const report = yield* stockJob(direction)(ids, stockOf(F.stockId))
          assertPartition(report, ids)
          assert.strictEqual(report.summary.succeeded, STORES)
          assert.strictEqual(report.summary.unresolved, 0)
          // Succeeded by the second call's own answer, not by the listing.
          assert.deepStrictEqual(report.settledByListing, [])
          assert.strictEqual(report.summary.settledByListing, 0)
          assert.strictEqual(report.summary.resent, 200)
          assert.strictEqual(report.verification?.status, "done")
          assert.strictEqual(report.verification?.resent, 200)
          // The log: the query, three store calls, the walk, then one more call carrying exactly the dropped stores.
          const calls = fake.log.filter((e) => e.operation === storeCall(direction))
          assert.strictEqual(calls.length, 4)
          assert.deepStrictEqual(storesOf(calls[3]!), firstChunk)
          assert.strictEqual(operations(fake).at(-1), storeCall(direction))
          // The re-send counts as a chunk and a request of the job.
          assert.strictEqual(report.summary.chunks, 4)
          assert.strictEqual(report.summary.requests, 4)
          for (const id of ids) assert.strictEqual(fake.isAssociated(F.stockId, id), direction === "associate")
        })))
  }

  it.effect("disassociate: the first call applied but answered after the per-attempt timeout → settled by listing", () =>
    // `slow`: the fake applies the call at once and answers 30 s later (on the Clock); the service gives up first.
    withFake(fakeFor("disassociate", ["none", "slow"]), (fake) =>
      Effect.gen(function*() {
        assert.isTrue(FakeWechatPay.PROCESSED_BEFORE_FAULT.slow)
        const fiber = yield* Effect.fork(stockJob("disassociate")(ids, stockOf(F.stockId)))
        for (let i = 0; i < 40; i++) yield* TestClock.adjust("1 second")
        const report = yield* Fiber.join(fiber)
        assertPartition(report, ids)
        assert.strictEqual(report.summary.unresolved, 0)
        assert.deepStrictEqual(report.settledByListing, firstChunk)
        assert.strictEqual(report.summary.settledByListing, 200)
        assert.strictEqual(operations(fake).filter((o) => o === "disassociateStores").length, 3)
        assert.strictEqual(fake.associatedCount(F.stockId), 0)
      })))

  it.effect("verify: false leaves them unresolved, walks nothing, and says so", () =>
    withFake(fakeFor("disassociate", ["none", "connectionResetAfterApply"]), (fake) =>
      Effect.gen(function*() {
        const report = yield* stockJob("disassociate")(ids, { ...stockOf(F.stockId), verify: false })
        assertPartition(report, ids)
        assert.strictEqual(report.summary.unresolved, 200)
        assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), firstChunk)
        assert.strictEqual(report.summary.settledByListing, 0)
        assert.deepStrictEqual(report.verification, { status: "off", settled: 0, resent: 0, requests: 0 })
        assert.notInclude(operations(fake), "listAssociatedStores")
      })))

  it.effect("a listing that cannot be walked leaves them unresolved, with why", () =>
    // The query, three store calls (the first lost after applying), then the listing's first page reset.
    withFake(fakeFor("disassociate", ["none", "connectionResetAfterApply", "none", "none", "connectionReset"]), (fake) =>
      Effect.gen(function*() {
        const report = yield* stockJob("disassociate")(ids, stockOf(F.stockId))
        assertPartition(report, ids)
        assert.strictEqual(report.summary.unresolved, 200)
        assert.strictEqual(report.summary.settledByListing, 0)
        assert.strictEqual(report.verification?.status, "failed")
        assert.include(report.verification?.reason ?? "", "TransportError")
        assert.strictEqual(report.verification?.requests, 1)
        assert.deepStrictEqual(operations(fake).filter((o) => o === "listAssociatedStores"), ["listAssociatedStores"])
        // Their reasons are still the calls' own.
        for (const u of report.unresolved) assert.include(u.reason, "TransportError")
      })))

  it.effect("nothing unresolved: no walk", () =>
    withFake(fakeFor("disassociate", []), (fake) =>
      Effect.gen(function*() {
        const report = yield* stockJob("disassociate")(ids, stockOf(F.stockId))
        assert.strictEqual(report.verification?.status, "not-needed")
        assert.notInclude(operations(fake), "listAssociatedStores")
      })))

  it.effect("a stopped job is not verified: nothing more is sent after a stop", () =>
    // Stopped by its caller at once: every store is unresolved ("not sent"), and must stay so.
    withFake(fakeFor("disassociate", ["connectionResetAfterApply"]), (fake) =>
      Effect.gen(function*() {
        const report = yield* stockJob("disassociate")(ids, {
          ...stockOf(F.stockId),
          preflight: false,
          concurrency: 1,
          stopWhen: Effect.void
        })
        assert.isDefined(report.stoppedBy)
        assert.strictEqual(report.verification?.status, "skipped")
        assert.include(report.verification?.reason ?? "", report.stoppedBy!.code)
        assert.notInclude(operations(fake), "listAssociatedStores")
        assert.strictEqual(report.summary.unresolved, STORES - report.summary.succeeded - report.summary.failed)
        assert.strictEqual(report.summary.settledByListing, 0)
      })))

  it.effect("an abort while the listing is walked ends the walk at once: the stores stay unresolved, and why", () =>
    // The listing's first page is `slow` (30 s on a Clock that does not move): the walk hangs until the abort.
    withFake(fakeFor("disassociate", ["none", "connectionResetAfterApply", "none", "none", "slow"]), (fake) =>
      Effect.gen(function*() {
        const abort = yield* Deferred.make<void>()
        const fiber = yield* Effect.fork(stockJob("disassociate")(ids, { ...stockOf(F.stockId), abortWhen: Deferred.await(abort) }))
        while (!operations(fake).includes("listAssociatedStores")) yield* Effect.yieldNow()
        yield* Deferred.succeed(abort, undefined)
        const report = yield* Fiber.join(fiber)
        assertPartition(report, ids)
        assert.strictEqual(report.summary.unresolved, 200)
        assert.strictEqual(report.summary.settledByListing, 0)
        assert.strictEqual(report.verification?.status, "skipped")
        assert.include(report.verification?.reason ?? "", "aborted by the caller during the listing walk")
        // The job was cut short, not ended: its report says so, as a durable job's resume reads it.
        assert.strictEqual(report.stoppedBy?.code, "ABORTED")
        assert.include(report.stoppedBy?.message ?? "", "200 store(s) stay unresolved")
        assert.strictEqual(operations(fake).filter((o) => o === "disassociateStores").length, 3)
      })))

  it.effect("BulkDisassociation.disassociateAll verifies only when asked", () =>
    withFake(fakeFor("disassociate", ["connectionResetAfterApply"]), (fake) =>
      Effect.gen(function*() {
        const plain = yield* BulkDisassociation.disassociateAll(ids, stockOf(F.stockId))
        assert.strictEqual(plain.summary.unresolved, 200)
        assert.isUndefined(plain.verification)
        assert.notInclude(operations(fake), "listAssociatedStores")
      })))
})
