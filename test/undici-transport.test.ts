// effect-wechatpay/undici's UndiciHttpClient against real loopback servers: what it sends, what it hands
// back (the body exactly, however the socket split it), its limit, its errors, interruption, the
// platform's span when the tracer would record one, the library end to end over it, and the library's
// per-attempt timeout stopping the request itself.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Context, Deferred, Effect, Either, Exit, Fiber, Layer, Option, Stream, TestClock } from "effect"
import * as Http from "node:http"
import { Agent } from "undici"
import type { AddressInfo } from "node:net"
import { KeyStore, MerchantConfig, ProductCouponStores, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import * as AttemptDeadline from "../packages/effect-wechatpay/src/internal/AttemptDeadline.js"
import { FakeWechatPay, SandboxServer, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"
import { keys } from "./support/Keys.js"
import * as RecordingTracer from "./support/RecordingTracer.js"

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
}

/** A loopback server for the test's scope: it records each request (body read whole) and answers with `answer`. */
const serve = (answer: (req: Received, res: Http.ServerResponse) => void) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.async<{ server: Http.Server; received: Array<Received>; sockets: { open: number } }>((resume) => {
        const received: Array<Received> = []
        const sockets = { open: 0 }
        const server = Http.createServer((req, res) => {
          const parts: Array<Buffer> = []
          req.on("data", (part: Buffer) => parts.push(part))
          req.on("end", () => {
            const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(parts) }
            received.push(r)
            answer(r, res)
          })
        })
        server.on("connection", (socket) => {
          sockets.open++
          socket.on("close", () => sockets.open--)
        })
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, received, sockets })))
      }),
      ({ server }) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    ),
    ({ received, server, sockets }) => ({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      received,
      sockets
    })
  )

/** Runs `f` with the client of a fresh `UndiciHttpClient` layer, released when the test's scope closes. */
const withClient = <A, E>(
  f: (http: HttpClient.HttpClient) => Effect.Effect<A, E>,
  options?: UndiciHttpClient.Options
) =>
  Effect.flatMap(
    Layer.build(options === undefined ? UndiciHttpClient.layer : UndiciHttpClient.layerWith(options)),
    (context) => f(HttpClient.withTracerDisabledWhen(Context.get(context, HttpClient.HttpClient), () => true))
  )

const F = FakeWechatPay.Fixture

const bytes = (n: number) => {
  const out = Buffer.alloc(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + 7) & 0xff
  return out
}

describe("UndiciHttpClient: what it sends", () => {
  it.scopedLive("method, path with the query and url params, headers and the body's bytes", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(204).end())
      const body = bytes(3000)
      const response = yield* withClient((http) =>
        http.execute(
          HttpClientRequest.post(`${server.url}/v3/a%20b?x=1`).pipe(
            HttpClientRequest.setUrlParam("y", "2 3"),
            HttpClientRequest.setHeader("X-Custom", "yes"),
            HttpClientRequest.bodyUint8Array(body, "application/json")
          )
        )
      )
      assert.strictEqual(response.status, 204)
      const got = server.received[0]!
      assert.strictEqual(got.method, "POST")
      assert.strictEqual(got.url, "/v3/a%20b?x=1&y=2+3")
      assert.strictEqual(got.headers["x-custom"], "yes")
      assert.strictEqual(got.headers["content-type"], "application/json")
      assert.isTrue(got.body.equals(body))
    }))

  it.scopedLive("a text body, a stream body and a form body", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(204).end())
      yield* withClient((http) =>
        Effect.gen(function*() {
          yield* http.execute(HttpClientRequest.put(`${server.url}/t`).pipe(HttpClientRequest.bodyText("héllo")))
          yield* http.execute(
            HttpClientRequest.post(`${server.url}/s`).pipe(
              HttpClientRequest.bodyStream(Stream.make(new Uint8Array([1, 2]), new Uint8Array([3])))
            )
          )
          const form = new FormData()
          form.set("field", "value")
          yield* http.execute(HttpClientRequest.post(`${server.url}/f`).pipe(HttpClientRequest.bodyFormData(form)))
        })
      )
      const [text, stream, formData] = server.received
      assert.strictEqual(text!.method, "PUT")
      assert.strictEqual(text!.body.toString("utf8"), "héllo")
      assert.deepStrictEqual([...stream!.body], [1, 2, 3])
      assert.match(formData!.headers["content-type"] ?? "", /^multipart\/form-data; boundary=/)
      assert.include(formData!.body.toString("utf8"), `name="field"`)
      assert.include(formData!.body.toString("utf8"), "value")
    }))

  it.scopedLive("a stream body that fails is a RequestError, and nothing is sent", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(204).end())
      const result = yield* withClient((http) =>
        Effect.either(
          http.execute(
            HttpClientRequest.post(`${server.url}/s`).pipe(
              HttpClientRequest.bodyStream(Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail("broken")))
            )
          )
        )
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "RequestError")
        assert.strictEqual(result.left.reason, "Encode")
      }
      assert.strictEqual(server.received.length, 0)
    }))
})

