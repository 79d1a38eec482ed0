// Where a durable job's call waits for its journal: over this package's service, inside the client once
// the request is signed (so the flush runs while it is signed); over a service the application built, before
// the call. Either way nothing reaches WeChat Pay before the records queued ahead of it are on disk.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, TestClock } from "effect"
import { JobJournal, ProductCouponStores, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, stockOf, withFake } from "./support/Bulk.js"
import { failingAfter, records, storeCallsFrom, wrapAppends } from "./support/Jobs.js"
import * as RecordingTracer from "./support/RecordingTracer.js"

const F = FakeWechatPay.Fixture
const IDS = Array.from({ length: 400 }, (_, i) => FakeWechatPay.storeId(i))
const fakeOptions = { seed: FakeWechatPay.generate({ stores: 500, associated: 500 }) }

/** A memory journal whose first append carrying a call record is held until `release`. */
const holdingFirstCall = (files: Map<string, Uint8Array>) =>
  Effect.gen(function*() {
    const held = yield* Deferred.make<void>()
    const released = yield* Deferred.make<void>()
    const inner = JobJournal.makeMemory(files).service
    let holding = false
    const service = wrapAppends(inner, (_, appender) => ({
      append: (text) =>
        Effect.suspend(() => {
          if (holding || !text.includes(`"t":"call"`)) return appender.append(text)
          holding = true
          return Effect.zipRight(Effect.zipRight(Deferred.succeed(held, undefined), Deferred.await(released)), appender.append(text))
        })
    }))
    return { service, held, release: Deferred.succeed(released, undefined) }
  })

/** Runs a two-call job at concurrency 1 against `service`, stopping while its first call's record is being flushed. */
const whileFirstFlushHeld = (
  fake: FakeWechatPay.Service,
  service: ProductCouponStores.Service
) =>
  Effect.gen(function*() {
    const files = new Map<string, Uint8Array>()
    const journal = yield* holdingFirstCall(files)
    const spans: Array<RecordingTracer.RecordingSpan> = []
    const job = yield* StoreJobs.disassociateAll(IDS, { ...stockOf(F.stockId), concurrency: 1, journal: "j" }).pipe(
      Effect.provideService(ProductCouponStores.ProductCouponStores, service),
      Effect.provideService(JobJournal.JobJournal, journal.service),
      Effect.withTracer(RecordingTracer.make(spans)),
      Effect.fork
    )
    yield* Deferred.await(journal.held)
    // Let every fiber that can run do so: the call goes as far as it may while the flush is held.
    yield* Effect.repeatN(Effect.yieldNow(), 50)
    const sentWhileHeld = storeCallsFrom(fake, 0).length
    const started = (name: string) => spans.filter((s) => s.name === name).map((s) => s.status._tag)
    const calls = started("ProductCouponStores.disassociateStores")
    const attempts = started("http.client POST")
    yield* journal.release
    const report = yield* Fiber.join(job)
    return { sentWhileHeld, calls, attempts, report, journal: records(files.get("j")) }
  })

