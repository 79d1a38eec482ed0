import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { disassociatePath } from "./support/Requests.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const { sampleInput } = Scripted

/** One call against a fresh scripted fake (no rate limit, no retries unless asked). */
const call = (script: Scripted.Script, options: ProductCouponStores.Options = { rateLimit: false, retry: false }) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Scripted.NOW * 1000)
    const fake = Scripted.make(script)
    const result = yield* Effect.gen(function*() {
      const service = yield* ProductCouponStores.ProductCouponStores
      return yield* Effect.either(service.disassociateStores(sampleInput))
    }).pipe(Effect.provide(Scripted.serviceLayer(fake, options)))
    for (const r of fake.requests) assert.isUndefined(r.rejection, "the fake server accepted the signature")
    return { result, requests: fake.requests }
  })

const rows = [
  { status: 400, code: "PARAM_ERROR", message: "参数错误", tag: "ParamError" },
  { status: 400, code: "INVALID_REQUEST", message: "HTTP 请求不符合微信支付 APIv3 接口规则", tag: "InvalidRequestError" },
  { status: 400, code: "INVALID_REQUEST", message: "已过期的批次不可取消关联门店", tag: "StockExpiredError" },
  {
    status: 400,
    code: "INVALID_REQUEST",
    message: "只有 store_scope 为 SPECIFIC 的批次可以取消关联门店",
    tag: "StockScopeNotSpecificError"
  },
  { status: 401, code: "SIGN_ERROR", message: "验证不通过", tag: "SignError" },
  { status: 403, code: "NO_AUTH", message: "缺少业务相关权限", tag: "NoAuthError" },
  { status: 404, code: "NOT_FOUND", message: "未找到 product_coupon_id 对应的商品券", tag: "ProductCouponNotFoundError" },
  { status: 404, code: "NOT_FOUND", message: "未找到 stock_id 对应的商品券批次", tag: "StockNotFoundError" },
  { status: 404, code: "NOT_FOUND", message: "资源不存在", tag: "NotFoundError" },
  { status: 429, code: "RATELIMIT_EXCEEDED", message: "请求超过接口频率限制", tag: "RateLimitExceededError" },
  { status: 500, code: "SYSTEM_ERROR", message: "系统异常,请稍后重试", tag: "SystemError" },
  // Undocumented pairs keep everything.
  { status: 400, code: "RESOURCE_ALREADY_EXISTS", message: "已存在", tag: "UnknownApiError" },
  { status: 503, code: "SYSTEM_ERROR", message: "服务不可用", tag: "UnknownApiError" },
  // Reworded messages fall back to the generic error of the code.
  { status: 400, code: "INVALID_REQUEST", message: "批次状态异常", tag: "InvalidRequestError" }
] as const

describe("ProductCouponStores error table", () => {
  for (const row of rows) {
    it.effect(`${row.status} ${row.code} "${row.message}" → ${row.tag} with every field`, () =>
      Effect.gen(function*() {
        const detail = { field: "/store_list/0/store_id", location: "body" }
        const { requests, result } = yield* call([Scripted.apiError(row.status, row.code, row.message, detail)])
        assert.strictEqual(requests.length, 1)
        assert.isTrue(result._tag === "Left")
        if (result._tag !== "Left") return
        const e = result.left
        assert.strictEqual(e._tag, row.tag)
        assert.isTrue("code" in e)
        if (!("code" in e)) return
        assert.strictEqual(e.status, row.status)
        assert.strictEqual(e.code, row.code)
        assert.strictEqual(e.message, row.message)
        assert.deepStrictEqual(e.detail, detail)
        assert.strictEqual(e.requestId, `REQ-${row.code}`)
        assert.strictEqual(e.verified, true)
      }))
  }

  it.effect("catchTag narrows to one row", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Scripted.NOW * 1000)
      const fake = Scripted.make([Scripted.apiError(400, "INVALID_REQUEST", "已过期的批次不可取消关联门店")])
      const handled = yield* Effect.gen(function*() {
        const service = yield* ProductCouponStores.ProductCouponStores
        return yield* service.disassociateStores(sampleInput).pipe(
          Effect.map(() => "disassociated"),
          Effect.catchTag("StockExpiredError", (e) => Effect.succeed(`expired (${e.requestId})`))
        )
      }).pipe(Effect.either, Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false })))
      assert.deepStrictEqual(handled._tag === "Right" ? handled.right : handled.left._tag, "expired (REQ-INVALID_REQUEST)")
    }))

  it.effect("an unsigned error answer is still typed, with verified = false", () =>
    Effect.gen(function*() {
      const { result } = yield* call([
        Scripted.reply(403, { code: "NO_AUTH", message: "缺少业务相关权限" }, { signature: "none", requestId: "R1" })
      ])
      assert.isTrue(result._tag === "Left" && result.left._tag === "NoAuthError" && result.left.verified === false)
    }))

  it.effect("a gateway page keeps the foundation's UnexpectedResponseError", () =>
    Effect.gen(function*() {
      const { result } = yield* call([Scripted.reply(502, "<html>Bad Gateway</html>", { signature: "none" })])
      assert.isTrue(result._tag === "Left")
      if (result._tag !== "Left") return
      assert.strictEqual(result.left._tag, "UnexpectedResponseError")
      assert.strictEqual(result.left._tag === "UnexpectedResponseError" && result.left.status, 502)
    }))

  it.effect("a probe signature on a 200 is a SignatureProbeError, never a success", () =>
    Effect.gen(function*() {
      const { result } = yield* call([Scripted.reply(200, { total_count: 1 }, { signature: "probe" })])
      assert.isTrue(result._tag === "Left" && result.left._tag === "SignatureProbeError")
    }))
})

