// The fake's store family through the in-memory form (SandboxHttpClient): associate, the listing,
// the stock query and the stock-bundle calls, each with its refusals and per-store failures; the one
// rate-limit window they share; faults on the new endpoints; and the signature over a GET's query.
// Requests are signed and answers verified by test/support/Family.ts's hand-written sign strings.
import { assert, describe, it } from "@effect/vitest"
import { HttpClientRequest } from "@effect/platform"
import { Effect, TestClock } from "effect"
import { WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import {
  type Answer,
  associate,
  bundleAssociate,
  bundleDisassociate,
  disassociate,
  F,
  getStock,
  idsOf,
  listPage,
  listTarget,
  memory,
  paths,
  PRIMARY,
  query,
  s,
  walk
} from "./support/Family.js"
import { keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { inMemory } from "./sandbox-support.js"

const M = FakeWechatPay.MESSAGES
const o = FakeWechatPay.otherBrandStoreId

const fresh = (options: Omit<FakeWechatPay.Options, "keys"> = {}) => {
  const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 300 }), rateLimit: false, ...options })
  return { fake, form: memory(fake) }
}

/** A signed error answer with exactly this status, code and message (401s are unsigned, as the real API's). */
const refused = (answer: Answer, status: number, code: string, message?: string) => {
  assert.strictEqual(answer.status, status, answer.text)
  assert.strictEqual(answer.json?.["code"], code)
  if (message !== undefined) assert.strictEqual(answer.json?.["message"], message)
  assert.strictEqual(answer.verified, status !== 401, "signed unless 401")
}

const ok = (answer: Answer) => {
  assert.strictEqual(answer.status, 200, answer.text)
  assert.isTrue(answer.verified, "a 200 is signed")
  return answer.json!
}

