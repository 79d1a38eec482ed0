// No secret — private key PEM body or key fields, a request signature, an Authorization header —
// may appear in an error (message, JSON, String), a log line, or a span attribute.
import { HttpClientError, HttpClientResponse } from "@effect/platform"
import * as Headers from "@effect/platform/Headers"
import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Layer, Logger, Redacted, TestClock } from "effect"
import * as NodeCrypto from "node:crypto"
import { KeyStore, MerchantConfig, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { baseOptions, keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { type Recorded, signed } from "./support/RecordingHttpClient.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { post } from "./support/Requests.js"
import * as RecordingTracer from "./support/RecordingTracer.js"

const privatePem = Redacted.value(keys.merchantPrivateKeyPem)
const pkcs1Pem = NodeCrypto.createPrivateKey(privatePem).export({ type: "pkcs1", format: "pem" }).toString()

/** Every fragment of key material that must never be printed. */
const keySecrets = (pem: string): Array<string> => {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")
  const lines = pem.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"))
  const jwk = NodeCrypto.createPrivateKey(pem).export({ format: "jwk" })
  const fields = [jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].filter((f): f is string => typeof f === "string")
  const der = new Uint8Array(NodeCrypto.createPrivateKey(pem).export({ type: "pkcs8", format: "der" }))
  return [
    body,
    ...lines,
    // Base64url key fields, and the first 24 characters of each (catches truncated prints too).
    ...fields,
    ...fields.map((f) => f.slice(0, 24)),
    // The DER bytes printed as numbers, in case a Uint8Array ever leaks.
    Array.from(der.subarray(100, 132)).join(","),
    Buffer.from(der.subarray(100, 132)).toString("hex")
  ]
}
const secrets = [...keySecrets(privatePem), ...keySecrets(pkcs1Pem)]

/** Captured Authorization headers: the header and its signature are secrets too. */
const sentLog: Array<Recorded> = []
const requestSecrets = (): Array<string> =>
  sentLog.flatMap((s) => {
    const auth = s.headers["authorization"] ?? ""
    const sig = /signature="([^"]+)"/.exec(auth)?.[1] ?? "no-signature-captured"
    return [auth, sig, sig.slice(0, 40)]
  })

const assertClean = (label: string, text: string) => {
  for (const secret of [...secrets, ...requestSecrets()]) {
    if (secret.length > 0 && text.includes(secret)) assert.fail(`${label} leaks key material or a signature`)
  }
}

/** Every printed form of an error. */
const assertErrorClean = (error: unknown) => {
  assert.isTrue(error instanceof Error, "errors are Error values")
  if (!(error instanceof Error)) return
  const withJson = error as Error & { toJSON?: () => unknown }
  assertClean("message", error.message)
  assertClean("String()", String(error))
  assertClean("JSON.stringify", JSON.stringify(error))
  assertClean("toJSON()", JSON.stringify(withJson.toJSON?.() ?? null))
  assertClean("stack", error.stack ?? "")
  assertClean("Cause.pretty", Cause.pretty(Cause.fail(error)))
}

/** A logger that keeps what every built-in format would print. */
const captureLogs = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make((options) => {
      lines.push(
        Logger.logfmtLogger.log(options),
        Logger.jsonLogger.log(options),
        Logger.stringLogger.log(options),
        JSON.stringify(Logger.structuredLogger.log(options))
      )
    })
  )

type Handler = (sent: Recorded) => RecordingHttpClient.Step

/** The shared recording fake, logging into {@link sentLog}. */
const recordingHttp = (handler: Handler) => RecordingHttpClient.layer(handler, sentLog)

const respond = (status: number, body: string, headers: Readonly<Record<string, string>>): Handler => () => ({
  status,
  body,
  headers
})

