import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, TestClock } from "effect"
import { KeyStore, MerchantConfig, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import * as Authorization from "../packages/effect-wechatpay/src/internal/Authorization.js"
import * as ResponseVerifier from "../packages/effect-wechatpay/src/internal/ResponseVerifier.js"
import { merchantKeyPem, vector, vectors, wechatPublicKeyPem } from "./fixtures.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { post } from "./support/Requests.js"

const options: MerchantConfig.Options = {
  mchid: vectors.merchant.mchid,
  merchantSerialNo: vectors.merchant.serial_no,
  privateKey: Redacted.make(merchantKeyPem),
  publicKeyId: vectors.response_example.serial,
  publicKey: wechatPublicKeyPem
}

const crypto = (signer: typeof Signer.layer) =>
  signer.pipe(Layer.provideMerge(KeyStore.layer), Layer.provideMerge(MerchantConfig.layer(options)))

const utf8 = (text: string) => new TextEncoder().encode(text)

/** The request sign string as the official page writes it: five lines, each ending in "\n", the last one too. */
const officialSignString = (v: { readonly method: string; readonly url: string; readonly body: string }) =>
  `${v.method}\n${v.url}\n${vectors.timestamp}\n${vectors.nonce}\n${v.body}\n`

for (const [name, signer] of [["node:crypto", Signer.layer], ["webcrypto", Signer.layerWebCrypto]] as const) {
  describe(`official vectors (${name})`, () => {
    for (const id of ["V-A", "V-B"]) {
      // What the client signs is requestMessage (bytes over the body bytes sent), so that is what is checked.
      it.effect(`${id}: requestMessage is the official sign string's UTF-8, and its signature is reproduced byte for byte`, () =>
        Effect.gen(function*() {
          const v = vector(id)
          const message = Authorization.requestMessage(v.method, v.url, vectors.timestamp, vectors.nonce, utf8(v.body))
          assert.deepStrictEqual(message, utf8(officialSignString(v)))
          const s = yield* Signer.Signer
          assert.strictEqual(yield* s.sign(message), v.signature)
        }).pipe(Effect.provide(crypto(signer))))
    }

    it.effect("V-R verifies, and fails without its final newline", () =>
      Effect.gen(function*() {
        const r = vectors.response_example
        const s = yield* Signer.Signer
        const keys = yield* KeyStore.KeyStore
        const key = yield* keys.lookup(r.serial)
        assert.isTrue(key._tag === "Some")
        if (key._tag !== "Some") return
        const body = new TextEncoder().encode(r.body)
        assert.isTrue(yield* s.verify(key.value, Authorization.responseMessage(r.timestamp, r.nonce, body), r.signature))
        const withoutNewline = `${r.timestamp}\n${r.nonce}\n${r.body}`
        assert.isFalse(yield* s.verify(key.value, withoutNewline, r.signature))
        // Through the verifier, at the example's own time.
        yield* TestClock.setTime(Number(r.timestamp) * 1000)
        const verify = ResponseVerifier.make(keys, s, "300 seconds")
        yield* verify({
          status: 200,
          headers: {
            "wechatpay-timestamp": r.timestamp,
            "wechatpay-nonce": r.nonce,
            "wechatpay-signature": r.signature,
            "wechatpay-serial": r.serial
          },
          body
        })
      }).pipe(Effect.provide(crypto(signer))))
  })
}

describe("Authorization header", () => {
  const capture = RecordingHttpClient.make(() => RecordingHttpClient.refuse)
  const live = WechatPayClient.layer(options).pipe(Layer.provide(capture.layer))

  it.effect("the full V-A header, with the fixed clock and nonce, as the client sends it", () =>
    Effect.gen(function*() {
      const v = vector("V-A")
      yield* TestClock.setTime(Number(vectors.timestamp) * 1000)
      const client = yield* WechatPayClient.WechatPayClient
      const result = yield* client.execute(post(v.url, v.body)).pipe(Effect.flip, Effect.provideService(Authorization.Nonce, Authorization.fixedNonce(vectors.nonce)))
      assert.strictEqual(result._tag, "TransportError")
      assert.strictEqual(capture.requests.length, 1)
      const seen = capture.requests[0]!
      assert.strictEqual(
        seen.headers["authorization"],
        vectors["expected_authorization_V-A"].replace("<V-A signature>", v.signature)
      )
      assert.strictEqual(seen.bodyText, v.body)
      assert.strictEqual(seen.url.href, "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi")
    }).pipe(Effect.provide(live)))
})
