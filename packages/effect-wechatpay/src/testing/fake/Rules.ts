/**
 * The rules of "批次取消关联门店": what an authenticated request does to the
 * {@link State.State} and what it answers, from the rate limit to the
 * per-store lists. The choices made where the documentation is silent are
 * listed in the notes of `FakeWechatPay.ts`.
 *
 * @since 0.1.0
 */
import type { IncomingRequest } from "../ServerProtocol.js"
import type * as State from "./State.js"

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
// Verdicts

/** What the rules decided for one request, before the wire (and any fault) shapes it. */
export interface Verdict {
  readonly status: number
  readonly body: string
  /** Whether the answer carries `Wechatpay-*` signature headers. */
  readonly signed: boolean
  /** Whether the business rules ran (stores may have changed state). */
  readonly processed: boolean
  readonly code?: string | undefined
  readonly message?: string | undefined
  readonly productCouponId?: string | undefined
  readonly stockId?: string | undefined
  readonly changedStores?: ReadonlyArray<string> | undefined
}

export const errorBody = (code: string, message: string, detail?: unknown): string =>
  JSON.stringify(detail === undefined ? { code, message } : { code, message, detail })

/** A signed error answer; nothing was processed. */
export const fail = (status: number, code: string, message: string, extra: Partial<Verdict> = {}): Verdict => ({
  status,
  body: errorBody(code, message),
  signed: true,
  processed: false,
  code,
  message,
  ...extra
})

const paramError = (field: string, issue: string, message: string): Verdict => ({
  status: 400,
  body: errorBody("PARAM_ERROR", message, { field, location: "body", issue }),
  signed: true,
  processed: false,
  code: "PARAM_ERROR",
  message
})

const decodeSegment = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------
// The rules

export interface RuleOptions {
  /** Requests per second across the sandbox; `false` turns the limit off. Default 20. */
  readonly rateLimit?: number | false | undefined
  /** See the notes of `FakeWechatPay.ts`. Default `"success"`. */
  readonly notAssociated?: "success" | "failed" | undefined
  /** See the notes of `FakeWechatPay.ts`. Default `"omit"`. */
  readonly emptyLists?: "omit" | "include" | undefined
}

export interface Rules {
  /** The answer to a request that passed authentication; may change `state`. */
  readonly decide: (request: IncomingRequest, nowMillis: number) => Verdict
  readonly setRateLimit: (perSecond: number | false) => void
}

export const make = (state: State.State, options: RuleOptions = {}): Rules => {
  const notAssociatedFails = options.notAssociated === "failed"
  const includeEmptyLists = options.emptyLists === "include"

  // An exact sliding one-second window: a ring of the last `limit` admission times (O(1) per request).
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

  const decide = (request: IncomingRequest, now: number): Verdict => {
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
    if (state.brands.get(brandId) !== true) return fail(403, "NO_AUTH", MESSAGES.noAuth, ids)
    const coupon = state.coupons.get(productCouponId)
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

    // --- the stores
    const success: Array<{ store_id: string }> = []
    const failed: Array<{ store_id: string; code: string; message: string }> = []
    const changed: Array<string> = []
    for (const id of unique) {
      if (state.storeBrand.get(id) !== brandId) {
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

  return {
    decide,
    setRateLimit: (perSecond) => {
      limit = perSecond
      resetRing()
    }
  }
}
