// Signed 200 answers that contradict themselves or the request (issue #11, item 3): the job must not
// count a store as succeeded on the word of such an answer. Driven through the real service and the
// scripted WeChat Pay, so the answers are signed and verified exactly as in production.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, TestClock } from "effect"
import { BulkDisassociation } from "../packages/effect-wechatpay/src/index.js"
import { settleStoreLists } from "../packages/effect-wechatpay/src/internal/bulk/Settle.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const B = BulkDisassociation
const STORES = ["100000001", "100000002", "100000003", "100000004", "100000005"]
const job = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" } as const
const ids = (list: ReadonlyArray<string>) => list.map((store_id) => ({ store_id }))
const failedEntry = (store_id: string) => ({ store_id, code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" })

/** Runs a 5-store job whose one call gets `body` (signed), collecting the job's warning logs. */
const runWith = (body: object) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Scripted.NOW * 1000)
    const fake = Scripted.make([Scripted.ok(body, "REQ-C")])
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
    })
    const report = yield* B.disassociateAll(STORES, job).pipe(
      Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false })),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger))
    )
    assert.strictEqual(fake.requests.length, 1)
    // Every store exactly once.
    const listed = [...report.succeeded, ...report.failed.map((f) => f.storeId), ...report.unresolved.map((u) => u.storeId)]
    assert.deepStrictEqual([...listed].sort(), STORES)
    return { report, warnings }
  })