describe("批次关联门店 (associate)", () => {
  it.effect("associates the brand's stores; other brands' and unknown ids fail per store; duplicates count once", () => {
    const { fake, form } = fresh({ seed: FakeWechatPay.generate({ stores: 300, associated: 100 }) })
    return Effect.gen(function*() {
      const json = ok(yield* associate(form, F.stockId, [s(150), s(150), s(0), o(0), "999999999", s(151)]))
      assert.deepStrictEqual(json, {
        total_count: 5,
        success_store_list: [{ store_id: s(150) }, { store_id: s(0) }, { store_id: s(151) }],
        failed_store_list: [
          { store_id: o(0), code: "INVALID_REQUEST", message: M.storeInvalid },
          { store_id: "999999999", code: "INVALID_REQUEST", message: M.storeInvalid }
        ]
      })
      assert.isTrue(fake.isAssociated(F.stockId, s(150)))
      assert.isFalse(fake.isAssociated(F.stockId, o(0)))
      assert.strictEqual(fake.associatedCount(F.stockId), 102)
      const entry = fake.log[0]!
      assert.deepStrictEqual(
        [entry.operation, entry.processed, entry.stockId, entry.changedStores, entry.changes],
        ["associateStores", true, F.stockId, [s(150), s(151)], [{ stockId: F.stockId, storeIds: [s(150), s(151)] }]]
      )
    })
  })

  it.effect("an already associated store is a success that changes nothing; alreadyAssociated: \"failed\" fails it", () =>
    Effect.gen(function*() {
      const lenient = fresh()
      assert.deepStrictEqual(ok(yield* associate(lenient.form, F.stockId, [s(0)])), {
        total_count: 1,
        success_store_list: [{ store_id: s(0) }]
      })
      assert.deepStrictEqual(lenient.fake.log[0]!.changedStores, [])
      const strict = fresh({ alreadyAssociated: "failed" })
      assert.deepStrictEqual(ok(yield* associate(strict.form, F.stockId, [s(0)])), {
        total_count: 1,
        failed_store_list: [{ store_id: s(0), code: "INVALID_REQUEST", message: M.storeAlreadyAssociated }]
      })
    }))

  it.effect("200 entries (duplicates included) are accepted; 201 are refused before de-duplication", () => {
    const { fake, form } = fresh({ seed: FakeWechatPay.generate({ stores: 300, associated: 0 }) })
    return Effect.gen(function*() {
      const two00 = Array.from({ length: 200 }, (_, i) => s(i % 150))
      assert.strictEqual(ok(yield* associate(form, F.stockId, two00))["total_count"], 150)
      refused(yield* associate(form, F.stockId, [...two00, s(0)]), 400, "PARAM_ERROR", "单次最多可批量关联200个门店")
      refused(yield* associate(form, F.stockId, []), 400, "PARAM_ERROR")
      refused(
        yield* form({ method: "POST", target: paths.associate(F.productCouponId, F.stockId), body: JSON.stringify({ store_list: [{ store_id: s(0) }] }) }),
        400,
        "PARAM_ERROR"
      )
      refused(yield* form({ method: "POST", target: paths.associate(F.productCouponId, F.stockId), body: "[" }), 400, "PARAM_ERROR")
      assert.strictEqual(fake.associatedCount(F.stockId), 150)
    })
  })

  it.effect("each refusal, in the disassociate table's codes; nothing changes", () => {
    const { fake, form } = fresh()
    return Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const rows: ReadonlyArray<readonly [string, string, string, number, string, string]> = [
        [F.productCouponId, F.expiredStockId, F.brandId, 400, "INVALID_REQUEST", M.associateStockExpired],
        [F.productCouponId, F.endedStockId, F.brandId, 400, "INVALID_REQUEST", M.associateStockExpired],
        [F.productCouponId, F.deactivatedStockId, F.brandId, 400, "INVALID_REQUEST", M.associateStockDeactivated],
        [F.productCouponId, F.allScopeStockId, F.brandId, 400, "INVALID_REQUEST", M.associateStockNotSpecific],
        [F.productCouponId, F.noneScopeStockId, F.brandId, 400, "INVALID_REQUEST", M.associateStockNotSpecific],
        [F.bundleProductCouponId, F.bundleStockId, F.brandId, 400, "INVALID_REQUEST", M.associateProgressiveBundle],
        [F.productCouponId, F.stockId, F.unauthorizedBrandId, 403, "NO_AUTH", M.noAuth],
        [F.otherBrandProductCouponId, F.otherBrandStockId, F.brandId, 404, "NOT_FOUND", M.productCouponNotFound],
        [F.productCouponId, "987654321", F.brandId, 404, "NOT_FOUND", M.stockNotFound]
      ]
      for (const [coupon, stock, brand, status, code, message] of rows) {
        refused(yield* associate(form, stock, [s(200)], coupon, brand), status, code, message)
      }
      // The documented key words a client tells rows apart by are in the fake's own wording.
      assert.include(M.associateStockExpired, "过期")
      assert.include(M.associateStockNotSpecific, "store_scope")
      for (const stock of [F.expiredStockId, F.endedStockId, F.deactivatedStockId, F.bundleStockId]) {
        assert.isFalse(fake.isAssociated(stock, s(200)))
      }
      assert.isTrue(fake.log.every((e) => !e.processed && e.operation === "associateStores"))
    })
  })

  it.effect("AUDITING and PAUSED stocks take stores; the ended stock does too while the clock is before its end", () => {
    const { fake, form } = fresh()
    return Effect.gen(function*() {
      for (const stock of [F.auditingStockId, F.pausedStockId, F.endedStockId]) {
        ok(yield* associate(form, stock, [s(200)]))
        assert.isTrue(fake.isAssociated(stock, s(200)), stock)
      }
      yield* TestClock.setTime(FakeWechatPay.DEFAULT_EXPIRED_END_MILLIS)
      refused(yield* associate(form, F.endedStockId, [s(201)]), 400, "INVALID_REQUEST", M.associateStockExpired)
      refused(yield* disassociate(form, F.endedStockId, [s(200)]), 400, "INVALID_REQUEST", M.stockExpired)
    })
  })
})

describe("批次取消关联门店 with the new seed options", () => {
  it.effect("a DEACTIVATED stock is refused, as the page's precondition 批次未失效或过期 says; a seeded STOPPED one is expired", () => {
    const seed = FakeWechatPay.generate({ stores: 50, stock: { state: "STOPPED" } })
    const { fake, form } = fresh({ seed })
    return Effect.gen(function*() {
      refused(yield* disassociate(form, F.deactivatedStockId, [s(0)]), 400, "INVALID_REQUEST", M.stockDeactivated)
      assert.isTrue(fake.isAssociated(F.deactivatedStockId, s(0)))
      refused(yield* disassociate(form, F.stockId, [s(0)]), 400, "INVALID_REQUEST", M.stockExpired)
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
    })
  })
})

