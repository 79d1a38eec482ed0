/**
 * A journaled job in a process of its own, for bench/jobs-core.ts to kill with SIGKILL half-way.
 * argv[2] is JSON: the sandbox's `Ready`, the store count, concurrency, verify and the journal's
 * path. Sends `{ done }` after each settled chunk; runs until killed (or the job ends).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"
import { JobJournal, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { library } from "./clients.js"
import type { Ready } from "./sandbox-process.js"

const o = JSON.parse(process.argv[2] ?? "{}") as {
  readonly ready: Ready
  readonly stores: number
  readonly concurrency: number
  readonly verify: boolean
  readonly journal: string
}
const F = FakeWechatPay.Fixture
const ids = Array.from({ length: o.stores }, (_, i) => FakeWechatPay.storeId(i))

const main = async () => {
  const client = await library(o.ready, { rateLimit: false }, "undici")
  process.send?.({ _tag: "started" })
  const journal = JobJournal.layerNodeFile.pipe(Layer.provide(NodeFileSystem.layer))
  await client.runtime.runPromise(StoreJobs.disassociateAll(ids, {
    productCouponId: F.productCouponId,
    stockId: F.stockId,
    brandId: F.brandId,
    concurrency: o.concurrency,
    verify: o.verify,
    journal: o.journal,
    onProgress: (e) => Effect.sync(() => e._tag === "ChunkSettled" && process.send?.({ _tag: "progress", done: e.done }))
  }).pipe(Effect.provide(journal)))
  process.send?.({ _tag: "ended" })
}
main().catch((e: unknown) => {
  process.stderr.write(`jobs-child: ${String(e)}\n`)
  process.exit(1)
})
