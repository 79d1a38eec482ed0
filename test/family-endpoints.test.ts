// Issue #14's endpoints through the real service over the recording client, which judges every
// request as WeChat Pay would (signature over the exact target and body): what goes on the wire,
// how answers decode, which typed error each documented row becomes, and retries on the TestClock.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer, TestClock } from "effect"
import { ProductCouponStores, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import { baseOptions } from "./support/Keys.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { NOW } from "./support/Time.js"

const T0 = NOW * 1000
const COUPONS = "/v3/marketing/partner/product-coupon/product-coupons"

const service = (
  script: RecordingHttpClient.Script,
  requests: Array<RecordingHttpClient.Recorded>,
  options: ProductCouponStores.Options = { retry: false, rateLimit: false }
) =>
  ProductCouponStores.layerMerchant(baseOptions, options).pipe(
    Layer.provide(RecordingHttpClient.make(script, { requests, check: true }).layer)
  )

const reply = (status: number, body: unknown, requestId = `REQ-${status}`): RecordingHttpClient.Reply => ({
  status,
  headers: { "content-type": "application/json", "request-id": requestId },
  body: JSON.stringify(body),
  sign: "arrival"
})

/** Runs `f` against the service over `script`, on the TestClock at {@link NOW}, recording into a fresh array. */
const against = <A, E>(
  script: RecordingHttpClient.Script,
  f: (stores: ProductCouponStores.Service) => Effect.Effect<A, E>,
  options?: ProductCouponStores.Options
) => {
  const requests: Array<RecordingHttpClient.Recorded> = []
  return Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const stores = yield* ProductCouponStores.ProductCouponStores
    const result = yield* Effect.either(f(stores))
    for (const r of requests) assert.isUndefined(r.rejection, "the server-side check refused a request")
    return { result, requests }
  }).pipe(Effect.provide(service(script, requests, options)))
}

const bundleInput = {
  productCouponId: "200000001",
  stockBundleId: "bundle/7 #",
  brandId: "120344",
  storeList: [{ storeId: "100000001" }, { storeId: "100000002" }]
}
const stockInput = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" }
const storeAnswer = {
  total_count: 2,
  success_store_list: [{ store_id: "100000001" }],
  failed_store_list: [{ store_id: "100000002", code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }],
  added_later: true
}

describe("the stock-bundle variants", () => {
  for (const [method, action] of [
    ["associateStockBundleStores", "associate-stores"],
    ["disassociateStockBundleStores", "disassociate-stores"]
  ] as const) {
    it.effect(`${method}: POSTs to stock-bundles/{id}/${action} with the bundle id percent-encoded, and reads the answer`, () =>
      Effect.gen(function*() {
        const { requests, result } = yield* against([reply(200, storeAnswer, "REQ-B")], (s) => s[method](bundleInput))
        assert.strictEqual(requests.length, 1)
        const sent = requests[0]!
        assert.strictEqual(sent.method, "POST")
        assert.strictEqual(sent.url.pathname, `${COUPONS}/200000001/stock-bundles/bundle%2F7%20%23/${action}`)
        assert.strictEqual(sent.url.search, "")
        assert.strictEqual(sent.headers["content-type"], "application/json")
        assert.deepStrictEqual(JSON.parse(sent.bodyText), {
          store_list: [{ store_id: "100000001" }, { store_id: "100000002" }],
          brand_id: "120344"
        })
        assert.deepStrictEqual(Either.getOrThrow(result), {
          totalCount: 2,
          successStoreList: [{ storeId: "100000001" }],
          failedStoreList: [{ storeId: "100000002", code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }],
          requestId: "REQ-B"
        } as never)
      }))

    it.effect(`${method}: validated like the stock variants; nothing is sent for a bad request`, () =>
      Effect.gen(function*() {
        const cases = [
          [{ ...bundleInput, stockBundleId: ".." }, "stockBundleId"],
          [{ ...bundleInput, stockBundleId: "" }, "stockBundleId"],
          [{ ...bundleInput, storeList: [] }, "storeList"],
          [{ ...bundleInput, storeList: Array.from({ length: 201 }, (_, i) => ({ storeId: `S${i}` })) }, "storeList"],
          [{ ...bundleInput, brandId: "a\nb" }, "brandId"]
        ] as const
        for (const [input, field] of cases) {
          const { requests, result } = yield* against([], (s) => s[method](input))
          assert.strictEqual(requests.length, 0)
          const error = Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined)
          assert.strictEqual(error?._tag, "RequestValidationError")
          if (error?._tag === "RequestValidationError") assert.strictEqual(error.field, field)
        }
      }))
  }
})

