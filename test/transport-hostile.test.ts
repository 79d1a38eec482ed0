// Hostile answers over real loopback HTTP, with every transport an application may provide
// (FetchHttpClient, NodeHttpClient.layerUndici and this project's UndiciHttpClient): redirects are never followed and never look like
// an unreachable domain, and an encoded answer is bounded after decoding. Each server counts what
// reaches it.
import { FetchHttpClient, HttpClient, HttpClientResponse } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Either, Layer, Option, TestClock } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Zlib from "node:zlib"
import { ProductCouponStores, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { ServerProtocol, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { markNeverFollowsRedirects } from "../packages/effect-wechatpay/src/internal/TransportTraits.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"
import { keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { signed } from "./support/RecordingHttpClient.js"
import { clientLayer } from "./support/Clients.js"
import { disassociateRequest, PRIMARY } from "./support/Requests.js"

const MAX = WechatPayClient.MAX_RESPONSE_BYTES

const transports: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["fetch", FetchHttpClient.layer],
  ["undici", NodeHttpClient.layerUndici],
  ["UndiciHttpClient", UndiciHttpClient.layer]
]

/** The transports over undici, which hands over the bytes as sent (no decoding). */
const undiciTransports = transports.filter(([name]) => name !== "fetch")

const input: ProductCouponStores.DisassociateStoresInput = {
  productCouponId: "200000001",
  stockId: "123456789",
  brandId: "120344",
  storeList: [{ storeId: "100000001" }]
}
/** The disassociate request of `input`, to `base`. */
const request = (base: string = PRIMARY) => disassociateRequest(input, base)

/** A loopback HTTP server for the test's scope, counting the requests that reach it; yields its base URL. */
const serve = (handler: Http.RequestListener = (req, res) => {
  req.resume()
  res.writeHead(404).end()
}) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<{ server: Http.Server; hits: Array<Http.IncomingMessage> }>((resume) => {
        const hits: Array<Http.IncomingMessage> = []
        const server = Http.createServer((req, res) => {
          hits.push(req)
          handler(req, res)
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, hits })))
      }),
      ({ server }) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ),
    ({ hits, server }) => ({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits })
  )

const seconds = () => Math.floor(Date.now() / 1000)

/** The signature in a request's Authorization header. */
const signatureOf = (req: Http.IncomingMessage) => /signature="([^"]+)"/.exec(req.headers.authorization ?? "")?.[1] ?? ""

/** The attempt's outcome as an Either, with no body in it for the reporter to print. */
const outcome = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.either(effect)

describe.each(transports)("redirects are never followed (%s)", (_, transport) => {
  for (const status of [301, 302, 303, 307, 308]) {
    it.scopedLive(`a ${status} is an UnexpectedResponseError: not followed, not retried, no failover`, () =>
      Effect.gen(function*() {
        const elsewhere = yield* serve()
        const backup = yield* serve()
        // The primary redirects every request elsewhere, echoing the request's signature in the body.
        const primary = yield* serve((req, res) => {
          req.resume()
          res.writeHead(status, { location: `${elsewhere.url}${req.url ?? "/"}`, "content-type": "text/plain" })
          res.end(`moved; you sent signature ${signatureOf(req)}`)
        })
        const options = TestKeys.merchantOptions(keys, { baseUrl: primary.url, backupBaseUrl: backup.url })
        const context = yield* Layer.build(
          ProductCouponStores.layerMerchant(options, {
            rateLimit: false,
            retry: { baseDelay: "10 millis", jitter: 0 },
            timeout: "5 seconds"
          }).pipe(Layer.provide(transport))
        )
        const service = Context.get(context, ProductCouponStores.ProductCouponStores)

        const first = yield* outcome(service.disassociateStores(input))
        const error = Either.isLeft(first) ? first.left : undefined
        assert.strictEqual(error?._tag, "UnexpectedResponseError")
        if (error?._tag !== "UnexpectedResponseError") return
        assert.strictEqual(error.status, status)
        // The echoed signature never reaches the error.
        const sent = signatureOf(primary.hits[0]!)
        assert.isAbove(sent.length, 40)
        assert.isFalse(error.excerpt.includes(sent.slice(0, 40)))
        assert.include(error.excerpt, "<redacted>")
        assert.strictEqual(primary.hits.length, 1)
        assert.strictEqual(elsewhere.hits.length, 0)
        assert.strictEqual(backup.hits.length, 0)

        // No failover: the next call goes to the primary again.
        yield* outcome(service.disassociateStores(input))
        assert.strictEqual(primary.hits.length, 2)
        assert.strictEqual(elsewhere.hits.length, 0)
        assert.strictEqual(backup.hits.length, 0)
      }))
  }
})

