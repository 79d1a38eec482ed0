// Response verification and error mapping, through WechatPayClient.execute over an in-memory HttpClient.
import { HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, TestClock } from "effect"
import * as NodeCrypto from "node:crypto"
import { readFileSync } from "node:fs"
import { KeyStore, MerchantConfig, Signer, WechatPayClient, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import * as Authorization from "../packages/effect-wechatpay/src/internal/Authorization.js"
import { ServerProtocol } from "../packages/effect-wechatpay/src/testing/index.js"
import { baseOptions, keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { type Recorded, type Reply, signed } from "./support/RecordingHttpClient.js"
import { clientLayer, signerLayers } from "./support/Clients.js"
import { disassociateRequest } from "./support/Requests.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"

const OK_BODY = `{"total_count":2,"success_store_list":[{"store_id":"100000001"}],"failed_store_list":[]}`
const request = disassociateRequest()

/** Runs one attempt at NOW against a fake that answers `reply`. */
const attempt = (reply: (sent: Recorded) => Reply, log: Array<Recorded> = [], options = baseOptions) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(NOW * 1000)
    const client = yield* WechatPayClient.WechatPayClient
    return yield* client.execute(request)
  }).pipe(Effect.provide(clientLayer(reply, log, options)))

const withHeaders = (reply: Reply, change: (h: Record<string, string>) => void): Reply => {
  const headers = { ...reply.headers }
  change(headers)
  return { ...reply, headers }
}

describe("a verified 2xx", () => {
  it.effect("returns the raw body, status and Request-ID; the request carried every required header", () =>
    Effect.gen(function*() {
      const log: Array<Recorded> = []
      const res = yield* attempt(() => signed(200, OK_BODY, { requestId: "REQ-1" }), log)
      assert.strictEqual(new TextDecoder().decode(res.body), OK_BODY)
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.requestId, "REQ-1")
      assert.strictEqual(log.length, 1)
      const sent = log[0]!
      assert.strictEqual(sent.headers["accept"], "application/json")
      assert.strictEqual(sent.headers["content-type"], "application/json")
      assert.match(sent.headers["user-agent"] ?? "", /^effect-wechatpay\/\d+\.\d+\.\d+ \(Node\.js\/\d+/)
      assert.strictEqual(sent.headers["wechatpay-serial"], keys.wechatpayPublicKeyId)
      // The server's own check accepts it: mchid, serial_no, timestamp and signature over what was sent.
      const rejection = ServerProtocol.checkRequest({
        method: sent.method,
        target: sent.url.pathname + sent.url.search,
        headers: sent.headers,
        bodyText: new TextDecoder().decode(sent.body)
      }, keys, NOW)
      assert.isUndefined(rejection)
    }))

  it("the User-Agent version is the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../packages/effect-wechatpay/package.json", import.meta.url), "utf8"))
    assert.strictEqual(WechatPayClient.VERSION, pkg.version)
    assert.include(WechatPayClient.userAgent(), `effect-wechatpay/${pkg.version} `)
  })

  it.effect("an empty 204 body verifies (the sign string's body line is just \\n)", () =>
    Effect.gen(function*() {
      const res = yield* attempt(() => ({ status: 204, headers: signed(204, "").headers ?? {} }))
      assert.strictEqual(res.status, 204)
      assert.strictEqual(res.body.length, 0)
    }))

  it.effect("timestamps just inside the window are accepted on both sides", () =>
    Effect.gen(function*() {
      for (const at of [NOW - 299, NOW + 299]) {
        const res = yield* attempt(() => signed(200, OK_BODY, { at }))
        assert.strictEqual(res.status, 200)
      }
    }))

  it.effect("every attempt signs afresh: a retried execute sends a new nonce and timestamp each time", () =>
    Effect.gen(function*() {
      const log: Array<Recorded> = []
      let calls = 0
      const layer = clientLayer(() => (++calls < 3 ? signed(500, `{"code":"SYSTEM_ERROR","message":"busy"}`) : signed(200, OK_BODY)), log)
      yield* TestClock.setTime(NOW * 1000)
      const client = yield* Effect.provide(WechatPayClient.WechatPayClient, layer)
      const res = yield* client.execute(request).pipe(
        // Move the clock between attempts so the timestamps differ too.
        Effect.tapError(() => TestClock.adjust("1 second")),
        Effect.retry({ times: 5 })
      )
      assert.strictEqual(res.status, 200)
      assert.strictEqual(log.length, 3)
      const auths = log.map((s) => ServerProtocol.checkRequest({
        method: s.method,
        target: s.url.pathname + s.url.search,
        headers: s.headers,
        bodyText: new TextDecoder().decode(s.body)
      }, keys, NOW + 2))
      assert.deepStrictEqual(auths, [undefined, undefined, undefined])
      const creds = log.map((s) => Authorization.parse(s.headers["authorization"] ?? ""))
      assert.strictEqual(new Set(creds.map((c) => c?.nonce)).size, 3)
      assert.deepStrictEqual(creds.map((c) => c?.timestamp), [String(NOW), String(NOW + 1), String(NOW + 2)])
      // Every attempt sends the same body bytes.
      assert.deepStrictEqual(log[0]!.body, log[2]!.body)
    }))
})

