/**
 * The fake at the HTTP level, whichever form carries the bytes: the request as
 * received and its authentication, the signed answer (bytes and headers) and
 * how each fault damages it, and the log of everything received.
 *
 * @since 0.1.0
 */
import * as Authorization from "../../internal/Authorization.js"
import * as ServerProtocol from "../ServerProtocol.js"
import type { TestKeys } from "../TestKeys.js"
import type { Fault } from "./Faults.js"
import * as Routes from "./Routes.js"
import { errorBody, fail, MESSAGES, type StockChange, type Verdict } from "./Rules.js"

/** Which listener or base URL a request arrived on. */
export type Endpoint = "primary" | "backup"

/** A request as either form received it (header names in lower case). */
export interface Request {
  readonly endpoint: Endpoint
  readonly method: string
  /** Path and query exactly as received: what the client signed. */
  readonly target: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly bodyText: string
  /** The body bytes as received, which the signature is checked over (see `ServerProtocol.IncomingRequest`). */
  readonly bodyBytes?: Uint8Array | undefined
  /**
   * The path of the base URL the request was sent under, which routing takes off (the
   * signature still covers `target` whole); empty or absent over loopback HTTP.
   */
  readonly basePath?: string | undefined
}

/** What the form must do on the wire. */
export type Outcome =
  | {
    readonly _tag: "Respond"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: Uint8Array<ArrayBuffer>
    /** Answer this much later (milliseconds, on the form's clock). */
    readonly delayMillis: number
    /** When set: announce `body.length` bytes, send only this many, then drop the connection. */
    readonly truncateAt: number | undefined
  }
  | { readonly _tag: "Reset"; readonly delayMillis: number }

// ---------------------------------------------------------------------------
// Authentication

/** The refusal of a request whose headers or signature do not pass; `undefined` when it may go on to the rules. */
export const authenticate = (
  request: ServerProtocol.IncomingRequest,
  keys: TestKeys,
  nowMillis: number
): Verdict | undefined => {
  const nowSeconds = Math.floor(nowMillis / 1000)
  const rejection = ServerProtocol.checkRequest(request, keys, nowSeconds)
  if (rejection !== undefined) {
    // WeChat Pay signs answers only to requests whose signature it verified (签名: 对于签名验证成功的
    // 请求): a 401 never, a 400 for a missing Accept or User-Agent only when the signature is good.
    const signed = rejection.status !== 401 && ServerProtocol.checkSignature(request, keys, nowSeconds) === undefined
    return { ...fail(rejection.status, rejection.code, rejection.message), signed }
  }
  const serial = request.headers["wechatpay-serial"]
  if (serial !== undefined && serial !== keys.wechatpayPublicKeyId) {
    return fail(400, "INVALID_REQUEST", MESSAGES.badWechatpaySerial)
  }
  return undefined
}

// ---------------------------------------------------------------------------
// Answers

const encoder = new TextEncoder()

const JSON_TYPE = "application/json; charset=utf-8"
const BAD_GATEWAY_HTML =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
const SERVICE_UNAVAILABLE_JSON = JSON.stringify({ code: "SERVICE_UNAVAILABLE", message: "服务不可用，过载保护，请稍后重试" })
const NON_JSON_BODY = "<xml><return_code>OK</return_code></xml>"

/** A valid Base64 signature whose first decoded byte differs: verifies as wrong, decodes fine. */
export const flipFirstByte = (base64: string): string => {
  const bytes = Buffer.from(base64, "base64")
  if (bytes.length === 0) return base64
  bytes[0] = bytes[0]! ^ 0x01
  return bytes.toString("base64")
}

export interface Answers {
  /**
   * The answer when `fault` strikes before the rules run (see
   * `PROCESSED_BEFORE_FAULT`); `undefined` when there is no fault or it strikes later.
   */
  readonly beforeRules: (fault: Fault | undefined) => Outcome | undefined
  /** The rules' verdict as sent, damaged by `fault` when there is one. */
  readonly afterRules: (verdict: Verdict, fault: Fault | undefined, slowMillis: number) => Outcome
}