describe("fetch options the application provides", () => {
  it.scopedLive("a RequestInit given to FetchHttpClient.layer and a Fetch given where the client is built are kept", () =>
    Effect.gen(function*() {
      const elsewhere = yield* serve()
      const primary = yield* serve((req, res) => {
        req.resume()
        res.writeHead(302, { location: `${elsewhere.url}/` }).end()
      })
      let fetches = 0
      const counting: typeof globalThis.fetch = (input, init) => {
        fetches += 1
        return globalThis.fetch(input, init)
      }
      const transport = FetchHttpClient.layer.pipe(
        Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { headers: { "x-app": "kept" } }))
      )
      const result = yield* Effect.flatMap(WechatPayClient.WechatPayClient, (client) => client.execute(request(primary.url))).pipe(
        Effect.provide(
          WechatPayClient.layer(TestKeys.merchantOptions(keys, { baseUrl: primary.url })).pipe(
            Layer.provide(transport),
            Layer.provide(Layer.succeed(FetchHttpClient.Fetch, counting))
          )
        ),
        Effect.either
      )
      assert.strictEqual(Either.isLeft(result) && result.left._tag === "UnexpectedResponseError" ? result.left.status : 0, 302)
      assert.strictEqual(fetches, 1)
      assert.strictEqual(primary.hits[0]?.headers["x-app"], "kept")
      assert.strictEqual(elsewhere.hits.length, 0)
    }))
})

describe("3xx answers (in memory)", () => {
  const attempt = (status: number, body: string, sign: boolean) =>
    Effect.flatMap(WechatPayClient.WechatPayClient, (client) => client.execute(request())).pipe(
      Effect.provide(clientLayer(() => sign ? signed(status, body) : { status, body, headers: { location: "https://elsewhere.example/" } })),
      Effect.either
    )

  it.effect("a 3xx whose body looks like a WeChat Pay error is still an UnexpectedResponseError", () =>
    Effect.gen(function*() {
      const result = yield* attempt(302, `{"code":"SYSTEM_ERROR","message":"moved"}`, false)
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(error?._tag, "UnexpectedResponseError")
      assert.strictEqual(error?._tag === "UnexpectedResponseError" ? error.status : 0, 302)
    }))

  it.effect("a signed 3xx is verified first, then an UnexpectedResponseError", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const result = yield* attempt(301, `{"code":"SYSTEM_ERROR","message":"moved"}`, true)
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(error?._tag, "UnexpectedResponseError")
      assert.isTrue(error?._tag === "UnexpectedResponseError" && error.verified)
    }))
})

/** `size` bytes of zeros, gzipped: 64 MiB come to ~64 KiB. */
const ZEROS = 64 * MAX
const bomb = Zlib.gzipSync(Buffer.alloc(ZEROS))
const PIECES = 16

/**
 * A server answering `status` with the gzipped zeros and their correct compressed Content-Length,
 * a piece every 20 ms; `closed` gets how many pieces were written when the connection closed.
 */
const bombServer = (status: number) =>
  Effect.gen(function*() {
    const closed = yield* Deferred.make<number>()
    const { url } = yield* serve((req, res) => {
      req.resume()
      res.writeHead(status, {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "content-length": String(bomb.length),
        ...ServerProtocol.signResponse(keys, "signed over something else", seconds())
      })
      const size = Math.ceil(bomb.length / PIECES)
      let written = 0
      const timer = setInterval(() => {
        if (res.destroyed) return
        res.write(bomb.subarray(written * size, (written + 1) * size))
        written += 1
        if (written === PIECES) {
          clearInterval(timer)
          res.end()
        }
      }, 20)
      res.on("close", () => {
        clearInterval(timer)
        Deferred.unsafeDone(closed, Effect.succeed(written))
      })
    })
    return { url, closed }
  })

