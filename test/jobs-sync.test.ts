// StoreJobs.planSync / syncStores over the in-memory fake: the plan against the stock's listing (disjoint, equal,
// subset and superset desired sets), the guard (at most 1,000 removals by default, an empty desired set refused
// unless maxRemovals covers the stock), a dry run that sends only the listing, and a sync that makes the fake's
// associated set exactly the desired one, leaving ids that cannot be sent out of it.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { JobJournal, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, operations, stockOf, withFake } from "./support/Bulk.js"
import { assertSameSet, F, keys, other, range, records, s, storeCallsFrom } from "./support/Jobs.js"

const stock = stockOf(F.stockId)
const memory = JobJournal.layerMemory()
const world = (stores: number, associated: number) => ({ seed: FakeWechatPay.generate({ stores, associated }), keys })

const onlyListing = (fake: FakeWechatPay.Service) => {
  const ops = operations(fake)
  assert.isAbove(ops.length, 0)
  for (const op of ops) assert.strictEqual(op, "listAssociatedStores")
}

describe("planSync", () => {
  // The stock has s(0)…s(299); the listing serves them in id order.
  const cases: ReadonlyArray<{
    readonly name: string
    readonly desired: ReadonlyArray<string>
    readonly toAssociate: ReadonlyArray<string>
    readonly toDisassociate: ReadonlyArray<string>
    readonly unchanged: number
  }> = [
    { name: "disjoint", desired: range(300, 500), toAssociate: range(300, 500), toDisassociate: range(0, 300), unchanged: 0 },
    {
      name: "equal (shuffled, with duplicates)",
      desired: [...range(150, 300), ...range(0, 150), s(7), s(299)],
      toAssociate: [],
      toDisassociate: [],
      unchanged: 300
    },
    { name: "subset", desired: range(100, 200), toAssociate: [], toDisassociate: [...range(0, 100), ...range(200, 300)], unchanged: 100 },
    {
      name: "superset",
      desired: [...range(350, 400), ...range(0, 350)],
      toAssociate: range(350, 400).concat(range(300, 350)),
      toDisassociate: [],
      unchanged: 300
    }
  ]
  for (const c of cases) {
    it.effect(`${c.name}: exact lists and counts, and only the listing is sent`, () =>
      withFake(world(600, 300), (fake) =>
        Effect.gen(function*() {
          const plan = yield* StoreJobs.planSync(c.desired, stock)
          const unique = new Set(c.desired).size
          assert.deepStrictEqual(plan.desired, {
            input: c.desired.length,
            unique,
            duplicates: c.desired.length - unique,
            invalid: []
          })
          assert.strictEqual(plan.current, 300)
          assert.strictEqual(plan.unchanged, c.unchanged)
          // toAssociate in the desired set's first-seen order, toDisassociate in the listing's.
          assert.deepStrictEqual(plan.toAssociate, c.toAssociate)
          assert.deepStrictEqual(plan.toDisassociate, c.toDisassociate)
          onlyListing(fake)
          assert.strictEqual(plan.listingRequests, fake.log.length)
          assertSameSet(fake.associatedStores(F.stockId), range(0, 300))
        })))
  }

  it.effect("stopped or aborted while the listing is walked: SyncStoppedError, no plan, nothing but the listing sent", () =>
    withFake(world(3_000, 3_000), (fake) =>
      Effect.gen(function*() {
        const stopped = yield* Effect.flip(StoreJobs.planSync(range(0, 10), { ...stock, stopWhen: Effect.void }))
        assert.strictEqual(stopped._tag, "SyncStoppedError")
        assert.strictEqual((stopped as StoreJobs.SyncStoppedError).by, "stop")
        const aborted = yield* Effect.flip(
          StoreJobs.syncStores(range(0, 10), { ...stock, abortWhen: Effect.void, maxRemovals: 3_000, journal: "sync.jsonl" }).pipe(
            Effect.provide(memory)
          )
        )
        assert.strictEqual(aborted._tag, "SyncStoppedError")
        assert.strictEqual((aborted as StoreJobs.SyncStoppedError).by, "abort")
        assert.isBelow((aborted as StoreJobs.SyncStoppedError).listingRequests, 15, "the walk of 15 pages ended early")
        for (const op of operations(fake)) assert.strictEqual(op, "listAssociatedStores")
        assert.strictEqual(fake.associatedStores(F.stockId).length, 3_000)
      })))

  it.effect("invalid desired ids are reported and left out; foreign ones are planned (WeChat Pay refuses them)", () =>
    withFake(world(600, 300), (fake) =>
      Effect.gen(function*() {
        const desired = [s(0), "", "a\u0001b", s(400), "\ud83d\ude00", other(1), ""]
        const plan = yield* StoreJobs.planSync(desired, stock)
        assert.deepStrictEqual(plan.desired.invalid.map((f) => f.storeId), ["", "a\u0001b", "\ud83d\ude00"])
        for (const f of plan.desired.invalid) assert.strictEqual(f.code, "INVALID_STORE_ID")
        assert.strictEqual(plan.desired.unique, 6)
        assert.strictEqual(plan.desired.duplicates, 1)
        assert.deepStrictEqual(plan.toAssociate, [s(400), other(1)])
        assert.deepStrictEqual(plan.toDisassociate, range(1, 300))
        assert.strictEqual(plan.unchanged, 1)
        onlyListing(fake)
      })))
})