const OK = `{"total_count":1}`
const failingAnswers: ReadonlyArray<readonly [string, Handler]> = [
  ["tampered body", respond(200, `{"total_count":2}`, signed(200, OK).headers)],
  ["unsigned 2xx", respond(200, OK, {})],
  ["probe", respond(200, OK, { ...signed(200, OK).headers, "wechatpay-signature": "WECHATPAY/SIGNTEST/AAAA" })],
  ["stale", respond(200, OK, signed(200, OK, { at: NOW - 1000 }).headers)],
  ["unknown serial", respond(200, OK, { ...signed(200, OK).headers, "wechatpay-serial": "PUB_KEY_ID_X" })],
  ["signed 401", respond(401, `{"code":"SIGN_ERROR","message":"签名错误"}`, signed(401, `{"code":"SIGN_ERROR","message":"签名错误"}`).headers)],
  ["gateway 502", respond(502, "<html>bad gateway</html>", { "request-id": "GW" })],
  [
    "an echo service reflecting the request headers",
    (sent) => respond(400, `<pre>Bad request\nAuthorization: ${sent.headers["authorization"]}\n</pre>`, {})(sent)
  ],
  [
    // WeChat Pay's error shape, so the message becomes WechatPayApiError's.
    "an echo inside a JSON error's message",
    (sent) => respond(400, JSON.stringify({ code: "PARAM_ERROR", message: `bad header ${sent.headers["authorization"]}` }), {})(sent)
  ],
  [
    "an echo inside a JSON error's detail",
    (sent) =>
      respond(400, JSON.stringify({ code: "PARAM_ERROR", message: "bad header", detail: { header: sent.headers["authorization"] } }), {})(sent)
  ],
  [
    "connection refused",
    () => ({
      _tag: "Respond",
      respond: (request) =>
        Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: new Error("connect ECONNREFUSED") }))
    })
  ],
  [
    "body stream broken",
    () => ({
      _tag: "Respond",
      respond: (request) =>
        Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(new ReadableStream({ pull: (c) => c.error(new Error("socket reset")) }), { status: 200 })
        ))
    })
  ]
]

describe("no secret in errors or logs", () => {
  for (const [label, handler] of failingAnswers) {
    it.effect(`execute failing with ${label}`, () =>
      Effect.gen(function*() {
        const lines: Array<string> = []
        const spans: Array<RecordingTracer.RecordingSpan> = []
        yield* TestClock.setTime(NOW * 1000)
        const layer = WechatPayClient.layer(baseOptions).pipe(Layer.provide(recordingHttp(handler)))
        const before = sentLog.length
        const error = yield* Effect.gen(function*() {
          const client = yield* WechatPayClient.WechatPayClient
          return yield* client.execute(post("/v3/x", JSON.stringify({ a: 1 }))).pipe(
            Effect.withSpan("test.execute"),
            Effect.tapErrorCause((cause) => Effect.logError("execute failed", cause)),
            Effect.flip
          )
        }).pipe(Effect.provide(layer), Effect.provide(captureLogs(lines)), Effect.withTracer(RecordingTracer.make(spans)))
        assert.strictEqual(sentLog.length, before + 1, "the request was sent (so there is a signature to leak)")
        assertErrorClean(error)
        assert.isAbove(lines.length, 0)
        for (const line of lines) assertClean("log line", line)
        const http = spans.find((s) => s.name.startsWith("http.client"))
        assert.isDefined(http, "the http.client span was recorded")
        for (const span of spans) assertClean(`span ${span.name}`, RecordingTracer.spanText(span))
      }))
  }

  const badConfigs: ReadonlyArray<readonly [string, MerchantConfig.Options]> = [
    ["PKCS#1 private key", { ...baseOptions, privateKey: Redacted.make(pkcs1Pem) }],
    ["private key given as the public key", { ...baseOptions, publicKey: privatePem }],
    ["private key given as a certificate", { ...baseOptions, platformCertificates: [privatePem] }],
    ["private key with a broken line", { ...baseOptions, privateKey: Redacted.make(privatePem.replace(/\n(.{10})/, "\n$1!")) }],
    ["private key as mchid", { ...baseOptions, mchid: privatePem }],
    ["private key as the public key id", { ...baseOptions, publicKeyId: privatePem }]
  ]
  for (const [label, options] of badConfigs) {
    it.effect(`building the layer with ${label}`, () =>
      Effect.gen(function*() {
        const lines: Array<string> = []
        const error = yield* Layer.build(
          Signer.layer.pipe(Layer.provideMerge(KeyStore.layer), Layer.provideMerge(MerchantConfig.layer(options)))
        ).pipe(
          Effect.scoped,
          Effect.tapErrorCause((cause) => Effect.logError("layer failed", cause)),
          Effect.flip,
          Effect.provide(captureLogs(lines))
        )
        assertErrorClean(error)
        for (const line of lines) assertClean("log line", line)
      }))
  }

  it.effect("a private key set in WECHATPAY_PUBLIC_KEY does not leak through layerConfig", () =>
    Effect.gen(function*() {
      const env = new Map(Object.entries({
        WECHATPAY_MCHID: keys.mchid,
        WECHATPAY_MERCHANT_SERIAL_NO: keys.merchantSerialNo,
        WECHATPAY_PRIVATE_KEY: pkcs1Pem,
        WECHATPAY_PUBLIC_KEY_ID: keys.wechatpayPublicKeyId,
        WECHATPAY_PUBLIC_KEY: privatePem
      }))
      const error = yield* Layer.build(WechatPayClient.layerConfig.pipe(Layer.provide(recordingHttp(respond(500, "", {}))))).pipe(
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(env)),
        Effect.flip
      )
      assert.strictEqual(error._tag, "KeyFormatError")
      assertErrorClean(error)
    }))

  it.effect("the configuration and key store print their keys as <redacted>", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      yield* Effect.gen(function*() {
        const config = yield* MerchantConfig.MerchantConfig
        const store = yield* KeyStore.KeyStore
        yield* Effect.logInfo("config", config, store)
        assertClean("String(config.privateKey)", String(config.privateKey))
        assertClean("JSON config", JSON.stringify(config))
        assertClean("JSON key store", JSON.stringify(store))
      }).pipe(
        Effect.provide(KeyStore.layer.pipe(Layer.provideMerge(MerchantConfig.layer(baseOptions)))),
        Effect.provide(captureLogs(lines))
      )
      assert.isAbove(lines.length, 0)
      for (const line of lines) assertClean("log line", line)
    }))
})