const overHttp = (url: string, transport: Layer.Layer<HttpClient.HttpClient>) =>
  Effect.flatMap(WechatPayClient.WechatPayClient, (client) => client.execute(request(url))).pipe(
    Effect.provide(
      WechatPayClient.layer(TestKeys.merchantOptions(keys, { baseUrl: url })).pipe(Layer.provide(transport))
    ),
    Effect.either
  )

describe("an encoded answer is bounded after decoding", () => {
  it("the bomb is small on the wire, under the limit, and large decoded", () => {
    assert.isBelow(bomb.length, MAX / 8)
    assert.isAbove(ZEROS, 16 * MAX)
  })

  for (const status of [200, 500]) {
    // fetch decodes: the decoded bytes are counted and reading stops at the limit.
    it.scopedLive(`fetch: a gzip ${status} that inflates to 64 MiB fails at the limit, promptly`, () =>
      Effect.gen(function*() {
        const { closed, url } = yield* bombServer(status)
        const started = Date.now()
        const result = yield* overHttp(url, FetchHttpClient.layer)
        const error = Either.isLeft(result) ? result.left : undefined
        assert.strictEqual(error?._tag, "TransportError")
        if (error?._tag !== "TransportError") return
        assert.strictEqual(error.phase, "response")
        assert.include(error.reason, `over the ${MAX}-byte limit (Content-Encoding gzip)`)
        assert.isBelow(Date.now() - started, 2_000)
        // The client stopped reading: the connection closed before the server had sent it all.
        const written = yield* Deferred.await(closed).pipe(Effect.timeout("5 seconds"))
        assert.isBelow(written, PIECES)
      }))

    // undici does not decode: it hands over the ~64 KiB as sent, which is not what was signed.
    for (const [name, transport] of undiciTransports) {
      it.scopedLive(`${name}: a gzip ${status} that inflates to 64 MiB is read as its compressed bytes`, () =>
        Effect.gen(function*() {
          const { url } = yield* bombServer(status)
          const started = Date.now()
          const result = yield* overHttp(url, transport)
          const error = Either.isLeft(result) ? result.left : undefined
          // Signed, so checked (an error answer too): the signature covers other bytes.
          assert.strictEqual(error?._tag, "InvalidSignatureError")
          assert.isBelow(Date.now() - started, 2_000)
        }))
    }
  }

  it.scopedLive("fetch sends accept-encoding: identity; so does undici", () =>
    Effect.gen(function*() {
      for (const [, transport] of transports) {
        const server = yield* serve((req, res) => {
          req.resume()
          const body = `{"total_count":0}`
          res.writeHead(200, { "content-type": "application/json", ...ServerProtocol.signResponse(keys, body, seconds()) })
          res.end(body)
        })
        yield* overHttp(server.url, transport)
        assert.strictEqual(server.hits[0]?.headers["accept-encoding"], "identity")
      }
    }))

  // A small gzip answer from a server that ignored accept-encoding: bounded and typed either way.
  it.scopedLive("a small honest gzip 200: fetch decodes and verifies it; undici's raw bytes fail verification", () =>
    Effect.gen(function*() {
      const body = `{"total_count":1,"success_store_list":[{"store_id":"100000001"}],"failed_store_list":[]}`
      const gz = Zlib.gzipSync(body)
      const { url } = yield* serve((req, res) => {
        req.resume()
        res.writeHead(200, {
          "content-type": "application/json",
          "content-encoding": "gzip",
          "content-length": String(gz.length),
          ...ServerProtocol.signResponse(keys, body, seconds())
        })
        res.end(gz)
      })
      const viaFetch = yield* overHttp(url, FetchHttpClient.layer)
      assert.isTrue(Either.isRight(viaFetch))
      if (Either.isRight(viaFetch)) assert.strictEqual(new TextDecoder().decode(viaFetch.right.body), body)
      for (const [, transport] of undiciTransports) {
        const viaUndici = yield* overHttp(url, transport)
        assert.strictEqual(Either.isLeft(viaUndici) ? viaUndici.left._tag : "success", "InvalidSignatureError")
      }
    }))
})