describe("each verification failure is its own typed error", () => {
  it.effect("tampered body → InvalidSignatureError", () =>
    Effect.gen(function*() {
      const good = signed(200, OK_BODY)
      const err = yield* Effect.flip(attempt(() => ({ ...good, body: OK_BODY.replace("2", "3") })))
      assert.strictEqual(err._tag, "InvalidSignatureError")
      if (err._tag !== "InvalidSignatureError") return
      assert.strictEqual(err.serial, keys.wechatpayPublicKeyId)
      assert.strictEqual(err.status, 200)
    }))

  it.effect("tampered signature → InvalidSignatureError", () =>
    Effect.gen(function*() {
      const good = signed(200, OK_BODY)
      const sig = good.headers!["wechatpay-signature"]!
      const flipped = (sig[10] === "A" ? "B" : "A")
      const err = yield* Effect.flip(attempt(() =>
        withHeaders(good, (h) => {
          h["wechatpay-signature"] = sig.slice(0, 10) + flipped + sig.slice(11)
        })
      ))
      assert.strictEqual(err._tag, "InvalidSignatureError")
    }))

  it.effect("a signature that is not Base64 → InvalidSignatureError, not a defect", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(attempt(() =>
        withHeaders(signed(200, OK_BODY), (h) => {
          h["wechatpay-signature"] = "%%% not base64 %%%"
        })
      ))
      assert.strictEqual(err._tag, "InvalidSignatureError")
    }))

  for (const [label, at] of [["stale (300 s old)", NOW - 300], ["future (300 s ahead)", NOW + 300], ["far past", 1]] as const) {
    it.effect(`${label} timestamp → StaleTimestampError`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(attempt(() => signed(200, OK_BODY, { at })))
        assert.strictEqual(err._tag, "StaleTimestampError")
        if (err._tag !== "StaleTimestampError") return
        assert.strictEqual(err.timestamp, String(at))
        assert.strictEqual(err.nowSeconds, NOW)
        assert.strictEqual(err.toleranceSeconds, 300)
      }))
  }

  it.effect("a non-numeric timestamp → StaleTimestampError", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(attempt(() =>
        withHeaders(signed(200, OK_BODY), (h) => {
          h["wechatpay-timestamp"] = "17e8"
        })
      ))
      assert.strictEqual(err._tag, "StaleTimestampError")
    }))

  it.effect("the clock window is configurable (maxClockSkew)", () =>
    Effect.gen(function*() {
      const options = { ...baseOptions, maxClockSkew: "60 seconds" as const }
      const err = yield* Effect.flip(attempt(() => signed(200, OK_BODY, { at: NOW - 60 }), [], options))
      assert.strictEqual(err._tag, "StaleTimestampError")
      const ok = yield* attempt(() => signed(200, OK_BODY, { at: NOW - 59 }), [], options)
      assert.strictEqual(ok.status, 200)
    }))

  it.effect("unknown serial → UnknownSerialError listing the known ids, never keys", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(attempt(() =>
        withHeaders(signed(200, OK_BODY), (h) => {
          h["wechatpay-serial"] = "PUB_KEY_ID_0000000000000000000000000000000099"
        })
      ))
      assert.strictEqual(err._tag, "UnknownSerialError")
      if (err._tag !== "UnknownSerialError") return
      assert.strictEqual(err.serial, "PUB_KEY_ID_0000000000000000000000000000000099")
      assert.deepStrictEqual(err.knownSerials, [keys.wechatpayPublicKeyId])
      assert.notInclude(JSON.stringify(err), "MII")
    }))

  it.effect("probe signature (WECHATPAY/SIGNTEST/) → SignatureProbeError", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(attempt(() =>
        withHeaders(signed(200, OK_BODY, { requestId: "PROBE-1" }), (h) => {
          h["wechatpay-signature"] = "WECHATPAY/SIGNTEST/" + h["wechatpay-signature"]
        })
      ))
      assert.strictEqual(err._tag, "SignatureProbeError")
      if (err._tag !== "SignatureProbeError") return
      assert.strictEqual(err.requestId, "PROBE-1")
      assert.strictEqual(err.serial, keys.wechatpayPublicKeyId)
    }))

  for (const header of ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"]) {
    it.effect(`missing ${header} → MissingSignatureHeadersError naming it`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(attempt(() =>
          withHeaders(signed(200, OK_BODY), (h) => {
            delete h[header.toLowerCase()]
          })
        ))
        assert.strictEqual(err._tag, "MissingSignatureHeadersError")
        if (err._tag !== "MissingSignatureHeadersError") return
        assert.deepStrictEqual(err.missing, [header.toLowerCase()])
      }))
  }

  it.effect("an unsigned 2xx is treated as forged → MissingSignatureHeadersError with all four", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(attempt(() => ({ status: 200, body: OK_BODY, headers: { "request-id": "R-2" } })))
      assert.strictEqual(err._tag, "MissingSignatureHeadersError")
      if (err._tag !== "MissingSignatureHeadersError") return
      assert.deepStrictEqual(err.missing, ["wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial"])
      assert.strictEqual(err.requestId, "R-2")
      assert.strictEqual(err.status, 200)
    }))
})

