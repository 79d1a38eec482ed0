// The stock jobs' preflight (BulkStores.associateAll / disassociateAll), against the in-memory fake:
// each way a stock refuses the job fails it with its own typed error after exactly one request (the
// stock query) and changes nothing; a query that gets no usable answer lets the job run and the report
// says why; `preflight: false` sends no query at all.
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { BulkDisassociation, BulkStores, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { assertPartition, directions, operations, stockJob, stockOf, withFake } from "./support/Bulk.js"
import { NOW } from "./support/Time.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const ids = Array.from({ length: 30 }, (_, i) => s(i))

const refusals: ReadonlyArray<{
  readonly label: string
  readonly stockId: string
  readonly tag: string
  readonly field: readonly [string, string]
}> = [
  { label: "STOPPED (expired)", stockId: F.expiredStockId, tag: "PreflightStockStateError", field: ["state", "STOPPED"] },
  { label: "DEACTIVATED", stockId: F.deactivatedStockId, tag: "PreflightStockStateError", field: ["state", "DEACTIVATED"] },
  { label: "store_scope ALL", stockId: F.allScopeStockId, tag: "PreflightStoreScopeError", field: ["storeScope", "ALL"] },
  { label: "store_scope NONE", stockId: F.noneScopeStockId, tag: "PreflightStoreScopeError", field: ["storeScope", "NONE"] },
  {
    label: "SENDING but its end time passed",
    stockId: F.endedStockId,
    tag: "PreflightStockEndedError",
    field: ["availableEndTime", "2025-06-30T23:59:59+08:00"]
  }
]

describe("preflight refuses the stock before any store is sent", () => {
  for (const direction of directions) {
    for (const refusal of refusals) {
      it.effect(`${direction}: ${refusal.label} → ${refusal.tag}, one stock query, nothing changed`, () =>
        Effect.gen(function*() {
          // The fake judges "ended" on the same Clock: past 2025-06-30.
          yield* TestClock.setTime(NOW * 1000)
          yield* withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, (fake) =>
            Effect.gen(function*() {
              const before = fake.associatedStores(refusal.stockId)
              const error = yield* Effect.flip(stockJob(direction)(ids, stockOf(refusal.stockId)))
              assert.strictEqual(error._tag, refusal.tag)
              const [key, value] = refusal.field
              assert.strictEqual((error as unknown as Record<string, unknown>)[key], value)
              assert.isTrue(WechatPayError.isWechatPayError(error))
              // It says how it behaves: nothing was sent (failed, not unresolved), and nothing more should be.
              assert.deepStrictEqual((error as WechatPayError.HasBehaviour).behaviour, {
                retry: "never",
                outcome: "failed",
                stopsJob: true,
                triggersFailover: false
              })
              assert.include((error as WechatPayError.HasBehaviour).message, refusal.stockId)
              assert.deepStrictEqual(operations(fake), ["getStock"])
              assert.deepStrictEqual(fake.associatedStores(refusal.stockId), before)
            }))
        }))
    }
  }

  it.effect("a store_scope this version does not know is refused too, with the value as sent", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 50, stock: { storeScope: "REGIONAL" } }) }, (fake) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(BulkStores.disassociateAll(ids, stockOf(F.stockId)))
        assert.strictEqual(error._tag, "PreflightStoreScopeError")
        assert.strictEqual(error._tag === "PreflightStoreScopeError" ? error.storeScope : "", "REGIONAL")
        assert.deepStrictEqual(operations(fake), ["getStock"])
      })))

  it.effect("a stock that does not exist: the query's own signed 404 fails the job, nothing else is sent", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, (fake) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(BulkStores.associateAll(ids, stockOf("999999999")))
        assert.strictEqual(error._tag, "StockNotFoundError")
        assert.deepStrictEqual(operations(fake), ["getStock"])
      })))

  it.effect("the same ended stock before its end time passes the preflight and the job runs", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, (fake) =>
      Effect.gen(function*() {
        // The TestClock starts at 1970: the end time is ahead.
        const report = yield* BulkStores.disassociateAll(ids.slice(0, 10), stockOf(F.endedStockId))
        assert.strictEqual(report.preflight?.status, "passed")
        assert.strictEqual(report.preflight?.status === "passed" ? report.preflight.availableEndTime : "", "2025-06-30T23:59:59+08:00")
        assert.deepStrictEqual(operations(fake), ["getStock", "disassociateStores"])
        assert.strictEqual(report.summary.succeeded, 10)
      })))

  for (const [label, stockId] of [["AUDITING", F.auditingStockId], ["PAUSED", F.pausedStockId]] as const) {
    it.effect(`a ${label} stock is not refused (only STOPPED and DEACTIVATED are)`, () =>
      withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, (fake) =>
        Effect.gen(function*() {
          const report = yield* BulkStores.disassociateAll(ids, stockOf(stockId))
          assert.deepStrictEqual(report.preflight?.status === "passed" ? report.preflight.state : undefined, label)
          assert.deepStrictEqual(operations(fake).slice(0, 2), ["getStock", "disassociateStores"])
        })))
  }
})

