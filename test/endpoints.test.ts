// The endpoints added as declarations (associate, the associated-stores listing) run through the
// same core as disassociate: signed as sent (a GET's query included), checked by the server-side
// protocol, decoded by their Schemas, typed by their error tables.
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, FastCheck, Layer, Schema } from "effect"
import * as Call from "../packages/effect-wechatpay/src/internal/Call.js"
import * as Endpoint from "../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import { ProductCoupon, ProductCouponStores, WechatPayClient, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import { clientLayer } from "./support/Clients.js"
import { baseOptions } from "./support/Keys.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"

const ids = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" }
const stockPath = `/v3/marketing/partner/product-coupon/product-coupons/${ids.productCouponId}/stocks/${ids.stockId}`

// The recording fake judges every request as WeChat Pay would (signature over method, target and body).
const service = (script: RecordingHttpClient.Script, requests: Array<RecordingHttpClient.Recorded>) =>
  ProductCouponStores.layer({ retry: false, rateLimit: false }).pipe(
    Layer.provideMerge(WechatPayClient.layer(baseOptions)),
    Layer.provide(RecordingHttpClient.make(script, { requests, check: true }).layer)
  )

const json = (body: unknown): RecordingHttpClient.Reply => ({
  status: 200,
  headers: { "content-type": "application/json", "request-id": "REQ-1" },
  body: JSON.stringify(body),
  sign: "arrival"
})

// Answers only requests the server-side check accepted; anything else fails the test by its status.
const checked = (reply: RecordingHttpClient.Reply): RecordingHttpClient.Script => (request) =>
  request.rejection === undefined ? reply : { status: 599, body: JSON.stringify(request.rejection) }

describe("every declared endpoint compiles", () => {
  it("each path placeholder has a request field, and each declaration has an error table", () => {
    const declared: ReadonlyArray<Endpoint.Endpoint<any, any, any>> = Object.values(endpoints)
    assert.isAtLeast(declared.length, 3)
    for (const endpoint of declared) {
      const placeholders = [...endpoint.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!)
      assert.isAbove(placeholders.length, 0, endpoint.name)
      const fields = endpoint.pathParams as Readonly<Record<string, string>>
      for (const name of placeholders) assert.isString(fields[name], `${endpoint.name}: {${name}}`)
      assert.isTrue(endpoint.path.startsWith("/v3/"), endpoint.name)
      assert.isAbove(endpoint.errors.length, 0, endpoint.name)
      assert.strictEqual(Endpoint.compile(endpoint).endpoint, endpoint)
    }
  })
})

describe("the trusted encoding of a validated request", () => {
  // prepareValidated skips the body's checks because validate just ran them: on every valid
  // request it must send exactly what Schema.encode would.
  const id = FastCheck.stringMatching(/^[0-9A-Za-z_-]{1,12}$/)
  const input = FastCheck.record({
    productCouponId: id,
    stockId: id,
    brandId: id,
    storeList: FastCheck.array(FastCheck.record({ storeId: id }), { minLength: 1, maxLength: 200 })
  })
  const bodyOf = (request: Either.Either<{ readonly body: unknown }, unknown>) => {
    const body = Either.getOrThrow(request).body as { readonly _tag: string; readonly body: Uint8Array }
    return new TextDecoder().decode(body.body)
  }
  for (const endpoint of [endpoints.disassociateStores, endpoints.associateStores]) {
    it(`${endpoint.name}: the same bytes as Schema.encode, with or without the checks`, () => {
      const compiled = Endpoint.compile(endpoint)
      FastCheck.assert(FastCheck.property(input, (raw) => {
        const valid = Either.getOrThrow(compiled.validate(raw))
        const expected = JSON.stringify(Either.getOrThrow(Schema.encodeEither(ProductCoupon.RequestBody)(valid)))
        assert.strictEqual(bodyOf(compiled.prepareValidated(valid)), expected)
        assert.strictEqual(bodyOf(compiled.prepare(valid)), expected)
      }), { numRuns: 200 })
    })
  }
})