// fetch's `redirect: "manual"` is set per request through `FetchHttpClient.Fetch`; a transport of this
// package that never follows a redirect is spared that step, and only the exact object its layer provides.
describe("the redirect guard is skipped only where it provably has nothing to do", () => {
  /** A transport that reports whether the guard's `Fetch` was in its context, as a 204. */
  const probe = () => {
    const seen: Array<boolean> = []
    const http = HttpClient.make((request) =>
      Effect.map(Effect.serviceOption(FetchHttpClient.Fetch), (fetch) => {
        seen.push(Option.isSome(fetch))
        return HttpClientResponse.fromWeb(request, new Response(null, { status: 204 }))
      })
    )
    return { http, seen }
  }
  const once = (http: HttpClient.HttpClient) =>
    Effect.flatMap(WechatPayClient.WechatPayClient, (client) => Effect.either(client.execute(request()))).pipe(
      Effect.provide(
        WechatPayClient.layer(TestKeys.merchantOptions(keys)).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, http)))
      )
    )

  it.effect("kept for any transport; skipped for a marked one; kept again once the application wraps it", () =>
    Effect.gen(function*() {
      const plain = probe()
      yield* once(plain.http)
      const marked = probe()
      yield* once(markNeverFollowsRedirects(marked.http))
      const wrapped = probe()
      yield* once(HttpClient.mapRequest(markNeverFollowsRedirects(wrapped.http), (r) => r))
      assert.deepStrictEqual([plain.seen, marked.seen, wrapped.seen], [[true], [false], [true]])
    }))
})

describe("a reflected signature escaped by JSON", () => {
  // A proxy or echo service that writes the request's Authorization into its JSON error: `\/` (as PHP
  // does) and `\u002b` for "+" hide the signature from a search of the raw text, not from the parsed values.
  const escape = (text: string) => text.replaceAll("/", "\\/").replaceAll("+", "\\u002b")
  it.scopedLive("is redacted from the WechatPayApiError's message and detail", () =>
    Effect.gen(function*() {
      const primary = yield* serve((req, res) => {
        req.resume()
        const auth = escape(JSON.stringify(req.headers.authorization ?? "").slice(1, -1))
        res.writeHead(400, { "content-type": "application/json" })
        res.end(`{"code":"PARAM_ERROR","message":"bad Authorization: ${auth}","detail":{"echo":"${auth}"}}`)
      })
      const options = TestKeys.merchantOptions(keys, { baseUrl: primary.url, backupBaseUrl: primary.url })
      const context = yield* Layer.build(
        ProductCouponStores.layerMerchant(options, { rateLimit: false, retry: false }).pipe(Layer.provide(UndiciHttpClient.layer))
      )
      const service = Context.get(context, ProductCouponStores.ProductCouponStores)
      const result = yield* outcome(service.disassociateStores(input))
      const error = Either.isLeft(result) ? result.left : undefined
      assert.strictEqual(error?._tag, "ParamError")
      const sent = signatureOf(primary.hits[0]!)
      // The raw body really did hide it from a plain search (so this tests the parsed values).
      assert.isAbove(sent.length, 40)
      assert.match(sent, /[+/]/)
      const shown = [String(error), JSON.stringify(error), JSON.stringify((error as { detail?: unknown }).detail)]
      for (const text of shown) assert.isFalse(text.includes(sent), "the signature reached the error")
      assert.include(String(error), "<redacted>")
      assert.include(JSON.stringify((error as { detail?: unknown }).detail), "<redacted>")
    }))
})

