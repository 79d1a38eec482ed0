/**
 * The clients the benchmark compares — the floor, this library, the two npm
 * peers (each of the first two over both undici and fetch), plus a reference
 * row — each as "send this chunk of store ids, verify the signed answer,
 * return how many stores succeeded". Every one
 * does the same work: sign (RSA-SHA256), POST over keep-alive loopback HTTP,
 * check the four Wechatpay-* headers and the clock window, verify RSA over the
 * raw body, parse JSON.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as Http from "node:http"
import * as NodeCrypto from "node:crypto"
import { createRequire } from "node:module"
import * as Undici from "undici"
import { Wechatpay } from "wechatpay-axios-plugin"
import WxPay from "wechatpay-node-v3"
import * as ProductCouponStores from "../packages/effect-wechatpay/src/ProductCouponStores.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { DISASSOCIATE_TEMPLATE, disassociatePath } from "./paths.js"
import type { Ready } from "./sandbox-process.js"

export const F = FakeWechatPay.Fixture

/** One call: the ids of one chunk in, the number of stores the verified answer lists as succeeded out. */
export type Call = (storeIds: ReadonlyArray<string>) => Promise<number>

export interface Client {
  readonly name: string
  readonly call: Call
  readonly close: () => Promise<void>
}

const PATH = disassociatePath(F.productCouponId, F.stockId)
/** wechatpay-axios-plugin's chain: the declared template without its leading "/"; it fills each {param} by name. */
const CHAIN = DISASSOCIATE_TEMPLATE.slice(1)

const wireBody = (storeIds: ReadonlyArray<string>) => ({
  brand_id: F.brandId,
  store_list: storeIds.map((store_id) => ({ store_id }))
})

interface AnswerBody {
  readonly success_store_list?: ReadonlyArray<unknown>
}
const successCount = (json: unknown): number =>
  (json as AnswerBody | null)?.success_store_list?.length ?? 0

/**
 * How a client reaches the sandbox: Node's global `fetch`, undici (its own `request` API for the floor,
 * `NodeHttpClient.layerUndici` for Effect clients), or this project's optional `UndiciHttpClient.layer`.
 */
export type Transport = "undici" | "fetch" | "lean"

/** The signed request every client sends, built with `node:crypto` and keys parsed once. */
const floorSigner = (s: Ready) => {
  const key = NodeCrypto.createPrivateKey(s.merchantPrivateKeyPem)
  const pub = NodeCrypto.createPublicKey(s.wechatpayPublicKeyPem)
  const userAgent = `floor/1.0 (Node.js/${process.versions.node})`
  const request = (storeIds: ReadonlyArray<string>) => {
    const bodyText = JSON.stringify(wireBody(storeIds))
    const ts = String(Math.floor(Date.now() / 1000))
    const nonce = NodeCrypto.randomBytes(16).toString("hex")
    const signature = NodeCrypto.sign("sha256", Buffer.from(`POST\n${PATH}\n${ts}\n${nonce}\n${bodyText}\n`), key)
      .toString("base64")
    const headers: Record<string, string> = {
      accept: "application/json",
      "content-type": "application/json",
      "user-agent": userAgent,
      "wechatpay-serial": s.wechatpayPublicKeyId,
      authorization:
        `WECHATPAY2-SHA256-RSA2048 mchid="${s.mchid}",nonce_str="${nonce}",signature="${signature}",timestamp="${ts}",serial_no="${s.merchantSerialNo}"`
    }
    return { bodyText, headers }
  }
  /** Checks the four headers, the clock window and the RSA signature over the raw body; returns the stores that succeeded. */
  const answer = (status: number, header: (name: string) => string | undefined, body: Buffer): number => {
    const rts = header("wechatpay-timestamp")
    const rnonce = header("wechatpay-nonce")
    const rsig = header("wechatpay-signature")
    const serial = header("wechatpay-serial")
    if (rts === undefined || rnonce === undefined || rsig === undefined || serial === undefined) throw new Error("unsigned answer")
    if (serial !== s.wechatpayPublicKeyId) throw new Error("unknown serial")
    if (!(Math.abs(Date.now() / 1000 - Number(rts)) < 300)) throw new Error("stale answer")
    const message = Buffer.concat([Buffer.from(`${rts}\n${rnonce}\n`), body, Buffer.from("\n")])
    if (!NodeCrypto.verify("sha256", message, pub, Buffer.from(rsig, "base64"))) throw new Error("bad signature")
    if (status !== 200) throw new Error(`HTTP ${status}`)
    return successCount(JSON.parse(body.toString("utf8")))
  }
  return { request, answer }
}

const single = (value: string | ReadonlyArray<string> | undefined): string | undefined =>
  typeof value === "string" ? value : undefined

/**
 * 1. The floor: no Effect, no framework — `node:crypto` with keys parsed once,
 * then either undici's `request` on a keep-alive pool (the fastest way Node has)
 * or the global `fetch` (Node's bundled undici behind the WHATWG API).
 */
