// Requests to the fake WeChat Pay for the whole product-coupon store family, signed here and
// sent through either sandbox form, with the answers' signatures checked here too.
//
// The sign strings are written out by hand from the protocol's five-line (request) and three-line
// (response) formats, not built with the library's Authorization module: the fake checks and signs
// with that module, so a test that used it as well could not notice a sign string both got wrong.
// Paths are spelled out from the partner documentation (…/partner/4015781302 associate,
// 4015781546 list, 4015781537 disassociate, 4016280620/4016280629 bundles, 4015781542 stock).
import { HttpClientRequest } from "@effect/platform"
import { Clock, Effect, Redacted } from "effect"
import * as Http from "node:http"
import * as NodeCrypto from "node:crypto"
import { FakeWechatPay, SandboxHttpClient, type SandboxServer, type TestKeys } from "../../packages/effect-wechatpay/src/testing/index.js"
import * as Rules from "../../packages/effect-wechatpay/src/testing/fake/Rules.js"
import * as State from "../../packages/effect-wechatpay/src/testing/fake/State.js"
import { keys as sharedKeys } from "./Keys.js"

export const F = FakeWechatPay.Fixture
export const s = FakeWechatPay.storeId
export const PRIMARY = "https://api.mch.weixin.qq.com"

const COUPONS = "/v3/marketing/partner/product-coupon/product-coupons"

/** The documented paths, ids as given (the tests use plain digits). */
export const paths = {
  associate: (productCouponId: string, stockId: string) =>
    `${COUPONS}/${productCouponId}/stocks/${stockId}/associate-stores`,
  disassociate: (productCouponId: string, stockId: string) =>
    `${COUPONS}/${productCouponId}/stocks/${stockId}/disassociate-stores`,
  list: (productCouponId: string, stockId: string) =>
    `${COUPONS}/${productCouponId}/stocks/${stockId}/associated-stores`,
  stock: (productCouponId: string, stockId: string) => `${COUPONS}/${productCouponId}/stocks/${stockId}`,
  bundleAssociate: (productCouponId: string, stockBundleId: string) =>
    `${COUPONS}/${productCouponId}/stock-bundles/${stockBundleId}/associate-stores`,
  bundleDisassociate: (productCouponId: string, stockBundleId: string) =>
    `${COUPONS}/${productCouponId}/stock-bundles/${stockBundleId}/disassociate-stores`
} as const

/** The body of the four store calls. */
export const storeBody = (brandId: string, storeIds: ReadonlyArray<string>): string =>
  JSON.stringify({ store_list: storeIds.map((store_id) => ({ store_id })), brand_id: brandId })

/** A query string in the order given (as `URLSearchParams` writes it); `undefined` values are left out. */
export const query = (params: Readonly<Record<string, string | number | undefined>>): string => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, String(v))
  const text = q.toString()
  return text === "" ? "" : `?${text}`
}

/** The listing's target for one page. */
export const listTarget = (
  stockId: string,
  options: { readonly pageSize?: number | undefined; readonly pageToken?: string | undefined; readonly brandId?: string; readonly productCouponId?: string } = {}
): string =>
  paths.list(options.productCouponId ?? F.productCouponId, stockId) +
  query({ brand_id: options.brandId ?? F.brandId, page_size: options.pageSize, page_token: options.pageToken })

// ---------------------------------------------------------------------------
// Signing, by hand

const privateKeys = new WeakMap<TestKeys.TestKeys, NodeCrypto.KeyObject>()
const privateKeyOf = (keys: TestKeys.TestKeys) => {
  let key = privateKeys.get(keys)
  if (key === undefined) {
    key = NodeCrypto.createPrivateKey(Redacted.value(keys.merchantPrivateKeyPem))
    privateKeys.set(keys, key)
  }
  return key
}

/** The request sign string: method, target, timestamp, nonce and body, each line ended by `\n`. */
export const requestSignString = (method: string, target: string, timestamp: string, nonce: string, body: string): string =>
  `${method}\n${target}\n${timestamp}\n${nonce}\n${body}\n`