describe("error responses", () => {
  const errorBody = JSON.stringify({
    code: "PARAM_ERROR",
    message: "参数错误",
    detail: { field: "/store_list/0/store_id", value: "", issue: "empty", location: "body" }
  })

  it.effect("a signed 4xx → WechatPayApiError verified=true with status, code, message, detail, Request-ID", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(attempt(() => signed(400, errorBody, { requestId: "REQ-400" })))
      assert.strictEqual(err._tag, "WechatPayApiError")
      if (err._tag !== "WechatPayApiError") return
      assert.strictEqual(err.verified, true)
      assert.strictEqual(err.status, 400)
      assert.strictEqual(err.code, "PARAM_ERROR")
      assert.strictEqual(err.message, "参数错误")
      assert.deepStrictEqual(err.detail, { field: "/store_list/0/store_id", value: "", issue: "empty", location: "body" })
      assert.strictEqual(err.requestId, "REQ-400")
    }))

  it.effect("an unsigned 4xx → WechatPayApiError verified=false (detail kept as unknown data, any shape)", () =>
    Effect.gen(function*() {
      const body = JSON.stringify({ code: "SIGN_ERROR", message: "签名错误", detail: [1, "two", { three: 3 }] })
      const err = yield* Effect.flip(attempt(() => ({ status: 401, body, headers: { "request-id": "REQ-401" } })))
      assert.strictEqual(err._tag, "WechatPayApiError")
      if (err._tag !== "WechatPayApiError") return
      assert.strictEqual(err.verified, false)
      assert.strictEqual(err.code, "SIGN_ERROR")
      assert.deepStrictEqual(err.detail, [1, "two", { three: 3 }])
      assert.strictEqual(err.requestId, "REQ-401")
    }))

  it.effect("an error body without message or detail is still an API error", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(attempt(() => ({ status: 429, body: `{"code":"RATELIMIT_EXCEEDED"}` })))
      assert.strictEqual(err._tag, "WechatPayApiError")
      if (err._tag !== "WechatPayApiError") return
      assert.strictEqual(err.message, "")
      assert.isUndefined(err.detail)
      assert.isUndefined(err.requestId)
    }))

  it.effect("a 4xx with a forged signature → the verification error, not the API error", () =>
    Effect.gen(function*() {
      const good = signed(404, errorBody)
      const forged = yield* Effect.flip(attempt(() => ({ ...good, body: errorBody.replace("PARAM_ERROR", "NOT_FOUND") })))
      assert.strictEqual(forged._tag, "InvalidSignatureError")
      const probed = yield* Effect.flip(attempt(() =>
        withHeaders(good, (h) => {
          h["wechatpay-signature"] = "WECHATPAY/SIGNTEST/abc"
        })
      ))
      assert.strictEqual(probed._tag, "SignatureProbeError")
      const partial = yield* Effect.flip(attempt(() =>
        withHeaders(good, (h) => {
          delete h["wechatpay-nonce"]
        })
      ))
      assert.strictEqual(partial._tag, "MissingSignatureHeadersError")
    }))

  it.effect("a gateway HTML 502 → UnexpectedResponseError with a bounded excerpt and the Request-ID", () =>
    Effect.gen(function*() {
      const page = `<html><head><title>502 Bad Gateway</title></head><body>${"<p>upstream</p>".repeat(500)}</body></html>`
      const err = yield* Effect.flip(attempt(() => ({
        status: 502,
        body: page,
        headers: { "content-type": "text/html", "request-id": "GW-502" }
      })))
      assert.strictEqual(err._tag, "UnexpectedResponseError")
      if (err._tag !== "UnexpectedResponseError") return
      assert.strictEqual(err.status, 502)
      assert.strictEqual(err.requestId, "GW-502")
      assert.strictEqual(err.verified, false)
      assert.isTrue(err.excerpt.startsWith("<html><head><title>502 Bad Gateway"))
      assert.isBelow(err.excerpt.length, WechatPayError.EXCERPT_LIMIT + 32)
      assert.isBelow(err.excerpt.length, page.length)
      assert.include(err.message, "GW-502")
    }))

  for (const [label, body] of [["empty", ""], ["JSON without a code", `{"message":"x"}`], ["a JSON string", `"oops"`]] as const) {
    it.effect(`a 500 with ${label} body → UnexpectedResponseError`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(attempt(() => ({ status: 500, body })))
        assert.strictEqual(err._tag, "UnexpectedResponseError")
        if (err._tag !== "UnexpectedResponseError") return
        assert.strictEqual(err.excerpt, body)
        assert.strictEqual(err.status, 500)
      }))
  }
})

