// A job's `stopWhen` and `abortWhen` are started once, when the job starts, whatever phases it runs (the
// preflight, the snapshot walk, the calls, the verification walk and its re-send, a sync's two parts): a timer
// given as `stopWhen` counts from the job's start, and each signal is let go when the job ends.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, TestClock } from "effect"
import { BulkDisassociation, BulkStores, JobJournal, type ProductCouponStores, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, operations, scriptedStock, stockOf, withFake } from "./support/Bulk.js"
import { F, range } from "./support/Jobs.js"

const stock = stockOf(F.stockId)

interface Signals {
  readonly stopWhen: Effect.Effect<void>
  readonly abortWhen: Effect.Effect<void>
}
const ids = range(0, 450)

/** A signal that never completes and counts how often it was started and let go. */
const counting = () => {
  const counts = { started: 0, released: 0 }
  const signal = Effect.suspend(() => {
    counts.started++
    return Effect.never
  }).pipe(Effect.onInterrupt(() => Effect.sync(() => counts.released++)))
  return { counts, signal }
}

/**
 * 450 stores, all associated; no retries, so the first store call, dropped before the fake applies it,
 * leaves its 200 stores unresolved: the listing walk and a re-send follow the job's calls.
 */
const dropFirstCall = (script: ReadonlyArray<FakeWechatPay.Fault | "none">) => scriptedStock("disassociate", script)

describe("a job's signals: started once, from the job's start", () => {
  // Each job runs at least two phases that watch the signals.
  const jobs: ReadonlyArray<{
    readonly name: string
    readonly script: ReadonlyArray<FakeWechatPay.Fault | "none">
    readonly run: (signals: Signals) => Effect.Effect<unknown, unknown, ProductCouponStores.ProductCouponStores | JobJournal.JobJournal>
  }> = [
    {
      name: "BulkStores.disassociateAll (calls, the listing walk, the re-send)",
      script: ["none", "connectionReset"],
      run: (signals) => BulkStores.disassociateAll(ids, { ...stock, ...signals })
    },
    {
      name: "BulkDisassociation.disassociateAll with verify",
      script: ["connectionReset"],
      run: (signals) => BulkDisassociation.disassociateAll(ids, { ...stock, verify: true, ...signals })
    },
    {
      name: "StoreJobs.disassociateAll with a snapshot (the snapshot walk, calls, the listing walk, the re-send)",
      script: ["none", "none", "none", "none", "connectionReset"],
      run: (signals) => StoreJobs.disassociateAll(ids, { ...stock, journal: "job", snapshot: true, ...signals })
    },
    {
      name: "StoreJobs.syncStores (the plan's walk, both parts)",
      script: [],
      run: (signals) => StoreJobs.syncStores(range(100, 600), { ...stock, journal: "job", ...signals })
    },
    {
      name: "StoreJobs.resume of a job stopped at once (calls, the listing walk, the re-send)",
      // The stopped job sent nothing: the resume's first call is the first request.
      script: ["connectionReset"],
      run: (signals) =>
        Effect.zipRight(
          StoreJobs.disassociateAll(ids, { ...stock, journal: "job", preflight: false, stopWhen: Effect.void }),
          StoreJobs.resume("job", signals)
        )
    },
    {
      name: "StoreJobs.undo of a job (calls, the listing walk, the re-send)",
      // The job: its stock query and three calls; the undo: its stock query, then its first call.
      script: ["none", "none", "none", "none", "none", "connectionReset"],
      run: (signals) =>
        Effect.zipRight(StoreJobs.disassociateAll(ids, { ...stock, journal: "job" }), StoreJobs.undo({ journal: "job" }, signals))
    }
  ]

  for (const job of jobs) {
    it.effect(`${job.name}: each signal started once and let go at the end`, () =>
      withFake(dropFirstCall(job.script), () =>
        Effect.gen(function*() {
          const stop = counting()
          const abort = counting()
          const exit = yield* Effect.exit(job.run({ stopWhen: stop.signal, abortWhen: abort.signal }))
          assert.isTrue(Exit.isSuccess(exit), `the job failed: ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
          assert.deepStrictEqual(stop.counts, { started: 1, released: 1 })
          assert.deepStrictEqual(abort.counts, { started: 1, released: 1 })
        }).pipe(Effect.provide(JobJournal.layerMemory()))))
  }

  it.effect("a timer given as stopWhen counts from the job's start, not from the start of the listing walk", () =>
    // The first store call is answered 30 s late: its attempt times out at 10 s, its stores unresolved.
    // The listing walk then starts at 10 s, and its first page is as late. A 15 s stop ends the walk at
    // 15 s; restarted with the walk, it would fire at 25 s, after the page's own timeout failed the walk at 20 s.
    withFake({ ...dropFirstCall(["slow", "none", "none", "slow"]), service: { retry: false, timeout: "10 seconds" } }, (fake) =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(BulkStores.disassociateAll(ids, {
          ...stock,
          preflight: false,
          concurrency: 1,
          stopWhen: Effect.sleep("15 seconds")
        }))
        let at = 0
        for (; at <= 40_000; at += 500) {
          yield* Effect.repeatN(Effect.yieldNow(), 20)
          if (Option.isSome(yield* Fiber.poll(fiber))) break
          yield* TestClock.adjust(500)
        }
        const report = yield* Fiber.join(fiber)
        assertPartition(report, ids)
        assert.include(operations(fake), "listAssociatedStores")
        assert.strictEqual(report.verification?.status, "skipped")
        assert.include(report.verification?.reason ?? "", "stopped by the caller during the listing walk")
        assert.strictEqual(report.stoppedBy?.code, "STOPPED")
        assert.strictEqual(at, 15_000)
      })))
})
