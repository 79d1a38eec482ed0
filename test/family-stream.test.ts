// associatedStores: the listing as a Stream of store ids that follows next_page_token, each page
// one call through the core (signed and checked, rate limited, retried), failing with a page's
// typed error. The server here pages a fixed list by an offset cursor of its own.
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Layer, Stream, TestClock } from "effect"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { baseOptions } from "./support/Keys.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { NOW } from "./support/Time.js"

const T0 = NOW * 1000
const stock = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" }
const LIST_PATH = "/v3/marketing/partner/product-coupon/product-coupons/200000001/stocks/123456789/associated-stores"

const storeIds = (n: number) => Array.from({ length: n }, (_, i) => `S${String(i).padStart(6, "0")}`)

const reply = (status: number, body: unknown): RecordingHttpClient.Reply => ({
  status,
  headers: { "content-type": "application/json", "request-id": `REQ-${status}` },
  body: JSON.stringify(body),
  sign: "arrival"
})

/**
 * Pages `ids` as WeChat Pay does: `page_size` (default 20) from the cursor in `page_token`.
 * The last page ends with `last` ("" or no token at all). `override` may answer a request instead.
 */
const pager = (
  ids: ReadonlyArray<string>,
  last: "empty" | "absent" = "empty",
  override?: (request: RecordingHttpClient.Recorded, index: number) => RecordingHttpClient.Step | undefined
): RecordingHttpClient.Script =>
(request, index) => {
  if (request.rejection !== undefined) return { status: 599, body: "refused by the server-side check" }
  const overridden = override?.(request, index)
  if (overridden !== undefined) return overridden
  const size = Number(request.url.searchParams.get("page_size") ?? "20")
  const token = request.url.searchParams.get("page_token")
  const from = token === null ? 0 : Number(token.slice("after:".length))
  const page = ids.slice(from, from + size)
  const next = from + size < ids.length ? `after:${from + size}` : undefined
  return reply(200, {
    total_count: ids.length,
    store_list: page.map((store_id) => ({ store_id })),
    ...(next !== undefined ? { next_page_token: next } : last === "empty" ? { next_page_token: "" } : {})
  })
}

const service = (
  script: RecordingHttpClient.Script,
  requests: Array<RecordingHttpClient.Recorded>,
  options: ProductCouponStores.Options = { rateLimit: false, retry: false }
) =>
  ProductCouponStores.layerMerchant(baseOptions, options).pipe(
    Layer.provide(RecordingHttpClient.make(script, { requests, check: true }).layer)
  )

/** Runs the walk, collecting what it emitted before it ended, and how it ended. */
const walk = (stores: ProductCouponStores.Service, input: ProductCouponStores.AssociatedStoresInput) => {
  const seen: Array<string> = []
  return Effect.map(
    Effect.either(Stream.runForEach(stores.associatedStores(input), (id) => Effect.sync(() => seen.push(id)))),
    (end) => ({ seen, end })
  )
}

const queryOf = (r: RecordingHttpClient.Recorded) => Object.fromEntries(r.url.searchParams)