describe("a reflected signature in other encodings, and long error bodies", () => {
  /** The service over UndiciHttpClient against `handler`, no retries; the first call's error and the signature sent. */
  const firstError = (handler: Http.RequestListener) =>
    Effect.gen(function*() {
      const primary = yield* serve(handler)
      const options = TestKeys.merchantOptions(keys, { baseUrl: primary.url, backupBaseUrl: primary.url })
      const context = yield* Layer.build(
        ProductCouponStores.layerMerchant(options, { rateLimit: false, retry: false }).pipe(Layer.provide(UndiciHttpClient.layer))
      )
      const result = yield* outcome(Context.get(context, ProductCouponStores.ProductCouponStores).disassociateStores(input))
      return { error: Either.isLeft(result) ? result.left : undefined, sent: signatureOf(primary.hits[0]!) }
    })
  /** The signature's runs of letters and digits a reader could piece it back from. */
  const runs = (signature: string) => signature.split(/[^0-9A-Za-z]+/).filter((run) => run.length >= 12)

  for (const [label, encode] of [
    ["percent-encoded", (text: string) => encodeURIComponent(text)],
    ["as HTML entities", (text: string) => text.replaceAll("+", "&#43;").replaceAll("/", "&#x2F;").replaceAll("=", "&#61;")]
  ] as const) {
    it.scopedLive(`${label} in a gateway's page: no part of it reaches the UnexpectedResponseError`, () =>
      Effect.gen(function*() {
        const { error, sent } = yield* firstError((req, res) => {
          req.resume()
          res.writeHead(502, { "content-type": "text/html" })
          res.end(`<html><body>upstream error for ${encode(req.headers.authorization ?? "")}</body></html>`)
        })
        assert.strictEqual(error?._tag, "UnexpectedResponseError")
        assert.isNotEmpty(runs(sent))
        for (const text of [String(error), JSON.stringify(error)]) {
          for (const run of runs(sent)) assert.isFalse(text.includes(run), "a run of the signature reached the error")
        }
        assert.include(String(error), "<redacted>")
      }))
  }

  it.scopedLive("a 400 whose message and detail are ~1 MB: both cut to an excerpt", () =>
    Effect.gen(function*() {
      const { error } = yield* firstError((req, res) => {
        req.resume()
        res.writeHead(400, { "content-type": "application/json" })
        res.end(JSON.stringify({ code: "PARAM_ERROR", message: "参数错误 " + "x".repeat(600_000), detail: { echo: "y".repeat(300_000) } }))
      })
      assert.strictEqual(error?._tag, "ParamError")
      const message = (error as { message: string }).message
      assert.isBelow(message.length, 1_000)
      assert.include(message, "参数错误")
      assert.isBelow(JSON.stringify((error as { detail?: unknown }).detail).length, 1_000)
    }))
})

describe("a timeout after the answer's headers came", () => {
  // The host answered (status line and headers), then its body stalled: slow, not unreachable.
  const stalls: Http.RequestListener = (req, res) => {
    req.resume()
    res.writeHead(200, { "content-type": "application/json", "content-length": "100" })
    res.write("{")
  }
  /** One call with one retry and a 300 ms attempt timeout, over `transport`; its error. */
  const callOnce = (primary: string, backup: string, transport: Layer.Layer<HttpClient.HttpClient>) =>
    Effect.gen(function*() {
      const options = TestKeys.merchantOptions(keys, { baseUrl: primary, backupBaseUrl: backup })
      const context = yield* Layer.build(
        ProductCouponStores.layerMerchant(options, {
          rateLimit: false,
          retry: { baseDelay: "10 millis", jitter: 0, maxTransientRetries: 1 },
          timeout: "300 millis"
        }).pipe(Layer.provide(transport))
      )
      const result = yield* outcome(Context.get(context, ProductCouponStores.ProductCouponStores).disassociateStores(input))
      return Either.isLeft(result) ? result.left : undefined
    })
  for (const [name, transport] of transports) {
    it.scopedLive(`is a TimeoutError of phase response: retried on the same host, no failover (${name})`, () =>
      Effect.gen(function*() {
        const primary = yield* serve(stalls)
        const backup = yield* serve()
        const error = yield* callOnce(primary.url, backup.url, transport)
        assert.strictEqual(error?._tag, "TimeoutError", String(error))
        if (error?._tag !== "TimeoutError") return
        assert.strictEqual(error.phase, "response")
        assert.isFalse(error.behaviour.triggersFailover)
        assert.strictEqual(primary.hits.length, 2)
        assert.strictEqual(backup.hits.length, 0)
      }))
  }

  it.scopedLive("a host that sends nothing at all still fails over (phase request)", () =>
    Effect.gen(function*() {
      const primary = yield* serve((req) => req.resume())
      const backup = yield* serve(stalls)
      const error = yield* callOnce(primary.url, backup.url, UndiciHttpClient.layer)
      assert.strictEqual(error?._tag, "TimeoutError")
      assert.strictEqual(primary.hits.length, 1)
      assert.strictEqual(backup.hits.length, 1)
      // The backup answered its headers: its timeout is a slow body.
      if (error?._tag === "TimeoutError") assert.strictEqual(error.phase, "response")
    }))
})