describe("ProductCouponStores success decoding", () => {
  it.effect("a 200 with failures is a success value, with the request id", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* call([
        Scripted.ok({
          total_count: 2,
          success_store_list: [{ store_id: "100000001" }],
          failed_store_list: [{ store_id: "100000002", code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }],
          some_future_field: { x: 1 }
        }, "REQ-200")
      ])
      const actual: unknown = result._tag === "Right" ? result.right : result.left
      assert.deepStrictEqual(actual, {
        totalCount: 2,
        successStoreList: [{ storeId: "100000001" }],
        failedStoreList: [{ storeId: "100000002", code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" }],
        requestId: "REQ-200"
      })
      const sent = requests[0]!
      assert.strictEqual(sent.method, "POST")
      // The endpoint's declared path, filled with the input's ids.
      assert.strictEqual(sent.url.href, Scripted.PRIMARY + disassociatePath(sampleInput.productCouponId, sampleInput.stockId))
      assert.deepStrictEqual(JSON.parse(sent.bodyText), { store_list: [{ store_id: "100000001" }], brand_id: "120344" })
      assert.strictEqual(sent.headers["content-type"], "application/json")
      assert.strictEqual(sent.headers["accept"], "application/json")
    }))

  it.effect("missing lists decode as empty", () =>
    Effect.gen(function*() {
      const { result } = yield* call([Scripted.ok({ total_count: 0 })])
      assert.isTrue(result._tag === "Right")
      if (result._tag !== "Right") return
      assert.deepStrictEqual(result.right.successStoreList, [])
      assert.deepStrictEqual(result.right.failedStoreList, [])
    }))

  for (
    const [name, body] of [
      ["missing total_count", { success_store_list: [] }],
      ["non-integer total_count", { total_count: 1.5 }],
      ["string total_count", { total_count: "1" }],
      ["not JSON", "total_count=1"]
    ] as const
  ) {
    it.effect(`${name} is a ResponseDecodeError`, () =>
      Effect.gen(function*() {
        const { requests, result } = yield* call([Scripted.reply(200, body, { requestId: "REQ-D" })], {
          rateLimit: false
        })
        // A verified 200 is never re-sent, even with retries on.
        assert.strictEqual(requests.length, 1)
        assert.isTrue(result._tag === "Left" && result.left._tag === "ResponseDecodeError")
        if (result._tag !== "Left" || result.left._tag !== "ResponseDecodeError") return
        assert.strictEqual(result.left.status, 200)
        assert.strictEqual(result.left.requestId, "REQ-D")
        assert.isTrue(result.left.excerpt.length > 0)
      }))
  }

  for (const body of [null, []] as const) {
    it.effect(`a body of ${JSON.stringify(body)}: the issue names the answer's body, not the request`, () =>
      Effect.gen(function*() {
        const { result } = yield* call([Scripted.reply(200, body as unknown as object)], { rateLimit: false })
        assert.isTrue(result._tag === "Left" && result.left._tag === "ResponseDecodeError")
        if (result._tag !== "Left" || result.left._tag !== "ResponseDecodeError") return
        assert.match(result.left.issue, /^the body: /)
      }))
  }
})
