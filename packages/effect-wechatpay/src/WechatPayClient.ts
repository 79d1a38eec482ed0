/**
 * The APIv3 transport, built by transforming `@effect/platform`'s `HttpClient`
 * (the application picks the transport). One call to `execute` is one signed
 * attempt: the body is serialized once by `prepare`, every attempt signs afresh
 * (new timestamp and nonce) over exactly the bytes and request-target it sends,
 * and every answer is verified before anything is believed.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import { Context, Effect, Either, Layer, Option, Stream, type Tracer } from "effect"
import * as AttemptDeadline from "./internal/AttemptDeadline.js"
import * as Authorization from "./internal/Authorization.js"
import { KeyStore } from "./KeyStore.js"
import * as KeyStoreModule from "./KeyStore.js"
import { MerchantConfig } from "./MerchantConfig.js"
import * as MerchantConfigModule from "./MerchantConfig.js"
import { concatBytes } from "./internal/bytes.js"
import * as AttemptProgress from "./internal/AttemptProgress.js"
import { excerpt } from "./internal/excerpt.js"
import * as ResponseVerifier from "./internal/ResponseVerifier.js"
import * as SendGate from "./internal/SendGate.js"
import * as TransportTraits from "./internal/TransportTraits.js"
import { VERSION } from "./internal/version.js"
import { Signer } from "./Signer.js"
import * as SignerModule from "./Signer.js"
import {
  type ConfigurationError,
  EXCERPT_LIMIT,
  type KeyFormatError,
  type NotSentError,
  RequestEncodeError,
  type SigningError,
  TransportError,
  UnexpectedResponseError,
  type VerificationError,
  WechatPayApiError
} from "./WechatPayError.js"

/** The library's version (from package.json, see scripts/version.mjs), sent in `User-Agent`. */
export { VERSION } from "./internal/version.js"

/** A verified answer: 2xx with a good signature. */
export interface VerifiedResponse {
  readonly status: number
  readonly requestId: string | undefined
  readonly headers: Headers.Headers
  /** The raw body bytes the signature covered. */
  readonly body: Uint8Array
  /** The URL the attempt went to (never carries secrets). */
  readonly url: string
}

/** What one attempt can fail with. */
export type ExecuteError =
  | RequestEncodeError
  | SigningError
  | TransportError
  | VerificationError
  | WechatPayApiError
  | UnexpectedResponseError
  /** Held back before it was sent: a durable job's journal could not be written. */
  | NotSentError

/** @since 0.1.0 */
export interface Service {
  /**
   * One signed, verified attempt. The request's URL is absolute (which domain to use is the
   * caller's choice: failover lives above the transport); its body, if any, is bytes already
   * serialized, and exactly those bytes and the URL's path and query are signed.
   */
  readonly execute: (request: HttpClientRequest.HttpClientRequest) => Effect.Effect<VerifiedResponse, ExecuteError>
}

/** @since 0.1.0 */
export class WechatPayClient extends Context.Tag("effect-wechatpay/WechatPayClient")<WechatPayClient, Service>() {}

/** `User-Agent`: the library, its version and the runtime, as the official SDKs send. */
export const userAgent = (): string => {
  const g = globalThis as { process?: { versions?: { node?: string }; platform?: string }; navigator?: { userAgent?: string } }
  const runtime = g.process?.versions?.node !== undefined
    ? `Node.js/${g.process.versions.node}; ${g.process.platform ?? "unknown"}`
    : g.navigator?.userAgent ?? "unknown runtime"
  return `effect-wechatpay/${VERSION} (${runtime})`
}

/**
 * Headers whose values are secret or replayable. The attempt span never records
 * headers at all; this list is for applications that log or trace requests
 * themselves (e.g. add it to `Headers.currentRedactedNames`).
 */
export const REDACTED_HEADERS: ReadonlyArray<string> = ["authorization", "wechatpay-signature"]

const decoder = new TextDecoder()