describe("UndiciHttpClient: what it hands back", () => {
  it.scopedLive("status, headers (repeated ones joined), cookies, and the body through every accessor", () =>
    Effect.gen(function*() {
      const json = JSON.stringify({ a: [1, 2, 3], b: "é" })
      const server = yield* serve((_, res) => {
        res.setHeader("set-cookie", ["a=1; Path=/", "b=2"])
        res.setHeader("x-many", ["one", "two"])
        res.writeHead(201, { "content-type": "application/json" }).end(json)
      })
      const response = yield* withClient((http) => http.get(`${server.url}/`))
      assert.strictEqual(response.status, 201)
      assert.strictEqual(response.headers["content-type"], "application/json")
      assert.strictEqual(response.headers["x-many"], "one, two")
      assert.deepStrictEqual(Object.keys(response.cookies.cookies).sort(), ["a", "b"])
      assert.strictEqual(response.cookies.cookies["a"]?.value, "1")
      assert.deepStrictEqual(yield* response.json, { a: [1, 2, 3], b: "é" })
      assert.strictEqual(yield* response.text, json)
      const buffer = yield* response.arrayBuffer
      assert.strictEqual(new TextDecoder().decode(buffer), json)
      const streamed = yield* Stream.runCollect(response.stream)
      assert.strictEqual(new TextDecoder().decode(Chunk.toReadonlyArray(streamed)[0]), json)
      assert.isTrue(Option.isNone(response.remoteAddress))
    }))

  // undici hands over views of the socket's reads, headers included: the answer's bytes must be exactly
  // its body, for a body in the same read as the headers and for one spread over many reads.
  for (const size of [0, 71, 200_000]) {
    it.scopedLive(`arrayBuffer is exactly the body's ${size} bytes`, () =>
      Effect.gen(function*() {
        const payload = bytes(size)
        const server = yield* serve((_, res) => {
          if (size < 1000) {
            res.writeHead(200, { "content-length": String(size) }).end(payload)
            return
          }
          // Written in pieces, so that it arrives over several reads.
          res.writeHead(200)
          let at = 0
          const next = () => {
            if (at >= size) return void res.end()
            res.write(payload.subarray(at, at + 7001))
            at += 7001
            setImmediate(next)
          }
          next()
        })
        const buffer = yield* withClient((http) => Effect.flatMap(http.get(`${server.url}/`), (r) => r.arrayBuffer))
        assert.strictEqual(buffer.byteLength, size)
        assert.isTrue(Buffer.from(buffer).equals(payload))
      }))
  }

  it.scopedLive("json of an empty body is null; of a bad one, a ResponseError", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => res.writeHead(200).end(req.url === "/bad" ? "{" : ""))
      const [empty, bad] = yield* withClient((http) =>
        Effect.all([
          Effect.flatMap(http.get(`${server.url}/empty`), (r) => r.json),
          Effect.either(Effect.flatMap(http.get(`${server.url}/bad`), (r) => r.json))
        ])
      )
      assert.strictEqual(empty, null)
      assert.isTrue(Either.isLeft(bad))
      if (Either.isLeft(bad)) assert.strictEqual(bad.left._tag, "ResponseError")
    }))

  it.scopedLive("a redirect is the answer: never followed", () =>
    Effect.gen(function*() {
      const elsewhere = yield* serve((_, res) => res.writeHead(200).end("elsewhere"))
      const server = yield* serve((_, res) => res.writeHead(302, { location: `${elsewhere.url}/` }).end("moved"))
      const response = yield* withClient((http) => http.get(`${server.url}/`))
      assert.strictEqual(response.status, 302)
      assert.strictEqual(yield* response.text, "moved")
      assert.strictEqual(elsewhere.received.length, 0)
    }))
})

