/**
 * The simulated WeChat Pay behind both sandbox forms (`SandboxHttpClient` in
 * memory, `SandboxServer` over loopback HTTP): product-coupon state, the rules
 * of "批次取消关联门店" and seeded fault injection. One implementation of the
 * rules; the forms only move bytes.
 *
 * Where the documentation is silent, this fake decides (and the tests pin it):
 * - A store of the brand that is not (or no longer) associated with the stock
 *   lands in `success_store_list`: the call's goal, "not associated", holds, and
 *   a retry of a call whose answer was lost must not turn successes into
 *   failures. `notAssociated: "failed"` makes it a failure instead
 *   (`INVALID_REQUEST` / {@link MESSAGES.storeNotAssociated}).
 * - A stock of a `PROGRESSIVE_BUNDLE` coupon is refused with 400
 *   `INVALID_REQUEST` ({@link MESSAGES.progressiveBundle}); the protocol notes
 *   say such stocks must use the stock-bundle variant.
 * - More than 200 entries in `store_list` is counted before de-duplication; an
 *   empty `store_list` is a `PARAM_ERROR` too.
 * - Checks run in this order: Accept/User-Agent (400), signature (401), rate
 *   limit (429), route (404), body (400 PARAM_ERROR), brand authorization (403),
 *   product coupon (404, also when it belongs to another brand), stock (404),
 *   usage mode (400), expiry (400), store scope (400), then the stores.
 * - Only authenticated requests count against the rate limit (one sliding
 *   one-second window for the whole sandbox).
 * - A stock is expired when marked so or when the sandbox clock has reached
 *   its `availableEndMillis`.
 * - Empty `success_store_list` / `failed_store_list` are left out (both are
 *   optional in the documentation); `emptyLists: "include"` sends `[]`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import * as Authorization from "../internal/Authorization.js"
import * as Prng from "./Prng.js"
import * as ServerProtocol from "./ServerProtocol.js"
import * as TestKeys from "./TestKeys.js"

// ---------------------------------------------------------------------------
// Seed data

export type StoreScope = "SPECIFIC" | "ALL" | "NONE"
export type UsageMode = "SINGLE" | "PROGRESSIVE_BUNDLE"

export interface StockSeed {
  readonly stockId: string
  /** Defaults to `SPECIFIC`. */
  readonly storeScope?: StoreScope | undefined
  /** Marks the stock expired regardless of its window. */
  readonly expired?: boolean | undefined
  /** From this instant on (sandbox clock) the stock is expired. */
  readonly availableEndMillis?: number | undefined
  readonly associatedStoreIds?: Iterable<string> | undefined
}

export interface ProductCouponSeed {
  readonly productCouponId: string
  readonly brandId: string
  /** Defaults to `SINGLE`. */
  readonly usageMode?: UsageMode | undefined
  readonly stocks: ReadonlyArray<StockSeed>
}

export interface BrandSeed {
  readonly brandId: string
  /** Whether the brand authorized the service provider; defaults to `true`. */
  readonly authorized?: boolean | undefined
  readonly storeIds: Iterable<string>
}

/**
 * Plain data the sandbox starts from. Each fake built from a seed iterates its
 * store lists once; to reuse a seed (e.g. one layer provided to many tests),
 * give iterables that can be walked again (arrays, or what {@link generate}
 * returns), not one-shot generators.
 */
export interface Seed {
  readonly brands: ReadonlyArray<BrandSeed>
  readonly productCoupons: ReadonlyArray<ProductCouponSeed>
}

/** The ids {@link generate} uses, one per documented situation. */
export const Fixture = {
  brandId: "120344",
  otherBrandId: "120345",
  unauthorizedBrandId: "120399",
  productCouponId: "200000001",
  bundleProductCouponId: "200000002",
  otherBrandProductCouponId: "200000003",
  /** SPECIFIC, valid, associated with the generated stores. */
  stockId: "123456789",
  /** SPECIFIC but expired. */
  expiredStockId: "123456790",
  allScopeStockId: "123456791",
  noneScopeStockId: "123456792",
  /** SPECIFIC stock of the PROGRESSIVE_BUNDLE coupon. */
  bundleStockId: "123456793",
  otherBrandStockId: "123456794"
} as const