describe("getStock (查询商品券指定批次)", () => {
  const stock = {
    product_coupon_id: "200000001",
    stock_id: "123456789",
    remark: "春季活动",
    coupon_code_mode: "WECHATPAY_MODE",
    stock_send_rule: { max_count: 1000, max_count_per_user: 1 },
    single_usage_rule: {
      coupon_available_period: {
        available_begin_time: "2025-03-01T00:00:00+08:00",
        available_end_time: "2025-05-31T23:59:59+08:00",
        available_days: 30
      },
      normal_coupon: { threshold: 10000, discount_amount: 1000 }
    },
    store_scope: "SPECIFIC",
    state: "SENDING",
    brand_id: "120344"
  }

  it.effect("GETs the stock with brand_id in the query and no body", () =>
    Effect.gen(function*() {
      const { requests } = yield* against([reply(200, stock)], (s) =>
        s.getStock({ productCouponId: "PC 1", stockId: "S/2", brandId: "120344" }))
      const sent = requests[0]!
      assert.strictEqual(sent.method, "GET")
      assert.strictEqual(sent.url.pathname, `${COUPONS}/PC%201/stocks/S%2F2`)
      assert.strictEqual(sent.url.search, "?brand_id=120344")
      assert.strictEqual(sent.bodyText, "")
    }))

  it.effect("decodes state, scope, period and ids to camelCase, and keeps every field it does not name", () =>
    Effect.gen(function*() {
      const { result } = yield* against([reply(200, stock, "REQ-STOCK")], (s) => s.getStock(stockInput))
      const got = Either.getOrThrow(result)
      assert.strictEqual(got.state, "SENDING")
      assert.strictEqual(got.storeScope, "SPECIFIC")
      assert.strictEqual(got.singleUsageRule?.couponAvailablePeriod?.availableEndTime, "2025-05-31T23:59:59+08:00")
      assert.deepStrictEqual({ ...got }, {
        productCouponId: "200000001",
        stockId: "123456789",
        remark: "春季活动",
        coupon_code_mode: "WECHATPAY_MODE",
        stock_send_rule: { max_count: 1000, max_count_per_user: 1 },
        singleUsageRule: {
          couponAvailablePeriod: {
            availableBeginTime: "2025-03-01T00:00:00+08:00",
            availableEndTime: "2025-05-31T23:59:59+08:00",
            available_days: 30
          },
          normal_coupon: { threshold: 10000, discount_amount: 1000 }
        },
        storeScope: "SPECIFIC",
        state: "SENDING",
        brandId: "120344",
        requestId: "REQ-STOCK"
      } as never)
    }))

  it.effect("a deactivated stock carries its deactivation fields", () =>
    Effect.gen(function*() {
      const deactivated = {
        ...stock,
        state: "DEACTIVATED",
        deactivate_request_no: "DR-2025-0001",
        deactivate_time: "2025-04-01T10:00:00+08:00",
        deactivate_reason: "活动提前结束"
      }
      const { result } = yield* against([reply(200, deactivated)], (s) => s.getStock(stockInput))
      const got = Either.getOrThrow(result)
      assert.strictEqual(got.state, "DEACTIVATED")
      assert.strictEqual(got.deactivateRequestNo, "DR-2025-0001")
      assert.strictEqual(got.deactivateTime, "2025-04-01T10:00:00+08:00")
      assert.strictEqual(got.deactivateReason, "活动提前结束")
      assert.isFalse("deactivate_time" in got)
    }))

  it.effect("states and scopes it does not know are kept as they came, never a failure", () =>
    Effect.gen(function*() {
      for (const [state, scope] of [["ARCHIVED", "BY_REGION"], ["", "ALL"], ["PAUSED", "NONE"]] as const) {
        const { result } = yield* against([reply(200, { ...stock, state, store_scope: scope })], (s) => s.getStock(stockInput))
        const got = Either.getOrThrow(result)
        assert.strictEqual<string>(got.state, state)
        assert.strictEqual<string>(got.storeScope, scope)
      }
    }))

  it.effect("optional fields sent as null read as absent; a minimal stock decodes", () =>
    Effect.gen(function*() {
      const minimal = { product_coupon_id: "1", stock_id: "2", state: "AUDITING", store_scope: "NONE", deactivate_time: null }
      const { result } = yield* against([reply(200, minimal)], (s) => s.getStock(stockInput))
      const got = Either.getOrThrow(result)
      assert.isUndefined(got.deactivateTime)
      assert.isUndefined(got.singleUsageRule)
      assert.strictEqual(got.state, "AUDITING")
    }))

  it.effect("a stock without state, or with a state that is not a string, is a ResponseDecodeError naming it", () =>
    Effect.gen(function*() {
      const { state: _, ...stateless } = stock
      for (const [body, field] of [[stateless, "state"], [{ ...stock, store_scope: 3 }, "store_scope"]] as const) {
        const { result } = yield* against([reply(200, body)], (s) => s.getStock(stockInput))
        const error = Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined)
        assert.strictEqual(error?._tag, "ResponseDecodeError")
        if (error?._tag === "ResponseDecodeError") assert.include(error.issue, field)
      }
    }))
})