describe("UndiciHttpClient: limits, errors and interruption", () => {
  it.scopedLive("an answer over maxResponseBytes aborts the connection and is a ResponseError that says so", () =>
    Effect.gen(function*() {
      const written = yield* Deferred.make<number>()
      const server = yield* serve((_, res) => {
        res.writeHead(200)
        let sent = 0
        const next = () => {
          if (res.destroyed || sent >= 16 * 1024 * 1024) {
            Deferred.unsafeDone(written, Exit.succeed(sent))
            return
          }
          res.write(Buffer.alloc(65536), () => {
            sent += 65536
            next()
          })
        }
        res.on("close", () => Deferred.unsafeDone(written, Exit.succeed(sent)))
        next()
      })
      const result = yield* withClient(
        (http) => Effect.either(Effect.flatMap(http.get(`${server.url}/`), (r) => r.arrayBuffer)),
        { maxResponseBytes: 100_000 }
      )
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "ResponseError")
        assert.include(result.left.message, "over the 100000-byte limit")
      }
      // The server was cut off long before it had written its 16 MiB.
      const sent = yield* Deferred.await(written).pipe(Effect.timeout("5 seconds"))
      assert.isBelow(sent, 8 * 1024 * 1024)
    }))

  it.scopedLive("a refused connection is a RequestError (Transport) with undici's error as the cause", () =>
    Effect.gen(function*() {
      // A port that was just free: listen, note it, close.
      const port = yield* Effect.async<number>((resume) => {
        const s = Http.createServer()
        s.listen(0, "127.0.0.1", () => {
          const p = (s.address() as AddressInfo).port
          s.close(() => resume(Effect.succeed(p)))
        })
      })
      const result = yield* withClient((http) => Effect.either(http.get(`http://127.0.0.1:${port}/`)))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "RequestError")
        if (result.left._tag === "RequestError") assert.strictEqual(result.left.reason, "Transport")
        assert.strictEqual((result.left.cause as { code?: string }).code, "ECONNREFUSED")
      }
    }))

  it.scopedLive("a connection cut after the headers is a ResponseError carrying the status", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => {
        res.writeHead(200, { "content-length": "1000" })
        res.write("partial", () => res.socket?.destroy())
      })
      const result = yield* withClient((http) => Effect.either(http.get(`${server.url}/`)))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "ResponseError")
        if (result.left._tag === "ResponseError") assert.strictEqual(result.left.response.status, 200)
      }
    }))

  it.scopedLive("an invalid URL is a RequestError (InvalidUrl), nothing sent", () =>
    Effect.gen(function*() {
      const result = yield* withClient((http) => Effect.either(http.get("not a url")))
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result) && result.left._tag === "RequestError") assert.strictEqual(result.left.reason, "InvalidUrl")
      else assert.fail("expected a RequestError")
    }))

  it.scopedLive("interrupting a request in flight closes its connection; the client goes on working", () =>
    Effect.gen(function*() {
      const arrived = yield* Deferred.make<void>()
      const server = yield* serve((req, res) => {
        if (req.url === "/hang") return void Deferred.unsafeDone(arrived, Exit.void)
        res.writeHead(200).end("ok")
      })
      yield* withClient((http) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(http.get(`${server.url}/hang`))
          yield* Deferred.await(arrived)
          assert.strictEqual(server.sockets.open, 1)
          yield* Fiber.interrupt(fiber)
          // The aborted request's socket closes (undici destroys it); poll briefly for the server to see it.
          for (let i = 0; i < 100 && server.sockets.open > 0; i++) yield* Effect.sleep("10 millis")
          assert.strictEqual(server.sockets.open, 0)
          const after = yield* Effect.flatMap(http.get(`${server.url}/ok`), (r) => r.text)
          assert.strictEqual(after, "ok")
        })
      )
    }))

  it.scopedLive("releasing the layer closes its keep-alive connections", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(200).end("ok"))
      yield* Effect.scoped(withClient((http) => Effect.flatMap(http.get(`${server.url}/`), (r) => r.text)))
      for (let i = 0; i < 100 && server.sockets.open > 0; i++) yield* Effect.sleep("10 millis")
      assert.strictEqual(server.received.length, 1)
      assert.strictEqual(server.sockets.open, 0)
    }))
})

