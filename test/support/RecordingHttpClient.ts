// The one in-memory HttpClient of the tests (HttpClient.make + HttpClientResponse.fromWeb). It
// records every request it receives (method, URL, headers, body bytes, TestClock time) and answers
// from a script: a list of steps, or a function of the request. With `check`, each request is
// first judged the way WeChat Pay judges it (ServerProtocol.checkRequest: Authorization, signature
// over the exact target and body, clock window) and refused as the server would.
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Clock, Effect, Layer } from "effect"
import { ServerProtocol, type TestKeys } from "../../packages/effect-wechatpay/src/testing/index.js"
import { keys as defaultKeys } from "./Keys.js"
import { NOW } from "./Time.js"

/** A request as the fake received it. */
export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
  readonly bodyText: string
  /** TestClock time when it arrived. */
  readonly atMillis: number
  /** With `check`: why the server-side protocol check refused the request, if it did. */
  readonly rejection: ServerProtocol.Rejection | undefined
}

/**
 * An HTTP answer. `headers` go out as given; `sign` adds WeChat Pay's signature headers over
 * the body at the request's arrival time ("arrival") or a SIGNTEST probe signature ("probe").
 */
export interface Reply {
  readonly _tag?: "Reply"
  readonly status: number
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: string | Uint8Array | undefined
  readonly sign?: "arrival" | "probe" | undefined
}

/** What the fake does with one request. */
export type Step =
  | Reply
  /** Connection refused: no HTTP response at all. */
  | { readonly _tag: "Refuse" }
  /** The server never answers. */
  | { readonly _tag: "Hang" }
  /** Anything else (a broken body stream, another transport error): the response effect itself. */
  | {
    readonly _tag: "Respond"
    readonly respond: (
      request: HttpClientRequest.HttpClientRequest
    ) => Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>
  }

export type Script = ReadonlyArray<Step> | ((request: Recorded, index: number) => Step)

export interface Options {
  /** Judge each request as WeChat Pay would, against `keys`, before the script sees it. */
  readonly check?: boolean
  /** The keys answers are signed with and requests checked against (default: the shared keys). */
  readonly keys?: TestKeys.TestKeys
  /** Where requests are recorded (default: a fresh array). */
  readonly requests?: Array<Recorded>
}

export interface Recording {
  readonly client: HttpClient.HttpClient
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly requests: ReadonlyArray<Recorded>
}

/** A signed JSON answer, signed at `at` seconds (default {@link NOW}) with `keys` (default: the shared keys). */
export const signed = (
  status: number,
  body: string,
  options: { readonly at?: number; readonly keys?: TestKeys.TestKeys; readonly requestId?: string } = {}
): Reply & { readonly headers: Readonly<Record<string, string>> } => ({
  status,
  body,
  headers: {
    "content-type": "application/json",
    "request-id": options.requestId ?? "08F78BB5AF0610D302839A1B0A2D4D4A",
    ...ServerProtocol.signResponse(options.keys ?? defaultKeys, body, options.at ?? NOW)
  }
})

/** Connection refused. */
export const refuse: Step = { _tag: "Refuse" }
/** No answer, ever (drives timeouts). */
export const hang: Step = { _tag: "Hang" }

const decoder = new TextDecoder()
const empty = new Uint8Array(0)

const answer = (
  request: HttpClientRequest.HttpClientRequest,
  reply: Reply,
  keys: TestKeys.TestKeys,
  now: number
): HttpClientResponse.HttpClientResponse => {
  const text = reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : decoder.decode(reply.body)
  const headers = reply.sign === undefined
    ? { ...reply.headers }
    : reply.sign === "arrival"
    ? { ...reply.headers, ...ServerProtocol.signResponse(keys, text, now) }
    : { ...reply.headers, ...ServerProtocol.signResponse(keys, text, now), "wechatpay-signature": "WECHATPAY/SIGNTEST/abc" }
  const body = reply.body === undefined ? null : typeof reply.body === "string" ? reply.body : new Uint8Array(reply.body)
  return HttpClientResponse.fromWeb(request, new Response(body, { status: reply.status, headers }))
}

/** A fresh recording fake answering from `script`. */
export const make = (script: Script, options: Options = {}): Recording => {
  const keys = options.keys ?? defaultKeys
  const requests = options.requests ?? []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const atMillis = yield* Clock.currentTimeMillis
      const now = Math.floor(atMillis / 1000)
      const body = request.body._tag === "Uint8Array" ? request.body.body : empty
      const bodyText = decoder.decode(body)
      const rejection = options.check === true
        ? ServerProtocol.checkRequest(
          { method: request.method, target: url.pathname + url.search, headers: request.headers, bodyText },
          keys,
          now
        )
        : undefined
      const recorded: Recorded = { method: request.method, url, headers: request.headers, body, bodyText, atMillis, rejection }
      const index = requests.length
      requests.push(recorded)
      if (rejection !== undefined) {
        return answer(request, {
            status: rejection.status,
            headers: { "content-type": "application/json" },
            body: JSON.stringify(rejection),
            sign: "arrival"
          }, keys, now)
      }
      const step = typeof script === "function" ? script(recorded, index) : script[index]
      if (step === undefined) return yield* Effect.dieMessage(`script exhausted at request ${index + 1}`)
      switch (step._tag) {
        case "Refuse":
          return yield* new HttpClientError.RequestError({
            request,
            reason: "Transport",
            description: "connect ECONNREFUSED"
          })
        case "Hang":
          return yield* Effect.never
        case "Respond":
          return yield* step.respond(request)
        default:
          return answer(request, step, keys, now)
      }
    })
  )
  return { client, layer: Layer.succeed(HttpClient.HttpClient, client), requests }
}

/** Just the layer, recording into `requests`. */
export const layer = (script: Script, requests?: Array<Recorded>): Layer.Layer<HttpClient.HttpClient> =>
  make(script, requests === undefined ? {} : { requests }).layer