/** The headers of a request signed over `signedTarget` at `nowSeconds`. */
export const signedHeaders = (
  method: string,
  signedTarget: string,
  body: string,
  nowSeconds: number,
  keys: TestKeys.TestKeys = sharedKeys
): Record<string, string> => {
  const nonce = NodeCrypto.randomBytes(16).toString("hex")
  const timestamp = String(nowSeconds)
  const signature = NodeCrypto.sign(
    "sha256",
    Buffer.from(requestSignString(method, signedTarget, timestamp, nonce, body), "utf8"),
    privateKeyOf(keys)
  ).toString("base64")
  return {
    accept: "application/json",
    "content-type": "application/json",
    "user-agent": "effect-wechatpay-tests/fake-family",
    authorization:
      `WECHATPAY2-SHA256-RSA2048 mchid="${keys.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${timestamp}",serial_no="${keys.merchantSerialNo}"`
  }
}

/** Whether an answer carries a good WeChat Pay signature over exactly these body bytes. */
export const answerVerifies = (
  headers: Readonly<Record<string, string | undefined>>,
  body: string,
  keys: TestKeys.TestKeys = sharedKeys
): boolean => {
  const ts = headers["wechatpay-timestamp"]
  const nonce = headers["wechatpay-nonce"]
  const signature = headers["wechatpay-signature"]
  if (ts === undefined || nonce === undefined || signature === undefined) return false
  if (headers["wechatpay-serial"] !== keys.wechatpayPublicKeyId) return false
  return NodeCrypto.verify(
    "sha256",
    Buffer.from(`${ts}\n${nonce}\n${body}\n`, "utf8"),
    keys.wechatpayPublicKeyPem,
    Buffer.from(signature, "base64")
  )
}

// ---------------------------------------------------------------------------
// Sending

/** What a test sends: the target on the wire, and (to tamper) the one that is signed. */
export interface Send {
  readonly method: "GET" | "POST"
  readonly target: string
  readonly body?: string | undefined
  /** Default: `target`. */
  readonly signedTarget?: string | undefined
  readonly keys?: TestKeys.TestKeys | undefined
}

/** An answer as a test reads it. */
export interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly text: string
  /** The parsed body (`undefined` when it is not JSON). */
  readonly json: Record<string, unknown> | undefined
  /** Whether its signature verifies (over the bytes received). */
  readonly verified: boolean
}

const answerOf = (status: number, headers: Readonly<Record<string, string | undefined>>, text: string, keys: TestKeys.TestKeys): Answer => {
  let json: Record<string, unknown> | undefined
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch {
    json = undefined
  }
  return { status, headers, text, json, verified: answerVerifies(headers, text, keys) }
}

/** A way to reach a fake: one of its two forms. */
export type Form = (request: Send) => Effect.Effect<Answer, Error>

/**
 * The in-memory form: `SandboxHttpClient` over `fake`, on effect's Clock (the request is signed
 * at Clock time, which is also the fake's time).
 */
export const memory = (fake: FakeWechatPay.Service): Form => {
  const client = SandboxHttpClient.make(fake)
  return (request) =>
    Effect.gen(function*() {
      const keys = request.keys ?? fake.keys
      const body = request.body ?? ""
      const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const headers = signedHeaders(request.method, request.signedTarget ?? request.target, body, nowSeconds, keys)
      let out = HttpClientRequest.make(request.method)(PRIMARY + request.target).pipe(HttpClientRequest.setHeaders(headers))
      if (request.method === "POST") out = HttpClientRequest.bodyText(out, body, "application/json")
      const response = yield* client.execute(out)
      const text = yield* response.text
      return answerOf(response.status, response.headers, text, keys)
    }).pipe(Effect.mapError((e) => new Error(String(e))))
}

/**
 * The rules alone (`fake/Rules.ts` over `fake/State.ts`, what both forms run after authentication),
 * for properties that need thousands of requests: no signing, no fault plan, no log; the rate
 * limit off. `verified` is `true`: nothing is signed at this layer.
 */
export const rulesOnly = (seed: FakeWechatPay.Seed, options: Rules.RuleOptions = {}) => {
  const state = State.fromSeed(seed)
  const rules = Rules.make(state, { rateLimit: false, ...options })
  const form: Form = (request) =>
    Effect.sync(() => {
      const verdict = rules.decide(
        { method: request.method, target: request.target, headers: {}, bodyText: request.body ?? "" },
        0
      )
      const answer = answerOf(verdict.status, {}, verdict.body, sharedKeys)
      return { ...answer, verified: true }
    })
  return { form, state }
}

