/**
 * An optional `HttpClient` for request/response APIs such as WeChat Pay's: undici's dispatcher, with every
 * answer read whole before the response is handed over. The library never picks it: an application that
 * wants it provides `UndiciHttpClient.layer` where it would provide `NodeHttpClient.layerUndici`.
 *
 * What it leaves out, and why that is the point: `@effect/platform-node`'s undici layer hands over the
 * response at its headers and reads the body later through a Node stream, a cached effect run on its own
 * fiber, an `AbortController` and a `FinalizationRegistry` entry per request. Here the body arrives through
 * undici's handler callbacks into one buffer and the request is one `Effect.async`; interrupting it aborts
 * the request. What it keeps: the platform's client span and trace propagation (a request the tracer
 * would see goes through `HttpClient.make`, as the platform's transports do), redirects never followed,
 * bodies never decoded (`Content-Encoding` is left to the caller), and undici's own errors as the `cause`
 * of a `RequestError` / `ResponseError`.
 *
 * The price: an answer is held in memory whole, so it is bounded by `maxResponseBytes` (1 MiB unless set;
 * past it the request is aborted and fails with a `ResponseError`). For streaming downloads use the
 * platform's layers.
 *
 * @since 0.1.0
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { Agent, Client, type Dispatcher as UndiciDispatcher, Pool } from "undici"
import { concatBytes } from "./internal/bytes.js"
import { integerAtLeast, objectOption } from "./internal/Options.js"
import * as AttemptDeadline from "./internal/AttemptDeadline.js"
import { markNeverFollowsRedirects } from "./internal/TransportTraits.js"
import { ConfigurationError } from "./WechatPayError.js"

/**
 * @since 0.1.0
 * @category options
 */
export interface Options {
  /** The largest answer body read, in bytes; a longer one aborts the request. Default 1 MiB. */
  readonly maxResponseBytes?: number | undefined
}

/** The default {@link Options.maxResponseBytes}: WeChat Pay's answers are a few KiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576

/**
 * The undici dispatcher requests go through (an `Agent`, a `Pool`, a `ProxyAgent`, …).
 *
 * @since 0.1.0
 * @category services
 */
export class Dispatcher extends Context.Tag("effect-wechatpay/UndiciHttpClient/Dispatcher")<
  Dispatcher,
  UndiciDispatcher
>() {}

const decoder = new TextDecoder()

/** A response whose body is already in memory: every accessor is a value, not a read. */
class BufferedResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly status: number,
    readonly headers: Headers.Headers,
    private readonly setCookie: ReadonlyArray<string>,
    private readonly body: Uint8Array
  ) {
    super()
  }
  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }
  private cachedCookies: Cookies.Cookies | undefined
  get cookies(): Cookies.Cookies {
    return this.cachedCookies ??= this.setCookie.length === 0 ? Cookies.empty : Cookies.fromSetCookie(this.setCookie)
  }
  private decodeError(cause: unknown): HttpClientError.ResponseError {
    return new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })
  }
  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    // A copy when the bytes are a view into a larger buffer: undici's chunks are views of a socket read,
    // headers included. (`Buffer#slice` would not copy.)
    const { body } = this
    if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer) {
      return Effect.succeed(body.buffer)
    }
    const copy = new Uint8Array(body.byteLength)
    copy.set(body)
    return Effect.succeed(copy.buffer)
  }
  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.succeed(decoder.decode(this.body))
  }
  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.try({
      try: () => {
        const text = decoder.decode(this.body)
        return text === "" ? null : JSON.parse(text)
      },
      catch: (cause) => this.decodeError(cause)
    })
  }
  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.try({
      try: () => UrlParams.fromInput(new URLSearchParams(decoder.decode(this.body))),
      catch: (cause) => this.decodeError(cause)
    })
  }
  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () => new Response(this.body as Uint8Array<ArrayBuffer>, { headers: { "content-type": this.headers["content-type"] ?? "" } }).formData(),
      catch: (cause) => this.decodeError(cause)
    })
  }
  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.body.length === 0 ? Stream.empty : Stream.succeed(this.body)
  }
  toJSON(): unknown {
    return HttpIncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/** What undici's dispatch API accepts as a body, from a request's body; `FormData` and streams are read first. */
const toWireBody = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<
  { readonly body: string | Uint8Array | null; readonly contentType?: string },
  HttpClientError.RequestError
> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed({ body: null })
    case "Uint8Array":
      return Effect.succeed({ body: body.body })
    case "Raw":
      return typeof body.body === "string" || body.body instanceof Uint8Array
        ? Effect.succeed({ body: body.body })
        : Effect.fail(
          new HttpClientError.RequestError({
            request,
            reason: "Encode",
            description: "a Raw body must be a string or bytes for UndiciHttpClient"
          })
        )
    case "FormData": {
      return Effect.tryPromise({
        try: async () => {
          // The multipart encoding and its boundary, as fetch would send them.
          const encoded = new Response(body.formData)
          const bytes = new Uint8Array(await encoded.arrayBuffer())
          const contentType = encoded.headers.get("content-type")
          return contentType === null ? { body: bytes } : { body: bytes, contentType }
        },
        catch: (cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause })
      })
    }
    case "Stream":
      return body.stream.pipe(
        Stream.runCollect,
        Effect.map((chunks) => ({ body: concatBytes(Chunk.toReadonlyArray(chunks)) })),
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause }))
      )
  }
}

