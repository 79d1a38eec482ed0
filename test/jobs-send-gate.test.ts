// Where a durable job's call waits for its journal: over this package's service, inside the client once
// the request is signed (so the flush runs while it is signed); over a service the application built, before
// the call. Either way nothing reaches WeChat Pay before the records queued ahead of it are on disk.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { JobJournal, ProductCouponStores, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, stockOf, withFake } from "./support/Bulk.js"
import { records, storeCallsFrom } from "./support/Jobs.js"
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
    const wrap = (appender: JobJournal.Appender): JobJournal.Appender => ({
      append: (text) =>
        Effect.suspend(() => {
          if (holding || !text.includes(`"t":"call"`)) return appender.append(text)
          holding = true
          return Effect.zipRight(Effect.zipRight(Deferred.succeed(held, undefined), Deferred.await(released)), appender.append(text))
        })
    })
    const service: JobJournal.Service = {
      ...inner,
      create: (location, text) => Effect.map(inner.create(location, text), wrap),
      reopen: (location, length) => Effect.map(inner.reopen(location, length), wrap)
    }
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
})
