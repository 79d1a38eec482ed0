// StoreJobs.undo over the in-memory fake: a job's changes put back, from its report (as an object, or as the JSON
// a CLI wrote) or from its journal, on the job's own stock or bundle (never one the caller passes), with the undo's
// report naming the job it undoes. A report that no job wrote, or a dry run, cannot be undone.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { BulkStores, JobJournal, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, stockOf, withFake } from "./support/Bulk.js"
import { assertSameSet, F, keys, other, range, recorded, records, s, storeCallsFrom, withWarnings } from "./support/Jobs.js"

const OTHER_STOCK = "123456801"
const stock = stockOf(F.stockId)
const running = { concurrency: 3, chunkSize: 100 }

/** The fixture stock with s(0)…s(799), a second stock of the coupon with s(0)…s(99). */
const world = (associated = 800) => ({
  seed: FakeWechatPay.generate({
    stores: 1_000,
    associated,
    stocks: [{ stockId: OTHER_STOCK, associatedStoreIds: range(0, 100) }]
  }),
  keys
})

const sources = ["report", "report as JSON", "journal"] as const
const sourceOf = (kind: typeof sources[number], report: unknown, journal: string): StoreJobs.UndoSource =>
  kind === "journal" ? { journal } : { report: kind === "report" ? report : JSON.parse(JSON.stringify(report)) }