// Every row of each table, as WeChat Pay would word it, and the error it must become.
const errorBody = (code: string, message: string) => ({ code, message })
type Row = readonly [status: number, code: string, message: string, tag: string]
const common: ReadonlyArray<Row> = [
  [400, "PARAM_ERROR", "参数错误", "ParamError"],
  [400, "INVALID_REQUEST", "HTTP 请求不符合微信支付 APIv3 接口规则", "InvalidRequestError"],
  [401, "SIGN_ERROR", "验证不通过", "SignError"],
  [403, "NO_AUTH", "缺少业务相关权限", "NoAuthError"],
  [429, "RATELIMIT_EXCEEDED", "请求超过接口频率限制", "RateLimitExceededError"],
  [500, "SYSTEM_ERROR", "系统异常,请稍后重试", "SystemError"],
  [404, "NOT_FOUND", "未找到 product_coupon_id 对应的商品券", "ProductCouponNotFoundError"],
  [404, "NOT_FOUND", "资源不存在", "NotFoundError"],
  [409, "CONFLICT", "undocumented", "UnknownApiError"]
]
const stockNotFound: Row = [404, "NOT_FOUND", "未找到 stock_id 对应的商品券批次", "StockNotFoundError"]
const subCases = (verb: string): ReadonlyArray<Row> => [
  [400, "INVALID_REQUEST", `已过期的批次不可${verb}门店`, "StockExpiredError"],
  [400, "INVALID_REQUEST", `只有 store_scope 为 SPECIFIC 的批次可以${verb}门店`, "StockScopeNotSpecificError"]
]

const stockStoreInput = { ...stockInput, storeList: [{ storeId: "100000001" }] }
const tables: ReadonlyArray<
  readonly [string, (s: ProductCouponStores.Service) => Effect.Effect<unknown, { readonly _tag: string }>, ReadonlyArray<Row>]