export const floor = (s: Ready, transport: Exclude<Transport, "lean"> = "undici"): Client => {
  const { answer, request } = floorSigner(s)
  if (transport === "fetch") {
    const url = s.baseUrl + PATH
    const call: Call = async (storeIds) => {
      const { bodyText, headers } = request(storeIds)
      const res = await fetch(url, { method: "POST", headers, body: bodyText })
      const body = Buffer.from(await res.arrayBuffer())
      return answer(res.status, (name) => res.headers.get(name) ?? undefined, body)
    }
    return { name: "floor (node:crypto + fetch)", call, close: async () => {} }
  }
  const pool = new Undici.Pool(s.baseUrl)
  const call: Call = async (storeIds) => {
    const { bodyText, headers } = request(storeIds)
    const res = await pool.request({ path: PATH, method: "POST", headers, body: bodyText })
    const body = Buffer.from(await res.body.arrayBuffer())
    return answer(res.statusCode, (name) => single(res.headers[name]), body)
  }
  return { name: "floor (node:crypto + undici)", call, close: () => pool.close() }
}

/** `@effect/platform`'s client over each transport, as an application would provide it. */
const httpLayer = (transport: Transport): Layer.Layer<HttpClient.HttpClient> =>
  transport === "fetch" ? FetchHttpClient.layer : transport === "lean" ? UndiciHttpClient.layer : NodeHttpClient.layerUndici

/**
 * Reference, not a competitor: the floor's own signing and checking, sent
 * through `@effect/platform`'s `HttpClient` (over undici) instead of undici
 * directly. No library code runs; the gap to the floor is what the transport
 * abstraction itself costs, a share of the library's own gap.
 */
export const platformOnly = async (s: Ready, tracer = false, transport: Transport = "undici"): Promise<Client> => {
  const { answer, request } = floorSigner(s)
  const runtime = ManagedRuntime.make(httpLayer(transport))
  // The platform's request span off, as the library has it (it records its own span per attempt).
  const platform = await runtime.runPromise(HttpClient.HttpClient)
  const http = tracer ? platform : HttpClient.withTracerDisabledWhen(platform, () => true)
  const url = s.baseUrl + PATH
  const call: Call = (storeIds) => {
    const { bodyText, headers } = request(storeIds)
    const req = HttpClientRequest.post(url).pipe(
      HttpClientRequest.setHeaders(headers),
      HttpClientRequest.bodyText(bodyText, "application/json")
    )
    return runtime.runPromise(
      Effect.flatMap(http.execute(req), (res) =>
        Effect.map(res.arrayBuffer, (buffer) => answer(res.status, (name) => res.headers[name], Buffer.from(buffer))))
    )
  }
  const name = transport === "lean" ? "@effect/platform HttpClient only (UndiciHttpClient)" : "@effect/platform HttpClient only"
  return { name, call, close: () => runtime.dispose() }
}

/**
 * 2. This library: `ProductCouponStores` with its default layers, over the
 * `HttpClient` an application provides: `NodeHttpClient.layerUndici` from
 * @effect/platform-node, or `FetchHttpClient.layer`.
 */
export const library = async (
  s: Ready,
  options: ProductCouponStores.Options = { rateLimit: false },
  transport: Transport = "undici"
): Promise<Client & { readonly runtime: ManagedRuntime.ManagedRuntime<ProductCouponStores.ProductCouponStores, unknown> }> => {
  const runtime = ManagedRuntime.make(
    ProductCouponStores.layerMerchant({
      mchid: s.mchid,
      merchantSerialNo: s.merchantSerialNo,
      privateKey: Redacted.make(s.merchantPrivateKeyPem),
      publicKeyId: s.wechatpayPublicKeyId,
      publicKey: s.wechatpayPublicKeyPem,
      baseUrl: s.baseUrl,
      backupBaseUrl: s.backupBaseUrl
    }, options).pipe(Layer.provide(httpLayer(transport)))
  )
  const service = await runtime.runPromise(ProductCouponStores.ProductCouponStores)
  const call: Call = (storeIds) =>
    runtime.runPromise(
      Effect.map(
        service.disassociateStores({
          productCouponId: F.productCouponId,
          stockId: F.stockId,
          brandId: F.brandId,
          storeList: storeIds.map((storeId) => ({ storeId }))
        }),
        (r) => r.successStoreList.length
      )
    )
  const name = transport === "lean" ? "effect-wechatpay (UndiciHttpClient)" : `effect-wechatpay (${transport})`
  return { name, call, close: () => runtime.dispose(), runtime }
}