describe("associatedStores follows the cursor", () => {
  for (const last of ["empty", "absent"] as const) {
    it.effect(`450 stores in three pages of 200, ending at a ${last} next_page_token`, () => {
      const requests: Array<RecordingHttpClient.Recorded> = []
      const ids = storeIds(450)
      return Effect.gen(function*() {
        yield* TestClock.setTime(T0)
        const stores = yield* ProductCouponStores.ProductCouponStores
        const { end, seen } = yield* walk(stores, stock)
        assert.isTrue(Either.isRight(end))
        assert.deepStrictEqual(seen, ids)
        assert.deepStrictEqual(requests.map(queryOf), [
          { brand_id: "120344", page_size: "200" },
          { brand_id: "120344", page_size: "200", page_token: "after:200" },
          { brand_id: "120344", page_size: "200", page_token: "after:400" }
        ])
        for (const r of requests) {
          assert.strictEqual(r.method, "GET")
          assert.strictEqual(r.url.pathname, LIST_PATH)
          assert.isUndefined(r.rejection)
        }
      }).pipe(Effect.provide(service(pager(ids, last), requests)))
    })
  }

  it.effect("a page size of its own, a walk resumed from a token, and an empty stock", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const ids = storeIds(20)
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const small = yield* walk(stores, { ...stock, pageSize: 7 })
      assert.deepStrictEqual(small.seen, ids)
      assert.deepStrictEqual(requests.map((r) => r.url.searchParams.get("page_token")), [null, "after:7", "after:14"])
      assert.isTrue(requests.every((r) => r.url.searchParams.get("page_size") === "7"))
      const resumed = yield* walk(stores, { ...stock, pageSize: 7, pageToken: "after:14" })
      assert.deepStrictEqual(resumed.seen, ids.slice(14))
      assert.strictEqual(requests.length, 4)
    }).pipe(Effect.provide(service(pager(ids), requests)))
  })

  it.effect("no stores: one call, nothing emitted", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const { end, seen } = yield* walk(stores, stock)
      assert.isTrue(Either.isRight(end))
      assert.deepStrictEqual(seen, [])
      assert.strictEqual(requests.length, 1)
    }).pipe(Effect.provide(service(pager([], "absent"), requests)))
  })

  it.effect("nothing is sent until the stream runs, and each run walks again", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const ids = storeIds(3)
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const stream = stores.associatedStores({ ...stock, pageSize: 2 })
      assert.strictEqual(requests.length, 0)
      assert.deepStrictEqual<ReadonlyArray<string>>(Chunk.toReadonlyArray(yield* Stream.runCollect(stream)), ids)
      assert.deepStrictEqual<ReadonlyArray<string>>(Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(stream, 1))), ids.slice(0, 1))
      // Two pages for the whole walk, then one for a walk that stopped after its first id.
      assert.strictEqual(requests.length, 3)
    }).pipe(Effect.provide(service(pager(ids), requests)))
  })
})

describe("a page's failure ends the stream with that page's typed error", () => {
  it.effect("a 404 on the second page: the first page's ids were emitted, then StockNotFoundError", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const ids = storeIds(5)
    const notFound = reply(404, { code: "NOT_FOUND", message: "未找到 stock_id 对应的商品券批次" })
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const { end, seen } = yield* walk(stores, { ...stock, pageSize: 2 })
      assert.deepStrictEqual(seen, ids.slice(0, 2))
      assert.isTrue(Either.isLeft(end))
      if (Either.isLeft(end)) {
        assert.strictEqual(end.left._tag, "StockNotFoundError")
        assert.strictEqual(end.left.behaviour.retry, "never")
      }
      assert.strictEqual(requests.length, 2)
    }).pipe(Effect.provide(service(pager(ids, "empty", (_, i) => i === 1 ? notFound : undefined), requests)))
  })

  it.effect("a bad page size is a RequestValidationError before anything is sent", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const stores = yield* ProductCouponStores.ProductCouponStores
      const { end } = yield* walk(stores, { ...stock, pageSize: 201 })
      assert.isTrue(Either.isLeft(end) && end.left._tag === "RequestValidationError")
      assert.strictEqual(requests.length, 0)
    }).pipe(Effect.provide(service(pager([]), requests)))
  })

  /** A walk of `ids` two a page with `override` answering some pages: it ends with a ResponseDecodeError after `seen` stores and `pages` requests. */
  const endsInError = (
    ids: ReadonlyArray<string>,
    override: (r: RecordingHttpClient.Recorded) => RecordingHttpClient.Step | undefined,
    expected: { readonly seen: number; readonly pages: number }
  ) => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const { end, seen } = yield* walk(stores, { ...stock, pageSize: 2 })
      assert.deepStrictEqual(seen, ids.slice(0, expected.seen))
      assert.isTrue(Either.isLeft(end) && end.left._tag === "ResponseDecodeError")
      assert.strictEqual(requests.length, expected.pages)
    }).pipe(Effect.provide(service(pager(ids, "empty", override), requests)))
  }

  it.effect("a token the walk already followed ends it with a ResponseDecodeError instead of looping", () => {
    const ids = storeIds(6)
    // The third page points back at the second.
    const loop = (r: RecordingHttpClient.Recorded) =>
      r.url.searchParams.get("page_token") === "after:4"
        ? reply(200, { total_count: 6, store_list: [{ store_id: ids[4] }], next_page_token: "after:2" })
        : undefined
    return endsInError(ids, loop, { seen: 5, pages: 3 })
  })

  it.effect("fresh tokens whose pages bring nothing new end the walk after three pages, each store emitted once", () => {
    const ids = storeIds(4)
    // From the third page on: the same store again, with a new token every time, for ever.
    let n = 0
    const endless = (r: RecordingHttpClient.Recorded) => {
      const token = r.url.searchParams.get("page_token") ?? ""
      return token === "after:2" || token.startsWith("again:")
        ? reply(200, { total_count: 4, store_list: [{ store_id: ids[1] }], next_page_token: `again:${n++}` })
        : undefined
    }
    // The first page, then three that brought nothing new.
    return endsInError(ids, endless, { seen: 2, pages: 4 })
  })
})