describe("transport", () => {
  it.effect("no response at all → TransportError phase=request", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const failing = Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((req) => Effect.fail(new HttpClientError.RequestError({ request: req, reason: "Transport", description: "ECONNREFUSED" })))
      )
      const client = yield* Effect.provide(WechatPayClient.WechatPayClient, WechatPayClient.layer(baseOptions).pipe(Layer.provide(failing)))
      const err = yield* Effect.flip(client.execute(request))
      assert.strictEqual(err._tag, "TransportError")
      if (err._tag !== "TransportError") return
      assert.strictEqual(err.phase, "request")
      assert.include(err.reason, "ECONNREFUSED")
    }))

  it.effect("a URL that is not an absolute http(s) URL is refused before anything is sent", () =>
    Effect.gen(function*() {
      const log: Array<Recorded> = []
      yield* TestClock.setTime(NOW * 1000)
      const client = yield* Effect.provide(WechatPayClient.WechatPayClient, WechatPayClient.layer(baseOptions).pipe(Layer.provide(RecordingHttpClient.layer(() => signed(200, "{}"), log))))
      for (const url of ["@evil.example/v3/x", ".evil.example/v3/x", "v3/x", "/v3/x", "file:///v3/x", "ftp://api.mch.weixin.qq.com/v3/x"]) {
        const err = yield* Effect.flip(client.execute(HttpClientRequest.get(url)))
        assert.strictEqual(err._tag, "TransportError")
      }
      assert.strictEqual(log.length, 0)
    }))

  it.effect("without a public key id, no Wechatpay-Serial request header is sent", () =>
    Effect.gen(function*() {
      const cert = readFileSync(new URL("./fixtures/platform-cert.pem", import.meta.url), "utf8")
      const log: Array<Recorded> = []
      const options = { ...baseOptions, publicKeyId: undefined, publicKey: undefined, platformCertificates: [cert] }
      yield* Effect.flip(attempt(() => ({ status: 500, body: "" }), log, options))
      assert.strictEqual(log.length, 1)
      assert.isUndefined(log[0]!.headers["wechatpay-serial"])
    }))
})