describe("the guard", () => {
  it.effect("default 1,000: 1,001 removals refused (too-many-removals) with only the listing sent; exactly 1,000 applied", () =>
    Effect.gen(function*() {
      yield* withFake(world(2_100, 2_001), (fake) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(StoreJobs.syncStores(range(1_001, 2_001), { ...stock, journal: "j" }))
          if (error._tag !== "SyncGuardError") return assert.fail(error._tag)
          assert.strictEqual(error.reason, "too-many-removals")
          assert.strictEqual(error.removals, 1_001)
          assert.strictEqual(error.maxRemovals, 1_000)
          assert.strictEqual(error.current, 2_001)
          onlyListing(fake)
          assert.strictEqual(fake.associatedCount(F.stockId), 2_001)
        }).pipe(Effect.provide(JobJournal.layerMemory())))
      yield* withFake(world(2_100, 2_001), (fake) =>
        Effect.gen(function*() {
          const report = yield* StoreJobs.syncStores(range(1_000, 2_001), stock)
          assert.strictEqual(report.plan.toDisassociate.length, 1_000)
          assert.strictEqual(report.disassociate?.summary.succeeded, 1_000)
          assertSameSet(fake.associatedStores(F.stockId), range(1_000, 2_001))
        }).pipe(Effect.provide(memory)))
      // maxRemovals raises the limit.
      yield* withFake(world(2_100, 2_001), (fake) =>
        Effect.gen(function*() {
          const report = yield* StoreJobs.syncStores(range(1_001, 2_001), { ...stock, maxRemovals: 1_001 })
          assert.strictEqual(report.disassociate?.summary.succeeded, 1_001)
          assertSameSet(fake.associatedStores(F.stockId), range(1_001, 2_001))
        }).pipe(Effect.provide(memory)))
    }))

  it.effect("an empty desired set is refused (empty-desired) unless maxRemovals covers every store of the stock", () =>
    Effect.gen(function*() {
      for (const [desired, maxRemovals] of [[[], undefined], [[], 0], [[], 249], [["", "a\u0001b"], undefined], [["", "a\u0001b"], 249]] as const) {
        yield* withFake(world(300, 250), (fake) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(StoreJobs.syncStores(desired, { ...stock, maxRemovals }))
            if (error._tag !== "SyncGuardError") return assert.fail(error._tag)
            assert.strictEqual(error.reason, "empty-desired", `${JSON.stringify(desired)} ${maxRemovals}`)
            assert.strictEqual(error.removals, 250)
            assert.strictEqual(error.current, 250)
            onlyListing(fake)
            assert.strictEqual(fake.associatedCount(F.stockId), 250)
          }).pipe(Effect.provide(memory)))
      }
      for (const maxRemovals of [250, 1_000]) {
        yield* withFake(world(300, 250), (fake) =>
          Effect.gen(function*() {
            const report = yield* StoreJobs.syncStores([], { ...stock, maxRemovals })
            assert.strictEqual(report.disassociate?.summary.succeeded, 250)
            assert.strictEqual(fake.associatedCount(F.stockId), 0)
          }).pipe(Effect.provide(memory)))
      }
    }))

  it.effect("a desired set holding none of the stock's stores is refused (removes-all) unless maxRemovals covers them all", () =>
    Effect.gen(function*() {
      // One wrong id, or a list of another stock's stores: each would empty a stock of 250, under the default 1,000.
      for (const [desired, maxRemovals] of [[[other(1)], undefined], [range(250, 300), undefined], [[other(1)], 249]] as const) {
        yield* withFake(world(300, 250), (fake) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(StoreJobs.syncStores(desired, { ...stock, maxRemovals }))
            if (error._tag !== "SyncGuardError") return assert.fail(error._tag)
            assert.strictEqual(error.reason, "removes-all", `${JSON.stringify(desired)} ${maxRemovals}`)
            assert.strictEqual(error.removals, 250)
            assert.strictEqual(error.current, 250)
            assert.include(error.message, "none of the stock's 250 store(s)")
            onlyListing(fake)
            assert.strictEqual(fake.associatedCount(F.stockId), 250)
          }).pipe(Effect.provide(memory)))
      }
      // Given explicitly and high enough: the stock's stores are replaced.
      yield* withFake(world(300, 250), (fake) =>
        Effect.gen(function*() {
          const report = yield* StoreJobs.syncStores(range(250, 300), { ...stock, maxRemovals: 250 })
          assert.strictEqual(report.disassociate?.summary.succeeded, 250)
          assertSameSet(fake.associatedStores(F.stockId), range(250, 300))
        }).pipe(Effect.provide(memory)))
      // One store kept is not "every store": the default limit alone applies.
      yield* withFake(world(300, 250), (fake) =>
        Effect.gen(function*() {
          const report = yield* StoreJobs.syncStores([s(0), ...range(250, 300)], stock)
          assert.strictEqual(report.disassociate?.summary.succeeded, 249)
          assertSameSet(fake.associatedStores(F.stockId), [s(0), ...range(250, 300)])
        }).pipe(Effect.provide(memory)))
      // checkPlan says the same of planSync's plan, for a dry run.
      yield* withFake(world(300, 250), () =>
        Effect.gen(function*() {
          const plan = yield* StoreJobs.planSync([other(1)], stock)
          const refused = yield* Effect.flip(StoreJobs.checkPlan(plan))
          assert.strictEqual(refused.reason, "removes-all")
          yield* StoreJobs.checkPlan(plan, 250)
        }).pipe(Effect.provide(memory)))
    }))

  it.effect("a bad maxRemovals is refused before anything is sent", () =>
    withFake(world(300, 250), (fake) =>
      Effect.gen(function*() {
        for (const maxRemovals of [-1, 1.5, Number.NaN]) {
          const result = yield* Effect.either(StoreJobs.syncStores(range(0, 10), { ...stock, maxRemovals }))
          assert.isTrue(Either.isLeft(result), String(maxRemovals))
        }
        assert.deepStrictEqual(operations(fake), [])
      }).pipe(Effect.provide(memory))))
})