describe("a listing cut short", () => {
  it.effect("a walk that ends short of total_count ends with a ResponseDecodeError after its stores, not as the whole stock", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const ids = storeIds(6)
    // The second page has no next_page_token, though the stock has 6 stores.
    const cut = (r: RecordingHttpClient.Recorded) =>
      r.url.searchParams.get("page_token") === "after:2"
        ? reply(200, { total_count: 6, store_list: ids.slice(2, 4).map((store_id) => ({ store_id })) })
        : undefined
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const { end, seen } = yield* walk(stores, { ...stock, pageSize: 2 })
      assert.deepStrictEqual(seen, ids.slice(0, 4))
      assert.isTrue(Either.isLeft(end) && end.left._tag === "ResponseDecodeError")
      assert.include((end as Either.Left<{ message: string }, void>).left.message, "ended after 4 store(s) where its total_count says 6")
      assert.strictEqual(requests.length, 2)
    }).pipe(Effect.provide(service(pager(ids, "empty", cut), requests)))
  })

  it.effect("a walk resumed from a token has not seen the first pages: it ends normally", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const ids = storeIds(6)
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const { end, seen } = yield* walk(stores, { ...stock, pageSize: 2, pageToken: "after:2" })
      assert.deepStrictEqual(seen, ids.slice(2))
      assert.isTrue(Either.isRight(end))
    }).pipe(Effect.provide(service(pager(ids), requests)))
  })
})

describe("each page is one call through the core", () => {
  it.effect("a 429 on the second page is retried after its back-off, and pages take permits 50 ms apart", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const ids = storeIds(6)
    const busy = reply(429, { code: "RATELIMIT_EXCEEDED", message: "请求超过接口频率限制" })
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const fiber = yield* Effect.fork(walk(stores, { ...stock, pageSize: 2 }))
      yield* TestClock.adjust("10 seconds")
      const { end, seen } = yield* Fiber.join(fiber)
      assert.isTrue(Either.isRight(end))
      assert.deepStrictEqual(seen, ids)
      // Page 1 at 0; page 2 at 50 (its permit) answered 429, again after 500 ms; page 3 one permit later.
      assert.deepStrictEqual(requests.map((r) => r.atMillis - T0), [0, 50, 550, 600])
      assert.deepStrictEqual(requests.map((r) => r.url.searchParams.get("page_token")), [null, "after:2", "after:2", "after:4"])
      assert.strictEqual(new Set(requests.map((r) => r.headers["authorization"])).size, 4)
    }).pipe(Effect.provide(service(pager(ids, "empty", (_, i) => i === 1 ? busy : undefined), requests, { retry: { jitter: 0 } })))
  })
})