/** The i-th generated store of the main brand (0-based): 9 digits, like the documentation's `100000001`. */
export const storeId = (i: number): string => String(100_000_001 + i)
/** The i-th generated store of the other brand. */
export const otherBrandStoreId = (i: number): string => String(300_000_001 + i)

export interface GenerateOptions {
  /** Stores of the main brand; default 1,000. */
  readonly stores?: number | undefined
  /** How many of them (the first ones) are associated with {@link Fixture.stockId}; default all. */
  readonly associated?: number | undefined
  /** Stores of the other brand; default 10. */
  readonly otherBrandStores?: number | undefined
}

/**
 * A world with one coupon, one SPECIFIC stock associated with `stores` stores,
 * and one stock or brand for each documented error row (see {@link Fixture}).
 */
export const generate = (options: GenerateOptions = {}): Seed => {
  const stores = options.stores ?? 1_000
  const associated = Math.min(options.associated ?? stores, stores)
  const otherStores = options.otherBrandStores ?? 10
  // Lazy, so a million-store world is never an array of ids, yet re-iterable: every
  // fake built from this seed walks the ids afresh (a generator would serve only the first).
  const range = (n: number, f: (i: number) => string): Iterable<string> => ({
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) yield f(i)
    }
  })
  return {
    brands: [
      { brandId: Fixture.brandId, storeIds: range(stores, storeId) },
      { brandId: Fixture.otherBrandId, storeIds: range(otherStores, otherBrandStoreId) },
      { brandId: Fixture.unauthorizedBrandId, authorized: false, storeIds: [] }
    ],
    productCoupons: [
      {
        productCouponId: Fixture.productCouponId,
        brandId: Fixture.brandId,
        stocks: [
          { stockId: Fixture.stockId, associatedStoreIds: range(associated, storeId) },
          { stockId: Fixture.expiredStockId, expired: true, associatedStoreIds: range(Math.min(stores, 10), storeId) },
          { stockId: Fixture.allScopeStockId, storeScope: "ALL" },
          { stockId: Fixture.noneScopeStockId, storeScope: "NONE" }
        ]
      },
      {
        productCouponId: Fixture.bundleProductCouponId,
        brandId: Fixture.brandId,
        usageMode: "PROGRESSIVE_BUNDLE",
        stocks: [{ stockId: Fixture.bundleStockId, associatedStoreIds: range(Math.min(stores, 10), storeId) }]
      },
      {
        productCouponId: Fixture.otherBrandProductCouponId,
        brandId: Fixture.otherBrandId,
        stocks: [{ stockId: Fixture.otherBrandStockId, associatedStoreIds: range(otherStores, otherBrandStoreId) }]
      }
    ]
  }
}

// ---------------------------------------------------------------------------
// Messages

/** Messages exactly as the endpoint page's error table words them, plus the fake's own choices. */
export const MESSAGES = {
  storeInvalid: "门店ID非法或不属于当前品牌",
  stockExpired: "已过期的批次不可取消关联门店",
  stockNotSpecific: "只有 store_scope 为 SPECIFIC 的批次可以取消关联门店",
  noAuth: "缺少业务相关权限",
  productCouponNotFound: "未找到 product_coupon_id 对应的商品券",
  stockNotFound: "未找到 stock_id 对应的商品券批次",
  rateLimited: "请求超过接口频率限制",
  systemError: "系统异常，请稍后重试",
  /** Not documented: this fake's wording. */
  progressiveBundle: "多次优惠商品券的批次请使用批次组取消关联门店接口",
  /** Not documented: used only with `notAssociated: "failed"`. */
  storeNotAssociated: "门店未关联该批次",
  /** Not documented: an unknown path or method. */
  resourceNotFound: "请求的资源不存在",
  /** Not documented: a `Wechatpay-Serial` request header naming a key the sandbox does not have. */
  badWechatpaySerial: "Http头Wechatpay-Serial的值不是有效的微信支付公钥ID"
} as const

