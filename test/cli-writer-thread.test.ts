// Which CLI jobs start the journal's writer thread: one that writes a journal does; a sync's dry run and a job
// run with --no-journal write none, so they start none (each would cost a thread's boot on the second core).
// Counted by replacing node:worker_threads' Worker for the test (the library imports it when its journal
// layer starts). In-process through `run(argv, io)` against the loopback sandbox.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createRequire, syncBuiltinESMExports } from "node:module"
import * as Path from "node:path"
import type * as WorkerThreads from "node:worker_threads"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const { capture, job } = Cli
const sync = ["sync", "--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId]

/** Counts the threads started while `self` runs; the real Worker does the work. */
const countingThreads = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      // The builtin's CommonJS exports, which its ES module namespace follows after syncBuiltinESMExports.
      const module = createRequire(import.meta.url)("node:worker_threads") as { Worker: typeof WorkerThreads.Worker }
      const real = module.Worker
      const started = { count: 0 }
      module.Worker = class extends real {
        constructor(...args: ConstructorParameters<typeof WorkerThreads.Worker>) {
          super(...args)
          started.count++
        }
      }
      syncBuiltinESMExports()
      return { module, real, started }
    }),
    ({ started }) => Effect.map(self, (a) => ({ result: a, threads: started.count })),
    ({ module, real }) =>
      Effect.sync(() => {
        module.Worker = real
        syncBuiltinESMExports()
      })
  )

describe("cli: the journal's writer thread", () => {
  it.scopedLive("a journaled job starts one; a sync's dry run and --no-journal start none", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* Cli.sandbox("wechatpay-cli-writer-thread-test-", {
        seed: FakeWechatPay.generate({ stores: 600, associated: 400 })
      })
      const stores = yield* file("stores.txt", Array.from({ length: 300 }, (_, i) => s(i)).join("\n"))
      const dryRun = yield* countingThreads(cli([...sync, "--stores", stores, "--dry-run"], capture()))
      assert.deepStrictEqual(dryRun, { result: 0, threads: 0 })
      const unjournaled = yield* countingThreads(cli([...job, "--stores", stores, "--no-journal"], capture()))
      assert.deepStrictEqual(unjournaled, { result: 0, threads: 0 })
      const journaled = yield* countingThreads(
        cli(["associate", ...job.slice(1), "--stores", stores, "--journal", Path.join(dir, "job.jsonl")], capture())
      )
      assert.strictEqual(journaled.result, 0)
      assert.isAtLeast(journaled.threads, 1)
    }))
})
