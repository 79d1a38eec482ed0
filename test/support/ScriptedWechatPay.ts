// An in-memory WeChat Pay for the service tests: every request is checked the way the real
// server checks it (ServerProtocol.checkRequest: Authorization, signature over the exact target
// and body, clock window), then answered from a per-test script with properly signed responses.
// Everything received is recorded: method, URL, headers, body bytes and the (test) time.
import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import { Clock, Effect, Layer } from "effect"
import { ProductCouponStores } from "../../src/index.js"
import { ServerProtocol, TestKeys } from "../../src/testing/index.js"

export const PRIMARY = "https://api.mch.weixin.qq.com"
export const BACKUP = "https://api2.mch.weixin.qq.com"
/** A realistic "now" for tests that start the TestClock here (seconds). */
export const NOW = 1_760_000_000

/** RSA key generation is the slow part: once per test file. */
export const keys: TestKeys.TestKeys = Effect.runSync(TestKeys.generate())

/** What the fake does with one request. */
export type Step =
  | {
    readonly _tag: "Reply"
    readonly status: number
    readonly body: string
    readonly requestId?: string | undefined
    /** "valid" (default): signed like WeChat Pay; "none": no Wechatpay-* headers; "probe": a SIGNTEST probe. */
    readonly signature?: "valid" | "none" | "probe" | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
  | { readonly _tag: "Refuse" }
  | { readonly _tag: "Hang" }

export const reply = (
  status: number,
  body: string | object,
  options: { readonly requestId?: string; readonly signature?: "valid" | "none" | "probe" } = {}
): Step => ({
  _tag: "Reply",
  status,
  body: typeof body === "string" ? body : JSON.stringify(body),
  requestId: options.requestId ?? "REQ-" + status,
  signature: options.signature
})
export const ok = (body: object = { total_count: 1, success_store_list: [{ store_id: "S1" }] }, requestId = "REQ-OK") =>
  reply(200, body, { requestId })
export const apiError = (status: number, code: string, message: string, detail?: unknown) =>
  reply(status, detail === undefined ? { code, message } : { code, message, detail }, { requestId: `REQ-${code}` })
/** Connection refused: no HTTP response at all. */
export const refuse: Step = { _tag: "Refuse" }
/** The server never answers (drives timeouts). */
export const hang: Step = { _tag: "Hang" }

/** A request as the fake received it. */
export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
  readonly bodyText: string
  /** TestClock time when it arrived. */
  readonly atMillis: number
  /** Set when the server-side protocol check refused the request. */
  readonly rejection: ServerProtocol.Rejection | undefined
}

export type Script = ReadonlyArray<Step> | ((request: Recorded, index: number) => Step)

export interface Scripted {
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly requests: ReadonlyArray<Recorded>
}

const decoder = new TextDecoder()
const empty = new Uint8Array(0)

const respond = (request: Parameters<typeof HttpClientResponse.fromWeb>[0], step: Step & { _tag: "Reply" }, now: number) => {
  const base: Record<string, string> = { "content-type": "application/json", ...step.headers }
  if (step.requestId !== undefined) base["request-id"] = step.requestId
  const signature = step.signature ?? "valid"
  const headers = signature === "none"
    ? base
    : signature === "probe"
    ? { ...base, ...ServerProtocol.signResponse(keys, step.body, now), "wechatpay-signature": "WECHATPAY/SIGNTEST/abc" }
    : { ...base, ...ServerProtocol.signResponse(keys, step.body, now) }
  return HttpClientResponse.fromWeb(request, new Response(step.body, { status: step.status, headers }))
}

/** A fresh fake with its own log. */
export const make = (script: Script): Scripted => {
  const requests: Array<Recorded> = []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const atMillis = yield* Clock.currentTimeMillis
      const now = Math.floor(atMillis / 1000)
      const body = request.body._tag === "Uint8Array" ? request.body.body : empty
      const bodyText = decoder.decode(body)
      const rejection = ServerProtocol.checkRequest(
        { method: request.method, target: url.pathname + url.search, headers: request.headers, bodyText },
        keys,
        now
      )
      const recorded: Recorded = { method: request.method, url, headers: request.headers, body, bodyText, atMillis, rejection }
      const index = requests.length
      requests.push(recorded)
      if (rejection !== undefined) {
        return respond(request, { _tag: "Reply", status: rejection.status, body: JSON.stringify(rejection) }, now)
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
        case "Reply":
          return respond(request, step, now)
      }
    })
  )
  return { layer: Layer.succeed(HttpClient.HttpClient, client), requests }
}

/** Client options trusting {@link keys}, with the primary and backup URLs. */
export const merchantOptions = TestKeys.merchantOptions(keys, { baseUrl: PRIMARY, backupBaseUrl: BACKUP })

/** The service (+ client) against a scripted fake. */
export const serviceLayer = (scripted: Scripted, options?: ProductCouponStores.Options) =>
  ProductCouponStores.layerMerchant(merchantOptions, options).pipe(Layer.provide(scripted.layer))

export const sampleInput: ProductCouponStores.DisassociateStoresInput = {
  productCouponId: "200000001",
  stockId: "123456789",
  brandId: "120344",
  storeList: [{ storeId: "100000001" }]
}