describe("the Signer is a swappable layer", () => {
  for (const [backend, signer] of signerLayers) {
    it.effect(`only the exact, canonical Base64 signature verifies (${backend})`, () =>
      Effect.gen(function*() {
        const { store, verifier } = yield* Effect.all({ store: KeyStore.KeyStore, verifier: Signer.Signer }).pipe(
          Effect.provide(signer.pipe(Layer.provideMerge(KeyStore.layer), Layer.provide(MerchantConfig.layer(baseOptions))))
        )
        const key = Option.getOrThrow(yield* store.lookup(keys.wechatpayPublicKeyId))
        const message = new TextEncoder().encode("1700000000\nNONCE\n{}\n")
        const good = NodeCrypto.sign("sha256", message, keys.wechatpayPrivateKey).toString("base64")
        assert.isTrue(yield* verifier.verify(key, message, good))
        // Lenient decoders skip separators and stop at padding: each of these would decode to `good`.
        for (const variant of [`${good}, ${good}`, `${good},${good}`, `${good}\n`, ` ${good}`, good.replace(/=+$/, ""), `${good}=`]) {
          assert.isFalse(yield* verifier.verify(key, message, variant), JSON.stringify(variant.slice(-12)))
        }
      }))
  }

  it.effect("a backend that refuses to sign → SigningError, and nothing is sent", () =>
    Effect.gen(function*() {
      const log: Array<Recorded> = []
      const refusing = Layer.succeed(Signer.Signer, Signer.Signer.of({
        backend: "node:crypto",
        sign: () => Effect.fail(new WechatPayError.SigningError({ reason: "hardware module offline" })),
        verify: () => Effect.succeed(false)
      }))
      const layer = WechatPayClient.layerServices.pipe(
        Layer.provide(refusing),
        Layer.provide(KeyStore.layer),
        Layer.provide(MerchantConfig.layer(baseOptions)),
        Layer.provide(RecordingHttpClient.layer(() => signed(200, "{}"), log))
      )
      const err = yield* Effect.flip(Effect.flatMap(WechatPayClient.WechatPayClient, (c) => c.execute(request))).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(err._tag, "SigningError")
      assert.strictEqual(log.length, 0)
    }))

  it.effect("the clock and nonce are injectable: the same inputs give the same Authorization header", () =>
    Effect.gen(function*() {
      const log: Array<Recorded> = []
      yield* TestClock.setTime(NOW * 1000)
      const client = yield* Effect.provide(WechatPayClient.WechatPayClient, clientLayer(() => signed(200, "{}"), log))
      const once = client.execute(request).pipe(Effect.provideService(Authorization.Nonce, Authorization.fixedNonce("N0NCE")))
      yield* once
      yield* once
      assert.strictEqual(log.length, 2)
      assert.strictEqual(log[0]!.headers["authorization"], log[1]!.headers["authorization"])
      const creds = Option.fromNullable(Authorization.parse(log[0]!.headers["authorization"] ?? ""))
      assert.deepStrictEqual(Option.map(creds, (c) => [c.nonce, c.timestamp]), Option.some(["N0NCE", String(NOW)]))
    }))
})
