// The README's example of the family's endpoints ("The stock, its associated stores, and the
// bundles") is the code between the markers below, byte for byte (the last test checks it), and it
// runs here against the recording client, which checks each request's signature as WeChat Pay would.
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream, TestClock } from "effect"
import * as Fs from "node:fs"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { baseOptions } from "./support/Keys.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { NOW } from "./support/Time.js"

// README example: begin
const ids = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" }

const review = Effect.gen(function*() {
  const stores = yield* ProductCouponStores.ProductCouponStores
  // 查询商品券指定批次: state, store scope, the available period and the deactivation fields, in camelCase.
  const stock = yield* stores.getStock(ids)
  if (stock.storeScope !== "SPECIFIC" || stock.state === "STOPPED" || stock.state === "DEACTIVATED") {
    return yield* Effect.logWarning(`stock ${stock.stockId}: ${stock.state}, scope ${stock.storeScope}`)
  }
  const ends = stock.singleUsageRule?.couponAvailablePeriod?.availableEndTime // RFC 3339, as sent
  // Every associated store: the listing followed from next_page_token to next_page_token, 200 a page.
  const associated = yield* Stream.runCollect(stores.associatedStores(ids))
  // Or one page at a time, keeping the cursor yourself (page_size 1–200, WeChat Pay's default 20): the next
  // page is listAssociatedStores({ ...ids, pageSize: 50, pageToken: page.nextPageToken }), until it is absent.
  const page = yield* stores.listAssociatedStores({ ...ids, pageSize: 50 })
  // 批次组关联门店: the same body and answer as associateStores, for every stock of the bundle.
  yield* stores.associateStockBundleStores({
    productCouponId: ids.productCouponId, stockBundleId: "300000001", brandId: ids.brandId,
    storeList: [{ storeId: "100000001" }]
  })
  return { ends, associated, firstPage: page.storeList }
})
// README example: end

const reply = (body: unknown): RecordingHttpClient.Reply => ({
  status: 200,
  headers: { "content-type": "application/json", "request-id": "REQ" },
  body: JSON.stringify(body),
  sign: "arrival"
})

const answer = (scope: string): RecordingHttpClient.Script => (request) => {
  if (request.rejection !== undefined) return { status: 599, body: "refused by the server-side check" }
  if (request.method === "POST") return reply({ total_count: 1, success_store_list: [{ store_id: "100000001" }] })
  if (request.url.pathname.endsWith("/associated-stores")) {
    return request.url.searchParams.get("page_token") === null
      ? reply({ total_count: 3, store_list: [{ store_id: "A" }, { store_id: "B" }], next_page_token: "2" })
      : reply({ total_count: 3, store_list: [{ store_id: "C" }] })
  }
  return reply({
    product_coupon_id: ids.productCouponId,
    stock_id: ids.stockId,
    state: "SENDING",
    store_scope: scope,
    single_usage_rule: { coupon_available_period: { available_end_time: "2025-12-31T23:59:59+08:00" } }
  })
}

const run = (scope: string) => {
  const requests: Array<RecordingHttpClient.Recorded> = []
  return Effect.gen(function*() {
    yield* TestClock.setTime(NOW * 1000)
    const result = yield* review
    return { result, requests }
  }).pipe(
    Effect.provide(
      ProductCouponStores.layerMerchant(baseOptions, { rateLimit: false, retry: false }).pipe(
        Layer.provide(RecordingHttpClient.make(answer(scope), { requests, check: true }).layer)
      )
    )
  )
}

describe("README: the stock, its associated stores, and the bundles", () => {
  it.effect("a SPECIFIC stock: its end time, every associated store, a first page, and a bundle associated", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* run("SPECIFIC")
      assert.isDefined(result)
      assert.strictEqual(result!.ends, "2025-12-31T23:59:59+08:00")
      assert.deepStrictEqual(Chunk.toReadonlyArray(result!.associated) as ReadonlyArray<string>, ["A", "B", "C"])
      assert.deepStrictEqual(result!.firstPage.map((s) => s.storeId) as ReadonlyArray<string>, ["A", "B"])
      assert.deepStrictEqual(requests.map((r) => r.method), ["GET", "GET", "GET", "GET", "POST"])
      assert.include(requests[4]!.url.pathname, "/stock-bundles/300000001/associate-stores")
      for (const r of requests) assert.isUndefined(r.rejection)
    }))

  it.effect("a stock of another scope stops after the query", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* run("ALL")
      assert.isUndefined(result)
      assert.strictEqual(requests.length, 1)
    }))

  it("the README's code block is this file's example, byte for byte", () => {
    const readme = Fs.readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const source = Fs.readFileSync(new URL(import.meta.url), "utf8")
    const example = /\/\/ README example: begin\n([\s\S]*?)\/\/ README example: end/.exec(source)![1]!
    const heading = "The stock, its associated stores, and the bundles:\n\n```ts\n"
    const at = readme.indexOf(heading)
    assert.isAbove(at, -1, "the README lost the example's heading")
    const block = readme.slice(at + heading.length, readme.indexOf("```\n", at + heading.length))
    assert.strictEqual(block, example)
  })
})