describe("查询批次关联门店列表 (the listing)", () => {
  it.effect("pages of 20 by default, in store id order, with total_count and a token until the last page", () => {
    const { fake, form } = fresh({ seed: FakeWechatPay.generate({ stores: 300, associated: 45 }) })
    return Effect.gen(function*() {
      const first = ok(yield* listPage(form, F.stockId))
      assert.strictEqual(first["total_count"], 45)
      assert.deepStrictEqual((first["store_list"] as Array<unknown>).length, 20)
      assert.isString(first["next_page_token"])
      const all = yield* walk(form, F.stockId, undefined)
      assert.deepStrictEqual(all, Array.from({ length: 45 }, (_, i) => s(i)))
      const last = fake.log[fake.log.length - 1]!
      assert.deepStrictEqual([last.operation, last.processed, last.changedStores, last.changes], ["listAssociatedStores", true, [], []])
      assert.match(last.target, /\/associated-stores\?brand_id=120344&page_token=[\w-]+$/)
    })
  })

  it.effect("an empty stock: total_count 0, an empty store_list, no token; lastPageToken: \"empty\" sends \"\"", () =>
    Effect.gen(function*() {
      const seed = FakeWechatPay.generate({ stores: 10, associated: 0 })
      assert.deepStrictEqual(ok(yield* listPage(fresh({ seed }).form, F.stockId)), { total_count: 0, store_list: [] })
      const empty = fresh({ seed: FakeWechatPay.generate({ stores: 10 }), lastPageToken: "empty" })
      const page = ok(yield* listPage(empty.form, F.stockId, { pageSize: 10 }))
      assert.deepStrictEqual([page["total_count"], (page["store_list"] as Array<unknown>).length, page["next_page_token"]], [10, 10, ""])
    }))

  it.effect("page_size is 1 to 200; brand_id is required; a parameter given twice is refused", () => {
    const { form } = fresh()
    return Effect.gen(function*() {
      assert.strictEqual(idsOf(yield* listPage(form, F.stockId, { pageSize: 200 })).length, 200)
      assert.strictEqual(idsOf(yield* listPage(form, F.stockId, { pageSize: 1 })).length, 1)
      for (const pageSize of ["0", "201", "abc", "1.5", "-1", ""]) {
        refused(
          yield* form({ method: "GET", target: paths.list(F.productCouponId, F.stockId) + query({ brand_id: F.brandId, page_size: pageSize }) }),
          400,
          "PARAM_ERROR"
        )
      }
      refused(yield* form({ method: "GET", target: paths.list(F.productCouponId, F.stockId) }), 400, "PARAM_ERROR")
      refused(
        yield* form({ method: "GET", target: `${paths.list(F.productCouponId, F.stockId)}?brand_id=${F.brandId}&brand_id=${F.brandId}` }),
        400,
        "PARAM_ERROR"
      )
    })
  })

  it.effect("a page_token is the fake's own, for its own stock: changed by one character, made up, or another stock's, it is refused", () => {
    const { form } = fresh()
    return Effect.gen(function*() {
      const token = String(ok(yield* listPage(form, F.stockId, { pageSize: 5 }))["next_page_token"])
      ok(yield* listPage(form, F.stockId, { pageSize: 5, pageToken: token }))
      const changed = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A")
      for (const bad of [changed, "not-a-token", FakeWechatPay.encodePageToken(F.auditingStockId, s(3))]) {
        refused(yield* listPage(form, F.stockId, { pageToken: bad }), 400, "PARAM_ERROR", M.pageTokenInvalid)
      }
      // The token names the last store returned: the next page starts right after it.
      assert.deepStrictEqual(FakeWechatPay.decodePageToken(token), { stockId: F.stockId, afterStoreId: s(4) })
    })
  })

  it.effect("refusals: brand, coupon, stock, expiry, deactivation, scope; a PROGRESSIVE_BUNDLE coupon's stock is listed", () => {
    const { form } = fresh()
    return Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      refused(yield* listPage(form, F.stockId, { brandId: F.unauthorizedBrandId }), 403, "NO_AUTH", M.noAuth)
      refused(yield* listPage(form, F.otherBrandStockId, { productCouponId: F.otherBrandProductCouponId }), 404, "NOT_FOUND", M.productCouponNotFound)
      refused(yield* listPage(form, "987654321"), 404, "NOT_FOUND", M.stockNotFound)
      refused(yield* listPage(form, F.expiredStockId), 400, "INVALID_REQUEST", M.listStockExpired)
      refused(yield* listPage(form, F.endedStockId), 400, "INVALID_REQUEST", M.listStockExpired)
      refused(yield* listPage(form, F.allScopeStockId), 400, "INVALID_REQUEST", M.listStockNotSpecific)
      refused(yield* listPage(form, F.noneScopeStockId), 400, "INVALID_REQUEST", M.listStockNotSpecific)
      assert.strictEqual(ok(yield* listPage(form, F.bundleStockId, { productCouponId: F.bundleProductCouponId }))["total_count"], 10)
      refused(yield* listPage(form, F.deactivatedStockId), 400, "INVALID_REQUEST", M.listStockDeactivated)
    })
  })
})