describe("contradictory answers leave their stores unresolved, flagged in the report and the log", () => {
  it.effect("a store in both success_store_list and failed_store_list is unresolved, never succeeded", () =>
    Effect.gen(function*() {
      const { report, warnings } = yield* runWith({
        total_count: 5,
        success_store_list: ids(STORES),
        failed_store_list: [failedEntry("100000003")]
      })
      assert.deepStrictEqual(report.succeeded, ["100000001", "100000002", "100000004", "100000005"])
      assert.strictEqual(report.failed.length, 0)
      assert.deepStrictEqual(report.unresolved, [{ storeId: "100000003", reason: B.LISTED_AS_BOTH, requestId: "REQ-C" }])
      assert.strictEqual(report.anomalies.length, 1)
      assert.deepStrictEqual(report.anomalies[0]!.stores, ["100000003"])
      assert.strictEqual(report.anomalies[0]!.requestId, "REQ-C")
      assert.include(report.anomalies[0]!.reason, "listed as both succeeded and failed")
      assert.strictEqual(warnings.length, 1)
      assert.include(warnings[0]!, "contradictory answer")
    }))

  for (const total of [7, -1, 0, 4]) {
    it.effect(`total_count ${total} for 5 stores sent: all 5 unresolved, the contradiction named`, () =>
      Effect.gen(function*() {
        const { report, warnings } = yield* runWith({
          total_count: total,
          success_store_list: ids(STORES.slice(0, 4)),
          failed_store_list: [failedEntry("100000005")]
        })
        assert.strictEqual(report.summary.succeeded, 0)
        assert.strictEqual(report.summary.failed, 0)
        assert.strictEqual(report.summary.unresolved, 5)
        const reason = `contradictory answer: total_count is ${total} but 5 distinct stores were sent`
        assert.isTrue(report.unresolved.every((u) => u.reason === reason && u.requestId === "REQ-C"))
        assert.strictEqual(report.anomalies.length, 1)
        assert.strictEqual(report.anomalies[0]!.reason, reason)
        assert.strictEqual(report.anomalies[0]!.stores.length, 5)
        assert.strictEqual(warnings.length, 1)
        assert.include(warnings[0]!, "total_count")
      }))
  }

  it.effect("the usual full-success answer in the order sent still settles at once, unflagged", () =>
    Effect.gen(function*() {
      const { report, warnings } = yield* runWith({ total_count: 5, success_store_list: ids(STORES) })
      assert.deepStrictEqual(report.succeeded, STORES)
      assert.strictEqual(report.anomalies.length, 0)
      assert.strictEqual(warnings.length, 0)
    }))

  it.effect("a consistent mixed answer settles as before: successes, failures, an omitted store unresolved", () =>
    Effect.gen(function*() {
      const { report, warnings } = yield* runWith({
        total_count: 5,
        success_store_list: ids(["100000004", "100000001"]),
        failed_store_list: [failedEntry("100000002"), failedEntry("100000005")]
      })
      assert.deepStrictEqual(report.succeeded, ["100000001", "100000004"])
      assert.deepStrictEqual(report.failed.map((f) => f.storeId), ["100000002", "100000005"])
      assert.deepStrictEqual(report.unresolved.map((u) => u.reason), ["not listed in the response's success or failure list"])
      assert.strictEqual(report.anomalies.length, 0)
      assert.strictEqual(warnings.length, 0)
    }))

  it.effect("an entry repeated within one list counts once, is not a contradiction, and is flagged", () =>
    Effect.gen(function*() {
      const { report, warnings } = yield* runWith({
        total_count: 5,
        success_store_list: ids([...STORES.slice(0, 4), "100000001"]),
        failed_store_list: [failedEntry("100000005"), { ...failedEntry("100000005"), code: "OTHER" }]
      })
      assert.deepStrictEqual(report.succeeded, STORES.slice(0, 4))
      assert.deepStrictEqual(report.failed, [{ storeId: "100000005", code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }])
      // Nothing left unresolved by it, but the answer is not what WeChat Pay documents: said, once.
      assert.strictEqual(report.anomalies.length, 1)
      assert.deepStrictEqual(report.anomalies[0]!.stores, [])
      assert.include(report.anomalies[0]!.reason, "2 store(s) more than once")
      assert.strictEqual(warnings.length, 1)
    }))

  it.effect("a success list repeating one store in place of another: the other unresolved, the repeat flagged", () =>
    Effect.gen(function*() {
      const { report } = yield* runWith({ total_count: 5, success_store_list: ids([...STORES.slice(0, 4), "100000001"]) })
      assert.deepStrictEqual(report.succeeded, STORES.slice(0, 4))
      assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ["100000005"])
      assert.strictEqual(report.anomalies.length, 1)
      assert.include(report.anomalies[0]!.reason, "100000001")
    }))

  it.effect("a store listed that was not sent is ignored and flagged; the sent store it stands in for is unresolved", () =>
    Effect.gen(function*() {
      const { report, warnings } = yield* runWith({
        total_count: 5,
        success_store_list: ids([...STORES.slice(0, 4), "199999999"])
      })
      assert.deepStrictEqual(report.succeeded, STORES.slice(0, 4))
      assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ["100000005"])
      assert.strictEqual(report.anomalies.length, 1)
      assert.deepStrictEqual(report.anomalies[0]!.stores, [])
      assert.include(report.anomalies[0]!.reason, "199999999")
      assert.strictEqual(warnings.length, 1)
    }))
})

describe("settle on its own", () => {
  const answer = (totalCount: number, success: ReadonlyArray<string>, failed: ReadonlyArray<string>) => ({
    totalCount,
    successStoreList: success.map((storeId) => ({ storeId })),
    failedStoreList: failed.map((storeId) => ({ storeId, code: "C", message: "m" })),
    requestId: "R"
  })

  it("no contradiction can produce `succeeded`", () => {
    for (const total of [-1, 0, 4, 6, 7, 200]) {
      const s = settleStoreLists(STORES, answer(total, STORES, []))
      assert.strictEqual(s.succeeded.length, 0, String(total))
      assert.strictEqual(s.unresolved.length, 5)
    }
    const both = settleStoreLists(STORES, answer(5, STORES, STORES))
    assert.strictEqual(both.succeeded.length + both.failed.length, 0)
    assert.isTrue(both.unresolved.every((u) => u.reason === B.LISTED_AS_BOTH))
  })
})
