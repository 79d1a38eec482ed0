/**
 * The in-memory sandbox: an `HttpClient` that answers from a `FakeWechatPay`
 * without sockets. Swap it in wherever your code needs `HttpClient` and it
 * meets the real protocol (signed requests checked, responses signed).
 *
 * - Time is effect's `Clock`: request timestamps are checked against it, the
 *   rate limit counts on it and "slow" answers sleep on it, so `TestClock`
 *   drives everything.
 * - Connection resets and a down primary become `RequestError` with reason
 *   `"Transport"`; a truncated body makes reading the body fail.
 * - Requests to any origin other than the two base URLs fail as `Transport`
 *   ("no such host").
 * - A base URL may have a path (a proxy's, say): the documented paths are served
 *   right under it, and nowhere else, as WeChat Pay serves them under `/`.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Clock, Duration, Effect, Layer, Stream } from "effect"
import type { ConfigurationError } from "../WechatPayError.js"
import * as MerchantConfig from "../MerchantConfig.js"
import * as FakeWechatPayModule from "./FakeWechatPay.js"
import { FakeWechatPay, type Service as Fake } from "./FakeWechatPay.js"
import * as TestKeys from "./TestKeys.js"

export interface Options {
  /** Default: the real primary domain, so an unconfigured client lands here. */
  readonly baseUrl?: string | undefined
  /** Default: the real backup domain. */
  readonly backupBaseUrl?: string | undefined
}

// Keeps a leading BOM, as the server form's Buffer#toString does: the rules then see what was sent.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true })
const encoder = new TextEncoder()

const transport = (request: HttpClientRequest.HttpClientRequest, description: string) =>
  new HttpClientError.RequestError({ request, reason: "Transport", description })

/** The body bytes a transport would send: the signature is checked over these, not over decoded text. */
const bodyBytes = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<Uint8Array, HttpClientError.RequestError> => {
  const body: HttpBody.HttpBody = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(new Uint8Array(0))
    case "Uint8Array":
      return Effect.succeed(body.body)
    case "Raw":
      return typeof body.body === "string"
        ? Effect.succeed(encoder.encode(body.body))
        : body.body instanceof Uint8Array
        ? Effect.succeed(body.body)
        : Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", description: "unsupported raw body" }))
    case "Stream":
      return body.stream.pipe(
        Stream.runCollect,
        Effect.map((chunks) => new Uint8Array(Buffer.concat(Array.from(chunks)))),
        Effect.mapError((cause) => new HttpClientError.RequestError({ request, reason: "Encode", cause }))
      )
    case "FormData":
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", description: "form data is not JSON" }))
  }
}

const trimSlash = (url: string) => url.replace(/\/+$/, "")

/**
 * A base URL as the request URLs built on it spell it: scheme and host in lower case, no
 * default port (as `URL#href` does), so `https://Sandbox.Test:443` reaches the fake too.
 */
const canonicalBase = (url: string): string => {
  try {
    return trimSlash(new URL(url).href)
  } catch {
    // Not a URL: MerchantConfig refuses it first; here it simply matches nothing.
    return trimSlash(url)
  }
}

/**
 * The request-target a transport puts on the wire for `url`: the path and the
 * query exactly as the URL serializes them (a `fetch` sends the same), with a
 * `?` kept even when the query after it is empty (`url.search` drops it), and
 * never the fragment. This is what the fake checks the signature against, as
 * `SandboxServer` checks the raw target of the request line.
 */
export const requestTarget = (url: URL): string => {
  if (url.search !== "") return url.pathname + url.search
  const href = url.href
  const hash = href.indexOf("#")
  return (hash < 0 ? href : href.slice(0, hash)).endsWith("?") ? `${url.pathname}?` : url.pathname
}

/** An `HttpClient` answering from `fake`. */
export const make = (fake: Fake, options: Options = {}): HttpClient.HttpClient => {
  const primary = canonicalBase(options.baseUrl ?? MerchantConfig.DEFAULT_BASE_URL)
  const backup = canonicalBase(options.backupBaseUrl ?? MerchantConfig.DEFAULT_BACKUP_BASE_URL)
  // The path part of each base URL ("" for none): the fake routes what comes after it.
  const pathOf = (base: string) => {
    try {
      return new URL(base).pathname.replace(/\/+$/, "")
    } catch {
      return ""
    }
  }
  const basePaths = { primary: pathOf(primary), backup: pathOf(backup) }
  const under = (href: string, base: string) => href === base || href.startsWith(`${base}/`) || href.startsWith(`${base}?`)
  return HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const href = url.href
      const endpoint = under(href, primary) ? "primary" : under(href, backup) ? "backup" : undefined
      if (endpoint === undefined) return yield* transport(request, `getaddrinfo ENOTFOUND ${url.host}`)
      if (endpoint === "primary" && fake.isPrimaryDown()) {
        return yield* transport(request, `connect ECONNREFUSED ${url.host}`)
      }
      const bytes = yield* bodyBytes(request)
      const outcome = fake.handle(
        {
          endpoint,
          method: request.method,
          target: requestTarget(url),
          headers: request.headers,
          bodyText: decoder.decode(bytes),
          bodyBytes: bytes,
          basePath: basePaths[endpoint]
        },
        yield* Clock.currentTimeMillis
      )
      if (outcome.delayMillis > 0) yield* Effect.sleep(Duration.millis(outcome.delayMillis))
      if (outcome._tag === "Reset") return yield* transport(request, "read ECONNRESET")
      const { body, truncateAt } = outcome
      const source = truncateAt === undefined
        ? body
        : new ReadableStream<Uint8Array<ArrayBuffer>>({
          start(controller) {
            controller.enqueue(body.slice(0, truncateAt))
            controller.error(new Error("ECONNRESET: connection closed before the body was complete"))
          }
        })
      const headers = truncateAt === undefined
        ? outcome.headers
        : { ...outcome.headers, "content-length": String(body.length) }
      return HttpClientResponse.fromWeb(request, new Response(source, { status: outcome.status, headers }))
    })
  )
}

/** `HttpClient` from the `FakeWechatPay` in context. */
export const layer = (options: Options = {}): Layer.Layer<HttpClient.HttpClient, never, FakeWechatPay> =>
  Layer.effect(HttpClient.HttpClient, Effect.map(FakeWechatPay, (fake) => make(fake, options)))

/**
 * Everything a unit test needs in one layer: a fresh `FakeWechatPay`, the
 * in-memory `HttpClient` over it, and a `MerchantConfig` that trusts it. Put
 * your own layers (e.g. `WechatPayClient.layerServices` with `Signer.layer`
 * and `KeyStore.layer`) on top of it.
 */
export const layerSandbox = (
  options: FakeWechatPayModule.Options & Options = {}
): Layer.Layer<FakeWechatPay | HttpClient.HttpClient | MerchantConfig.MerchantConfig, ConfigurationError> => {
  const urls = { baseUrl: options.baseUrl, backupBaseUrl: options.backupBaseUrl }
  const config = Layer.unwrapEffect(
    Effect.map(FakeWechatPay, (fake) => MerchantConfig.layer(TestKeys.merchantOptions(fake.keys, urls)))
  )
  return Layer.mergeAll(layer(urls), config).pipe(Layer.provideMerge(FakeWechatPayModule.layer(options)))
}
