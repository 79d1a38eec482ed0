// Forged and damaged answers through the whole stack — ProductCouponStores and a bulk job — not
// just WechatPayClient.execute (core-verification covers each error there): every forgery is
// refused with its typed error, and a bulk job counts none of its stores as succeeded.
// Also what core-verification does not cover: header values moved between headers, a signature
// by a different key under the right serial, a replayed signature, duplicated headers — and,
// as a control, that header order and name case do not matter.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { BulkDisassociation, ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { ServerProtocol, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { baseOptions, keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { type Reply, signed } from "./support/RecordingHttpClient.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"

const otherKeys = Effect.runSync(TestKeys.generate({ wechatpayPublicKeyId: keys.wechatpayPublicKeyId }))

const OK = `{"total_count":3,"success_store_list":[{"store_id":"S1"},{"store_id":"S2"},{"store_id":"S3"}]}`
const good = (): Reply => signed(200, OK)
const withHeaders = (reply: Reply, f: (h: Record<string, string>) => Record<string, string>): Reply => ({
  ...reply,
  headers: f({ ...reply.headers })
})
const swap = (a: string, b: string) => (h: Record<string, string>) => ({ ...h, [a]: h[b]!, [b]: h[a]! })
const drop = (name: string) => (h: Record<string, string>) => {
  const { [name]: _, ...rest } = h
  return rest
}

const forgeries: ReadonlyArray<readonly [string, () => Reply, string]> = [
  ["tampered body (signature over another body)", () => ({ ...good(), body: OK.replace("S3", "S4") }), "InvalidSignatureError"],
  ["tampered timestamp, still inside the window", () => withHeaders(good(), (h) => ({ ...h, "wechatpay-timestamp": String(NOW - 1) })), "InvalidSignatureError"],
  ["tampered nonce", () => withHeaders(good(), (h) => ({ ...h, "wechatpay-nonce": h["wechatpay-nonce"]!.replace(/^./, "0") + "1" })), "InvalidSignatureError"],
  ["timestamp and nonce values swapped", () => withHeaders(good(), swap("wechatpay-timestamp", "wechatpay-nonce")), "StaleTimestampError"],
  ["serial and signature values swapped", () => withHeaders(good(), swap("wechatpay-serial", "wechatpay-signature")), "UnknownSerialError"],
  ["signature replayed from another answer", () => withHeaders(good(), (h) => ({ ...h, "wechatpay-signature": signed(200, `{"total_count":0}`).headers!["wechatpay-signature"]! })), "InvalidSignatureError"],
  ["signature replayed with its own timestamp and nonce over another body", () => ({ ...signed(200, `{"total_count":0}`), body: OK }), "InvalidSignatureError"],
  ["signed by a different key under the right serial", () => signed(200, OK, { keys: otherKeys }), "InvalidSignatureError"],
  ["two signature headers", () => withHeaders(good(), (h) => ({ ...h, "wechatpay-signature": `${h["wechatpay-signature"]}, ${h["wechatpay-signature"]}` })), "InvalidSignatureError"],
  ["stale timestamp (301 s old)", () => signed(200, OK, { at: NOW - 301 }), "StaleTimestampError"],
  ["future timestamp (301 s ahead)", () => signed(200, OK, { at: NOW + 301 }), "StaleTimestampError"],
  ["unknown serial", () => withHeaders(good(), (h) => ({ ...h, "wechatpay-serial": "PUB_KEY_ID_0000000000000000000000000000000000" })), "UnknownSerialError"],
  ["probe signature", () => withHeaders(good(), (h) => ({ ...h, "wechatpay-signature": `WECHATPAY/SIGNTEST/${h["wechatpay-signature"]!.slice(0, 40)}` })), "SignatureProbeError"],
  ["missing Wechatpay-Signature", () => withHeaders(good(), drop("wechatpay-signature")), "MissingSignatureHeadersError"],
  ["missing Wechatpay-Timestamp", () => withHeaders(good(), drop("wechatpay-timestamp")), "MissingSignatureHeadersError"],
  ["empty Wechatpay-Nonce", () => withHeaders(good(), (h) => ({ ...h, "wechatpay-nonce": "" })), "MissingSignatureHeadersError"],
  ["unsigned 2xx", () => ({ status: 200, body: OK, headers: { "content-type": "application/json" } }), "MissingSignatureHeadersError"]
]

const service = (reply: () => Reply) =>
  ProductCouponStores.layerMerchant(baseOptions, { rateLimit: false, retry: false }).pipe(Layer.provide(RecordingHttpClient.layer(reply)))

const input = { productCouponId: "1001", stockId: "2002", brandId: "3003", storeList: [{ storeId: "S1" }, { storeId: "S2" }, { storeId: "S3" }] }

describe("forged answers through ProductCouponStores and a bulk job", () => {
  for (const [label, reply, tag] of forgeries) {
    it.effect(`${label} → ${tag}; the bulk job leaves every store unresolved`, () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW * 1000)
        const svc = yield* ProductCouponStores.ProductCouponStores
        const err = yield* Effect.flip(svc.disassociateStores(input))
        assert.strictEqual(err._tag, tag)
        const report = yield* BulkDisassociation.disassociateAll(["S1", "S2", "S3"], {
          productCouponId: input.productCouponId,
          stockId: input.stockId,
          brandId: input.brandId
        })
        assert.deepStrictEqual(report.succeeded, [])
        assert.deepStrictEqual(report.failed, [])
        assert.deepStrictEqual(report.unresolved.map((u) => u.storeId), ["S1", "S2", "S3"])
        assert.isTrue(report.unresolved.every((u) => u.reason.startsWith(`${tag}:`)))
      }).pipe(Effect.provide(service(reply))))
  }

  it.effect("control: header lines in another order and with other name case verify (order and case carry no meaning)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const svc = yield* ProductCouponStores.ProductCouponStores
      const result = yield* svc.disassociateStores(input)
      assert.strictEqual(result.successStoreList.length, 3)
    }).pipe(Effect.provide(service(() => {
      const r = good()
      const reversed = Object.entries(r.headers ?? {}).reverse().map(([k, v]) => [k.toUpperCase(), v] as const)
      return { ...r, headers: Object.fromEntries(reversed) }
    }))))

  it.effect("control: the same answer correctly signed by the sandbox's protocol code is accepted", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const svc = yield* ProductCouponStores.ProductCouponStores
      const result = yield* svc.disassociateStores(input)
      assert.strictEqual(result.totalCount, 3)
    }).pipe(Effect.provide(service(() => ({
      status: 200,
      body: OK,
      headers: { "content-type": "application/json", ...ServerProtocol.signResponse(keys, OK, NOW) }
    })))))
})