/**
 * The most of one answer this client reads. The endpoint's answers are a few KiB
 * (200 stores come to ~12 KiB) and error bodies less; anything past this is
 * refused before it can fill memory, as a `TransportError` of the response phase.
 */
export const MAX_RESPONSE_BYTES = 1_048_576

/** A `Content-Length` the client can rely on, or `undefined`. */
const declaredLength = (headers: Headers.Headers): number | undefined => {
  const value = headers["content-length"]
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined
}

const empty = new Uint8Array(0)

/**
 * The answer's body, at most {@link MAX_RESPONSE_BYTES}. With a `Content-Length`
 * within the limit and no `Content-Encoding` (the usual case) it is read in one
 * piece; otherwise it is read as a stream and counted, and reading stops (the
 * stream is closed) once the limit is passed. An encoded answer is never read in
 * one piece: `fetch` decodes it but keeps the compressed `Content-Length`, so
 * only counting the bytes the transport hands over bounds what is inflated.
 */
const readBody = (
  response: HttpClientResponse.HttpClientResponse,
  headers: Headers.Headers,
  toTransportError: (e: HttpClientError.HttpClientError) => TransportError,
  tooLarge: (note: string | undefined) => TransportError
): Effect.Effect<Uint8Array, TransportError> => {
  const declared = declaredLength(headers)
  const encoding = headers["content-encoding"]
  if (declared !== undefined && declared <= MAX_RESPONSE_BYTES && (encoding === undefined || encoding === "identity")) {
    return Effect.map(Effect.mapError(response.arrayBuffer, toTransportError), (buffer) => new Uint8Array(buffer))
  }
  const note = encoding !== undefined && encoding !== "identity"
    ? `Content-Encoding ${excerpt(encoding)}`
    : declared === undefined
    ? undefined
    : `Content-Length ${declared}`
  const parts: Array<Uint8Array> = []
  return response.stream.pipe(
    // A bodiless answer (a 204) has no stream to read: it is an empty body, not a failure.
    Stream.catchTag("ResponseError", (e) => e.reason === "EmptyBody" ? Stream.empty : Stream.fail(e)),
    Stream.mapError(toTransportError),
    Stream.runFoldEffect(0, (size, chunk): Effect.Effect<number, TransportError> => {
      const total = size + chunk.length
      if (total > MAX_RESPONSE_BYTES) return Effect.fail(tooLarge(note))
      parts.push(chunk)
      return Effect.succeed(total)
    }),
    Effect.map(() => concatBytes(parts))
  )
}

/**
 * `fetch` follows redirects by default: a 301/302/303 would go, as a GET with our
 * headers, to whatever host `Location` names, and a 307/308 re-sends the body there
 * or fails as a network error, which looks like an unreachable domain (failover).
 * WeChat Pay never redirects, so every request asks for `redirect: "manual"` and
 * the 3xx itself is the answer (a browser's opaque redirect is status 0). Set through `FetchHttpClient.Fetch`, whose `init`
 * already carries any `FetchHttpClient.RequestInit` the application provided;
 * other transports ignore it (undici's `request` and `node:http` never follow).
 */
const manualRedirects = (fetch: typeof globalThis.fetch | undefined): typeof globalThis.fetch => (input, init) =>
  (fetch ?? globalThis.fetch)(input, { ...init, redirect: "manual" })

const transportFailure = (method: string, url: string, error: HttpClientError.HttpClientError): TransportError => {
  const description = error.description ?? (error._tag === "RequestError" ? "request failed" : undefined)
  return new TransportError({
    phase: error._tag === "RequestError" ? "request" : "response",
    method,
    url,
    reason: description === undefined ? error.reason : `${error.reason}: ${description}`,
    cause: error.cause
  })
}

