// The sandbox speaks the real protocol, proved by a client nobody here wrote:
// wechatpay-axios-plugin 0.9.6 signs requests the sandbox accepts, verifies the sandbox's
// responses with its own verifier, and a signature off by one byte is refused with 401.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Http from "node:http"
import { Formatter, Rsa, Wechatpay } from "wechatpay-axios-plugin"
import { disassociateStores } from "../packages/effect-wechatpay/src/internal/endpoints.js"
import { FakeWechatPay, SandboxServer } from "../packages/effect-wechatpay/src/testing/index.js"
import { body, F, keys } from "./sandbox-support.js"

const s = FakeWechatPay.storeId
// The plugin's chain is the declared path without its leading "/"; it fills each {param} by name
// (product_coupon_id, stock_id: the declaration's own) from the request's config.
const PATH = disassociateStores.path.slice(1)

const serve = (options: Omit<FakeWechatPay.Options, "keys"> = {}) =>
  Effect.gen(function*() {
    const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 50 }), ...options })
    const server = yield* SandboxServer.make(fake)
    const wxpay = new Wechatpay({
      mchid: keys.mchid,
      serial: keys.merchantSerialNo,
      privateKey: Redacted.value(keys.merchantPrivateKeyPem),
      certs: { [keys.wechatpayPublicKeyId]: keys.wechatpayPublicKeyPem },
      baseURL: `${server.baseUrl}/`
    })
    return { fake, server, wxpay }
  })

interface AxiosLike {
  readonly status: number
  readonly data: Record<string, unknown>
}
interface AxiosFailure {
  readonly code?: string
  readonly response?: AxiosLike
}

const post = (wxpay: Wechatpay, payload: unknown, config: Record<string, unknown> = {}) =>
  Effect.tryPromise({
    try: (): Promise<AxiosLike> =>
      wxpay.chain(PATH).post(payload, { product_coupon_id: F.productCouponId, stock_id: F.stockId, ...config }),
    catch: (e) => e as AxiosFailure
  })

/** Flips one bit of the decoded signature inside an Authorization header the plugin built. */
const corruptAuthorization = (header: string): string =>
  header.replace(/signature="([^"]+)"/, (_, sig: string) => `signature="${FakeWechatPay.flipFirstByte(sig)}"`)

describe("wechatpay-axios-plugin 0.9.6 against the sandbox server", () => {
  it.scopedLive("its signed request is accepted, and its own verifier accepts the signed answer", () =>
    Effect.gen(function*() {
      const { fake, wxpay } = yield* serve()
      const res = yield* post(wxpay, body(F.brandId, [s(0), s(1), s(1)]))
      assert.strictEqual(res.status, 200)
      assert.deepStrictEqual(res.data, { total_count: 2, success_store_list: [{ store_id: s(0) }, { store_id: s(1) }] })
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
      assert.deepStrictEqual(fake.log.map((e) => [e.status, e.processed]), [[200, true]])
    }))

  it.scopedLive("its verifier rejects the sandbox's wrong, probe and stale signatures (so acceptance means something)", () =>
    Effect.gen(function*() {
      const { wxpay } = yield* serve({ faults: { script: ["wrongSignature", "probeSignature", "staleTimestamp"] } })
      const codes: Array<string | undefined> = []
      for (let i = 0; i < 3; i++) codes.push((yield* Effect.flip(post(wxpay, body(F.brandId, [s(i)])))).code)
      assert.deepStrictEqual(codes, [
        "EV3_RES_HEADER_SIGNATURE_DIGEST",
        "EV3_RES_HEADER_SIGNATURE_DIGEST",
        "EV3_RES_HEADER_TIMESTAMP_OFFSET"
      ])
    }))

  it.scopedLive("its Rsa.verify over its Formatter.response accepts a raw sandbox answer", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      // Signed with the plugin's own primitives: the sandbox signs answers only to requests it verified.
      const timestamp = String(Math.floor(Date.now() / 1000))
      const nonce = Formatter.nonce()
      const signature = Rsa.sign(Formatter.request("GET", "/", timestamp, nonce), Redacted.value(keys.merchantPrivateKeyPem))
      const authorization = Formatter.authorization(keys.mchid, nonce, signature, timestamp, keys.merchantSerialNo)
      const answer = yield* Effect.async<{ headers: Http.IncomingHttpHeaders; body: string }, Error>((resume) => {
        const req = Http.request(
          { host: "127.0.0.1", port: server.primaryPort, method: "GET", path: "/", headers: { "user-agent": "x", authorization } },
          (res) => {
            const chunks: Array<Buffer> = []
            res.on("data", (c: Buffer) => chunks.push(c))
            res.on("end", () => resume(Effect.succeed({ headers: res.headers, body: Buffer.concat(chunks).toString("utf8") })))
          }
        )
        req.on("error", (e) => resume(Effect.fail(e)))
        req.end()
      })
      // A signed 400 (no Accept, a good signature): the plugin's primitives check it as its verifier would a 2xx.
      const h = answer.headers
      const message = Formatter.response(String(h["wechatpay-timestamp"]), String(h["wechatpay-nonce"]), answer.body)
      assert.isTrue(Rsa.verify(message, String(h["wechatpay-signature"]), keys.wechatpayPublicKeyPem))
      assert.isFalse(Rsa.verify(`${message} `, String(h["wechatpay-signature"]), keys.wechatpayPublicKeyPem))
      assert.strictEqual(h["wechatpay-serial"], keys.wechatpayPublicKeyId)
    }))

  it.scopedLive("a request whose signature is off by one byte gets 401 SIGN_ERROR and changes nothing", () =>
    Effect.gen(function*() {
      const { fake, wxpay } = yield* serve()
      // transformRequest runs after the plugin's signing interceptor: the last chance to touch the header.
      const failure = yield* Effect.flip(post(wxpay, body(F.brandId, [s(0)]), {
        transformRequest: [(data: unknown, headers: { get(n: string): unknown; set(n: string, v: string): void }) => {
          headers.set("Authorization", corruptAuthorization(String(headers.get("Authorization"))))
          headers.set("Content-Type", "application/json")
          return JSON.stringify(data)
        }]
      }))
      assert.strictEqual(failure.response?.status, 401)
      assert.deepStrictEqual(failure.response?.data, { code: "SIGN_ERROR", message: "签名错误，请检查后再试" })
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
      assert.deepStrictEqual(fake.log.map((e) => [e.status, e.processed]), [[401, false]])
      // And the very same call, untouched, goes through.
      const ok = yield* post(wxpay, body(F.brandId, [s(0)]))
      assert.strictEqual(ok.status, 200)
    }))
})