describe("查询商品券指定批次 (the stock query)", () => {
  it.effect("the main stock: ids, scope, state, the available period in RFC 3339 (+08:00), the brand", () => {
    const { form } = fresh()
    return Effect.gen(function*() {
      assert.deepStrictEqual(ok(yield* getStock(form, F.stockId)), {
        product_coupon_id: F.productCouponId,
        stock_id: F.stockId,
        single_usage_rule: {
          coupon_available_period: {
            available_begin_time: "2025-01-01T00:00:00+08:00",
            available_end_time: "2099-12-31T23:59:59+08:00"
          }
        },
        store_scope: "SPECIFIC",
        state: "SENDING",
        brand_id: F.brandId
      })
    })
  })

  it.effect("each fixture's state and scope; a DEACTIVATED stock has its deactivation fields; nothing is refused for them", () => {
    const { fake, form } = fresh()
    return Effect.gen(function*() {
      const rows: ReadonlyArray<readonly [string, string, string, string]> = [
        [F.expiredStockId, "STOPPED", "SPECIFIC", "2025-06-30T23:59:59+08:00"],
        [F.endedStockId, "SENDING", "SPECIFIC", "2025-06-30T23:59:59+08:00"],
        [F.auditingStockId, "AUDITING", "SPECIFIC", "2099-12-31T23:59:59+08:00"],
        [F.pausedStockId, "PAUSED", "SPECIFIC", "2099-12-31T23:59:59+08:00"],
        [F.deactivatedStockId, "DEACTIVATED", "SPECIFIC", "2099-12-31T23:59:59+08:00"],
        [F.allScopeStockId, "SENDING", "ALL", "2099-12-31T23:59:59+08:00"],
        [F.noneScopeStockId, "SENDING", "NONE", "2099-12-31T23:59:59+08:00"]
      ]
      for (const [stock, state, scope, end] of rows) {
        const json = ok(yield* getStock(form, stock))
        const period = (json["single_usage_rule"] as { coupon_available_period: Record<string, string> }).coupon_available_period
        assert.deepStrictEqual([json["stock_id"], json["state"], json["store_scope"], period["available_end_time"]], [stock, state, scope, end])
        assert.strictEqual("deactivate_time" in json, state === "DEACTIVATED", stock)
      }
      const deactivated = ok(yield* getStock(form, F.deactivatedStockId))
      assert.strictEqual(deactivated["deactivate_time"], "2025-03-01T10:00:00+08:00")
      assert.isString(deactivated["deactivate_reason"])
      assert.isTrue(fake.log.every((e) => e.operation === "getStock" && e.processed && e.changedStores.length === 0))
    })
  })

  it.effect("a bundle coupon's stock: its period under progressive_bundle_usage_rule, its bundle in stock_bundle_info", () => {
    const { form } = fresh()
    return Effect.gen(function*() {
      const json = ok(yield* getStock(form, F.bundleSecondStockId, F.bundleProductCouponId))
      assert.deepStrictEqual(json["stock_bundle_info"], { stock_bundle_id: F.stockBundleId })
      assert.isUndefined(json["single_usage_rule"])
      assert.deepStrictEqual(json["progressive_bundle_usage_rule"], {
        coupon_available_period: {
          available_begin_time: "2025-01-01T00:00:00+08:00",
          available_end_time: "2099-12-31T23:59:59+08:00"
        }
      })
    })
  })

  it.effect("seeded as you like: state, scope (values a client may not know yet too), times, extra fields", () => {
    const seed = FakeWechatPay.generate({
      stores: 10,
      stocks: [{
        stockId: "555000001",
        state: "ARCHIVED_SOMEDAY",
        storeScope: "REGION",
        availableBeginMillis: Date.UTC(2026, 0, 1, 0, 0, 0),
        availableEndMillis: Date.UTC(2026, 5, 30, 12, 30, 15),
        extraFields: { remark: "seeded", sent_count_info: { total_count: 3 } }
      }]
    })
    const { form } = fresh({ seed })
    return Effect.gen(function*() {
      const json = ok(yield* getStock(form, "555000001"))
      assert.deepStrictEqual([json["state"], json["store_scope"], json["remark"], json["sent_count_info"]], [
        "ARCHIVED_SOMEDAY",
        "REGION",
        "seeded",
        { total_count: 3 }
      ])
      assert.deepStrictEqual(json["single_usage_rule"], {
        coupon_available_period: {
          available_begin_time: "2026-01-01T08:00:00+08:00",
          available_end_time: "2026-06-30T20:30:15+08:00"
        }
      })
      // A scope that is not SPECIFIC, whatever its name, is refused by the store calls.
      refused(yield* associate(form, "555000001", [s(0)]), 400, "INVALID_REQUEST", M.associateStockNotSpecific)
    })
  })

  it.effect("extra fields JSON cannot carry make the stock query a signed 500, never a throw", () => {
    const seed = FakeWechatPay.generate({ stores: 10, stock: { extraFields: { huge: 10n } } })
    const { fake, form } = fresh({ seed })
    return Effect.gen(function*() {
      refused(yield* getStock(form, F.stockId), 500, "SYSTEM_ERROR", M.systemError)
      ok(yield* listPage(form, F.stockId))
      assert.deepStrictEqual(fake.log.map((e) => e.status), [500, 200])
    })
  })

  it.effect("refusals: brand_id missing, an unauthorized brand, another brand's coupon, an unknown stock", () => {
    const { form } = fresh()
    return Effect.gen(function*() {
      refused(yield* form({ method: "GET", target: paths.stock(F.productCouponId, F.stockId) }), 400, "PARAM_ERROR")
      refused(yield* getStock(form, F.stockId, F.productCouponId, F.unauthorizedBrandId), 403, "NO_AUTH", M.noAuth)
      refused(yield* getStock(form, F.otherBrandStockId, F.otherBrandProductCouponId), 404, "NOT_FOUND", M.productCouponNotFound)
      refused(yield* getStock(form, "987654321"), 404, "NOT_FOUND", M.stockNotFound)
      refused(yield* form({ method: "POST", target: paths.stock(F.productCouponId, F.stockId), body: "{}" }), 404, "NOT_FOUND", M.resourceNotFound)
    })
  })
})

