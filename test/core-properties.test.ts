// Properties of the security core: what is signed is exactly what is sent, and signatures hold
// for exactly the signed bytes — for both Signer backends.
import { assert, describe, it } from "@effect/vitest"
import { HttpBody, HttpClientRequest } from "@effect/platform"
import { Effect, Either, FastCheck, Layer, Schema, Stream, TestClock } from "effect"
import * as NodeCrypto from "node:crypto"
import { KeyStore, MerchantConfig, ProductCoupon, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import * as Authorization from "../packages/effect-wechatpay/src/internal/Authorization.js"
import { baseOptions, keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { type Recorded, signed } from "./support/RecordingHttpClient.js"
import { clientWithKeysLayer, signerLayers } from "./support/Clients.js"
import { disassociate, PRIMARY, sampleInput } from "./support/Requests.js"

const methods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

// Paths with every kind of character: spaces, %, ?, #, non-ASCII, controls. The URL parser
// normalizes them; the property is that the signature covers the normalized form actually sent.
const pathArb = FastCheck.string({ unit: "binary", maxLength: 60 }).map((s) => `/v3/${s}`)
const bodyArb = FastCheck.option(FastCheck.jsonValue({ maxDepth: 3 }), { nil: undefined })

/** Checks the Authorization header against the request as captured, independently of src/. */
const verifyAsServer = (sent: Recorded): boolean => {
  const creds = Authorization.parse(sent.headers["authorization"] ?? "")
  if (creds === undefined) return false
  const head = Buffer.from(
    `${sent.method}\n${sent.url.pathname}${sent.url.search}\n${creds.timestamp}\n${creds.nonce}\n`,
    "utf8"
  )
  const message = Buffer.concat([head, sent.body, Buffer.from("\n")])
  return NodeCrypto.verify("sha256", message, keys.merchantPublicKey, Buffer.from(creds.signature, "base64"))
}

for (const [name, signer] of signerLayers) {
  describe(`bytes signed = bytes sent (${name})`, () => {
    it.effect.prop(
      "for arbitrary paths, methods and JSON bodies",
      [pathArb, FastCheck.constantFrom(...methods), bodyArb],
      ([path, method, body]) =>
        Effect.gen(function*() {
          const log: Array<Recorded> = []
          yield* TestClock.setTime(NOW * 1000)
          const url = `${PRIMARY}${path}`
          const request = body === undefined
            ? HttpClientRequest.make(method)(url)
            : HttpClientRequest.bodyText(HttpClientRequest.make(method)(url), JSON.stringify(body), "application/json")
          const client = yield* Effect.provide(
            WechatPayClient.WechatPayClient,
            clientWithKeysLayer(signer, () => signed(200, "{}"), baseOptions, log)
          )
          yield* client.execute(request)
          assert.strictEqual(log.length, 1)
          const sent = log[0]!
          assert.strictEqual(sent.method, method)
          // The body on the wire is exactly the bytes the request carried.
          assert.deepStrictEqual(new Uint8Array(sent.body), new TextEncoder().encode(body === undefined ? "" : JSON.stringify(body)))
          assert.isTrue(verifyAsServer(sent), `signature over what was sent: ${sent.method} ${sent.url.pathname}${sent.url.search}`)
        }),
      { fastCheck: { numRuns: 60 } }
    )
  })

  describe(`sign then verify (${name})`, () => {
    const verificationKey = Either.getOrThrow(
      KeyStore.parsePublicKey("merchant public key", "PUB_KEY_ID_MERCHANT", keys.merchantPublicKeyPem)
    )
    const layer = signer.pipe(Layer.provide(KeyStore.layer), Layer.provide(MerchantConfig.layer(baseOptions)))
    const flip = (bytes: Uint8Array, index: number, delta: number): Uint8Array => {
      const out = Uint8Array.from(bytes)
      const i = index % out.length
      out[i] = out[i]! ^ (1 + (delta % 255)) // never 0, so the byte always changes
      return out
    }

    it.effect.prop(
      "holds for the signed message and fails after any single-byte change of message or signature",
      [FastCheck.uint8Array({ minLength: 1, maxLength: 512 }), FastCheck.nat(), FastCheck.nat()],
      ([message, index, delta]) =>
        Effect.gen(function*() {
          const s = yield* Signer.Signer
          const signature = yield* s.sign(message)
          assert.isTrue(yield* s.verify(verificationKey, message, signature))
          assert.isFalse(yield* s.verify(verificationKey, flip(message, index, delta), signature))
          const sigBytes = Buffer.from(signature, "base64")
          const badSig = Buffer.from(flip(sigBytes, index, delta)).toString("base64")
          assert.isFalse(yield* s.verify(verificationKey, message, badSig))
          // The other side of the protocol (node:crypto, independent of the backend) agrees.
          assert.isTrue(NodeCrypto.verify("sha256", message, keys.merchantPublicKey, sigBytes))
        }).pipe(Effect.provide(layer)),
      { fastCheck: { numRuns: 60 } }
    )

    it.effect.prop(
      "string messages are signed as their UTF-8 bytes",
      [FastCheck.string({ unit: "grapheme", maxLength: 200 })],
      ([text]) =>
        Effect.gen(function*() {
          const s = yield* Signer.Signer
          const fromString = yield* s.sign(text)
          assert.strictEqual(fromString, yield* s.sign(new TextEncoder().encode(text)))
          assert.isTrue(yield* s.verify(verificationKey, text, fromString))
        }).pipe(Effect.provide(layer)),
      { fastCheck: { numRuns: 30 } }
    )
  })
}

describe("the two backends agree", () => {
  it.effect.prop(
    "RSASSA-PKCS1-v1_5 is deterministic: node:crypto and WebCrypto give the same signature",
    [FastCheck.uint8Array({ maxLength: 256 })],
    ([message]) =>
      Effect.gen(function*() {
        const base = KeyStore.layer.pipe(Layer.provide(MerchantConfig.layer(baseOptions)))
        const node = yield* Effect.provide(Signer.Signer, Signer.layer.pipe(Layer.provide(base)))
        const web = yield* Effect.provide(Signer.Signer, Signer.layerWebCrypto.pipe(Layer.provide(base)))
        assert.strictEqual(yield* node.sign(message), yield* web.sign(message))
      }),
    { fastCheck: { numRuns: 20 } }
  )
})

describe("Authorization header and nonces", () => {
  const token = FastCheck.stringMatching(/^[0-9A-Za-z_+/=.-]{1,64}$/)
  it.prop(
    "parse(format(c)) = c, and the fields may come in any order",
    [FastCheck.record({ mchid: token, nonce: token, signature: token, timestamp: token, serialNo: token }), FastCheck.nat()],
    ([creds, seed]) => {
      const header = Authorization.format(creds)
      assert.deepStrictEqual(Authorization.parse(header), creds)
      const fields = header.slice(Authorization.SCHEME.length + 1).split(",")
      const rotated = [...fields.slice(seed % fields.length), ...fields.slice(0, seed % fields.length)]
      assert.deepStrictEqual(Authorization.parse(`${Authorization.SCHEME} ${rotated.join(",")}`), creds)
      // Dropping or duplicating a field is malformed.
      assert.isUndefined(Authorization.parse(`${Authorization.SCHEME} ${fields.slice(1).join(",")}`))
      assert.isUndefined(Authorization.parse(`${Authorization.SCHEME} ${[...fields, fields[0]].join(",")}`))
    }
  )

  it("random nonces are 32 characters of [0-9A-Za-z] and do not repeat", () => {
    const seen = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const nonce = Authorization.randomNonce()
      assert.match(nonce, /^[0-9A-Za-z]{32}$/)
      seen.add(nonce)
    }
    assert.strictEqual(seen.size, 2000)
  })
})

describe("the request body", () => {
  it.effect("a body that is not bytes already serialized is a typed RequestEncodeError, and nothing is sent", () =>
    Effect.gen(function*() {
      const log: Array<Recorded> = []
      yield* TestClock.setTime(NOW * 1000)
      const client = yield* Effect.provide(
        WechatPayClient.WechatPayClient,
        clientWithKeysLayer(Signer.layer, () => signed(200, "{}"), baseOptions, log)
      )
      const base = HttpClientRequest.post(`${PRIMARY}/v3/x`)
      const bodies = [
        HttpClientRequest.bodyStream(base, Stream.make(new TextEncoder().encode("{}"))),
        HttpClientRequest.bodyFormData(base, new FormData()),
        HttpClientRequest.setBody(base, HttpBody.raw("{}"))
      ]
      for (const request of bodies) {
        const error = yield* Effect.flip(client.execute(request))
        assert.strictEqual(error._tag, "RequestEncodeError")
      }
      assert.strictEqual(log.length, 0)
    }))

  it("the endpoint's prepare serializes the body once, to the JSON bytes of the body Schema's encoding", () => {
    const request = Either.getOrThrow(Either.flatMap(disassociate.validate(sampleInput), disassociate.prepare))
    assert.strictEqual(request.body._tag, "Uint8Array")
    if (request.body._tag !== "Uint8Array") return
    const wire = Schema.encodeSync(ProductCoupon.RequestBody)(Either.getOrThrow(disassociate.validate(sampleInput)))
    assert.deepStrictEqual(request.body.body, new TextEncoder().encode(JSON.stringify(wire)))
    assert.strictEqual(request.body.contentType, "application/json")
  })

  it("a request the body Schema cannot encode is a typed RequestEncodeError, never an exception", () => {
    const valid = Either.getOrThrow(disassociate.validate(sampleInput))
    const unencodable = [
      { ...valid, storeList: [] },
      { ...valid, brandId: "" },
      { ...valid, storeList: [{ storeId: 1n }] },
      { ...valid, storeList: "S1" }
    ] as unknown as ReadonlyArray<typeof valid>
    for (const request of unencodable) {
      const result = disassociate.prepare(request)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "RequestEncodeError")
    }
  })
})