/** Reads a WeChat Pay error body leniently: `code` and `message` strings, `detail` as whatever it is. */
const parseErrorBody = (
  text: string
): Option.Option<{ readonly code: string; readonly message: string; readonly detail: unknown }> => {
  try {
    const json: unknown = JSON.parse(text)
    if (typeof json !== "object" || json === null) return Option.none()
    const { code, detail, message } = json as Record<string, unknown>
    if (typeof code !== "string" || code === "") return Option.none()
    return Option.some({ code, message: typeof message === "string" ? message : "", detail })
  } catch {
    return Option.none()
  }
}

/** The shortest run of a signature's letters and digits that is redacted wherever it appears. */
const REDACTED_RUN = 12

/**
 * `text` with the signature taken out, in any form a proxy may have written it: whole, and every run of
 * its letters and digits long enough to mean something, so that percent-encoding, HTML entities or JSON
 * escapes of its `+`, `/` and `=` leave nothing of it that could be put back together.
 */
const redactSignature = (text: string, signature: string): string => {
  let out = text.replaceAll(signature, "<redacted>")
  for (const run of signature.split(/[^0-9A-Za-z]+/)) {
    if (run.length >= REDACTED_RUN && out.includes(run)) out = out.replaceAll(run, "<redacted>")
  }
  return out
}

type ErrorBody = { readonly code: string; readonly message: string; readonly detail: unknown }

/** An error body's values with the signature taken out (they came from JSON, so they go back through it). */
const redactParsed = (body: ErrorBody, signature: string): ErrorBody => {
  const text = JSON.stringify(body)
  const redacted = redactSignature(text, signature)
  return redacted === text ? body : JSON.parse(redacted)
}

/** An error body's `message` and `detail` cut to an excerpt when long (the code is the one WeChat Pay documents). */
const bounded = (body: ErrorBody): ErrorBody => {
  const detailText = body.detail === undefined ? undefined : JSON.stringify(body.detail)
  const longDetail = detailText !== undefined && detailText.length > EXCERPT_LIMIT
  if (body.message.length <= EXCERPT_LIMIT && body.code.length <= EXCERPT_LIMIT && !longDetail) return body
  return {
    code: excerpt(body.code),
    message: excerpt(body.message),
    detail: longDetail ? excerpt(detailText) : body.detail
  }
}