/**
 * The loopback form: a raw node:http request to `server`'s primary listener, with `target` as the
 * request line's target byte for byte (no URL parsing on the way), signed at wall-clock time.
 */
export const loopback = (server: SandboxServer.Service): Form => (request) =>
  Effect.async<Answer, Error>((resume) => {
    const keys = request.keys ?? server.fake.keys
    const body = request.body ?? ""
    const headers = signedHeaders(request.method, request.signedTarget ?? request.target, body, Math.floor(Date.now() / 1000), keys)
    const req = Http.request(
      { host: "127.0.0.1", port: server.primaryPort, method: request.method, path: request.target, headers, agent: false },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const flat: Record<string, string | undefined> = {}
          for (const [k, v] of Object.entries(res.headers)) flat[k] = Array.isArray(v) ? v.join(", ") : v
          resume(Effect.succeed(answerOf(res.statusCode ?? 0, flat, Buffer.concat(chunks).toString("utf8"), keys)))
        })
        res.on("error", (e) => resume(Effect.fail(e)))
      }
    )
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end(request.method === "POST" ? body : undefined)
  })

// ---------------------------------------------------------------------------
// The calls

export const associate = (form: Form, stockId: string, storeIds: ReadonlyArray<string>, productCouponId: string = F.productCouponId, brandId: string = F.brandId) =>
  form({ method: "POST", target: paths.associate(productCouponId, stockId), body: storeBody(brandId, storeIds) })

export const disassociate = (form: Form, stockId: string, storeIds: ReadonlyArray<string>, productCouponId: string = F.productCouponId, brandId: string = F.brandId) =>
  form({ method: "POST", target: paths.disassociate(productCouponId, stockId), body: storeBody(brandId, storeIds) })

export const bundleAssociate = (form: Form, storeIds: ReadonlyArray<string>, stockBundleId: string = F.stockBundleId, productCouponId: string = F.bundleProductCouponId, brandId: string = F.brandId) =>
  form({ method: "POST", target: paths.bundleAssociate(productCouponId, stockBundleId), body: storeBody(brandId, storeIds) })

export const bundleDisassociate = (form: Form, storeIds: ReadonlyArray<string>, stockBundleId: string = F.stockBundleId, productCouponId: string = F.bundleProductCouponId, brandId: string = F.brandId) =>
  form({ method: "POST", target: paths.bundleDisassociate(productCouponId, stockBundleId), body: storeBody(brandId, storeIds) })

export const getStock = (form: Form, stockId: string, productCouponId: string = F.productCouponId, brandId: string = F.brandId) =>
  form({ method: "GET", target: paths.stock(productCouponId, stockId) + query({ brand_id: brandId }) })

export const listPage = (form: Form, stockId: string, options: Parameters<typeof listTarget>[1] = {}) =>
  form({ method: "GET", target: listTarget(stockId, options) })

/** Store ids of a listing page's `store_list`. */
export const idsOf = (answer: Answer): ReadonlyArray<string> =>
  ((answer.json?.["store_list"] ?? []) as ReadonlyArray<{ store_id: string }>).map((e) => e.store_id)

/**
 * Walks the listing to its end; `between(pageIndex, seenSoFar)` runs after each page that has a next one.
 * Fails the effect on a non-200 page or when the walk exceeds `maxPages`.
 */
export const walk = <E = never, R = never>(
  form: Form,
  stockId: string,
  pageSize: number | undefined,
  between?: (pageIndex: number, seenSoFar: ReadonlyArray<string>) => Effect.Effect<void, E, R>,
  maxPages = 100_000
): Effect.Effect<Array<string>, Error | E, R> =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    let token: string | undefined
    for (let page = 0; page < maxPages; page++) {
      const answer = yield* listPage(form, stockId, { pageSize, pageToken: token })
      if (answer.status !== 200) return yield* Effect.fail(new Error(`page ${page}: ${answer.status} ${answer.text}`))
      if (!answer.verified) return yield* Effect.fail(new Error(`page ${page}: the answer does not verify`))
      seen.push(...idsOf(answer))
      const next = answer.json?.["next_page_token"]
      if (next === undefined || next === "") return seen
      token = String(next)
      if (between !== undefined) yield* between(page, seen)
    }
    return yield* Effect.fail(new Error(`more than ${maxPages} pages`))
  })
