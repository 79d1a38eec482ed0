/**
 * The server's half of APIv3, for fakes: check a request's `Authorization`
 * the way WeChat Pay does, and sign a response. Builds the sign strings with
 * the very functions the client signs and verifies with
 * (`Authorization.requestMessage`, `Authorization.responseMessage`).
 *
 * @since 0.1.0
 */
import * as NodeCrypto from "node:crypto"
import * as Authorization from "../internal/Authorization.js"
import type { TestKeys } from "./TestKeys.js"

/** Why the fake refused a request, as the real API would say it. */
export interface Rejection {
  readonly status: 400 | 401
  readonly code: "INVALID_REQUEST" | "SIGN_ERROR"
  readonly message: string
}

/** The request as it arrived on the wire. */
export interface IncomingRequest {
  readonly method: string
  /** Path and query exactly as received (for a GET, the query string is part of what is signed). */
  readonly target: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly bodyText: string
  /**
   * The body bytes exactly as received, which the signature covers; when absent, the UTF-8
   * encoding of `bodyText`. Give them whenever you have them: a body that is not UTF-8, or
   * starts with a BOM, does not survive decoding and encoding again.
   */
  readonly bodyBytes?: Uint8Array | undefined
}

const encoder = new TextEncoder()

/** The protocol's 5-minute window for request timestamps. */
export const REQUEST_CLOCK_WINDOW_SECONDS = 300

/** Checks the headers and the signature; `undefined` when the request is acceptable. */
export const checkRequest = (
  request: IncomingRequest,
  keys: TestKeys,
  nowSeconds: number
): Rejection | undefined => {
  const h = request.headers
  if (h["accept"] === undefined || h["user-agent"] === undefined) {
    return { status: 400, code: "INVALID_REQUEST", message: "Http头缺少Accept或User-Agent" }
  }
  return checkSignature(request, keys, nowSeconds)
}

/**
 * The `Authorization` header alone (mchid, serial, timestamp window, RSA over the sign
 * string): `undefined` when it verifies. WeChat Pay signs its answer only then.
 */
export const checkSignature = (
  request: IncomingRequest,
  keys: TestKeys,
  nowSeconds: number
): Rejection | undefined => {
  const h = request.headers
  const header = h["authorization"]
  const auth = header === undefined ? undefined : Authorization.parse(header)
  if (auth === undefined) {
    return { status: 401, code: "SIGN_ERROR", message: "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》" }
  }
  if (auth.mchid !== keys.mchid) {
    return { status: 401, code: "SIGN_ERROR", message: "Http头Authorization中的mchid与商户号不匹配" }
  }
  if (auth.serialNo !== keys.merchantSerialNo) {
    return { status: 401, code: "SIGN_ERROR", message: "商户证书序列号有误。请使用签名私钥匹配的证书序列号" }
  }
  const ts = /^\d{1,12}$/.test(auth.timestamp) ? Number(auth.timestamp) : Number.NaN
  if (!(Math.abs(nowSeconds - ts) <= REQUEST_CLOCK_WINDOW_SECONDS)) {
    return { status: 401, code: "SIGN_ERROR", message: "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟" }
  }
  // The fake's request check lives here: it rebuilds the sign string over the target exactly
  // as received (path, and for a GET the `?` and query string as sent, never re-encoded or
  // re-ordered) with the client's own builder, Authorization.requestMessage. So a fault in that
  // builder would pass every sandbox test: the guards are the official vectors
  // (test/vectors.test.ts) and the wechatpay-axios-plugin interop tests, a POST
  // (test/sandbox-peer.test.ts) and a signed GET with a query string (test/sandbox-family-peer.test.ts).
  const message = Authorization.requestMessage(
    request.method,
    request.target,
    auth.timestamp,
    auth.nonce,
    request.bodyBytes ?? encoder.encode(request.bodyText)
  )
  let ok = false
  try {
    ok = NodeCrypto.verify("sha256", message, keys.merchantPublicKey, Buffer.from(auth.signature, "base64"))
  } catch {
    ok = false
  }
  return ok ? undefined : { status: 401, code: "SIGN_ERROR", message: "签名错误，请检查后再试" }
}

/** 32 hex characters, the shape of the nonces in WeChat Pay's own examples. */
export const responseNonce = (): string => NodeCrypto.randomBytes(16).toString("hex")

/** The four `Wechatpay-*` headers for a response body. */
export const signResponse = (
  keys: TestKeys,
  body: string | Uint8Array,
  nowSeconds: number,
  nonce: string = responseNonce()
): Record<string, string> => {
  const bytes = typeof body === "string" ? Buffer.from(body) : body
  const timestamp = String(nowSeconds)
  // The fake's response signing lives here. Because the fakes sign with the same
  // Authorization module the client verifies with, a broken sign string would pass
  // every sandbox test. The guards are the official vectors (test/vectors.test.ts)
  // and the wechatpay-axios-plugin interop tests, whose own verifier checks these
  // answers (test/sandbox-peer.test.ts, test/sandbox-family-peer.test.ts).
  const signature = NodeCrypto.sign(
    "sha256",
    Authorization.responseMessage(timestamp, nonce, bytes),
    keys.wechatpayPrivateKey
  ).toString("base64")
  return {
    "wechatpay-timestamp": timestamp,
    "wechatpay-nonce": nonce,
    "wechatpay-signature": signature,
    "wechatpay-serial": keys.wechatpayPublicKeyId,
    "wechatpay-signature-type": Authorization.SCHEME
  }
}