/** Builds the client over the configured keys and crypto backend. */
export const make: Effect.Effect<Service, never, HttpClient.HttpClient | MerchantConfig | KeyStore | Signer> = Effect
  .gen(function*() {
    const config = yield* MerchantConfig
    const keys = yield* KeyStore
    const signer = yield* Signer
    const verify = ResponseVerifier.make(keys, signer, config.maxClockSkew)
    const fixedHeaders: Record<string, string> = {
      accept: "application/json",
      // Answers are a few KiB: compression saves nothing and costs a counted read (see readBody).
      "accept-encoding": "identity",
      "content-type": "application/json",
      "user-agent": userAgent()
    }
    if (Option.isSome(config.publicKeyId)) fixedHeaders["wechatpay-serial"] = config.publicKeyId.value

    // Signs the request as it will go on the wire: its URL is already absolute with the query in it
    // (see execute), and the body is the bytes sent. A fresh timestamp and nonce every attempt.
    const sign = (request: HttpClientRequest.HttpClientRequest) =>
      Effect.flatMap(Authorization.Nonce, (nonces) =>
        Effect.flatMap(nonces.next, (nonce) =>
          Effect.clockWith((clock) => {
            const url = new URL(request.url)
            const bodyBytes = request.body._tag === "Uint8Array" ? request.body.body : empty
            const timestamp = String(Math.floor(clock.unsafeCurrentTimeMillis() / 1000))
            return Effect.map(
              signer.sign(Authorization.requestMessage(request.method, url.pathname + url.search, timestamp, nonce, bodyBytes)),
              (signature) =>
                HttpClientRequest.setHeader(
                  request,
                  "authorization",
                  Authorization.format({ mchid: config.mchid, nonce, signature, timestamp, serialNo: config.merchantSerialNo })
                )
            )
          })))

    // The application's HttpClient, composed: the platform's per-request span off (each attempt gets
    // our own span, which records no headers and sends no trace context to WeChat Pay), the fixed
    // headers, the signature, and fetch told never to follow a redirect.
    // (The fetch guard is left out only for a transport of this package that provably never follows one.)
    const fetchManual = manualRedirects(Option.getOrUndefined(yield* Effect.serviceOption(FetchHttpClient.Fetch)))
    const transport = yield* HttpClient.HttpClient
    const composed = transport.pipe(
      HttpClient.withTracerDisabledWhen(() => true),
      HttpClient.mapRequest(HttpClientRequest.setHeaders(fixedHeaders)),
      HttpClient.mapRequestEffect(sign),
      // Signed first, so that a durable job's journal flushes while the calls started with it are signed.
      HttpClient.mapRequestEffect(SendGate.pass)
    )
    const http = TransportTraits.neverFollowsRedirects(transport)
      ? composed
      : HttpClient.transformResponse(composed, Effect.provideService(FetchHttpClient.Fetch, fetchManual))

    // Every answer, signed or not, is judged here; only 2xx with a good signature is believed.
    const settle = (
      span: Tracer.Span,
      href: string,
      sent: HttpClientRequest.HttpClientRequest,
      status: number,
      headers: Headers.Headers,
      body: Uint8Array
    ): Effect.Effect<VerifiedResponse, ExecuteError> => {
      const requestId = headers["request-id"]
      span.attribute("http.response.status_code", status)
      if (requestId !== undefined) span.attribute("wechatpay.request_id", requestId)
      const received = { status, headers, body }
      if (status >= 200 && status < 300) {
        return Effect.as(verify(received), { status, requestId, headers, body, url: href } satisfies VerifiedResponse)
      }
      const fail = (verified: boolean): Effect.Effect<never, UnexpectedResponseError | WechatPayApiError> => {
        // A proxy or echo service may reflect the request back, as text or inside an error's message:
        // never let our signature into the error, whichever form it takes.
        const received = decoder.decode(body)
        const signature = Authorization.parse(sent.headers["authorization"] ?? "")?.signature
        const text = signature !== undefined && signature !== "" ? redactSignature(received, signature) : received
        const base = requestId === undefined ? { status } : { status, requestId }
        // A redirect is never WeChat Pay's answer, whatever its body says: the outcome is unknown.
        const parsed = status >= 300 && status < 400 ? Option.none() : parseErrorBody(text)
        if (Option.isNone(parsed)) {
          return Effect.fail(new UnexpectedResponseError({ ...base, excerpt: excerpt(text), verified }))
        }
        // JSON may have written the signature escaped (`\/`, `\u002b`), out of reach of the text's
        // redaction above: once parsed it is plain again, so the parsed values are redacted too. And they
        // are foreign text like any other: cut, so that one answer cannot fill a job's report.
        const apiError = bounded(signature !== undefined && signature !== "" ? redactParsed(parsed.value, signature) : parsed.value)
        return Effect.fail(
          new WechatPayApiError({
            ...base,
            code: apiError.code,
            message: apiError.message,
            detail: apiError.detail,
            verified
          })
        )
      }
      // Error answers are checked when signed; a forged or probed one is a verification failure.
      return ResponseVerifier.isSigned(headers)
        ? Effect.zipRight(verify(received), Effect.suspend(() => fail(true)))
        : fail(false)
    }

    // One attempt is a short chain of steps (no generator): it runs for every call.
    const execute = (request: HttpClientRequest.HttpClientRequest): Effect.Effect<VerifiedResponse, ExecuteError> => {
      const body = request.body
      if (body._tag !== "Uint8Array" && body._tag !== "Empty") {
        return Effect.fail(new RequestEncodeError({ reason: `the body must be bytes already serialized (got ${body._tag})` }))
      }
      const bodyBytes = body._tag === "Uint8Array" ? body.body : empty
      // The URL exactly as it goes on the wire (query included), parsed once: it is what is signed.
      const parsed = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
      if (Either.isLeft(parsed) || !/^https?:$/.test(parsed.right.protocol)) {
        return Effect.fail(
          new TransportError({
            phase: "request",
            method: request.method,
            url: excerpt(request.url),
            reason: "InvalidUrl: the request URL is not an absolute http(s) URL"
          })
        )
      }
      const url = parsed.right
      const href = url.href
      const toTransportError = (e: HttpClientError.HttpClientError) => transportFailure(request.method, href, e)
      const tooLarge = (note: string | undefined) =>
        new TransportError({
          phase: "response",
          method: request.method,
          url: href,
          reason: `the answer's body is over the ${MAX_RESPONSE_BYTES}-byte limit${
            note === undefined ? "" : ` (${note})`
          }; it was not read further`
        })
      // Sent with the URL as parsed, query included: what the transport puts on the wire is what is signed.
      const wire = HttpClientRequest.setHeaders(HttpClientRequest.make(request.method)(href), request.headers)
      const sendable = request.method === "GET" && bodyBytes.length === 0
        ? wire
        : HttpClientRequest.bodyUint8Array(wire, bodyBytes, "application/json")
      return Effect.useSpan(`http.client ${request.method}`, { kind: "client", captureStackTrace: false }, (span) => {
        span.attribute("http.request.method", request.method)
        span.attribute("server.address", url.hostname)
        if (url.port !== "") span.attribute("server.port", Number(url.port))
        span.attribute("url.full", href)
        return http.execute(sendable).pipe(
          Effect.catchTags({
            RequestError: (e) => Effect.fail(toTransportError(e)),
            ResponseError: (e) => Effect.fail(toTransportError(e))
          }),
          Effect.flatMap((response) => {
            AttemptProgress.markAnswered(request)
            // Both platform transports rebuild the headers on every read: once here.
            const { headers, status } = response
            return Effect.flatMap(
              readBody(response, headers, toTransportError, tooLarge),
              (body) => settle(span, href, response.request, status, headers, body)
            )
          })
        )
      })
    }

    // Every step of an attempt but the request ends by itself, and the transport stops its request at
    // the attempt's deadline: the core's timeout then needs no fiber per attempt.
    const service = SendGate.markAwaitedBy(WechatPayClient.of({ execute }))
    return AttemptDeadline.stopsAtDeadline(transport) && AttemptDeadline.settlesByItself(signer) &&
        AttemptDeadline.settlesByItself(keys)
      ? AttemptDeadline.markStopsAtDeadline(service)
      : service
  })