const empty = new Uint8Array(0)

const PAST_DEADLINE = "stopped: the attempt's deadline passed"

/** Response headers as `Headers` (repeated ones joined, as the platform does) and the raw `Set-Cookie` list. */
const toHeaders = (raw: Record<string, string | Array<string> | undefined>) => {
  const cookies = raw["set-cookie"]
  return {
    headers: Headers.fromInput(raw),
    setCookie: cookies === undefined ? [] : Array.isArray(cookies) ? cookies : [cookies]
  }
}

/**
 * One request through the dispatcher's handler API, the answer collected into one buffer. A `deadline`
 * (the library's per-attempt timeout, see internal/AttemptDeadline.ts) stops the request when it passes.
 */
const send = (
  dispatcher: UndiciDispatcher,
  maxResponseBytes: number,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  wire: { readonly body: string | Uint8Array | null; readonly contentType?: string },
  deadline: AttemptDeadline.Deadline | undefined
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
    let controller: UndiciDispatcher.DispatchController | undefined
    let interrupted = false
    // Answered: by undici, or by the deadline; whatever undici reports after that is not.
    let settled = false
    const answer = (effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) => {
      if (settled) return
      settled = true
      if (deadline !== undefined) deadline.stop = undefined
      resume(effect)
    }
    let status = 0
    let received: ReturnType<typeof toHeaders> | undefined
    const parts: Array<Uint8Array> = []
    let size = 0
    // Set when the body passed the limit: the reason the request was aborted, and what the error says.
    let tooLong: Error | undefined
    // A request that ended without its answer: before the headers a RequestError, after them a
    // ResponseError carrying the status and headers.
    const failure = (cause: unknown, description: string | undefined): HttpClientError.HttpClientError => {
      const why = { ...(cause === undefined ? {} : { cause }), ...(description === undefined ? {} : { description }) }
      return received === undefined
        ? new HttpClientError.RequestError({ request, reason: "Transport", ...why })
        : new HttpClientError.ResponseError({
          request,
          response: new BufferedResponse(request, status, received.headers, received.setCookie, empty),
          reason: "Decode",
          ...why
        })
    }
    if (deadline?.expired === true) {
      resume(Effect.fail(failure(undefined, PAST_DEADLINE)))
      return
    }
    const headers = wire.contentType === undefined
      ? request.headers
      : { ...request.headers, "content-type": wire.contentType }
    const handler: UndiciDispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c
        // Interrupted or past its deadline while queued for a connection: nothing has been written yet.
        if (interrupted || settled) c.abort(new Error(interrupted ? "interrupted" : PAST_DEADLINE))
      },
      onResponseStart(_c, statusCode, responseHeaders) {
        // The host answered: a deadline passing from now on is a slow body, not an unreachable host.
        if (deadline !== undefined) deadline.answered = true
        status = statusCode
        received = toHeaders(responseHeaders as Record<string, string | Array<string> | undefined>)
      },
      onResponseData(c, chunk) {
        size += chunk.length
        if (size > maxResponseBytes) {
          tooLong = new Error(`the answer's body is over the ${maxResponseBytes}-byte limit`)
          c.abort(tooLong)
          return
        }
        parts.push(chunk)
      },
      onResponseEnd() {
        const body = parts.length === 0 ? empty : concatBytes(parts)
        const { headers, setCookie } = received ?? { headers: Headers.empty, setCookie: [] }
        answer(Effect.succeed(new BufferedResponse(request, status, headers, setCookie, body)))
      },
      onResponseError(_c, error) {
        if (interrupted) return
        answer(Effect.fail(failure(error, tooLong?.message)))
      }
    }
    try {
      dispatcher.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: request.method as UndiciDispatcher.HttpMethod,
          headers,
          body: wire.body,
          // Deadlines are the caller's (Effect.timeout and the like), as in the platform's undici layer.
          headersTimeout: 0,
          bodyTimeout: 0
        },
        handler
      )
    } catch (cause) {
      answer(Effect.fail(failure(cause, undefined)))
    }
    if (deadline !== undefined && !settled) {
      deadline.stop = () => {
        answer(Effect.fail(failure(undefined, PAST_DEADLINE)))
        controller?.abort(new Error(PAST_DEADLINE))
      }
    }
    return Effect.sync(() => {
      interrupted = true
      controller?.abort(new Error("interrupted"))
    })
  })

