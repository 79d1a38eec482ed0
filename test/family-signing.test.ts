// A GET with a query string is signed over the request-target exactly as it went on the wire.
// The expected sign string is built here from what the recording client received (method, path,
// query, timestamp, nonce, empty body), never with the library's own sign-string builder, and the
// signature is checked with node:crypto against the merchant's public key.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream, TestClock } from "effect"
import * as NodeCrypto from "node:crypto"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { baseOptions, keys } from "./support/Keys.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { NOW } from "./support/Time.js"

const stockAnswer = { product_coupon_id: "200000001", stock_id: "123456789", state: "SENDING", store_scope: "SPECIFIC" }
const pageAnswer = { total_count: 0, store_list: [] }

const reply = (body: unknown): RecordingHttpClient.Reply => ({
  status: 200,
  headers: { "content-type": "application/json", "request-id": "REQ-SIGN" },
  body: JSON.stringify(body),
  sign: "arrival"
})

// No server-side check: the test itself is the only judge of the signature.
const service = (script: RecordingHttpClient.Script, requests: Array<RecordingHttpClient.Recorded>) =>
  ProductCouponStores.layerMerchant(baseOptions, { retry: false, rateLimit: false }).pipe(
    Layer.provide(RecordingHttpClient.make(script, { requests }).layer)
  )

const fieldsOf = (authorization: string): Readonly<Record<string, string>> => {
  assert.isTrue(authorization.startsWith("WECHATPAY2-SHA256-RSA2048 "), authorization)
  const out: Record<string, string> = {}
  for (const m of authorization.slice("WECHATPAY2-SHA256-RSA2048 ".length).matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!
  return out
}

/** The APIv3 request sign string, written out from the documentation's five lines. */
const signString = (method: string, target: string, timestamp: string, nonce: string, body: string) =>
  `${method}\n${target}\n${timestamp}\n${nonce}\n${body}\n`

const verifies = (message: string, signature: string) =>
  NodeCrypto.verify("RSA-SHA256", Buffer.from(message, "utf8"), keys.merchantPublicKey, Buffer.from(signature, "base64"))

/** Checks the one recorded GET against an independently built sign string, and that one character off fails. */
const checkSigned = (sent: RecordingHttpClient.Recorded, expectedTarget: string) => {
  const target = sent.url.pathname + sent.url.search
  assert.strictEqual(target, expectedTarget)
  assert.strictEqual(sent.method, "GET")
  assert.strictEqual(sent.bodyText, "")
  const auth = fieldsOf(sent.headers["authorization"]!)
  assert.strictEqual(auth["mchid"], keys.mchid)
  assert.strictEqual(auth["serial_no"], keys.merchantSerialNo)
  assert.strictEqual(auth["timestamp"], String(NOW))
  assert.match(auth["nonce_str"]!, /^[0-9A-Za-z]{16,}$/)
  const signature = auth["signature"]!
  assert.isTrue(verifies(signString("GET", target, auth["timestamp"]!, auth["nonce_str"]!, ""), signature))
  // The signature covers the query: the same string without it, or with one character changed, fails.
  assert.isFalse(verifies(signString("GET", sent.url.pathname, auth["timestamp"]!, auth["nonce_str"]!, ""), signature))
  const oneOff = target.slice(0, -1) + (target.endsWith("x") ? "y" : "x")
  assert.isFalse(verifies(signString("GET", oneOff, auth["timestamp"]!, auth["nonce_str"]!, ""), signature))
}

describe("a GET with a query string is signed over the target as sent", () => {
  it.effect("getStock: brand_id in the query, characters that must be encoded included", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const stores = yield* ProductCouponStores.ProductCouponStores
      yield* stores.getStock({ productCouponId: "PC/1", stockId: "S 9", brandId: "12 0&x=+é" })
      assert.strictEqual(requests.length, 1)
      checkSigned(
        requests[0]!,
        "/v3/marketing/partner/product-coupon/product-coupons/PC%2F1/stocks/S%209?brand_id=12+0%26x%3D%2B%C3%A9"
      )
    }).pipe(Effect.provide(service([reply(stockAnswer)], requests)))
  })

  it.effect("listAssociatedStores: brand_id, page_size and a page_token with reserved characters", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const stores = yield* ProductCouponStores.ProductCouponStores
      yield* stores.listAssociatedStores({
        productCouponId: "200000001",
        stockId: "123456789",
        brandId: "120344",
        pageSize: 50,
        pageToken: "eyJvIjoxfQ==/+?"
      })
      checkSigned(
        requests[0]!,
        "/v3/marketing/partner/product-coupon/product-coupons/200000001/stocks/123456789/associated-stores" +
          "?brand_id=120344&page_size=50&page_token=eyJvIjoxfQ%3D%3D%2F%2B%3F"
      )
    }).pipe(Effect.provide(service([reply(pageAnswer)], requests)))
  })

  it.effect("every page of associatedStores is signed over its own query", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const pages: RecordingHttpClient.Script = [
      reply({ total_count: 2, store_list: [{ store_id: "A" }], next_page_token: "t&2" }),
      reply({ total_count: 2, store_list: [{ store_id: "B" }] })
    ]
    return Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const ids = yield* Stream.runCollect(
        stores.associatedStores({ productCouponId: "200000001", stockId: "123456789", brandId: "120344" })
      )
      assert.deepStrictEqual([...ids], ["A", "B"])
      const list = "/v3/marketing/partner/product-coupon/product-coupons/200000001/stocks/123456789/associated-stores"
      checkSigned(requests[0]!, `${list}?brand_id=120344&page_size=200`)
      checkSigned(requests[1]!, `${list}?brand_id=120344&page_size=200&page_token=t%262`)
    }).pipe(Effect.provide(service(pages, requests)))
  })
})