/** At most this many entries in `store_list` per call. */
export const MAX_STORES_PER_CALL = 200

/** Matches the endpoint's path (any prefix, e.g. a base-URL path, is allowed before it). */
export const ENDPOINT_PATH =
  /\/v3\/marketing\/partner\/product-coupon\/product-coupons\/([^/]+)\/stocks\/([^/]+)\/disassociate-stores$/

// ---------------------------------------------------------------------------
// Faults

/** Every injectable fault, in the order rates are accumulated. */
export const FAULTS = [
  "rateLimit",
  "systemError",
  "badGateway",
  "serviceUnavailable",
  "connectionReset",
  "connectionResetAfterApply",
  "slow",
  "probeSignature",
  "wrongSignature",
  "staleTimestamp",
  "truncatedBody",
  "nonJsonBody",
  "primaryDown"
] as const

export type Fault = typeof FAULTS[number]

/**
 * Whether the request is processed (stores may change state) before the
 * fault strikes. For the `true` ones the client cannot know the outcome.
 * - rateLimit (429), systemError (500), badGateway (502, HTML, unsigned),
 *   serviceUnavailable (503, JSON, unsigned), connectionReset: refused or lost
 *   before anything happened.
 * - connectionResetAfterApply: processed, then the connection drops unanswered.
 * - slow: processed at once, answered `slowMillis` later.
 * - probeSignature / wrongSignature / staleTimestamp: processed, the answer's
 *   signature is a `WECHATPAY/SIGNTEST/` probe / off by one byte / 10 minutes old.
 * - truncatedBody: processed; headers announce the full body, half of it
 *   arrives, then the connection drops.
 * - nonJsonBody: processed; the answer is a correctly signed non-JSON body.
 * - primaryDown: a request to the primary endpoint is dropped unanswered, as
 *   if the primary were unreachable (a request to the backup is unaffected and
 *   logged without a fault). For a lasting outage use `setPrimaryDown`.
 */
export const PROCESSED_BEFORE_FAULT: Readonly<Record<Fault, boolean>> = {
  rateLimit: false,
  systemError: false,
  badGateway: false,
  serviceUnavailable: false,
  connectionReset: false,
  connectionResetAfterApply: true,
  slow: true,
  probeSignature: true,
  wrongSignature: true,
  staleTimestamp: true,
  truncatedBody: true,
  nonJsonBody: true,
  primaryDown: false
}

export interface FaultOptions {
  /** PRNG seed; the same seed gives the same fault sequence. Default 1. */
  readonly seed?: number | undefined
  /** Per-request probability of each fault (their sum should stay ≤ 1). */
  readonly rates?: Partial<Record<Fault, number>> | undefined
  /** Faults for the next requests, in order (`"none"` = a normal answer); consulted before `rates`. */
  readonly script?: ReadonlyArray<Fault | "none"> | undefined
  /** When a fault is drawn from `rates`, it hits this many consecutive requests (e.g. 429 bursts). Default 1. */
  readonly burst?: Partial<Record<Fault, number>> | undefined
  /** How late a `slow` answer is; default 30 s. */
  readonly slowMillis?: number | undefined
}

// ---------------------------------------------------------------------------
// Requests, outcomes and the log

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
  readonly productCouponId: string | undefined
  readonly stockId: string | undefined
  /** Stores whose association with the stock really ended in this request. */
  readonly changedStores: ReadonlyArray<string>
}

export interface Options {
  /** Key material; generated when absent. */
  readonly keys?: TestKeys.TestKeys | undefined
  /** Starting state; default {@link generate}`()`. */
  readonly seed?: Seed | undefined
  /** Requests per second across the sandbox; `false` turns the limit off. Default 20. */
  readonly rateLimit?: number | false | undefined
  readonly faults?: FaultOptions | undefined
  readonly primaryDown?: boolean | undefined
  /** See the module notes. Default `"success"`. */
  readonly notAssociated?: "success" | "failed" | undefined
  /** See the module notes. Default `"omit"`. */
  readonly emptyLists?: "omit" | "include" | undefined
}

