// Both sandbox forms check a request's signature over its body bytes as sent, as WeChat Pay does,
// not over the body decoded to text and encoded again: a client that signs what it sends is
// never told SIGN_ERROR because of what the bytes are (a BOM, bytes that are not UTF-8). The
// requests are signed here with node:crypto, independently of the library's own sign string.
import { HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as NodeCrypto from "node:crypto"
import { FakeWechatPay, SandboxHttpClient, SandboxServer } from "../packages/effect-wechatpay/src/testing/index.js"
import { F, keys } from "./sandbox-support.js"
import { disassociatePath } from "./support/Requests.js"

const PATH = disassociatePath(F.productCouponId, F.stockId)
const merchantKey = NodeCrypto.createPrivateKey(Redacted.value(keys.merchantPrivateKeyPem))

/** The APIv3 request sign string over the exact body bytes, signed with the merchant key. */
const authorization = (method: string, target: string, body: Uint8Array, nowSeconds: number) => {
  const nonce = NodeCrypto.randomBytes(16).toString("hex")
  const message = Buffer.concat([Buffer.from(`${method}\n${target}\n${nowSeconds}\n${nonce}\n`), body, Buffer.from("\n")])
  const signature = NodeCrypto.sign("sha256", message, merchantKey).toString("base64")
  return `WECHATPAY2-SHA256-RSA2048 mchid="${keys.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${nowSeconds}",serial_no="${keys.merchantSerialNo}"`
}

const json = (storeId: string) => JSON.stringify({ brand_id: F.brandId, store_list: [{ store_id: storeId }] })
const BODIES = {
  // A UTF-8 byte order mark before the JSON: not JSON to WeChat Pay, but signed correctly.
  bom: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json(FakeWechatPay.storeId(0)))]),
  // "café" in Latin-1: the é is a byte that is not UTF-8.
  latin1: Buffer.from(json("caf\u00e9"), "latin1")
}

const fresh = () => FakeWechatPay.makeWith(keys, { rateLimit: false, seed: FakeWechatPay.generate({ stores: 20 }) })

describe("the signature covers the body bytes as sent", () => {
  for (const [name, bytes] of Object.entries(BODIES)) {
    it.scopedLive(`${name}: over loopback HTTP, the signature passes and the rules answer (no 401)`, () =>
      Effect.gen(function*() {
        const fake = fresh()
        const server = yield* SandboxServer.make(fake)
        const response = yield* Effect.promise(() =>
          fetch(server.baseUrl + PATH, {
            method: "POST",
            body: bytes,
            headers: {
              accept: "application/json",
              "content-type": "application/json",
              "user-agent": "raw-bytes-test/1.0",
              authorization: authorization("POST", PATH, bytes, Math.floor(Date.now() / 1000))
            }
          })
        )
        const text = yield* Effect.promise(() => response.text())
        assert.notStrictEqual(response.status, 401, text)
        assert.notStrictEqual(fake.log[0]?.code, "SIGN_ERROR")
      }))

    it.effect(`${name}: in memory, the same`, () =>
      Effect.gen(function*() {
        const fake = fresh()
        const client = SandboxHttpClient.make(fake, { baseUrl: "https://sandbox.test" })
        // The in-memory form checks timestamps on effect's Clock: TestClock's 0 here.
        const request = HttpClientRequest.post(`https://sandbox.test${PATH}`).pipe(
          HttpClientRequest.setHeaders({
            accept: "application/json",
            "user-agent": "raw-bytes-test/1.0",
            authorization: authorization("POST", PATH, bytes, 0)
          }),
          HttpClientRequest.bodyUint8Array(bytes, "application/json")
        )
        const response = yield* client.execute(request)
        const text = yield* response.text
        assert.notStrictEqual(response.status, 401, text)
        assert.notStrictEqual(fake.log[0]?.code, "SIGN_ERROR")
      }))
  }

  it.scopedLive("a BOM gets the same answer from both forms: 400 PARAM_ERROR, nothing changed", () =>
    Effect.gen(function*() {
      const overHttp = fresh()
      const server = yield* SandboxServer.make(overHttp)
      yield* Effect.promise(() =>
        fetch(server.baseUrl + PATH, {
          method: "POST",
          body: BODIES.bom,
          headers: {
            accept: "application/json",
            "user-agent": "raw-bytes-test/1.0",
            authorization: authorization("POST", PATH, BODIES.bom, Math.floor(Date.now() / 1000))
          }
        }).then((r) => r.arrayBuffer())
      )
      const inMemory = fresh()
      const now = Date.now()
      const request = HttpClientRequest.post(`https://sandbox.test${PATH}`).pipe(
        HttpClientRequest.setHeaders({
          accept: "application/json",
          "user-agent": "raw-bytes-test/1.0",
          authorization: authorization("POST", PATH, BODIES.bom, Math.floor(now / 1000))
        }),
        HttpClientRequest.bodyUint8Array(BODIES.bom, "application/json")
      )
      yield* SandboxHttpClient.make(inMemory, { baseUrl: "https://sandbox.test" }).execute(request)
      for (const fake of [overHttp, inMemory]) {
        assert.deepStrictEqual([fake.log[0]?.status, fake.log[0]?.code], [400, "PARAM_ERROR"])
        assert.isTrue(fake.isAssociated(F.stockId, FakeWechatPay.storeId(0)))
      }
    }))
})