/** The answers to one request: they carry its Request-ID and are signed at `nowMillis`. */
export const answers = (keys: TestKeys, requestId: string, nowMillis: number): Answers => {
  const nowSeconds = Math.floor(nowMillis / 1000)
  const sign = (body: Uint8Array, atSeconds: number) => ServerProtocol.signResponse(keys, body, atSeconds)
  const respond = (
    status: number,
    bodyText: string,
    contentType: string,
    signed: boolean,
    extra: { readonly delayMillis?: number; readonly truncateAt?: number | undefined } = {}
  ): Outcome => {
    const body = encoder.encode(bodyText)
    // Signed when sent, as WeChat Pay does: a late answer is late, not stale.
    const sentSeconds = Math.floor((nowMillis + (extra.delayMillis ?? 0)) / 1000)
    const headers: Record<string, string> = {
      "request-id": requestId,
      "content-type": contentType,
      ...(signed ? sign(body, sentSeconds) : {})
    }
    return { _tag: "Respond", status, headers, body, delayMillis: extra.delayMillis ?? 0, truncateAt: extra.truncateAt }
  }

  const beforeRules = (fault: Fault | undefined): Outcome | undefined => {
    switch (fault) {
      case "rateLimit":
        return respond(429, errorBody("RATELIMIT_EXCEEDED", MESSAGES.rateLimited), JSON_TYPE, true)
      case "systemError":
        return respond(500, errorBody("SYSTEM_ERROR", MESSAGES.systemError), JSON_TYPE, true)
      case "badGateway":
        return respond(502, BAD_GATEWAY_HTML, "text/html", false)
      case "serviceUnavailable":
        return respond(503, SERVICE_UNAVAILABLE_JSON, JSON_TYPE, false)
      case "connectionReset":
      case "primaryDown":
        return { _tag: "Reset", delayMillis: 0 }
    }
    return undefined
  }

  const afterRules = (verdict: Verdict, fault: Fault | undefined, slowMillis: number): Outcome => {
    switch (fault) {
      case "connectionResetAfterApply":
        return { _tag: "Reset", delayMillis: 0 }
      case "slow":
        return respond(verdict.status, verdict.body, JSON_TYPE, verdict.signed, { delayMillis: slowMillis })
      case "nonJsonBody":
        return respond(verdict.status, NON_JSON_BODY, "text/plain", verdict.signed)
      case "truncatedBody": {
        const bytes = encoder.encode(verdict.body)
        return respond(verdict.status, verdict.body, JSON_TYPE, verdict.signed, { truncateAt: Math.floor(bytes.length / 2) })
      }
    }
    if (!verdict.signed || (fault !== "probeSignature" && fault !== "wrongSignature" && fault !== "staleTimestamp")) {
      return respond(verdict.status, verdict.body, JSON_TYPE, verdict.signed)
    }
    const body = encoder.encode(verdict.body)
    const base = { "request-id": requestId, "content-type": JSON_TYPE }
    let signature: Record<string, string>
    if (fault === "staleTimestamp") {
      signature = sign(body, nowSeconds - 600)
    } else {
      signature = sign(body, nowSeconds)
      const good = signature["wechatpay-signature"]!
      signature["wechatpay-signature"] = fault === "probeSignature"
        ? `${Authorization.PROBE_PREFIX}${good.slice(0, 64)}`
        : flipFirstByte(good)
    }
    return { _tag: "Respond", status: verdict.status, headers: { ...base, ...signature }, body, delayMillis: 0, truncateAt: undefined }
  }

  return { beforeRules, afterRules }
}

// ---------------------------------------------------------------------------
// The request log

/** One received request and what the sandbox did with it. */
export interface LogEntry {
  readonly seq: number
  readonly atMillis: number
  readonly endpoint: Endpoint
  readonly method: string
  readonly target: string
  readonly bodyText: string
  readonly requestId: string
  readonly fault: Fault | undefined
  /** Whether the business rules ran (stores may have changed state). */
  readonly processed: boolean
  /** The status sent, `undefined` when the connection was dropped. */
  readonly status: number | undefined
  /** The error `code` of the answer the rules produced (before any fault damaged it). */
  readonly code: string | undefined
  readonly message: string | undefined
  /** The endpoint the request's method and path address (whatever happened to it); `undefined` for an unknown one. */
  readonly operation: Routes.Operation | undefined
  readonly productCouponId: string | undefined
  /** The stock of a stock-level call (`undefined` for a bundle call). */
  readonly stockId: string | undefined
  /** The bundle of a stock-bundle call. */
  readonly stockBundleId: string | undefined
  /**
   * Stores whose association really changed in this request: ended (disassociate
   * calls) or began (associate calls), with the stock or with any stock of the bundle.
   */
  readonly changedStores: ReadonlyArray<string>
  /** The same, stock by stock: one entry per stock a processed store call applied to (empty otherwise). */
  readonly changes: ReadonlyArray<StockChange>
}

/** A request the log has numbered, waiting for what was done with it. */
export interface Received {
  readonly seq: number
  readonly requestId: string
  /** Adds the request's entry; `verdict` is `undefined` when the rules did not run. */
  readonly record: (fault: Fault | undefined, verdict: Verdict | undefined, outcome: Outcome) => void
}

export interface RequestLog {
  /** Everything received so far, oldest first (a live array, emptied in place by `clear`). */
  readonly entries: ReadonlyArray<LogEntry>
  /** Empties the log; numbering goes on, so Request-IDs stay unique. */
  readonly clear: () => void
  /** Numbers a request as it arrives and gives it its Request-ID. */
  readonly receive: (request: Request, nowMillis: number) => Received
}

export const makeLog = (): RequestLog => {
  const entries: Array<LogEntry> = []
  let seq = 0
  // Request-IDs are unique per sandbox and reproducible within it.
  const idPrefix = Math.floor(Math.random() * 0xffffffff).toString(16).toUpperCase().padStart(8, "0")
  const receive = (request: Request, nowMillis: number): Received => {
    const n = ++seq
    const requestId = `${idPrefix}${n.toString(16).toUpperCase().padStart(10, "0")}`
    return {
      seq: n,
      requestId,
      record: (fault, verdict, outcome) => {
        entries.push({
          seq: n,
          atMillis: nowMillis,
          endpoint: request.endpoint,
          method: request.method,
          target: request.target,
          bodyText: request.bodyText,
          requestId,
          fault,
          processed: verdict?.processed ?? false,
          status: outcome._tag === "Respond" ? outcome.status : undefined,
          code: verdict?.code,
          message: verdict?.message,
          operation: verdict?.operation ?? Routes.match(request.method, request.target, request.basePath)?.operation,
          productCouponId: verdict?.productCouponId,
          stockId: verdict?.stockId,
          stockBundleId: verdict?.stockBundleId,
          changedStores: verdict?.changedStores ?? [],
          changes: verdict?.changes ?? []
        })
      }
    }
  }
  return {
    entries,
    clear: () => {
      entries.length = 0
    },
    receive
  }
}