> = [
  ["associateStores", (s) => s.associateStores(stockStoreInput), [...common, stockNotFound, ...subCases("关联")]],
  ["disassociateStores", (s) => s.disassociateStores(stockStoreInput), [...common, stockNotFound, ...subCases("取消关联")]],
  ["listAssociatedStores", (s) => s.listAssociatedStores(stockInput), [...common, stockNotFound]],
  ["getStock", (s) => s.getStock(stockInput), [...common, stockNotFound]],
  ["associateStockBundleStores", (s) => s.associateStockBundleStores(bundleInput), [
    ...common,
    ...subCases("关联"),
    // No stock in the path: a 404 naming stock_id (or the bundle) stays the generic NotFoundError.
    [404, "NOT_FOUND", "未找到 stock_id 对应的商品券批次", "NotFoundError"]
  ]],
  ["disassociateStockBundleStores", (s) => s.disassociateStockBundleStores(bundleInput), [
    ...common,
    ...subCases("取消关联"),
    [404, "NOT_FOUND", "未找到 stock_bundle_id 对应的批次组", "NotFoundError"]
  ]]
]

describe("every row of each endpoint's error table becomes its typed error", () => {
  for (const [name, call, rows] of tables) {
    it.effect(`${name}: ${rows.length} rows`, () =>
      Effect.gen(function*() {
        for (const [status, code, message, tag] of rows) {
          const { requests, result } = yield* against([reply(status, errorBody(code, message), "REQ-E")], call)
          assert.strictEqual(requests.length, 1, `${name} ${code}: sent once`)
          const error = Either.getLeft(result).pipe((o) => o._tag === "Some" ? o.value : undefined)
          assert.strictEqual(error?._tag, tag, `${name} ${status} ${code} ${message}`)
          assert.isTrue(WechatPayError.isWechatPayError(error))
          const e = error as unknown as WechatPayError.UnknownApiError
          assert.deepStrictEqual([e.status, e.code, e.message, e.requestId, e.verified], [status, code, message, "REQ-E", true])
        }
      }))
  }
})

describe("429 and 5xx are retried by the core, for each new endpoint", () => {
  const okAnswers: Readonly<Record<string, unknown>> = {
    associateStockBundleStores: storeAnswer,
    disassociateStockBundleStores: storeAnswer,
    getStock: { product_coupon_id: "1", stock_id: "2", state: "SENDING", store_scope: "SPECIFIC" },
    listAssociatedStores: { total_count: 0 },
    associateStores: storeAnswer
  }
  for (const [name, call] of tables.filter(([name]) => name in okAnswers)) {
    it.effect(`${name}: 429, 500, 503 then 200 — four attempts, the same request, fresh signatures, exact back-off`, () =>
      Effect.gen(function*() {
        const requests: Array<RecordingHttpClient.Recorded> = []
        const script: RecordingHttpClient.Script = [
          reply(429, errorBody("RATELIMIT_EXCEEDED", "请求超过接口频率限制")),
          reply(500, errorBody("SYSTEM_ERROR", "系统异常,请稍后重试")),
          { status: 503, headers: { "content-type": "text/html" }, body: "<html>busy</html>" },
          reply(200, okAnswers[name])
        ]
        yield* TestClock.setTime(T0)
        const fiber = yield* Effect.fork(
          Effect.flatMap(ProductCouponStores.ProductCouponStores, call).pipe(
            Effect.provide(service(script, requests, { rateLimit: false, retry: { jitter: 0 } }))
          )
        )
        yield* TestClock.adjust("1 second")
        assert.strictEqual(requests.length, 2, "the second attempt waits 500 ms, the third 1 s more")
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(fiber)
        assert.deepStrictEqual(requests.map((r) => r.atMillis - T0), [0, 500, 1500, 3500])
        assert.strictEqual(new Set(requests.map((r) => r.url.href)).size, 1)
        assert.strictEqual(new Set(requests.map((r) => r.bodyText)).size, 1)
        assert.strictEqual(new Set(requests.map((r) => r.headers["authorization"])).size, 4)
        for (const r of requests) assert.isUndefined(r.rejection)
      }))
  }

  it.effect("a 404 is not retried", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* against(
        () => reply(404, errorBody("NOT_FOUND", "未找到 stock_id 对应的商品券批次")),
        (s) => s.getStock(stockInput),
        { rateLimit: false, retry: { jitter: 0 } }
      )
      assert.strictEqual(requests.length, 1)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "StockNotFoundError")
    }))
})