describe("a durable job's call waits for its journal", () => {
  it.effect("over the package's service: inside the client, once signed; nothing is sent before the flush", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        const service = yield* ProductCouponStores.ProductCouponStores
        const { attempts, calls, journal, report, sentWhileHeld } = yield* whileFirstFlushHeld(fake, service)
        assert.strictEqual(sentWhileHeld, 0)
        // The call and its attempt had started: the attempt's request was built and signed, then held.
        assert.deepStrictEqual(calls, ["Started"])
        assert.deepStrictEqual(attempts, ["Started"])
        assertPartition(report, IDS)
        assert.strictEqual(report.summary.succeeded, IDS.length)
        assert.strictEqual(storeCallsFrom(fake, 0).length, 2)
        const kinds = journal.map((r) => r.t)
        assert.isBelow(kinds.indexOf("call"), kinds.indexOf("outcome"))
      })))

  it.effect("over a service the application built: before the call starts; nothing is sent before the flush", () =>
    withFake(fakeOptions, (fake) =>
      Effect.gen(function*() {
        // The same calls, but an object this package did not make: the engine cannot know it awaits the gate.
        const own = ProductCouponStores.ProductCouponStores.of({ ...(yield* ProductCouponStores.ProductCouponStores) })
        const { attempts, calls, report, sentWhileHeld } = yield* whileFirstFlushHeld(fake, own)
        assert.strictEqual(sentWhileHeld, 0)
        assert.deepStrictEqual(calls, [])
        assert.deepStrictEqual(attempts, [])
        assertPartition(report, IDS)
        assert.strictEqual(report.summary.succeeded, IDS.length)
      })))

  it.effect("a journal that fails at a call's flush: the same report over either service, that call's stores 'not sent'", () =>
    Effect.gen(function*() {
      const run = (k: number, own: boolean) =>
        withFake(fakeOptions, () =>
          Effect.gen(function*() {
            const service = yield* ProductCouponStores.ProductCouponStores
            const journal = failingAfter(new Map(), k)
            const report = yield* StoreJobs.disassociateAll(IDS, { ...stockOf(F.stockId), concurrency: 1, journal: "j" }).pipe(
              Effect.provideService(ProductCouponStores.ProductCouponStores, own ? ProductCouponStores.ProductCouponStores.of({ ...service }) : service),
              Effect.provideService(JobJournal.JobJournal, journal.service)
            )
            return { report, failures: journal.failures() }
          }))
      const refusedOwn: Array<string> = []
      for (const k of [1, 2, 3]) {
        const ours = yield* run(k, false)
        const theirs = yield* run(k, true)
        assert.isAbove(ours.failures, 0, `k=${k}`)
        assertPartition(ours.report, IDS)
        assert.strictEqual(ours.report.stoppedBy?.code, "JOURNAL_FAILED", `k=${k}`)
        const view = (r: typeof ours.report) => ({ succeeded: r.succeeded, failed: r.failed, unresolved: r.unresolved, stoppedBy: r.stoppedBy })
        assert.deepStrictEqual(view(ours.report), view(theirs.report), `k=${k}`)
        for (const u of ours.report.unresolved) if (u.reason.startsWith("not sent: the journal")) refusedOwn.push(u.reason)
      }
      // Some k caught a call at its own flush (rather than keeping it back after the stop).
      assert.isAbove(refusedOwn.length, 0)
      for (const reason of refusedOwn) assert.strictEqual(reason, "not sent: the journal could not be written: cannot append the journal j: ENOSPC: no space left on device")
    }))

  it.effect("a retry is not held at the gate: a call recorded and sent finishes after the journal fails", () =>
    // Three calls at concurrency 2: the first alone, then two together. The third request answers 500 and its call
    // retries after a second on the TestClock, by which time the other call's outcome waits to be written and the
    // disk has failed. Its record was on disk before its first attempt: the retry goes out, as calls in flight do.
    withFake({
      ...fakeOptions,
      faults: { script: ["none", "none", "systemError"] },
      service: { retry: { baseDelay: "1 second" } }
    }, (fake) =>
      Effect.gen(function*() {
        const ids = IDS.concat(Array.from({ length: 200 }, (_, i) => FakeWechatPay.storeId(400 + i)))
        const faulted = () => fake.log.some((e) => e.fault === "systemError")
        const inner = JobJournal.makeMemory(new Map()).service
        const wrap = (location: string, appender: JobJournal.Appender): JobJournal.Appender => ({
          append: (text) =>
            Effect.suspend(() =>
              faulted()
                ? Effect.fail(new JobJournal.JournalIoError({ location, operation: "append", reason: "EIO: i/o error" }))
                : appender.append(text)
            )
        })
        const breaking = wrapAppends(inner, wrap)
        const job = yield* StoreJobs.disassociateAll(ids, {
          ...stockOf(F.stockId),
          concurrency: 2,
          preflight: false,
          verify: false,
          journal: "j"
        }).pipe(Effect.provideService(JobJournal.JobJournal, breaking), Effect.fork)
        // Three requests made; the one answered 200 then settles while the faulted one waits out its back-off.
        while (storeCallsFrom(fake, 0).length < 3) yield* Effect.yieldNow()
        yield* Effect.repeatN(Effect.yieldNow(), 200)
        assert.isTrue(faulted())
        assert.strictEqual(storeCallsFrom(fake, 0).length, 3)
        yield* TestClock.adjust("1 second")
        const report = yield* Fiber.join(job)
        const sent = storeCallsFrom(fake, 0)
        assert.strictEqual(sent.length, 4)
        // The retry carried the faulted request's stores again.
        assert.deepStrictEqual(sent[3]!.stores, sent[2]!.stores)
        assertPartition(report, ids)
        // Every call settled by its answer (the fake has 500 of these 600 stores; the rest fail): none "not sent".
        assert.strictEqual(report.summary.unresolved, 0)
        assert.strictEqual(report.summary.succeeded, 500)
        assert.strictEqual(report.stoppedBy?.code, "JOURNAL_FAILED")
      })))
})