/** The client over `dispatcher` with a limit already checked. */
const unsafeMake = (dispatcher: UndiciDispatcher, maxResponseBytes: number): HttpClient.HttpClient => {
  const execute = (
    request: HttpClientRequest.HttpClientRequest,
    url: URL,
    fiber: object
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
    Effect.flatMap(toWireBody(request), (wire) =>
      send(dispatcher, maxResponseBytes, request, url, wire, AttemptDeadline.of(fiber)))
  // A request the tracer would record takes the platform's own path: its span, trace headers and abort.
  const traced = HttpClient.make((request, url, _signal, fiber) => execute(request, url, fiber))
  // Marked: the library's client skips the per-request guard that tells fetch not to follow redirects,
  // and runs each attempt on the caller's fiber, since a request here stops itself at its deadline.
  return AttemptDeadline.markStopsAtDeadline(markNeverFollowsRedirects(HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (effect) =>
      Effect.flatMap(effect, (request) =>
        Effect.withFiberRuntime<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((fiber) => {
          if (
            fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
            !fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
          ) return traced.execute(request)
          const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
          return Either.isLeft(url)
            ? Effect.fail(new HttpClientError.RequestError({ request, reason: "InvalidUrl", cause: url.left }))
            : execute(request, url.right, fiber)
        })),
    Effect.succeed
  )))
}

/** `maxResponseBytes`, checked: an unusable one would otherwise mean no limit at all (`size > NaN` is never true). */
const checkedLimit = (options: Options): Either.Either<number, ConfigurationError> =>
  Either.flatMap(objectOption("UndiciHttpClient.options", options), () =>
    options.maxResponseBytes === undefined
      ? Either.right(DEFAULT_MAX_RESPONSE_BYTES)
      : integerAtLeast("UndiciHttpClient.maxResponseBytes", options.maxResponseBytes, 0))

/**
 * An `HttpClient` over `dispatcher`; a `maxResponseBytes` that is not a non-negative integer is a
 * `ConfigurationError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  dispatcher: UndiciDispatcher,
  options: Options = {}
): Effect.Effect<HttpClient.HttpClient, ConfigurationError> =>
  Effect.map(checkedLimit(options), (limit) => unsafeMake(dispatcher, limit))

/**
 * The client over the {@link Dispatcher} in the context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDispatcher = (
  options: Options = {}
): Layer.Layer<HttpClient.HttpClient, ConfigurationError, Dispatcher> =>
  Layer.effect(HttpClient.HttpClient, Effect.flatMap(Dispatcher, (dispatcher) => make(dispatcher, options)))

/** An origin the option checks name; nothing connects to it. */
const PROBE_ORIGIN = "http://127.0.0.1"

/** An `Agent` of the layer's own, destroyed with it. */
const scoped = <E>(agent: Effect.Effect<Agent, E>) =>
  Effect.acquireRelease(agent, (agent) => Effect.promise(() => agent.destroy()))

/** What undici refused, as a `ConfigurationError`. */
const refused = <A>(f: () => A) =>
  Effect.try({
    try: f,
    catch: (cause) =>
      new ConfigurationError({
        variable: "UndiciHttpClient.agent",
        reason: cause instanceof Error ? cause.message : "undici refused the Agent options"
      })
  })

/**
 * undici checks most options only when it first opens a pool and a connection, on a call, where a refusal
 * would read as a network failure: a pool and a connection opened now (and never used) check them here. An
 * `Agent` with a `factory` of the application's opens its pools its own way, so it is left alone.
 */
const checkPoolOptions = (options: Agent.Options | undefined) => {
  if (options?.factory !== undefined) return Effect.void
  const { connections: _connections, factory: _factory, maxOrigins: _maxOrigins, ...clientOptions } = options ?? {} as Record<string, unknown>
  return refused(() => {
    void new Pool(PROBE_ORIGIN, options as Pool.Options).destroy()
    void new Client(PROBE_ORIGIN, clientOptions as Client.Options).destroy()
  })
}

/** Options undici refuses are a `ConfigurationError`, when the agent is made or before its first call. */
const scopedAgent = (options: Agent.Options | undefined) =>
  Effect.zipRight(
    options === undefined ? Effect.void : objectOption("UndiciHttpClient.agent", options, "an object of undici Agent options"),
    scoped(Effect.flatMap(refused(() => new Agent(options)), (agent) =>
      checkPoolOptions(options).pipe(
        Effect.tapError(() => Effect.promise(() => agent.destroy())),
        Effect.as(agent)
      )))
  )

/**
 * The client over an undici `Agent` of its own (keep-alive, one pool per origin), destroyed with the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (
  options: Options & { readonly agent?: Agent.Options | undefined } = {}
): Layer.Layer<HttpClient.HttpClient, ConfigurationError> =>
  Layer.scoped(
    HttpClient.HttpClient,
    Effect.flatMap(checkedLimit(options), (limit) =>
      // `options` is an object once its limit is checked.
      Effect.map(scopedAgent(options.agent), (agent) => unsafeMake(agent, limit)))
  )

/**
 * The client over an `Agent` of its own with the defaults (answers up to 1 MiB); it cannot fail.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient> = Layer.scoped(
  HttpClient.HttpClient,
  Effect.map(scoped(Effect.sync(() => new Agent())), (agent) => unsafeMake(agent, DEFAULT_MAX_RESPONSE_BYTES))
)