describe("UndiciHttpClient: options", () => {
  for (const bad of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY]) {
    it.effect(`maxResponseBytes ${bad} is a ConfigurationError from make, layerWith and layerDispatcher, not "no limit"`, () =>
      Effect.gen(function*() {
        const agent = new Agent()
        const fromMake = yield* Effect.flip(UndiciHttpClient.make(agent, { maxResponseBytes: bad }))
        const fromLayer = yield* Effect.flip(Effect.scoped(Layer.build(UndiciHttpClient.layerWith({ maxResponseBytes: bad }))))
        const fromDispatcher = yield* Effect.flip(
          Effect.scoped(Layer.build(UndiciHttpClient.layerDispatcher({ maxResponseBytes: bad }))).pipe(
            Effect.provideService(UndiciHttpClient.Dispatcher, agent)
          )
        )
        yield* Effect.promise(() => agent.close())
        for (const error of [fromMake, fromLayer, fromDispatcher]) {
          assert.strictEqual(error._tag, "ConfigurationError")
          assert.strictEqual(error.variable, "UndiciHttpClient.maxResponseBytes")
        }
      }))
  }

  it.effect("Agent options undici refuses are a ConfigurationError naming them, not a defect", () =>
    Effect.gen(function*() {
      // What a plain-JavaScript caller (or one that casts) can hand over: undici throws on it.
      const agent = { connect: 1 } as unknown as Agent.Options
      const error = yield* Effect.flip(Effect.scoped(Layer.build(UndiciHttpClient.layerWith({ agent }))))
      assert.strictEqual(error._tag, "ConfigurationError")
      assert.strictEqual(error.variable, "UndiciHttpClient.agent")
      assert.include(error.reason, "connect must be")
    }))

  it.scopedLive("a dispatcher the application provides is used, and maxResponseBytes 0 allows only empty answers", () =>
    Effect.gen(function*() {
      const server = yield* serve((req, res) => res.writeHead(200).end(req.url === "/empty" ? "" : "x"))
      const agent = new Agent()
      yield* Effect.addFinalizer(() => Effect.promise(() => agent.close()))
      const context = yield* Layer.build(
        UndiciHttpClient.layerDispatcher({ maxResponseBytes: 0 }).pipe(
          Layer.provide(Layer.succeed(UndiciHttpClient.Dispatcher, agent))
        )
      )
      const http = HttpClient.withTracerDisabledWhen(Context.get(context, HttpClient.HttpClient), () => true)
      const empty = yield* Effect.flatMap(http.get(`${server.url}/empty`), (r) => r.text)
      const tooLong = yield* Effect.either(http.get(`${server.url}/x`))
      assert.strictEqual(empty, "")
      assert.isTrue(Either.isLeft(tooLong))
      assert.strictEqual(server.received.length, 2)
    }))
})