/** The client over services you provide (e.g. to swap the `Signer` backend). */
export const layerServices: Layer.Layer<WechatPayClient, never, HttpClient.HttpClient | MerchantConfig | KeyStore | Signer> =
  Layer.effect(WechatPayClient, make)

// Keys and the default node:crypto signer over a MerchantConfig: what layer and layerConfig build.
const layerCrypto: Layer.Layer<KeyStore | Signer, KeyFormatError, MerchantConfig> = SignerModule.layer.pipe(
  Layer.provideMerge(KeyStoreModule.layer)
)

const fromMerchantConfig = <E>(config: Layer.Layer<MerchantConfig, E>) =>
  layerServices.pipe(Layer.provide(layerCrypto), Layer.provideMerge(config))

/** Everything from plain options; only `HttpClient` is left to the application. */
export const layer = (
  options: MerchantConfigModule.Options
): Layer.Layer<WechatPayClient | MerchantConfig, ConfigurationError | KeyFormatError, HttpClient.HttpClient> =>
  fromMerchantConfig(MerchantConfigModule.layer(options))

/** Everything from the `WECHATPAY_*` environment variables; only `HttpClient` is left to the application. */
export const layerConfig: Layer.Layer<
  WechatPayClient | MerchantConfig,
  ConfigurationError | KeyFormatError,
  HttpClient.HttpClient
> = fromMerchantConfig(MerchantConfigModule.layerConfig)