/** One signed attempt answered by `answer`, traced; its http.client span. */
const run = (answer: Handler, redacted?: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const spans: Array<RecordingTracer.RecordingSpan> = []
    yield* TestClock.setTime(NOW * 1000)
    const layer = WechatPayClient.layer(baseOptions).pipe(Layer.provide(recordingHttp(answer)))
    const attempt = Effect.gen(function*() {
      const client = yield* WechatPayClient.WechatPayClient
      return yield* Effect.either(client.execute(post("/v3/x", JSON.stringify({ a: 1 }))))
    }).pipe(Effect.provide(layer), Effect.withTracer(RecordingTracer.make(spans)))
    yield* redacted === undefined ? attempt : Effect.locally(attempt, Headers.currentRedactedNames, redacted)
    const http = spans.find((s) => s.name.startsWith("http.client"))
    assert.isDefined(http)
    return http!
  })

describe("span attributes", () => {
  it.effect("the attempt span records the method, URL, status and Request-ID, and no header at all", () =>
    Effect.gen(function*() {
      const headers = { ...signed(200, OK, { requestId: "REQ-SPAN" }).headers, "set-cookie": "session=abc" }
      const span = yield* run(respond(200, OK, headers))
      assert.strictEqual(span.attributes.get("http.request.method"), "POST")
      assert.strictEqual(span.attributes.get("url.full"), "https://api.mch.weixin.qq.com/v3/x")
      assert.strictEqual(span.attributes.get("server.address"), "api.mch.weixin.qq.com")
      assert.strictEqual(span.attributes.get("http.response.status_code"), 200)
      assert.strictEqual(span.attributes.get("wechatpay.request_id"), "REQ-SPAN")
      const names = [...span.attributes.keys()]
      assert.deepStrictEqual(names.filter((name) => name.includes("header")), [])
      assertClean("http.client span", RecordingTracer.spanText(span))
    }))

  it.effect("headers stay out of the span even when an application un-redacts them", () =>
    Effect.gen(function*() {
      // With an empty redaction list the platform's own span would record Authorization in clear.
      const span = yield* run(respond(200, OK, signed(200, OK).headers), [])
      assert.isUndefined(span.attributes.get("http.request.header.authorization"))
      assert.isUndefined(span.attributes.get("http.response.header.wechatpay-signature"))
      assertClean("http.client span", RecordingTracer.spanText(span))
    }))

  it.effect("no trace-context headers are sent to WeChat Pay", () =>
    Effect.gen(function*() {
      const before = sentLog.length
      yield* run(respond(200, OK, signed(200, OK).headers))
      const sent = sentLog[before]!
      assert.isUndefined(sent.headers["traceparent"])
      assert.isUndefined(sent.headers["b3"])
    }))
})

describe("the checker itself", () => {
  it.effect("would notice a leak (guards against a vacuous pass)", () =>
    Effect.gen(function*() {
      // A request of its own, so there is a signature to find even when this test runs alone.
      yield* run(respond(200, OK, signed(200, OK).headers))
      assert.throws(() => assertClean("probe", `oops ${privatePem}`))
      assert.throws(() => assertClean("probe", `oops ${pkcs1Pem.split("\n")[3]}`))
      const fields = NodeCrypto.createPrivateKey(privatePem).export({ format: "jwk" })
      assert.throws(() => assertClean("probe", `d=${fields.d}`))
      const signatures = requestSecrets()
      assert.isAbove(signatures.length, 0)
      assert.throws(() => assertClean("probe", `Authorization: ${signatures[0]}`))
    }))
})