describe("UndiciHttpClient: tracing", () => {
  it.scopedLive("with the tracer on, the platform's client span is recorded and trace context is sent", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(200).end("ok"))
      const spans: Array<RecordingTracer.RecordingSpan> = []
      const http = Context.get(yield* Layer.build(UndiciHttpClient.layer), HttpClient.HttpClient)
      const text = yield* Effect.flatMap(http.get(`${server.url}/traced`), (r) => r.text).pipe(
        Effect.withTracer(RecordingTracer.make(spans))
      )
      assert.strictEqual(text, "ok")
      const span = spans.find((s) => s.name === "http.client GET")
      assert.isDefined(span)
      assert.strictEqual(span?.attributes.get("http.response.status_code"), 200)
      assert.isDefined(server.received[0]?.headers["traceparent"])
    }))

  it.scopedLive("with the tracer disabled for the request, no span and no trace header", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(200).end("ok"))
      const spans: Array<RecordingTracer.RecordingSpan> = []
      yield* withClient((http) => Effect.flatMap(http.get(`${server.url}/quiet`), (r) => r.text)).pipe(
        Effect.withTracer(RecordingTracer.make(spans))
      )
      assert.isUndefined(spans.find((s) => s.name.startsWith("http.client")))
      assert.isUndefined(server.received[0]?.headers["traceparent"])
    }))
})

describe("UndiciHttpClient: the library over it", () => {
  it.scopedLive("a disassociation against the loopback sandbox, signed and verified end to end", () =>
    Effect.gen(function*() {
      const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 10 }) })
      const server = yield* SandboxServer.make(fake)
      const context = yield* Layer.build(
        ProductCouponStores.layerMerchant(TestKeys.merchantOptions(keys, { baseUrl: server.baseUrl }), {
          rateLimit: false
        }).pipe(Layer.provide(UndiciHttpClient.layer))
      )
      const service = Context.get(context, ProductCouponStores.ProductCouponStores)
      const s = FakeWechatPay.storeId
      const result = yield* service.disassociateStores({
        productCouponId: F.productCouponId,
        stockId: F.stockId,
        brandId: F.brandId,
        storeList: [{ storeId: s(0) }, { storeId: s(1) }]
      })
      assert.deepStrictEqual(result.successStoreList.map((x) => x.storeId), [s(0), s(1)])
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
      assert.strictEqual(fake.log.length, 1)
    }))
})