describe("a stock query without a usable answer does not block the job", () => {
  for (
    const [label, fault, tag] of [
      ["500 SYSTEM_ERROR", "systemError", "SystemError"],
      ["a connection reset", "connectionReset", "TransportError"]
    ] as const
  ) {
    for (const direction of directions) {
      it.effect(`${direction}: ${label} on every attempt → skipped, why, and the job runs`, () =>
        Effect.gen(function*() {
          const seed = FakeWechatPay.generate({ stores: 50, associated: direction === "associate" ? 0 : 50 })
          // The default schedule tries a 5xx or a reset 4 times in all; then the query gives up.
          yield* withFake({ seed, faults: { script: [fault, fault, fault, fault] } }, (fake) =>
            Effect.gen(function*() {
              const report = yield* stockJob(direction)(ids, stockOf(F.stockId))
              assert.strictEqual(report.preflight?.status, "skipped")
              assert.include(report.preflight?.status === "skipped" ? report.preflight.reason : "", tag)
              assert.strictEqual(report.preflight?.status === "skipped" ? report.preflight.requests : -1, 4)
              assert.deepStrictEqual(operations(fake), ["getStock", "getStock", "getStock", "getStock", `${direction}Stores`])
              assertPartition(report, ids)
              assert.strictEqual(report.summary.succeeded, ids.length)
              for (const id of ids) assert.strictEqual(fake.isAssociated(F.stockId, id), direction === "associate")
              // The query's attempts are the preflight's, not the store calls'.
              assert.strictEqual(report.summary.requests, 1)
            }))
        }))
    }
  }
})

describe("preflight: false", () => {
  it.effect("sends no stock query; an expired stock is then met by the first store call, which stops the job", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, (fake) =>
      Effect.gen(function*() {
        const report = yield* BulkStores.disassociateAll(ids, { ...stockOf(F.expiredStockId), preflight: false, chunkSize: 10 })
        assert.deepStrictEqual(report.preflight, { status: "off" })
        assert.deepStrictEqual(operations(fake), ["disassociateStores"])
        assert.strictEqual(report.stoppedBy?.tag, "StockExpiredError")
      })))

  it.effect("a passing preflight is in the report with the stock as found", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, () =>
      Effect.gen(function*() {
        const report = yield* BulkStores.disassociateAll(ids, stockOf(F.stockId))
        assert.strictEqual(report.preflight?.status, "passed")
        if (report.preflight?.status === "passed") {
          assert.strictEqual(report.preflight.state, "SENDING")
          assert.strictEqual(report.preflight.storeScope, "SPECIFIC")
          assert.strictEqual(report.preflight.requests, 1)
          assert.isString(report.preflight.requestId)
        }
      })))

  it.effect("BulkDisassociation.disassociateAll keeps making only its store calls: no stock query", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 50 }) }, (fake) =>
      Effect.gen(function*() {
        const report = yield* BulkDisassociation.disassociateAll(ids, stockOf(F.stockId))
        assert.deepStrictEqual(operations(fake), ["disassociateStores"])
        assert.isUndefined(report.preflight)
      })))
})
