// The answer-size limit: WechatPayClient reads at most MAX_RESPONSE_BYTES of a body, with or
// without a Content-Length, in memory and over real loopback HTTP, and stops reading past it.
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Layer, TestClock } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { WechatPayClient, type WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import { ServerProtocol } from "../packages/effect-wechatpay/src/testing/index.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"
import { baseOptions, keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { type Reply, signed } from "./support/RecordingHttpClient.js"
import { clientLayer } from "./support/Clients.js"
import { disassociateRequest, PRIMARY, sampleInput } from "./support/Requests.js"

const MAX = WechatPayClient.MAX_RESPONSE_BYTES

/** A signed JSON answer of exactly `size` bytes. */
const answerOf = (size: number, headers: Record<string, string> = {}): Reply => {
  const head = `{"total_count":0,"pad":"`
  const body = `${head}${"x".repeat(size - head.length - 2)}"}`
  assert.strictEqual(Buffer.byteLength(body), size)
  const reply = signed(200, body)
  return { ...reply, headers: { ...reply.headers, ...headers } }
}

/** The attempt's TransportError; a success fails the test without printing a megabyte body. */
const transportError = <R>(effect: Effect.Effect<unknown, { readonly _tag: string }, R>) =>
  Effect.flatMap(Effect.either(effect), (result) =>
    result._tag === "Left" && result.left._tag === "TransportError"
      ? Effect.succeed(result.left as unknown as WechatPayError.TransportError)
      : Effect.dieMessage(result._tag === "Left" ? `expected a TransportError, got ${result.left._tag}` : "expected a TransportError, the attempt succeeded"))

/** One disassociate attempt to `base`, through whatever client is provided. */
const executeAt = (base: string) =>
  Effect.flatMap(WechatPayClient.WechatPayClient, (client) => client.execute(disassociateRequest(sampleInput, base)))
const execute = executeAt(PRIMARY)

const attempt = (reply: Reply) =>
  Effect.zipRight(TestClock.setTime(NOW * 1000), execute).pipe(Effect.provide(clientLayer(() => reply)))

describe("answer size limit (in memory)", () => {
  it.effect("an answer of exactly the limit, without a Content-Length, is read and verified", () =>
    Effect.gen(function*() {
      const res = yield* attempt(answerOf(MAX))
      assert.strictEqual(res.body.length, MAX)
    }))

  it.effect("one byte over, without a Content-Length: a TransportError of the response phase", () =>
    Effect.gen(function*() {
      const err = yield* transportError(attempt(answerOf(MAX + 1)))
      assert.strictEqual(err.phase, "response")
      assert.include(err.reason, `over the ${MAX}-byte limit`)
      assert.notInclude(err.reason, "Content-Length")
    }))

  it.effect("one byte over with its Content-Length: the error names the declared length", () =>
    Effect.gen(function*() {
      const err = yield* transportError(attempt(answerOf(MAX + 1, { "content-length": String(MAX + 1) })))
      assert.include(err.reason, `(Content-Length ${MAX + 1})`)
    }))

  it.effect("an answer within the limit with its Content-Length is read in one piece", () =>
    Effect.gen(function*() {
      const res = yield* attempt(answerOf(4_096, { "content-length": "4096" }))
      assert.strictEqual(res.body.length, 4_096)
    }))
})

describe("answer size limit over loopback HTTP", () => {
  /** A loopback HTTP server for the test's scope; yields its base URL. */
  const serve = (handler: Http.RequestListener) =>
    Effect.acquireRelease(
      Effect.async<Http.Server>((resume) => {
        const server = Http.createServer(handler)
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`))

  /** One attempt against `url` over real HTTP, through `transport`. */
  const overHttpWith = (transport: Layer.Layer<HttpClient.HttpClient>) => (url: string) =>
    executeAt(url).pipe(Effect.provide(WechatPayClient.layer({ ...baseOptions, baseUrl: url }).pipe(Layer.provide(transport))))

  // fetch reads the body as a stream the client counts; UndiciHttpClient reads it whole, up to its own
  // limit (the same 1 MiB by default), and says so.
  for (const [name, transport] of [["fetch", FetchHttpClient.layer], ["UndiciHttpClient", UndiciHttpClient.layer]] as const) {
    const overHttp = overHttpWith(transport)
    it.scopedLive(`${name}: a 64 MiB body: the attempt fails at the limit and the client closes the connection`, () =>
      Effect.gen(function*() {
        // Signed headers, then 64 MiB of body (chunked, no Content-Length; to a client without the
        // limit it is as good as endless, and finite keeps a broken client from filling memory).
        // `closed` gets how much was sent when the connection closes.
        const closed = yield* Deferred.make<number>()
        const headers = ServerProtocol.signResponse(keys, "never verified: the body never ends", Math.floor(Date.now() / 1000))
        const url = yield* serve((req, res) => {
          req.resume()
          res.writeHead(200, { "content-type": "application/json", ...headers })
          let sent = 0
          const chunk = Buffer.alloc(64 * 1024, 0x78)
          const pump = () => {
            while (!res.destroyed && sent < 64 * MAX) {
              sent += chunk.length
              if (!res.write(chunk)) return
            }
            if (!res.destroyed) res.end()
          }
          res.on("drain", pump)
          res.on("close", () => Deferred.unsafeDone(closed, Effect.succeed(sent)))
          pump()
        })
        const err = yield* transportError(overHttp(url))
        assert.include(err.reason, `over the ${MAX}-byte limit`)
        // The client stopped reading: the server sees the connection close after about the limit.
        const sent = yield* Deferred.await(closed).pipe(Effect.timeout("5 seconds"))
        assert.isBelow(sent, 16 * MAX)
      }))

    it.scopedLive(`${name}: the usual answer over HTTP, with its Content-Length, still verifies`, () =>
      Effect.gen(function*() {
        const body = `{"total_count":1,"success_store_list":[{"store_id":"100000001"}],"failed_store_list":[]}`
        const url = yield* serve((req, res) => {
          req.resume()
          const reply = signed(200, body, { at: Math.floor(Date.now() / 1000) })
          res.writeHead(200, { ...reply.headers, "content-length": String(Buffer.byteLength(body)) })
          res.end(body)
        })
        const res = yield* overHttp(url)
        assert.strictEqual(new TextDecoder().decode(res.body), body)
      }))
  }
})