describe("批次组关联门店 / 批次组取消关联门店 (the stock-bundle calls)", () => {
  it.effect("apply to every stock of the bundle; the log tells which stores changed with which stock", () => {
    const { fake, form } = fresh()
    return Effect.gen(function*() {
      assert.deepStrictEqual(fake.bundleStockIds(F.stockBundleId), [F.bundleStockId, F.bundleSecondStockId])
      // Store 10 is new to both; store 0 is in both already; another brand's fails.
      const there = ok(yield* bundleAssociate(form, [s(10), s(0), o(1)]))
      assert.deepStrictEqual(there, {
        total_count: 3,
        success_store_list: [{ store_id: s(10) }, { store_id: s(0) }],
        failed_store_list: [{ store_id: o(1), code: "INVALID_REQUEST", message: M.storeInvalid }]
      })
      for (const stock of [F.bundleStockId, F.bundleSecondStockId]) assert.isTrue(fake.isAssociated(stock, s(10)))
      assert.deepStrictEqual(fake.log[0]!.changes, [
        { stockId: F.bundleStockId, storeIds: [s(10)] },
        { stockId: F.bundleSecondStockId, storeIds: [s(10)] }
      ])
      assert.deepStrictEqual(
        [fake.log[0]!.operation, fake.log[0]!.stockBundleId, fake.log[0]!.stockId, fake.log[0]!.changedStores],
        ["associateStockBundleStores", F.stockBundleId, undefined, [s(10)]]
      )
      ok(yield* bundleDisassociate(form, [s(10), s(1)]))
      for (const stock of [F.bundleStockId, F.bundleSecondStockId]) {
        assert.isFalse(fake.isAssociated(stock, s(10)))
        assert.isFalse(fake.isAssociated(stock, s(1)))
        assert.strictEqual(fake.associatedCount(stock), 9)
      }
      assert.strictEqual(fake.log[1]!.operation, "disassociateStockBundleStores")
    })
  })

  it.effect("a store in only one stock of the bundle: changed there, a success; notAssociated: \"failed\" fails only one in none", () => {
    const seed: FakeWechatPay.Seed = {
      brands: [{ brandId: F.brandId, storeIds: [s(0), s(1), s(2)] }],
      productCoupons: [{
        productCouponId: F.bundleProductCouponId,
        brandId: F.brandId,
        usageMode: "PROGRESSIVE_BUNDLE",
        stocks: [
          { stockId: "A", stockBundleId: "B1", associatedStoreIds: [s(0)] },
          { stockId: "C", stockBundleId: "B1", associatedStoreIds: [] }
        ]
      }]
    }
    const { fake, form } = fresh({ seed, notAssociated: "failed" })
    return Effect.gen(function*() {
      assert.deepStrictEqual(ok(yield* bundleDisassociate(form, [s(0), s(1)], "B1")), {
        total_count: 2,
        success_store_list: [{ store_id: s(0) }],
        failed_store_list: [{ store_id: s(1), code: "INVALID_REQUEST", message: M.storeNotAssociated }]
      })
      assert.deepStrictEqual(fake.log[0]!.changes, [{ stockId: "A", storeIds: [s(0)] }, { stockId: "C", storeIds: [] }])
    })
  })

  it.effect("one refused stock refuses the whole call, and nothing changes in any stock of the bundle", () => {
    const seed: FakeWechatPay.Seed = {
      brands: [{ brandId: F.brandId, storeIds: [s(0), s(1)] }],
      productCoupons: [{
        productCouponId: F.bundleProductCouponId,
        brandId: F.brandId,
        usageMode: "PROGRESSIVE_BUNDLE",
        stocks: [
          { stockId: "OK1", stockBundleId: "EXP", associatedStoreIds: [s(0)] },
          { stockId: "OLD", stockBundleId: "EXP", expired: true, associatedStoreIds: [s(0)] },
          { stockId: "OK2", stockBundleId: "ALL", associatedStoreIds: [s(0)] },
          { stockId: "WIDE", stockBundleId: "ALL", storeScope: "ALL" },
          { stockId: "OK3", stockBundleId: "OFF", associatedStoreIds: [s(0)] },
          { stockId: "GONE", stockBundleId: "OFF", state: "DEACTIVATED", associatedStoreIds: [s(0)] }
        ]
      }]
    }
    const { fake, form } = fresh({ seed })
    return Effect.gen(function*() {
      refused(yield* bundleAssociate(form, [s(1)], "EXP"), 400, "INVALID_REQUEST", M.associateStockExpired)
      refused(yield* bundleDisassociate(form, [s(0)], "EXP"), 400, "INVALID_REQUEST", M.stockExpired)
      refused(yield* bundleAssociate(form, [s(1)], "ALL"), 400, "INVALID_REQUEST", M.associateStockNotSpecific)
      refused(yield* bundleDisassociate(form, [s(0)], "ALL"), 400, "INVALID_REQUEST", M.stockNotSpecific)
      refused(yield* bundleAssociate(form, [s(1)], "OFF"), 400, "INVALID_REQUEST", M.associateStockDeactivated)
      for (const stock of ["OK1", "OLD", "OK2", "OK3", "GONE"]) {
        assert.isTrue(fake.isAssociated(stock, s(0)), stock)
        assert.isFalse(fake.isAssociated(stock, s(1)), stock)
      }
      // Disassociation is refused too (批次组内批次未失效或过期), for the whole bundle.
      refused(yield* bundleDisassociate(form, [s(0)], "OFF"), 400, "INVALID_REQUEST", M.stockDeactivated)
      assert.isTrue(fake.isAssociated("GONE", s(0)))
      assert.isTrue(fake.isAssociated("OK3", s(0)))
    })
  })

  it.effect("refusals: an unknown bundle, another coupon's bundle, brand, coupon, body", () => {
    const { fake, form } = fresh()
    return Effect.gen(function*() {
      refused(yield* bundleAssociate(form, [s(0)], "999999999"), 404, "NOT_FOUND", M.stockBundleNotFound)
      refused(yield* bundleAssociate(form, [s(0)], F.stockBundleId, F.productCouponId), 404, "NOT_FOUND", M.stockBundleNotFound)
      refused(yield* bundleAssociate(form, [s(0)], F.stockBundleId, F.bundleProductCouponId, F.unauthorizedBrandId), 403, "NO_AUTH")
      refused(yield* bundleAssociate(form, [s(0)], F.stockBundleId, F.otherBrandProductCouponId), 404, "NOT_FOUND", M.productCouponNotFound)
      refused(yield* bundleAssociate(form, Array.from({ length: 201 }, (_, i) => s(i))), 400, "PARAM_ERROR", "单次最多可批量关联200个门店")
      refused(yield* bundleDisassociate(form, Array.from({ length: 201 }, (_, i) => s(i))), 400, "PARAM_ERROR", "单次最多可批量取消200个门店")
      refused(yield* form({ method: "GET", target: paths.bundleAssociate(F.bundleProductCouponId, F.stockBundleId) }), 404, "NOT_FOUND", M.resourceNotFound)
      assert.strictEqual(fake.associatedCount(F.bundleStockId), 10)
    })
  })
})

