// The README's example of durable jobs ("Durable jobs: a journal, resume, sync and undo") is the code
// between the markers below, byte for byte (the last test checks it), and it runs here over the
// in-memory fake with a real file journal in a temporary directory.
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { JobJournal, StoreJobs } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxStores } from "../packages/effect-wechatpay/src/testing/index.js"

const F = FakeWechatPay.Fixture
const storeIds = Array.from({ length: 500 }, (_, i) => FakeWechatPay.storeId(i))
const desired = Array.from({ length: 400 }, (_, i) => FakeWechatPay.storeId(i * 2))

const example = (dir: string) => {
  const journalOf = (name: string) => Path.join(dir, name)
  // README example: begin
  const stock = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" }
  const program = Effect.gen(function*() {
    // Every call is recorded before it is sent and after it settles, each record flushed to disk.
    const removed = yield* StoreJobs.disassociateAll(storeIds, { ...stock, journal: journalOf("remove.jsonl") })
    // After a crash, the journal alone finishes the job; a finished job's journal gives its report back.
    const same = yield* StoreJobs.resume(journalOf("remove.jsonl"))
    // Puts back what the job took out, on the job's own stock.
    const undone = yield* StoreJobs.undo({ journal: journalOf("remove.jsonl") }, { journal: journalOf("undo.jsonl") })
    // Makes the stock's stores exactly `desired`: refused when it would remove more than maxRemovals (1,000).
    const plan = yield* StoreJobs.planSync(desired, stock)
    const synced = yield* StoreJobs.syncStores(desired, { ...stock, journal: journalOf("sync.jsonl") })
    return { removed, same, undone, plan, synced }
  }).pipe(Effect.provide(JobJournal.layerNodeFile), Effect.provide(NodeFileSystem.layer))
  // README example: end
  return program
}

describe("README: durable jobs", () => {
  it.effect("the example runs: the job, its resume, its undo, a plan and a sync, the fake agreeing at each step", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "jobs-readme-"))
      const fake = yield* FakeWechatPay.FakeWechatPay
      const { plan, removed, same, synced, undone } = yield* example(dir)
      assert.strictEqual(removed.summary.succeeded, 500)
      assert.deepStrictEqual(same, removed)
      assert.strictEqual(undone.job.undoes, removed.job.id)
      assert.strictEqual(plan.toDisassociate.length, 1_000 - 400)
      assert.strictEqual(plan.toAssociate.length, 0)
      assert.isTrue("plan" in synced && synced.disassociate?.summary.succeeded === 600)
      assert.deepStrictEqual([...fake.associatedStores(F.stockId)].sort(), [...desired].sort())
      // The journals are JSON lines, each starting with its header.
      const first = JSON.parse(Fs.readFileSync(Path.join(dir, "remove.jsonl"), "utf8").split("\n")[0]!)
      assert.strictEqual(first.t, "header")
      assert.strictEqual(first.input.unique, 500)
      Fs.rmSync(dir, { recursive: true, force: true })
    }).pipe(Effect.provide(SandboxStores.layer({ seed: FakeWechatPay.generate({ stores: 1_000, associated: 1_000 }) }))))

  it("the README's code block is this file's example, byte for byte", () => {
    const readme = Fs.readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const source = Fs.readFileSync(new URL(import.meta.url), "utf8")
    const found = /\/\/ README example: begin\n([\s\S]*?)  \/\/ README example: end/.exec(source)![1]!
    const example = found.split("\n").map((l) => l.slice(2)).join("\n")
    const heading = "Durable jobs, from the start to the undo:\n\n```ts\n"
    const at = readme.indexOf(heading)
    assert.isAbove(at, -1, "the README lost the example's heading")
    const block = readme.slice(at + heading.length, readme.indexOf("```\n", at + heading.length))
    assert.strictEqual(block, example)
  })
})