describe("syncStores", () => {
  it.effect("dryRun: the plan, no job, and nothing sent but the listing", () =>
    withFake(world(1_500, 800), (fake) =>
      Effect.gen(function*() {
        const files = new Map<string, Uint8Array>()
        const desired = range(400, 1_200)
        const report = yield* StoreJobs.syncStores(desired, { ...stock, dryRun: true, journal: "j" }).pipe(
          Effect.provide(JobJournal.layerMemory(files))
        )
        assert.isTrue(report.dryRun)
        assert.isUndefined(report.associate)
        assert.isUndefined(report.disassociate)
        assert.deepStrictEqual(report.plan.toAssociate, range(800, 1_200))
        assert.deepStrictEqual(report.plan.toDisassociate, range(0, 400))
        assert.strictEqual(report.job.operation, "sync")
        assert.strictEqual(report.job.stockId, F.stockId)
        onlyListing(fake)
        assertSameSet(fake.associatedStores(F.stockId), range(0, 800))
        assert.strictEqual(files.size, 0, "a dry run writes no journal")
      })))

  it.effect("applied: the fake's set becomes the desired set; associate first; invalid ids never sent; the journal has both parts", () =>
    withFake(world(1_500, 800), (fake) =>
      Effect.gen(function*() {
        const files = new Map<string, Uint8Array>()
        const invalid = ["", "a\u0001b"]
        const desired = [...range(400, 1_200), ...invalid, other(2), s(500), s(1_100)]
        const report = yield* StoreJobs.syncStores(desired, { ...stock, concurrency: 3, chunkSize: 150, journal: "j" }).pipe(
          Effect.provide(JobJournal.layerMemory(files))
        )
        assert.isFalse(report.dryRun)
        assert.strictEqual(report.job.operation, "sync")
        assert.strictEqual(report.job.journal, "j")
        assert.deepStrictEqual(report.plan.desired.invalid.map((f) => f.storeId), invalid)
        assert.deepStrictEqual(report.plan.toAssociate, [...range(800, 1_200), other(2)])
        assert.deepStrictEqual(report.plan.toDisassociate, range(0, 400))
        assert.strictEqual(report.plan.unchanged, 400)
        const up = report.associate!
        const down = report.disassociate!
        assertPartition(up, report.plan.toAssociate)
        assertPartition(down, report.plan.toDisassociate)
        assert.deepStrictEqual(up.succeeded, range(800, 1_200))
        assert.deepStrictEqual(up.failed.map((f) => f.storeId), [other(2)])
        assert.deepStrictEqual(down.succeeded, range(0, 400))
        assertSameSet(fake.associatedStores(F.stockId), range(400, 1_200))
        // The listing first, then every associate call, then every disassociate call; nothing invalid on the wire.
        const ops = operations(fake).filter((o) => o !== "listAssociatedStores" && o !== "getStock")
        const firstDown = ops.indexOf("disassociateStores")
        assert.isAbove(firstDown, 0)
        assert.isTrue(ops.slice(0, firstDown).every((o) => o === "associateStores"))
        assert.isTrue(ops.slice(firstDown).every((o) => o === "disassociateStores"))
        for (const c of storeCallsFrom(fake, 0)) for (const id of invalid) assert.notInclude(c.stores, id)
        // The journal: one header (operation sync, two parts), each part's ids, and the run's report.
        const recs = records(files.get("j"))
        assert.strictEqual(recs[0]!.operation, "sync")
        assert.deepStrictEqual(recs[0]!.parts.map((p: { direction: string }) => p.direction), ["associate", "disassociate"])
        assert.deepStrictEqual(recs.filter((r) => r.t === "ids").map((r) => r.ids), [report.plan.toAssociate, report.plan.toDisassociate])
        assert.deepStrictEqual(recs.at(-1)!.report, JSON.parse(JSON.stringify(report)))
        // Resuming the finished sync gives the report back.
        const logged = fake.log.length
        const again = yield* StoreJobs.resume("j").pipe(Effect.provide(JobJournal.layerMemory(files)))
        assert.deepStrictEqual(again, JSON.parse(JSON.stringify(report)))
        assert.strictEqual(fake.log.length, logged)
      })))

  it.effect("nothing to do: an equal set sends no store call", () =>
    withFake(world(600, 300), (fake) =>
      Effect.gen(function*() {
        const report = yield* StoreJobs.syncStores(range(0, 300), stock).pipe(Effect.provide(memory))
        assert.strictEqual(report.associate?.summary.unique, 0)
        assert.strictEqual(report.disassociate?.summary.unique, 0)
        assert.deepStrictEqual(storeCallsFrom(fake, 0), [])
        assertSameSet(fake.associatedStores(F.stockId), range(0, 300))
      })))
})