describe("one rate limit for the whole sandbox", () => {
  it.effect("20 requests in one second to any mix of endpoints pass; the 21st, to any of them, is 429; a second later it passes", () => {
    const { fake, form } = fresh({ rateLimit: 20 })
    return Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const calls = [
        () => associate(form, F.stockId, [s(0)]),
        () => disassociate(form, F.stockId, [s(1)]),
        () => listPage(form, F.stockId),
        () => getStock(form, F.stockId),
        () => bundleAssociate(form, [s(20)]),
        () => bundleDisassociate(form, [s(20)])
      ]
      for (let i = 0; i < 20; i++) ok(yield* calls[i % calls.length]!())
      // A refused signature is not counted (only authenticated requests are).
      refused(yield* form({ method: "GET", target: listTarget(F.stockId), signedTarget: listTarget(F.stockId, { pageSize: 2 }) }), 401, "SIGN_ERROR")
      for (const call of calls) refused(yield* call(), 429, "RATELIMIT_EXCEEDED", M.rateLimited)
      assert.deepStrictEqual(
        fake.log.slice(-6).map((e) => [e.operation, e.status, e.processed]),
        [
          ["associateStores", 429, false],
          ["disassociateStores", 429, false],
          ["listAssociatedStores", 429, false],
          ["getStock", 429, false],
          ["associateStockBundleStores", 429, false],
          ["disassociateStockBundleStores", 429, false]
        ]
      )
      yield* TestClock.adjust("1 second")
      ok(yield* getStock(form, F.stockId))
    })
  })
})