/** 3. wechatpay-axios-plugin: it signs and verifies 2xx answers itself (certs keyed by PUB_KEY_ID). */
export const axiosPlugin = (s: Ready): Client => {
  const agent = new Http.Agent({ keepAlive: true })
  const wxpay = new Wechatpay({
    mchid: s.mchid,
    serial: s.merchantSerialNo,
    privateKey: s.merchantPrivateKeyPem,
    certs: { [s.wechatpayPublicKeyId]: s.wechatpayPublicKeyPem },
    baseURL: `${s.baseUrl}/`,
    httpAgent: agent
  })
  const call: Call = async (storeIds) => {
    const res = await wxpay.chain(CHAIN).post(wireBody(storeIds), {
      product_coupon_id: F.productCouponId,
      stock_id: F.stockId
    })
    return successCount(res.data)
  }
  return { name: "wechatpay-axios-plugin 0.9.6", call, close: async () => agent.destroy() }
}

/** What wechatpay-node-v3's own transport (superagent 8) gives back. */
interface SuperagentResponse {
  readonly status: number
  readonly text: string
  readonly headers: Record<string, string | undefined>
}
interface SuperagentRequest extends PromiseLike<SuperagentResponse> {
  set(headers: Record<string, string>): SuperagentRequest
  send(body: unknown): SuperagentRequest
}
interface Superagent {
  post(url: string): SuperagentRequest
}

/**
 * The package has no product-coupon method and keeps its request signer
 * `protected`; a subclass is the documented-by-types way to reach it.
 */
class NodeV3 extends WxPay {
  authorization(method: string, url: string, body: Record<string, unknown>): string {
    return this.buildAuthorization(method, url, body)
  }
  headersFor(authorization: string): Record<string, string> {
    return this.getHeaders(authorization, { "Content-Type": "application/json" })
  }
  /** The package's class-static key map, the only way to give it a WeChat Pay public key. */
  static trust(serial: string, publicKeyPem: string): void {
    WxPay.certificates[serial] = publicKeyPem
  }
}

/**
 * 4. wechatpay-node-v3: its own signer (`buildAuthorization`, which re-parses
 * the PEM every call), its own transport (superagent, as its `PayRequest`
 * sends), and — since it never verifies answers — its own `verifySign`,
 * plus the clock check every other client makes.
 */
export const nodeV3 = (s: Ready): Client => {
  const superagent: Superagent = createRequire(import.meta.url)("superagent")
  const pay = new NodeV3({
    appid: "wx0000000000000000",
    mchid: s.mchid,
    serial_no: s.merchantSerialNo,
    // Required to be present; only parsed when serial_no is absent.
    publicKey: Buffer.from("unused"),
    privateKey: Buffer.from(s.merchantPrivateKeyPem)
  })
  NodeV3.trust(s.wechatpayPublicKeyId, s.wechatpayPublicKeyPem)
  const call: Call = async (storeIds) => {
    const body = wireBody(storeIds)
    // The package signs the URL with its hard-coded origin stripped; we send to the sandbox.
    const authorization = pay.authorization("POST", `https://api.mch.weixin.qq.com${PATH}`, body)
    const res = await superagent.post(s.baseUrl + PATH).set(pay.headersFor(authorization)).send(body)
    const h = res.headers
    const ts = h["wechatpay-timestamp"]
    const nonce = h["wechatpay-nonce"]
    const signature = h["wechatpay-signature"]
    const serial = h["wechatpay-serial"]
    if (ts === undefined || nonce === undefined || signature === undefined || serial === undefined) {
      throw new Error("unsigned answer")
    }
    if (!(Math.abs(Date.now() / 1000 - Number(ts)) < 300)) throw new Error("stale answer")
    const ok = await pay.verifySign({ timestamp: ts, nonce, body: res.text, serial, signature })
    if (!ok) throw new Error("bad signature")
    return successCount(JSON.parse(res.text))
  }
  return { name: "wechatpay-node-v3 2.2.1", call, close: async () => {} }
}

/** The per-call clients, by kind, in the order the tables list them; the first is the floor. */
export const PER_CALL_KINDS = [
  "floor-undici",
  "floor-fetch",
  "platform",
  "library-undici",
  "library-fetch",
  "platform-lean",
  "library-lean",
  "axios-plugin",
  "node-v3"
] as const
export type ClientKind = typeof PER_CALL_KINDS[number]

export const makeClient = (kind: ClientKind, s: Ready): Promise<Client> => {
  switch (kind) {
    case "floor-undici":
      return Promise.resolve(floor(s, "undici"))
    case "floor-fetch":
      return Promise.resolve(floor(s, "fetch"))
    case "platform":
      return platformOnly(s)
    case "library-undici":
      return library(s, undefined, "undici")
    case "library-fetch":
      return library(s, undefined, "fetch")
    case "platform-lean":
      return platformOnly(s, false, "lean")
    case "library-lean":
      return library(s, undefined, "lean")
    case "axios-plugin":
      return Promise.resolve(axiosPlugin(s))
    case "node-v3":
      return Promise.resolve(nodeV3(s))
  }
}