describe("undo", () => {
  for (const kind of sources) {
    it.effect(`after a disassociate, from its ${kind}: the stock's set is back exactly; undoes = the job's id`, () =>
      withFake(world(), (fake) =>
        Effect.gen(function*() {
          const original = [...fake.associatedStores(F.stockId)]
          const ids = [...range(200, 600), s(250), other(0)]
          const job = yield* StoreJobs.disassociateAll(ids, { ...stock, ...running, journal: "job" })
          assert.strictEqual(job.summary.succeeded, 400)
          assertSameSet(fake.associatedStores(F.stockId), [...range(0, 200), ...range(600, 800)])
          const logged = fake.log.length
          const undone = yield* StoreJobs.undo(sourceOf(kind, job, "job"), { ...running, journal: "undo" })
          if ("plan" in undone) return assert.fail("a job report")
          assert.strictEqual(undone.job.undoes, job.job.id)
          assert.notStrictEqual(undone.job.id, job.job.id)
          assert.strictEqual(undone.job.operation, "associate")
          assert.strictEqual(undone.job.stockId, F.stockId)
          assert.strictEqual(undone.job.journal, "undo")
          assertPartition(undone, job.succeeded)
          assert.strictEqual(undone.summary.succeeded, 400)
          assertSameSet(fake.associatedStores(F.stockId), original)
          // Only what the job changed was sent back, and the foreign store it failed was not sent at all.
          const sent = storeCallsFrom(fake, logged)
          assert.isTrue(sent.every((c) => c.operation === "associateStores"))
          assertSameSet(sent.flatMap((c) => c.stores), range(200, 600))
          // The undo is a durable job of its own: its journal names the job it undoes, and gives its report back.
          const header = records((yield* JobJournal.JobJournal.pipe(Effect.flatMap((j) => j.read("undo")))))[0]!
          assert.strictEqual(header.undoes, job.job.id)
          const again = yield* StoreJobs.resume("undo")
          assert.deepStrictEqual(again, JSON.parse(JSON.stringify(undone)))
        }).pipe(Effect.provide(JobJournal.layerMemory()))))
  }

  for (const kind of sources) {
    it.effect(`after an associate, from its ${kind}: the stores it put in are taken out again`, () =>
      withFake(world(300), (fake) =>
        Effect.gen(function*() {
          const original = [...fake.associatedStores(F.stockId)]
          const job = yield* StoreJobs.associateAll([...range(300, 700), other(1)], { ...stock, ...running, journal: "job" })
          assert.strictEqual(job.summary.succeeded, 400)
          assert.strictEqual(fake.associatedCount(F.stockId), 700)
          const undone = yield* StoreJobs.undo(sourceOf(kind, job, "job"), running)
          if ("plan" in undone) return assert.fail("a job report")
          assert.strictEqual(undone.job.undoes, job.job.id)
          assert.strictEqual(undone.job.operation, "disassociate")
          assert.strictEqual(undone.summary.succeeded, 400)
          assertSameSet(fake.associatedStores(F.stockId), original)
        }).pipe(Effect.provide(JobJournal.layerMemory()))))
  }

  for (const kind of sources) {
    it.effect(`after a sync, from its ${kind}: the pre-sync set is back exactly`, () =>
      withFake(world(), (fake) =>
        Effect.gen(function*() {
          const original = [...fake.associatedStores(F.stockId)]
          const desired = [...range(500, 1_000), "", other(2)]
          const sync = yield* StoreJobs.syncStores(desired, { ...stock, ...running, journal: "job" })
          assertSameSet(fake.associatedStores(F.stockId), range(500, 1_000))
          const undone = yield* StoreJobs.undo(sourceOf(kind, sync, "job"), running)
          if (!("plan" in undone)) return assert.fail("a sync report")
          assert.strictEqual(undone.job.operation, "sync")
          assert.strictEqual(undone.job.undoes, sync.job.id)
          assert.strictEqual(undone.job.stockId, F.stockId)
          // The stores the sync took out are put back, the ones it put in taken out.
          assertSameSet(undone.associate!.succeeded, range(0, 500))
          assertSameSet(undone.disassociate!.succeeded, range(800, 1_000))
          assertSameSet(fake.associatedStores(F.stockId), original)
        }).pipe(Effect.provide(JobJournal.layerMemory()))))
  }

  it.effect("a journal another run holds (its job still running, or a resume of it) is not undone: locked, nothing sent", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        yield* StoreJobs.disassociateAll(range(200, 600), { ...stock, ...running, journal: "job" })
        const after = [...fake.associatedStores(F.stockId)]
        const logged = fake.log.length
        const store = yield* JobJournal.JobJournal
        // The other run: the lock held in a scope of its own, as the job or its resume holds it.
        const held = yield* Scope.make()
        yield* Scope.extend(store.lock("job"), held)
        const refused = yield* Effect.either(StoreJobs.undo({ journal: "job" }))
        assert.strictEqual(refused._tag === "Left" ? refused.left._tag : "undone", "JournalLockedError")
        assert.strictEqual(fake.log.length, logged)
        assertSameSet(fake.associatedStores(F.stockId), after)
        // Once that run has ended, the undo runs, and holds the lock itself while it does.
        yield* Scope.close(held, Exit.void)
        const undone = yield* StoreJobs.undo({ journal: "job" })
        if ("plan" in undone) return assert.fail("a job report")
        assert.strictEqual(undone.summary.succeeded, 400)
        // Released at its end: the journal can be locked again.
        yield* Effect.scoped(store.lock("job"))
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("an undo journaling into the journal it undoes is a ConfigurationError, not a lock it would wait on", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const job = yield* StoreJobs.disassociateAll(range(200, 600), { ...stock, ...running, journal: "job" })
        const after = [...fake.associatedStores(F.stockId)]
        const logged = fake.log.length
        for (const [source, journal] of [[{ journal: "job" }, "job"], [{ journal: "job" }, "./job"], [{ report: job }, "job"]] as const) {
          const refused = yield* Effect.flip(StoreJobs.undo(source, { journal }))
          assert.strictEqual(refused._tag, "ConfigurationError", journal)
          if (refused._tag === "ConfigurationError") assert.strictEqual(refused.variable, "journal")
        }
        const empty = yield* Effect.flip(StoreJobs.undo({ journal: "" }))
        assert.strictEqual(empty._tag, "UndoSourceError")
        assert.strictEqual(fake.log.length, logged)
        assertSameSet(fake.associatedStores(F.stockId), after)
        // Refused before anything was marked: the undo into a journal of its own still runs.
        const undone = yield* StoreJobs.undo({ journal: "job" }, { journal: "undo" })
        if ("plan" in undone) return assert.fail("a job report")
        assert.strictEqual(undone.summary.succeeded, 400)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("the stock comes from the job, never from the caller: an undo touches only the job's own stock", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const job = yield* StoreJobs.disassociateAll(range(0, 60), { ...stockOf(OTHER_STOCK), journal: "job" })
        assertSameSet(fake.associatedStores(OTHER_STOCK), range(60, 100))
        const main = [...fake.associatedStores(F.stockId)]
        const logged = fake.log.length
        const undone = yield* StoreJobs.undo({ report: job })
        if ("plan" in undone) return assert.fail("a job report")
        assert.strictEqual(undone.job.stockId, OTHER_STOCK)
        assert.strictEqual(undone.job.undoes, job.job.id)
        assertSameSet(fake.associatedStores(OTHER_STOCK), range(0, 100))
        assertSameSet(fake.associatedStores(F.stockId), main)
        for (const e of fake.log.slice(logged)) assert.strictEqual(e.stockId, OTHER_STOCK)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("a bundle job's undo works on the bundle", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const bundle = { productCouponId: F.bundleProductCouponId, stockBundleId: F.stockBundleId, brandId: F.brandId }
        const stocks = fake.bundleStockIds(F.stockBundleId)
        const before = stocks.map((id) => [...fake.associatedStores(id)])
        const job = yield* StoreJobs.associateBundleAll(range(100, 400), { ...bundle, journal: "job" })
        const undone = yield* StoreJobs.undo({ journal: "job" })
        if ("plan" in undone) return assert.fail("a job report")
        assert.strictEqual(undone.job.stockBundleId, F.stockBundleId)
        assert.isUndefined(undone.job.stockId)
        assert.strictEqual(undone.job.undoes, job.job.id)
        assert.strictEqual(undone.summary.succeeded, 300)
        stocks.forEach((id, i) => assertSameSet(fake.associatedStores(id), before[i]!))
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("a report edited by hand (a store listed twice): the undo still accounts for each store once", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const original = [...fake.associatedStores(F.stockId)]
        const job = yield* StoreJobs.disassociateAll(range(0, 100), { ...stock, journal: "job" })
        const edited = { ...JSON.parse(JSON.stringify(job)), succeeded: [...job.succeeded, s(5), s(6)] }
        const undone = yield* StoreJobs.undo({ report: edited })
        if ("plan" in undone) return assert.fail("a job report")
        assert.strictEqual(undone.summary.succeeded, 100)
        assert.strictEqual(new Set(undone.succeeded).size, undone.succeeded.length)
        assert.strictEqual(undone.summary.unique, 100)
        assert.strictEqual(undone.summary.unique + undone.summary.duplicates, undone.summary.input)
        assertSameSet(fake.associatedStores(F.stockId), original)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("a report no job wrote, a dry run, or a journal that is not there: a typed error, nothing sent", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const plain = yield* BulkStores.disassociateAll(range(0, 10), stock)
        const dry = yield* StoreJobs.syncStores(range(0, 10), { ...stock, maxRemovals: 1_000, dryRun: true })
        const job = yield* StoreJobs.disassociateAll(range(10, 20), { ...stock, journal: "job" })
        const logged = fake.log.length
        const notJobs: ReadonlyArray<unknown> = [
          plain,
          dry,
          JSON.parse(JSON.stringify(dry)),
          null,
          "a report",
          42,
          [],
          {},
          { job: { ...job.job, operation: "delete" }, succeeded: job.succeeded },
          { job: { ...job.job, stockBundleId: F.stockBundleId }, succeeded: job.succeeded },
          { job: { ...job.job, stockId: undefined }, succeeded: job.succeeded },
          { job: job.job },
          { job: job.job, succeeded: [1, 2] },
          { job: { ...job.job, operation: "sync" }, succeeded: job.succeeded }
        ]
        for (const [i, report] of notJobs.entries()) {
          const error = yield* Effect.flip(StoreJobs.undo({ report }))
          assert.strictEqual(error._tag, "UndoSourceError", `${i}`)
        }
        const dryError = yield* Effect.flip(StoreJobs.undo({ report: dry }))
        if (dryError._tag !== "UndoSourceError") return assert.fail(dryError._tag)
        assert.include(dryError.reason, "dry run")
        const missing = yield* Effect.flip(StoreJobs.undo({ journal: "nowhere" }))
        assert.strictEqual(missing._tag, "JournalNotFoundError")
        assert.strictEqual(fake.log.length, logged)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))
})

describe("undo when the job's calls succeeded for stores it did not change", () => {
  // WeChat Pay (and the fake, by default) answers success for a store that is already in the state asked for:
  // disassociating a store that was never associated, associating one that already is. Such a store lands in the
  // job's `succeeded` list, and an undo built from that list changes it, so the stock is not put back as it was.
  // The job's snapshot (`snapshot: true`) is what tells those stores apart.
  it.effect("a disassociate of stores that were not associated, with the snapshot: the undo does not associate them", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const original = [...fake.associatedStores(F.stockId)]
        const job = yield* StoreJobs.disassociateAll(range(700, 900), { ...stock, journal: "job", snapshot: true })
        assert.strictEqual(job.summary.succeeded, 200)
        const [, warnings] = yield* withWarnings(StoreJobs.undo({ journal: "job" }))
        assertSameSet(fake.associatedStores(F.stockId), original)
        assert.deepStrictEqual(warnings, [])
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("an associate of stores that were associated already, with the snapshot: the undo does not take them out", () =>
    withFake(world(300), (fake) =>
      Effect.gen(function*() {
        const original = [...fake.associatedStores(F.stockId)]
        const job = yield* StoreJobs.associateAll(range(200, 400), { ...stock, journal: "job", snapshot: true })
        assert.strictEqual(job.summary.succeeded, 200)
        const undo = yield* StoreJobs.undo({ report: job })
        assertSameSet(fake.associatedStores(F.stockId), original)
        // The 100 stores left alone are neither the undo's input nor its duplicates.
        if ("plan" in undo) return assert.fail("a sync report")
        assert.include(undo.summary, { input: 100, unique: 100, duplicates: 0, succeeded: 100 })
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  for (const from of ["report", "journal"] as const) {
    it.effect(`without the snapshot (the default), from the ${from}: nothing listed first, every succeeded store reversed, a warning`, () =>
      withFake(world(300), (fake) =>
        Effect.gen(function*() {
          const job = yield* StoreJobs.associateAll(range(200, 400), { ...stock, journal: "job" })
          assert.strictEqual(job.snapshot?.status, "off")
          assert.notInclude(fake.log.map((e) => e.operation), "listAssociatedStores")
          assert.strictEqual(job.summary.succeeded, 200)
          const [, warnings] = yield* withWarnings(StoreJobs.undo(from === "report" ? { report: job } : { journal: "job" }))
          // The 100 stores there before the job go with the 100 it put in, as an undo built from `succeeded` does;
          // the warning names the way to avoid it.
          assertSameSet(fake.associatedStores(F.stockId), range(0, 200))
          assert.strictEqual(warnings.length, 1)
          assert.include(warnings[0], "took no snapshot")
          assert.include(warnings[0], "--snapshot")
        }).pipe(Effect.provide(JobJournal.layerMemory()))))
  }
})

describe("undo of a job cut short", () => {
  // A crash leaves calls in flight: the journal holds their call records and no outcome, yet WeChat Pay may have
  // applied them. An undo from that journal must put those back too (or refuse until the job is resumed), or the
  // stock is left neither as it was nor as the job wanted.
  it.effect("from the journal of a crashed disassociate whose last calls were applied: the stock's set is back", () =>
    // The second store call is applied by the fake and answered only in 30 s (the Clock stands still): in flight
    // when the job is killed, its call recorded, its outcome not.
    withFake({ ...world(), faults: { script: ["none", "none", "slow"] } }, (fake) =>
      Effect.gen(function*() {
        const original = [...fake.associatedStores(F.stockId)]
        const files = new Map<string, Uint8Array>()
        const memory = JobJournal.layerMemory(files)
        const fiber = yield* Effect.fork(
          // No snapshot: the fault script counts requests from the first store call.
          StoreJobs.disassociateAll(range(0, 600), { ...stock, ...running, snapshot: false, journal: "job" }).pipe(Effect.provide(memory))
        )
        while (!fake.log.some((e) => e.fault === "slow")) yield* Effect.yieldNow()
        yield* Fiber.interrupt(fiber)
        const before = recorded(records(files.get("job")))
        const appliedInFlight = [...before.called].filter((id) => !before.settled.has(id) && !fake.isAssociated(F.stockId, id))
        assert.isAbove(appliedInFlight.length, 0)
        const first = yield* Effect.either(StoreJobs.undo({ journal: "job" }).pipe(Effect.provide(memory)))
        if (first._tag === "Left") {
          // Refusing is fine, as long as it is typed and the undo works once the job is resumed.
          assert.strictEqual(first.left._tag, "UndoSourceError")
          yield* StoreJobs.resume("job").pipe(Effect.provide(memory))
          yield* StoreJobs.undo({ journal: "job" }).pipe(Effect.provide(memory))
        }
        assertSameSet(fake.associatedStores(F.stockId), original)
      })))
})


describe("undo and the job's journal", () => {
  // An undo records itself in the journal of the job it undoes, before its first call: a resume of that job
  // would redo what the undo put back, and report as done stores the undo changed back. A report names its
  // journal: while that journal is there, the undo takes the job from it (every run, the calls that may have
  // been applied, its lock) and refuses a report whose stock differs from it.
  for (const kind of ["journal", "report"] as const) {
    it.effect(`a job stopped part-way, undone from its ${kind}: its resume is refused (JournalUndoneError), nothing sent`, () =>
      withFake(world(), (fake) =>
        Effect.gen(function*() {
          const original = [...fake.associatedStores(F.stockId)]
          // Stopped once its first calls are done, as a Ctrl-C would: the report says what is left, and the journal can be resumed.
          const stop = yield* Deferred.make<void>()
          const job = yield* StoreJobs.disassociateAll(range(0, 600), {
            ...stock,
            ...running,
            journal: "job",
            stopWhen: Deferred.await(stop),
            onProgress: (e) => e._tag === "ChunkSettled" && e.done >= 200 ? Deferred.succeed(stop, undefined) : Effect.void
          })
          assert.isDefined(job.stoppedBy)
          assert.isAbove(job.summary.unresolved, 0)
          const undone = yield* StoreJobs.undo(kind === "journal" ? { journal: "job" } : { report: JSON.parse(JSON.stringify(job)) }, {
            journal: "undo"
          })
          assertSameSet(fake.associatedStores(F.stockId), original)
          const logged = fake.log.length
          const refused = yield* Effect.flip(StoreJobs.resume("job"))
          if (refused._tag !== "JournalUndoneError") return assert.fail(refused._tag)
          assert.strictEqual(refused.by, undone.job.id)
          assert.strictEqual(refused.journal, "undo")
          assert.include(refused.message, "resuming it would redo what the undo put back")
          assert.strictEqual(fake.log.length, logged)
          assertSameSet(fake.associatedStores(F.stockId), original)
          // The undo itself still resumes (it ended: its report back, nothing sent).
          yield* StoreJobs.resume("undo")
          assert.strictEqual(fake.log.length, logged)
        }).pipe(Effect.provide(JobJournal.layerMemory()))))
  }

  it.effect("a job undone twice from its journal: the second undo says the first happened, and how to finish it instead", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const original = [...fake.associatedStores(F.stockId)]
        yield* StoreJobs.disassociateAll(range(0, 100), { ...stock, journal: "job" })
        const [first, none] = yield* withWarnings(StoreJobs.undo({ journal: "job" }, { journal: "undo", snapshot: true }))
        assert.isFalse(none.some((w) => w.includes("undone already")), none.join("\n"))
        const [, warnings] = yield* withWarnings(StoreJobs.undo({ journal: "job" }, { snapshot: true }))
        const warning = warnings.find((w) => w.includes("was undone already"))
        assert.isDefined(warning, warnings.join("\n"))
        assert.include(warning, `by job ${first.job.id} (journal undo)`)
        assert.include(warning, "to finish that undo instead, resume undo")
        assertSameSet(fake.associatedStores(F.stockId), original)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("an undo whose record in the job's journal failed: the undo's resume records it before it goes on", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const memory = JobJournal.makeMemory()
        let failing = true
        // The job's journal cannot be reopened (a full disk, say) while the first undo runs.
        const service = JobJournal.JobJournal.of({
          ...memory.service,
          reopen: (location, length) =>
            failing && location === "job"
              ? Effect.fail(new JobJournal.JournalIoError({ location, operation: "reopen", reason: "ENOSPC" }))
              : memory.service.reopen(location, length)
        })
        const journals = Layer.succeed(JobJournal.JobJournal, service)
        const original = [...fake.associatedStores(F.stockId)]
        yield* StoreJobs.disassociateAll(range(0, 100), { ...stock, journal: "job" }).pipe(Effect.provide(journals))
        const logged = fake.log.length
        const first = yield* Effect.flip(StoreJobs.undo({ journal: "job" }, { journal: "undo" }).pipe(Effect.provide(journals)))
        assert.strictEqual(first._tag, "JournalIoError")
        // No store call was sent (only the stock check): the undo stopped at the record, before its first call.
        assert.deepStrictEqual(storeCallsFrom(fake, logged), [])
        failing = false
        const undone = yield* StoreJobs.resume("undo").pipe(Effect.provide(journals))
        assertSameSet(fake.associatedStores(F.stockId), original)
        const refused = yield* Effect.flip(StoreJobs.resume("job").pipe(Effect.provide(journals)))
        if (refused._tag !== "JournalUndoneError") return assert.fail(refused._tag)
        assert.strictEqual(refused.by, undone.job.id)
        assert.strictEqual(refused.journal, "undo")
      })))

  it.effect("an undo with options the engine would refuse: refused before the job's journal is marked", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        yield* StoreJobs.disassociateAll(range(0, 100), { ...stock, journal: "job" })
        const logged = fake.log.length
        for (const options of [{ chunkSize: 0 }, { chunkSize: 1.5 }, { concurrency: 0 }, { chunkSize: 201 }]) {
          const refused = yield* Effect.flip(StoreJobs.undo({ journal: "job" }, { ...options, journal: "undo" }))
          assert.strictEqual(refused._tag, "ConfigurationError", JSON.stringify(options))
        }
        assert.strictEqual(fake.log.length, logged)
        // Neither marked undone nor given an undo journal.
        const again = yield* StoreJobs.resume("job")
        assert.strictEqual(again.job.runs, 1)
        assert.strictEqual((yield* Effect.flip(StoreJobs.resume("undo")))._tag, "JournalNotFoundError")
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("an undo refused before its first call (the stock check) leaves the job's journal resumable", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        yield* StoreJobs.disassociateAll(range(0, 100), { ...stock, journal: "job" })
        // The undo's own journal location is taken: refused when it is created, before the job's journal is marked.
        const store = yield* JobJournal.JobJournal
        yield* Effect.scoped(store.create("taken", "x\n"))
        const refused = yield* Effect.flip(StoreJobs.undo({ journal: "job" }, { journal: "taken" }))
        assert.strictEqual(refused._tag, "JournalExistsError")
        const logged = fake.log.length
        const again = yield* StoreJobs.resume("job")
        assert.strictEqual(again.job.runs, 1)
        assert.strictEqual(fake.log.length, logged)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  // The stock check answers; then every store call is applied and its answer lost (retries off, verify off), so
  // the report calls those stores unresolved though they were taken out.
  const lost = { ...world(), faults: { script: ["none", ...Array<"connectionResetAfterApply">(3).fill("connectionResetAfterApply")] as const }, service: { retry: false as const } }
  const appliedUnresolved = (fake: FakeWechatPay.Service, job: StoreJobs.JobReport) => {
    const applied = range(0, 300).filter((id) => !fake.isAssociated(F.stockId, id))
    assert.isAbove(applied.length, 0)
    assert.deepStrictEqual(job.succeeded, [])
    const unresolved = new Set(job.unresolved.map((u) => u.storeId))
    for (const id of applied) assert.isTrue(unresolved.has(id), id)
    return applied
  }

  it.effect("from a report whose journal is there: the stores whose calls may have been applied are put back too", () =>
    withFake(lost, (fake) =>
      Effect.gen(function*() {
        const original = [...fake.associatedStores(F.stockId)]
        const job = yield* StoreJobs.disassociateAll(range(0, 300), { ...stock, ...running, verify: false, journal: "job" })
        const applied = appliedUnresolved(fake, job)
        const [undone, warnings] = yield* withWarnings(StoreJobs.undo({ report: JSON.parse(JSON.stringify(job)) }))
        if ("plan" in undone) return assert.fail("a job report")
        for (const id of applied) assert.include(undone.succeeded, id)
        assertSameSet(fake.associatedStores(F.stockId), original)
        assert.isFalse(warnings.some((w) => w.includes("report alone")), warnings.join("\n"))
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("from a report whose journal is gone: the report alone, and a warning naming its unresolved stores", () =>
    withFake(lost, (fake) =>
      Effect.gen(function*() {
        const files = new Map<string, Uint8Array>()
        const job = yield* StoreJobs.disassociateAll(range(0, 300), { ...stock, ...running, verify: false, journal: "job" }).pipe(
          Effect.provide(JobJournal.layerMemory(files))
        )
        const applied = appliedUnresolved(fake, job)
        files.delete("job")
        const [undone, warnings] = yield* withWarnings(
          StoreJobs.undo({ report: JSON.parse(JSON.stringify(job)) }).pipe(Effect.provide(JobJournal.layerMemory(files)))
        )
        if ("plan" in undone) return assert.fail("a job report")
        assert.strictEqual(undone.summary.input, 0)
        for (const id of applied) assert.isFalse(fake.isAssociated(F.stockId, id), id)
        const warning = warnings.find((w) => w.includes("report alone"))
        assert.isDefined(warning, warnings.join("\n"))
        assert.include(warning, "the report's journal job is gone")
        // Moved rather than deleted, the journal could still be resumed, and nothing in it says it was undone.
        assert.include(warning, "do not resume it: that would redo what this undo puts back")
        assert.include(warning, `${job.unresolved.length} unresolved store(s)`)
      })))

  it.effect("a report whose journal's path now holds another job: the report alone, and that journal left as it was", () => {
    const files = new Map<string, Uint8Array>()
    return withFake(world(), (fake) =>
      Effect.gen(function*() {
        const original = [...fake.associatedStores(F.stockId)]
        const job = yield* StoreJobs.disassociateAll(range(0, 60), { ...stock, journal: "job" })
        // The path used again by a later job, once the first's journal was deleted.
        files.delete("job")
        const later = yield* StoreJobs.disassociateAll(range(100, 160), { ...stock, journal: "job" })
        const before = files.get("job")
        const [undone, warnings] = yield* withWarnings(StoreJobs.undo({ report: JSON.parse(JSON.stringify(job)) }))
        assert.isTrue(warnings.some((w) => w.includes(`the report's journal job now holds another job (${later.job.id})`)), warnings.join("\n"))
        if ("plan" in undone) return assert.fail("a job report")
        assertSameSet(undone.succeeded, range(0, 60))
        assert.deepStrictEqual(files.get("job"), before)
        // The later job is not marked undone: it still resumes (to its report).
        const again = yield* StoreJobs.resume("job")
        assert.strictEqual(again.job.id, later.job.id)
        assertSameSet(fake.associatedStores(F.stockId), original.filter((id) => !range(100, 160).includes(id)))
      }).pipe(Effect.provide(JobJournal.layerMemory(files))))
  })

  it.effect("a report whose stock was edited: refused against its journal, nothing sent", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const job = yield* StoreJobs.disassociateAll(range(0, 60), { ...stock, journal: "job" })
        const logged = fake.log.length
        for (const edit of [{ stockId: OTHER_STOCK }, { operation: "associate" }, { brandId: "999999" }]) {
          const edited = { ...JSON.parse(JSON.stringify(job)), job: { ...job.job, ...edit } }
          const error = yield* Effect.flip(StoreJobs.undo({ report: edited }))
          if (error._tag !== "UndoSourceError") return assert.fail(error._tag)
          assert.include(error.reason, "does not match its journal job", JSON.stringify(edit))
        }
        assert.strictEqual(fake.log.length, logged)
        assertSameSet(fake.associatedStores(OTHER_STOCK), range(0, 100))
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("a report whose journal another run holds (a resume of the job): locked, nothing sent", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const job = yield* StoreJobs.disassociateAll(range(0, 60), { ...stock, journal: "job" })
        const logged = fake.log.length
        const store = yield* JobJournal.JobJournal
        const held = yield* Scope.make()
        yield* Scope.extend(store.lock("job"), held)
        const refused = yield* Effect.flip(StoreJobs.undo({ report: job }))
        assert.strictEqual(refused._tag, "JournalLockedError")
        assert.strictEqual(fake.log.length, logged)
        yield* Scope.close(held, Exit.void)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))

  it.effect("a sync report that lacks one of its parts: refused, nothing sent", () =>
    withFake(world(), (fake) =>
      Effect.gen(function*() {
        const sync = yield* StoreJobs.syncStores(range(0, 700), { ...stock, journal: "job" })
        const logged = fake.log.length
        for (const part of ["associate", "disassociate"] as const) {
          const { [part]: _, ...rest } = JSON.parse(JSON.stringify(sync)) as Record<string, unknown>
          const error = yield* Effect.flip(StoreJobs.undo({ report: rest }))
          if (error._tag !== "UndoSourceError") return assert.fail(error._tag)
          assert.include(error.reason, "without its two parts' lists")
        }
        assert.strictEqual(fake.log.length, logged)
      }).pipe(Effect.provide(JobJournal.layerMemory()))))
})