describe("faults strike the new endpoints like the old one", () => {
  it.effect("a reset after applying: the stores are associated though no answer came; a wrong signature on a page does not verify", () => {
    const { fake, form } = fresh({ faults: { script: ["connectionResetAfterApply", "wrongSignature", "rateLimit"] } })
    return Effect.gen(function*() {
      const lost = yield* Effect.flip(associate(form, F.stockId, [s(250)]))
      assert.include(lost.message, "ECONNRESET")
      assert.isTrue(fake.isAssociated(F.stockId, s(250)))
      const page = yield* listPage(form, F.stockId)
      assert.strictEqual(page.status, 200)
      assert.isFalse(page.verified)
      refused(yield* getStock(form, F.stockId), 429, "RATELIMIT_EXCEEDED")
      assert.deepStrictEqual(fake.log.map((e) => [e.operation, e.fault, e.processed]), [
        ["associateStores", "connectionResetAfterApply", true],
        ["listAssociatedStores", "wrongSignature", true],
        ["getStock", "rateLimit", false]
      ])
    })
  })
})

describe("a GET's signature covers its query string exactly as sent", () => {
  const signedOver = (target: string) => ({ method: "GET" as const, target, signedTarget: target })
  const tampered: ReadonlyArray<readonly [string, string, string]> = [
    ["page_size one digit off", listTarget(F.stockId, { pageSize: 21 }), listTarget(F.stockId, { pageSize: 20 })],
    ["brand_id one digit off", listTarget(F.stockId, { brandId: "120345" }), listTarget(F.stockId)],
    ["parameters in another order", `${paths.list(F.productCouponId, F.stockId)}?page_size=5&brand_id=${F.brandId}`, listTarget(F.stockId, { pageSize: 5 })],
    ["the query left out of the signature", listTarget(F.stockId), paths.list(F.productCouponId, F.stockId)],
    ["a lone '?' signed, none sent", paths.stock(F.productCouponId, F.stockId), `${paths.stock(F.productCouponId, F.stockId)}?`],
    ["a lone '?' sent, none signed", `${paths.stock(F.productCouponId, F.stockId)}?`, paths.stock(F.productCouponId, F.stockId)],
    ["the stock query's brand_id", paths.stock(F.productCouponId, F.stockId) + query({ brand_id: "120354" }), paths.stock(F.productCouponId, F.stockId) + query({ brand_id: F.brandId })]
  ]
  for (const [name, sent, signed] of tampered) {
    it.effect(`${name}: 401 SIGN_ERROR, unsigned, nothing processed`, () => {
      const { fake, form } = fresh()
      return Effect.gen(function*() {
        assert.notStrictEqual(sent, signed)
        refused(yield* form({ method: "GET", target: sent, signedTarget: signed }), 401, "SIGN_ERROR", "签名错误，请检查后再试")
        assert.deepStrictEqual(fake.log.map((e) => [e.status, e.processed, e.target]), [[401, false, sent]])
        // The control: the very same target, signed as sent, is accepted (or refused for another reason than the signature).
        const control = yield* form(signedOver(sent))
        assert.notStrictEqual(control.status, 401)
        assert.isTrue(control.verified)
      })
    })
  }

  it.effect("a page_token is signed like the rest of the query: one character off in the signature is refused", () => {
    const { form } = fresh()
    return Effect.gen(function*() {
      const token = String(ok(yield* listPage(form, F.stockId, { pageSize: 3 }))["next_page_token"])
      const sent = listTarget(F.stockId, { pageSize: 3, pageToken: token })
      const signed = listTarget(F.stockId, { pageSize: 3, pageToken: `${token.slice(0, -1)}${token.endsWith("x") ? "y" : "x"}` })
      refused(yield* form({ method: "GET", target: sent, signedTarget: signed }), 401, "SIGN_ERROR")
      assert.deepStrictEqual(idsOf(yield* form(signedOver(sent))), [s(3), s(4), s(5)])
    })
  })

  it.effect("this library's client signs the listing's GET (query included) so that the fake accepts it, and verifies the answer", () => {
    const { fake, layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 30 }), rateLimit: false })
    return Effect.gen(function*() {
      const client = yield* WechatPayClient.WechatPayClient
      const response = yield* client.execute(HttpClientRequest.get(PRIMARY + listTarget(F.stockId, { pageSize: 7 })))
      const json = JSON.parse(new TextDecoder().decode(response.body)) as Record<string, unknown>
      assert.deepStrictEqual([json["total_count"], (json["store_list"] as Array<unknown>).length], [30, 7])
      assert.deepStrictEqual(fake.log.map((e) => [e.operation, e.status, e.target]), [
        ["listAssociatedStores", 200, listTarget(F.stockId, { pageSize: 7 })]
      ])
    }).pipe(Effect.provide(layer))
  })
})