describe("associateStores: a declaration on the shared core", () => {
  it.effect("POSTs the stores to associate-stores, signed over those bytes, and reads the answer", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const answer = { total_count: 2, success_store_list: [{ store_id: "100000001" }], failed_store_list: [{ store_id: "100000002", code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }] }
    return Effect.gen(function*() {
      const stores = yield* ProductCouponStores.ProductCouponStores
      const result = yield* stores.associateStores({ ...ids, storeList: [{ storeId: "100000001" }, { storeId: "100000002" }] })
      assert.strictEqual(requests.length, 1)
      const sent = requests[0]!
      assert.strictEqual(sent.method, "POST")
      assert.strictEqual(sent.url.pathname, `${stockPath}/associate-stores`)
      assert.strictEqual(sent.url.search, "")
      assert.isUndefined(sent.rejection)
      assert.deepStrictEqual(JSON.parse(sent.bodyText), {
        store_list: [{ store_id: "100000001" }, { store_id: "100000002" }],
        brand_id: ids.brandId
      })
      assert.deepStrictEqual(result, {
        totalCount: 2,
        successStoreList: [{ storeId: "100000001" }],
        failedStoreList: [{ storeId: "100000002", code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }],
        requestId: "REQ-1"
      } as unknown as typeof result)
    }).pipe(Effect.provide(service(checked(json(answer)), requests)))
  })

  it.effect("its table is disassociate's: the expired-stock sub-case and the 404 of its stock are typed", () =>
    Effect.gen(function*() {
      let sent = 0
      const answers = [
        { status: 429, body: { code: "RATELIMIT_EXCEEDED", message: "请求超过接口频率限制" } },
        { status: 400, body: { code: "INVALID_REQUEST", message: "已过期的批次不可关联门店" } },
        { status: 404, body: { code: "NOT_FOUND", message: "未找到 stock_id 对应的商品券批次" } }
      ]
      const tags: Array<string> = []
      for (const a of answers) {
        const requests: Array<RecordingHttpClient.Recorded> = []
        const error = yield* Effect.flip(
          Effect.flatMap(ProductCouponStores.ProductCouponStores, (s) =>
            s.associateStores({ ...ids, storeList: [{ storeId: "100000001" }] })).pipe(
              Effect.provide(service([{ status: a.status, headers: { "content-type": "application/json" }, body: JSON.stringify(a.body), sign: "arrival" }], requests))
            )
        )
        assert.isTrue(WechatPayError.isWechatPayError(error))
        tags.push(error._tag)
        sent += requests.length
      }
      // Its page's table was not found: disassociate's rows, sub-cases included, stand for it.
      assert.deepStrictEqual(tags, ["RateLimitExceededError", "StockExpiredError", "StockNotFoundError"])
      assert.strictEqual(sent, 3)
    }))

  it.effect("validates like disassociate: 201 stores is refused before anything is sent", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const stores = yield* ProductCouponStores.ProductCouponStores
      const storeList = Array.from({ length: 201 }, (_, i) => ({ storeId: String(100000001 + i) }))
      const error = yield* Effect.flip(stores.associateStores({ ...ids, storeList }))
      assert.strictEqual(error._tag, "RequestValidationError")
      assert.strictEqual(requests.length, 0)
    }).pipe(Effect.provide(service([], requests)))
  })
})