describe("UndiciHttpClient: the library's per-attempt timeout", () => {
  const input = {
    productCouponId: F.productCouponId,
    stockId: F.stockId,
    brandId: F.brandId,
    storeList: [{ storeId: FakeWechatPay.storeId(0) }]
  }
  /** A server that takes each request and never answers; `arrived` is done once one came. */
  const hanging = Effect.flatMap(Deferred.make<void>(), (arrived) =>
    Effect.map(serve(() => Deferred.unsafeDone(arrived, Exit.void)), (server) => ({ ...server, arrived })))
  const storesOver = (baseUrl: string, http: Layer.Layer<HttpClient.HttpClient>, signer?: Layer.Layer<Signer.Signer, never, Signer.Signer>) =>
    Effect.map(
      Layer.build(
        ProductCouponStores.layer({ rateLimit: false, retry: false, timeout: "2 seconds" }).pipe(
          Layer.provideMerge(WechatPayClient.layerServices),
          Layer.provide(signer === undefined ? Signer.layer : Layer.provide(signer, Signer.layer)),
          Layer.provideMerge(KeyStore.layer),
          Layer.provideMerge(MerchantConfig.layer(TestKeys.merchantOptions(keys, { baseUrl }))),
          Layer.provide(http)
        )
      ),
      (context) => ({
        stores: Context.get(context, ProductCouponStores.ProductCouponStores),
        client: Context.get(context, WechatPayClient.WechatPayClient)
      })
    )
  /** `effect` on this fiber with `deadline` armed, as the library's timeout arms it for an attempt. */
  const withDeadline = <A, E>(deadline: AttemptDeadline.Deadline, effect: Effect.Effect<A, E>) =>
    Effect.withFiberRuntime<A, E>((fiber) => {
      AttemptDeadline.arm(fiber, deadline)
      return Effect.ensuring(effect, Effect.sync(() => AttemptDeadline.disarm(fiber)))
    })
  // The application's own signer: the package cannot know that its effects end.
  const ownSigner = Layer.effect(Signer.Signer, Effect.map(Signer.Signer, (real) => Signer.Signer.of({ ...real })))
  const wrapped = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, HttpClient.tapRequest(() => Effect.void))
  ).pipe(Layer.provide(UndiciHttpClient.layer))

  it.scopedLive("the request is stopped at the deadline on the caller's fiber: a TimeoutError, the connection closed", () =>
    Effect.gen(function*() {
      const server = yield* hanging
      const { client, stores } = yield* storesOver(server.url, UndiciHttpClient.layer)
      assert.isTrue(AttemptDeadline.stopsAtDeadline(client))
      const started = Date.now()
      const error = yield* Effect.flip(stores.disassociateStores(input))
      assert.strictEqual(error._tag, "TimeoutError")
      assert.strictEqual(error.behaviour.outcome, "unresolved")
      assert.isAtLeast(Date.now() - started, 1_900)
      assert.strictEqual(server.received.length, 1)
      for (let i = 0; i < 100 && server.sockets.open > 0; i++) yield* Effect.sleep("10 millis")
      assert.strictEqual(server.sockets.open, 0)
    }), 10_000)

  it.scoped("the attempt runs on the caller's fiber, and under a TestClock its deadline passes when the clock says so", () =>
    Effect.gen(function*() {
      const server = yield* hanging
      const { stores } = yield* storesOver(server.url, UndiciHttpClient.layer)
      const call = yield* Effect.fork(stores.disassociateStores(input))
      yield* Deferred.await(server.arrived)
      // The attempt runs on the call's own fiber, and the request on the wire can be stopped.
      assert.isFunction(AttemptDeadline.of(call)?.stop)
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(call)))
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(call)
      assert.isTrue(Exit.isFailure(exit) && Cause.failureOption(exit.cause).pipe(Option.exists((e) => e._tag === "TimeoutError")))
    }), 10_000)

  it.scopedLive("a wrapped transport or the application's own signer keeps a fiber per attempt, with the same outcome", () =>
    Effect.gen(function*() {
      const server = yield* hanging
      const viaWrapper = yield* storesOver(server.url, wrapped)
      const viaOwnSigner = yield* storesOver(server.url, UndiciHttpClient.layer, ownSigner)
      assert.isFalse(AttemptDeadline.stopsAtDeadline(viaWrapper.client))
      assert.isFalse(AttemptDeadline.stopsAtDeadline(viaOwnSigner.client))
      const errors = yield* Effect.all([viaWrapper, viaOwnSigner].map((s) => Effect.flip(s.stores.disassociateStores(input))), {
        concurrency: 2
      })
      assert.deepStrictEqual(errors.map((e) => e._tag), ["TimeoutError", "TimeoutError"])
      assert.strictEqual(server.received.length, 2)
    }), 10_000)

  it.scopedLive("a request whose deadline passed before it went out is not sent", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(200).end("ok"))
      const result = yield* withClient((http) =>
        withDeadline({ expired: true, stop: undefined, answered: false }, Effect.flip(http.get(`${server.url}/`)))
      )
      assert.strictEqual(result._tag, "RequestError")
      assert.match(result.message, /deadline passed/)
      assert.strictEqual(server.received.length, 0)
    }))

  it.scopedLive("an answered request leaves nothing to stop, and a stop after it changes nothing", () =>
    Effect.gen(function*() {
      const server = yield* serve((_, res) => res.writeHead(200).end("ok"))
      const deadline: AttemptDeadline.Deadline = { expired: false, stop: undefined, answered: false }
      const text = yield* withClient((http) => withDeadline(deadline, Effect.flatMap(http.get(`${server.url}/`), (r) => r.text)))
      assert.strictEqual(text, "ok")
      assert.isUndefined(deadline.stop)
    }))
})