// ---------------------------------------------------------------------------
// The service

/** @since 0.1.0 */
export interface Service {
  readonly keys: TestKeys.TestKeys
  /** Runs the rules and the fault plan for one request at `nowMillis`. Never fails. */
  readonly handle: (request: Request, nowMillis: number) => Outcome
  /** Is `storeId` associated with `stockId` right now? */
  readonly isAssociated: (stockId: string, storeId: string) => boolean
  /** How many stores `stockId` has (0 for an unknown stock). */
  readonly associatedCount: (stockId: string) => number
  /** Everything received so far, oldest first (a live, read-only view). */
  readonly log: ReadonlyArray<LogEntry>
  readonly clearLog: Effect.Effect<void>
  /** Replaces the fault plan (and re-seeds the PRNG). */
  readonly setFaults: (faults: FaultOptions) => Effect.Effect<void>
  readonly setRateLimit: (perSecond: number | false) => Effect.Effect<void>
  /** While down, the forms refuse or reset every request to the primary endpoint. */
  readonly setPrimaryDown: (down: boolean) => Effect.Effect<void>
  readonly isPrimaryDown: () => boolean
}

/** @since 0.1.0 */
export class FakeWechatPay extends Context.Tag("effect-wechatpay/testing/FakeWechatPay")<FakeWechatPay, Service>() {}

interface Stock {
  readonly storeScope: StoreScope
  readonly expired: boolean
  readonly availableEndMillis: number | undefined
  readonly associated: Set<string>
}

interface Coupon {
  readonly brandId: string
  readonly usageMode: UsageMode
  readonly stocks: Map<string, Stock>
}

interface Verdict {
  readonly status: number
  readonly body: string
  readonly signed: boolean
  readonly processed: boolean
  readonly code?: string | undefined
  readonly message?: string | undefined
  readonly productCouponId?: string | undefined
  readonly stockId?: string | undefined
  readonly changedStores?: ReadonlyArray<string> | undefined
}

const encoder = new TextEncoder()

const errorBody = (code: string, message: string, detail?: unknown): string =>
  JSON.stringify(detail === undefined ? { code, message } : { code, message, detail })

const BAD_GATEWAY_HTML =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
const SERVICE_UNAVAILABLE_JSON = JSON.stringify({ code: "SERVICE_UNAVAILABLE", message: "服务不可用，过载保护，请稍后重试" })
const NON_JSON_BODY = "<xml><return_code>OK</return_code></xml>"

