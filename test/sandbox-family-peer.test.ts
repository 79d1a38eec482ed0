// The sandbox's GETs speak the real protocol, proved by a client nobody here wrote:
// wechatpay-axios-plugin 0.9.6 (configured as bench/clients.ts's `axiosPlugin`) signs the listing's
// GET with its query string and the stock query, the loopback sandbox accepts them, and the plugin's
// own verifier accepts the answers. This is the guard against the fake and this library sharing a
// wrong sign string for a request-target with a query (both build it with Authorization.requestMessage).
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Wechatpay } from "wechatpay-axios-plugin"
import { FakeWechatPay, SandboxServer } from "../packages/effect-wechatpay/src/testing/index.js"
import { F, keys } from "./sandbox-support.js"

const s = FakeWechatPay.storeId
// The plugin's chain: the documented path without its leading "/", {param}s filled by name from the config.
const COUPON = "v3/marketing/partner/product-coupon/product-coupons/{product_coupon_id}"
const LIST = `${COUPON}/stocks/{stock_id}/associated-stores`
const STOCK = `${COUPON}/stocks/{stock_id}`

interface AxiosLike {
  readonly status: number
  readonly data: Record<string, unknown>
  readonly headers: Record<string, unknown>
}
interface AxiosFailure {
  readonly code?: string
  readonly response?: AxiosLike
}

const serve = (options: Omit<FakeWechatPay.Options, "keys"> = {}) =>
  Effect.gen(function*() {
    const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 300, associated: 123 }), rateLimit: false, ...options })
    const server = yield* SandboxServer.make(fake)
    const wxpay = new Wechatpay({
      mchid: keys.mchid,
      serial: keys.merchantSerialNo,
      privateKey: Redacted.value(keys.merchantPrivateKeyPem),
      certs: { [keys.wechatpayPublicKeyId]: keys.wechatpayPublicKeyPem },
      baseURL: `${server.baseUrl}/`
    })
    return { fake, wxpay }
  })

const get = (wxpay: Wechatpay, chain: string, config: Record<string, unknown>) =>
  Effect.tryPromise({
    try: (): Promise<AxiosLike> => wxpay.chain(chain).get(config),
    catch: (e) => e as AxiosFailure
  })

const listConfig = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  product_coupon_id: F.productCouponId,
  stock_id: F.stockId,
  params: { brand_id: F.brandId, ...params },
  ...extra
})

describe("wechatpay-axios-plugin 0.9.6: signed GETs with a query string against the sandbox server", () => {
  it.scopedLive("its signed listing GET is accepted, its verifier accepts every page, and its walk returns the associated set", () =>
    Effect.gen(function*() {
      const { fake, wxpay } = yield* serve()
      const seen: Array<string> = []
      let token: string | undefined
      for (let page = 0; page < 20; page++) {
        const res = yield* get(wxpay, LIST, listConfig({ page_size: 50, ...(token === undefined ? {} : { page_token: token }) }))
        assert.strictEqual(res.status, 200)
        assert.strictEqual(res.data["total_count"], 123)
        seen.push(...(res.data["store_list"] as Array<{ store_id: string }>).map((e) => e.store_id))
        token = res.data["next_page_token"] as string | undefined
        if (token === undefined) break
      }
      assert.deepStrictEqual(seen, fake.associatedStores(F.stockId))
      assert.strictEqual(seen.length, 123)
      // Each page reached the fake with its query, as the plugin signed it.
      assert.deepStrictEqual(fake.log.map((e) => [e.operation, e.status]), [
        ["listAssociatedStores", 200],
        ["listAssociatedStores", 200],
        ["listAssociatedStores", 200]
      ])
      assert.match(fake.log[1]!.target, /\/associated-stores\?brand_id=120344&page_size=50&page_token=[\w-]+$/)
    }))

  it.scopedLive("its signed stock query is accepted and verified", () =>
    Effect.gen(function*() {
      const { wxpay } = yield* serve()
      const res = yield* get(wxpay, STOCK, { product_coupon_id: F.productCouponId, stock_id: F.deactivatedStockId, params: { brand_id: F.brandId } })
      assert.strictEqual(res.status, 200)
      assert.deepStrictEqual([res.data["stock_id"], res.data["state"], res.data["store_scope"]], [F.deactivatedStockId, "DEACTIVATED", "SPECIFIC"])
      assert.strictEqual(res.headers["wechatpay-serial"], keys.wechatpayPublicKeyId)
    }))

  it.scopedLive("its verifier rejects a page whose signature the sandbox broke (so acceptance means something)", () =>
    Effect.gen(function*() {
      const { wxpay } = yield* serve({ faults: { script: ["wrongSignature"] } })
      const failure = yield* Effect.flip(get(wxpay, LIST, listConfig({ page_size: 5 })))
      assert.strictEqual(failure.code, "EV3_RES_HEADER_SIGNATURE_DIGEST")
    }))

  it.scopedLive("its query changed by one character after it signed: 401 SIGN_ERROR, and the same request untouched passes", () =>
    Effect.gen(function*() {
      const { fake, wxpay } = yield* serve()
      // transformRequest runs after the plugin's signing interceptor and before axios builds the URL
      // from `params`: the last chance to change the query the signature covered.
      const failure = yield* Effect.flip(get(wxpay, LIST, listConfig({ page_size: 20 }, {
        transformRequest: [function(this: { params: Record<string, unknown> }, data: unknown) {
          this.params["page_size"] = 21
          return data
        }]
      })))
      assert.strictEqual(failure.response?.status, 401)
      assert.deepStrictEqual(failure.response?.data, { code: "SIGN_ERROR", message: "签名错误，请检查后再试" })
      assert.match(fake.log[0]!.target, /page_size=21$/)
      const ok = yield* get(wxpay, LIST, listConfig({ page_size: 20 }))
      assert.strictEqual((ok.data["store_list"] as Array<unknown>).length, 20)
      assert.deepStrictEqual(fake.log.map((e) => e.status), [401, 200])
      assert.strictEqual(s(0), (ok.data["store_list"] as Array<{ store_id: string }>)[0]!.store_id)
    }))
})