describe("listAssociatedStores: a GET whose query is signed as sent", () => {
  it.effect("sends brand_id, page_size and page_token in the query, accepted by the server-side signature check", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const page = { total_count: 3, store_list: [{ store_id: "100000001" }, { store_id: "100000002" }], next_page_token: "tok 2/3+=" }
    return Effect.gen(function*() {
      const stores = yield* ProductCouponStores.ProductCouponStores
      // A token with characters the query must encode: what is signed is what goes on the wire.
      const result = yield* stores.listAssociatedStores({ ...ids, pageSize: 2, pageToken: "a b/c+d=&e" })
      const sent = requests[0]!
      assert.strictEqual(sent.method, "GET")
      assert.strictEqual(sent.url.pathname, `${stockPath}/associated-stores`)
      assert.strictEqual(sent.url.searchParams.get("brand_id"), ids.brandId)
      assert.strictEqual(sent.url.searchParams.get("page_size"), "2")
      assert.strictEqual(sent.url.searchParams.get("page_token"), "a b/c+d=&e")
      assert.strictEqual(sent.bodyText, "")
      assert.isUndefined(sent.rejection)
      assert.strictEqual(result.totalCount, 3)
      assert.deepStrictEqual(result.storeList.map((s) => s.storeId), ["100000001", "100000002"])
      assert.strictEqual(result.nextPageToken, "tok 2/3+=")
      assert.strictEqual(result.requestId, "REQ-1")
    }).pipe(Effect.provide(service(checked(json(page)), requests)))
  })

  it.effect("the optional paging fields are left out of the query; a last page has no token and may omit its list", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const stores = yield* ProductCouponStores.ProductCouponStores
      const result = yield* stores.listAssociatedStores(ids)
      assert.strictEqual(requests[0]!.url.search, `?brand_id=${ids.brandId}`)
      assert.isUndefined(requests[0]!.rejection)
      assert.deepStrictEqual(result.storeList, [])
      assert.isUndefined(result.nextPageToken)
    }).pipe(Effect.provide(service(checked(json({ total_count: 0 })), requests)))
  })

  it.effect("page_size outside 1..200 is a RequestValidationError naming pageSize; nothing is sent", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const stores = yield* ProductCouponStores.ProductCouponStores
      for (const pageSize of [0, ProductCoupon.MAX_PAGE_SIZE + 1, 1.5]) {
        const error = yield* Effect.flip(stores.listAssociatedStores({ ...ids, pageSize }))
        assert.strictEqual(error._tag, "RequestValidationError")
        if (error._tag === "RequestValidationError") assert.strictEqual(error.field, "pageSize")
      }
      assert.strictEqual(requests.length, 0)
    }).pipe(Effect.provide(service([], requests)))
  })
})

describe("a declaration the library does not ship runs on the same core", () => {
  // A made-up endpoint: nothing in src knows it, yet it is validated, signed, retried and decoded.
  const Ping = Schema.Struct({ stockId: ProductCoupon.StockId, note: Schema.optional(Schema.String) })
  const Pong = Schema.Struct({ echoedNote: Schema.String.pipe(Schema.propertySignature, Schema.fromKey("echoed_note")) })
  const ping = Endpoint.make({
    name: "ping",
    method: "GET",
    path: "/v3/test/stocks/{stock_id}/ping",
    pathParams: { stock_id: "stockId" },
    query: { note: "note" },
    request: Ping,
    response: Pong,
    quota: { name: "test/ping", limit: 5, interval: Duration.seconds(1) },
    errors: Endpoint.errors(
      { status: 429, code: "RATELIMIT_EXCEEDED", make: (p: WechatPayError.ApiErrorProps) => new WechatPayError.RateLimitExceededError(p) }
    )
  })

  it.scoped("a 429 is retried through the declaration's own table, then the answer decodes", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const script: RecordingHttpClient.Script = [
      { status: 429, headers: { "content-type": "application/json" }, body: JSON.stringify({ code: "RATELIMIT_EXCEEDED", message: "slow down" }), sign: "arrival" },
      json({ echoed_note: "hi" })
    ]
    return Effect.gen(function*() {
      const core = yield* Call.make({ retry: { baseDelay: 0, jitter: 0 }, rateLimit: false })
      const caller = yield* core.caller(ping.quota)
      const call = Endpoint.bind(Endpoint.compile(ping), caller, "Test")
      const result = yield* call({ stockId: "s/1", note: "hi" })
      assert.deepStrictEqual({ ...result }, { echoedNote: "hi", requestId: "REQ-1" })
      assert.strictEqual(requests.length, 2)
      assert.strictEqual(requests[1]!.url.pathname, "/v3/test/stocks/s%2F1/ping")
      assert.strictEqual(requests[1]!.url.search, "?note=hi")
      const refused = yield* Effect.either(call({ stockId: "..", note: "x" }))
      assert.isTrue(Either.isLeft(refused))
      assert.strictEqual(requests.length, 2)
    }).pipe(Effect.provide(clientLayer(script, requests)))
  })
})