/** Builds the sandbox synchronously from keys you already have. */
export const makeWith = (keys: TestKeys.TestKeys, options: Omit<Options, "keys"> = {}): Service => {
  // --- state
  const brands = new Map<string, boolean>()
  const storeBrand = new Map<string, string>()
  const coupons = new Map<string, Coupon>()
  const stocks = new Map<string, Stock>()
  const seed = options.seed ?? generate()
  for (const brand of seed.brands) {
    brands.set(brand.brandId, brand.authorized ?? true)
    for (const id of brand.storeIds) storeBrand.set(id, brand.brandId)
  }
  for (const coupon of seed.productCoupons) {
    const own = new Map<string, Stock>()
    for (const s of coupon.stocks) {
      const stock: Stock = {
        storeScope: s.storeScope ?? "SPECIFIC",
        expired: s.expired ?? false,
        availableEndMillis: s.availableEndMillis,
        associated: new Set(s.associatedStoreIds ?? [])
      }
      own.set(s.stockId, stock)
      stocks.set(s.stockId, stock)
    }
    coupons.set(coupon.productCouponId, { brandId: coupon.brandId, usageMode: coupon.usageMode ?? "SINGLE", stocks: own })
  }
  const notAssociatedFails = options.notAssociated === "failed"
  const includeEmptyLists = options.emptyLists === "include"

  // --- rate limit: an exact sliding window, a ring of the last `limit` admission times (O(1) per request)
  let limit: number | false = options.rateLimit ?? 20
  let ring: Array<number> = []
  let ringAt = 0
  const resetRing = () => {
    ring = limit === false ? [] : new Array<number>(Math.max(1, Math.floor(limit))).fill(Number.NEGATIVE_INFINITY)
    ringAt = 0
  }
  resetRing()
  const admit = (now: number): boolean => {
    if (limit === false) return true
    if (now - ring[ringAt]! < 1000) return false
    ring[ringAt] = now
    ringAt = (ringAt + 1) % ring.length
    return true
  }

  // --- faults
  let faults: FaultOptions = options.faults ?? {}
  let prng = Prng.make(faults.seed ?? 1)
  let scriptAt = 0
  let burstFault: Fault | undefined
  let burstLeft = 0
  const nextFault = (): Fault | undefined => {
    const script = faults.script
    if (script !== undefined && scriptAt < script.length) {
      const f = script[scriptAt++]!
      return f === "none" ? undefined : f
    }
    if (burstLeft > 0) {
      burstLeft--
      return burstFault
    }
    const rates = faults.rates
    if (rates === undefined) return undefined
    // One draw per request, whatever the rates: the sequence depends on the seed alone.
    const r = prng.next()
    let acc = 0
    for (const f of FAULTS) {
      acc += rates[f] ?? 0
      if (r < acc) {
        burstFault = f
        burstLeft = Math.max(1, Math.floor(faults.burst?.[f] ?? 1)) - 1
        return f
      }
    }
    return undefined
  }

  let primaryDown = options.primaryDown ?? false
  const log: Array<LogEntry> = []
  let seq = 0
  // Request-IDs are unique per sandbox and reproducible within it.
  const idPrefix = Math.floor(Math.random() * 0xffffffff).toString(16).toUpperCase().padStart(8, "0")

  // --- the rules
  const paramError = (field: string, issue: string, message: string): Verdict => ({
    status: 400,
    body: errorBody("PARAM_ERROR", message, { field, location: "body", issue }),
    signed: true,
    processed: false,
    code: "PARAM_ERROR",
    message
  })

  const fail = (status: number, code: string, message: string, extra: Partial<Verdict> = {}): Verdict => ({
    status,
    body: errorBody(code, message),
    signed: true,
    processed: false,
    code,
    message,
    ...extra
  })

  const decodeSegment = (s: string): string | undefined => {
    try {
      return decodeURIComponent(s)
    } catch {
      return undefined
    }
  }

  const rules = (request: Request, now: number): Verdict => {
    const rejection = ServerProtocol.checkRequest(request, keys, Math.floor(now / 1000))
    if (rejection !== undefined) {
      // A request that could not be authenticated gets an unsigned answer (protocol notes §2.3).
      return { ...fail(rejection.status, rejection.code, rejection.message), signed: rejection.status !== 401 }
    }
    const serial = request.headers["wechatpay-serial"]
    if (serial !== undefined && serial !== keys.wechatpayPublicKeyId) {
      return fail(400, "INVALID_REQUEST", MESSAGES.badWechatpaySerial)
    }
    if (!admit(now)) return fail(429, "RATELIMIT_EXCEEDED", MESSAGES.rateLimited)
    const q = request.target.indexOf("?")
    const path = q < 0 ? request.target : request.target.slice(0, q)
    const m = request.method === "POST" ? ENDPOINT_PATH.exec(path) : null
    if (m === null) return fail(404, "NOT_FOUND", MESSAGES.resourceNotFound)
    const productCouponId = decodeSegment(m[1]!)
    const stockId = decodeSegment(m[2]!)
    if (productCouponId === undefined || stockId === undefined) {
      return paramError(productCouponId === undefined ? "product_coupon_id" : "stock_id", "bad percent-encoding", "路径参数格式错误")
    }
    const ids = { productCouponId, stockId }

    // --- body
    let json: unknown
    try {
      json = JSON.parse(request.bodyText)
    } catch {
      return { ...paramError("/", "body is not JSON", "请求体不是合法的JSON"), ...ids }
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return { ...paramError("/", "body is not a JSON object", "请求体不是合法的JSON对象"), ...ids }
    }
    const body = json as Record<string, unknown>
    const brandId = body["brand_id"]
    if (typeof brandId !== "string" || brandId === "") {
      return { ...paramError("/brand_id", "brand_id is required", "brand_id 为必填参数"), ...ids }
    }
    const list = body["store_list"]
    if (!Array.isArray(list) || list.length === 0) {
      return { ...paramError("/store_list", "store_list must be a non-empty array", "store_list 为必填参数"), ...ids }
    }
    if (list.length > MAX_STORES_PER_CALL) {
      return {
        ...paramError("/store_list", `${list.length} entries; at most ${MAX_STORES_PER_CALL}`, "单次最多可批量取消200个门店"),
        ...ids
      }
    }
    const unique = new Set<string>()
    for (let i = 0; i < list.length; i++) {
      const entry: unknown = list[i]
      const id = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>)["store_id"] : undefined
      if (typeof id !== "string" || id === "") {
        return { ...paramError(`/store_list/${i}/store_id`, "store_id is required", "store_id 为必填参数"), ...ids }
      }
      unique.add(id)
    }

    // --- domain
    if (brands.get(brandId) !== true) return fail(403, "NO_AUTH", MESSAGES.noAuth, ids)
    const coupon = coupons.get(productCouponId)
    if (coupon === undefined || coupon.brandId !== brandId) {
      return fail(404, "NOT_FOUND", MESSAGES.productCouponNotFound, ids)
    }
    const stock = coupon.stocks.get(stockId)
    if (stock === undefined) return fail(404, "NOT_FOUND", MESSAGES.stockNotFound, ids)
    if (coupon.usageMode === "PROGRESSIVE_BUNDLE") return fail(400, "INVALID_REQUEST", MESSAGES.progressiveBundle, ids)
    if (stock.expired || (stock.availableEndMillis !== undefined && now >= stock.availableEndMillis)) {
      return fail(400, "INVALID_REQUEST", MESSAGES.stockExpired, ids)
    }
    if (stock.storeScope !== "SPECIFIC") return fail(400, "INVALID_REQUEST", MESSAGES.stockNotSpecific, ids)

    const success: Array<{ store_id: string }> = []
    const failed: Array<{ store_id: string; code: string; message: string }> = []
    const changed: Array<string> = []
    for (const id of unique) {
      if (storeBrand.get(id) !== brandId) {
        failed.push({ store_id: id, code: "INVALID_REQUEST", message: MESSAGES.storeInvalid })
      } else if (stock.associated.delete(id)) {
        changed.push(id)
        success.push({ store_id: id })
      } else if (notAssociatedFails) {
        failed.push({ store_id: id, code: "INVALID_REQUEST", message: MESSAGES.storeNotAssociated })
      } else {
        success.push({ store_id: id })
      }
    }
    const response: Record<string, unknown> = { total_count: unique.size }
    if (includeEmptyLists || success.length > 0) response["success_store_list"] = success
    if (includeEmptyLists || failed.length > 0) response["failed_store_list"] = failed
    return { status: 200, body: JSON.stringify(response), signed: true, processed: true, changedStores: changed, ...ids }
  }

  // --- wire shaping
  const sign = (body: Uint8Array, nowSeconds: number) => ServerProtocol.signResponse(keys, body, nowSeconds)

  const handle = (request: Request, now: number): Outcome => {
    const requestId = `${idPrefix}${(++seq).toString(16).toUpperCase().padStart(10, "0")}`
    const drawn = nextFault()
    // Scripts and rates stay aligned with requests whatever endpoint they hit.
    const fault = drawn === "primaryDown" && request.endpoint !== "primary" ? undefined : drawn
    const nowSeconds = Math.floor(now / 1000)
    const record = (verdict: Verdict | undefined, status: number | undefined) => {
      log.push({
        seq,
        atMillis: now,
        endpoint: request.endpoint,
        method: request.method,
        target: request.target,
        bodyText: request.bodyText,
        requestId,
        fault,
        processed: verdict?.processed ?? false,
        status,
        code: verdict?.code,
        message: verdict?.message,
        productCouponId: verdict?.productCouponId,
        stockId: verdict?.stockId,
        changedStores: verdict?.changedStores ?? []
      })
    }
    const respond = (
      status: number,
      bodyText: string,
      contentType: string,
      signed: boolean,
      extra: { readonly delayMillis?: number; readonly truncateAt?: number | undefined } = {}
    ): Outcome => {
      const body = encoder.encode(bodyText)
      const headers: Record<string, string> = {
        "request-id": requestId,
        "content-type": contentType,
        ...(signed ? sign(body, nowSeconds) : {})
      }
      return { _tag: "Respond", status, headers, body, delayMillis: extra.delayMillis ?? 0, truncateAt: extra.truncateAt }
    }
    const json = "application/json; charset=utf-8"

    // Faults that strike before the rules run.
    switch (fault) {
      case "rateLimit":
        record(undefined, 429)
        return respond(429, errorBody("RATELIMIT_EXCEEDED", MESSAGES.rateLimited), json, true)
      case "systemError":
        record(undefined, 500)
        return respond(500, errorBody("SYSTEM_ERROR", MESSAGES.systemError), json, true)
      case "badGateway":
        record(undefined, 502)
        return respond(502, BAD_GATEWAY_HTML, "text/html", false)
      case "serviceUnavailable":
        record(undefined, 503)
        return respond(503, SERVICE_UNAVAILABLE_JSON, json, false)
      case "connectionReset":
      case "primaryDown":
        record(undefined, undefined)
        return { _tag: "Reset", delayMillis: 0 }
    }

    const verdict = rules(request, now)
    switch (fault) {
      case "connectionResetAfterApply":
        record(verdict, undefined)
        return { _tag: "Reset", delayMillis: 0 }
      case "slow":
        record(verdict, verdict.status)
        return respond(verdict.status, verdict.body, json, verdict.signed, { delayMillis: faults.slowMillis ?? 30_000 })
      case "nonJsonBody":
        record(verdict, verdict.status)
        return respond(verdict.status, NON_JSON_BODY, "text/plain", verdict.signed)
      case "truncatedBody": {
        record(verdict, verdict.status)
        const bytes = encoder.encode(verdict.body)
        return respond(verdict.status, verdict.body, json, verdict.signed, { truncateAt: Math.floor(bytes.length / 2) })
      }
    }
    record(verdict, verdict.status)
    if (!verdict.signed || (fault !== "probeSignature" && fault !== "wrongSignature" && fault !== "staleTimestamp")) {
      return respond(verdict.status, verdict.body, json, verdict.signed)
    }
    const body = encoder.encode(verdict.body)
    const base = { "request-id": requestId, "content-type": json }
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

  return {
    keys,
    handle,
    isAssociated: (stockId, id) => stocks.get(stockId)?.associated.has(id) ?? false,
    associatedCount: (stockId) => stocks.get(stockId)?.associated.size ?? 0,
    log,
    clearLog: Effect.sync(() => {
      log.length = 0
    }),
    setFaults: (next) =>
      Effect.sync(() => {
        faults = next
        prng = Prng.make(next.seed ?? 1)
        scriptAt = 0
        burstLeft = 0
      }),
    setRateLimit: (perSecond) =>
      Effect.sync(() => {
        limit = perSecond
        resetRing()
      }),
    setPrimaryDown: (down) =>
      Effect.sync(() => {
        primaryDown = down
      }),
    isPrimaryDown: () => primaryDown
  }
}

/** A valid Base64 signature whose first decoded byte differs: verifies as wrong, decodes fine. */
export const flipFirstByte = (base64: string): string => {
  const bytes = Buffer.from(base64, "base64")
  if (bytes.length === 0) return base64
  bytes[0] = bytes[0]! ^ 0x01
  return bytes.toString("base64")
}

/** Builds the sandbox, generating keys unless given. */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  Effect.map(
    options.keys === undefined ? TestKeys.generate() : Effect.succeed(options.keys),
    (keys) => makeWith(keys, options)
  )

/** @since 0.1.0 */
export const layer = (options: Options = {}): Layer.Layer<FakeWechatPay> => Layer.effect(FakeWechatPay, make(options))
