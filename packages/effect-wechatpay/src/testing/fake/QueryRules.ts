/**
 * The rules of the two read-only calls of the product-coupon store family:
 * 查询批次关联门店列表 (the listing, paged by {@link encodePageToken}'s tokens)
 * and 查询商品券指定批次 (the stock query, answered with {@link stockEntity}).
 * Neither changes the {@link State.State}.
 *
 * @since 0.1.0
 */
import * as State from "./State.js"
import { couponOf, fail, isVerdict, MESSAGES, paramError, readQuery, type Verdict } from "./Verdicts.js"

/** `page_size` of 查询批次关联门店列表: at most this many, and this many when not given. */
export const MAX_PAGE_SIZE = 200
export const DEFAULT_PAGE_SIZE = 20

// ---------------------------------------------------------------------------
// The listing's cursor

/**
 * A `next_page_token`: the stock and the last store id of the page, as
 * base64url JSON. The next page starts after that id in the listing's sorted
 * order, so stores added or removed meanwhile never shift it.
 */
export const encodePageToken = (stockId: string, afterStoreId: string): string =>
  Buffer.from(JSON.stringify([stockId, afterStoreId]), "utf8").toString("base64url")

/** The token's stock and store id; `undefined` for anything {@link encodePageToken} did not make. */
export const decodePageToken = (
  token: string
): { readonly stockId: string; readonly afterStoreId: string } | undefined => {
  try {
    const json: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"))
    if (!Array.isArray(json) || json.length !== 2 || typeof json[0] !== "string" || typeof json[1] !== "string") {
      return undefined
    }
    const [stockId, afterStoreId] = json as [string, string]
    // Only the canonical spelling: a token changed in any character is refused, not half-read.
    return encodePageToken(stockId, afterStoreId) === token ? { stockId, afterStoreId } : undefined
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------
// The stock query's answer

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/** An instant as WeChat Pay writes times: RFC 3339, whole seconds, China Standard Time (`+08:00`). */
export const rfc3339 = (millis: number): string => {
  const d = new Date(Math.floor(millis / 1000) * 1000 + 8 * 3_600_000)
  if (Number.isNaN(d.getTime())) return "1970-01-01T08:00:00+08:00"
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${
    pad(d.getUTCMinutes())
  }:${pad(d.getUTCSeconds())}+08:00`
}

/**
 * The stock entity: `store_scope`, `state`, the available period (under
 * `single_usage_rule` for a SINGLE coupon, `progressive_bundle_usage_rule` for a
 * PROGRESSIVE_BUNDLE one, as in the official samples' `StockEntity`), the bundle
 * it belongs to (`stock_bundle_info.stock_bundle_id`), and the deactivation
 * fields of a `DEACTIVATED` stock. The seed's `extraFields` are merged over it.
 */
export const stockEntity = (stock: State.Stock, coupon: State.Coupon): Record<string, unknown> => {
  const period = {
    coupon_available_period: {
      available_begin_time: rfc3339(stock.availableBeginMillis),
      available_end_time: rfc3339(stock.reportedEndMillis)
    }
  }
  const entity: Record<string, unknown> = {
    product_coupon_id: stock.productCouponId,
    stock_id: stock.stockId,
    [coupon.usageMode === "PROGRESSIVE_BUNDLE" ? "progressive_bundle_usage_rule" : "single_usage_rule"]: period
  }
  if (stock.stockBundleId !== undefined) entity["stock_bundle_info"] = { stock_bundle_id: stock.stockBundleId }
  entity["store_scope"] = stock.storeScope
  entity["state"] = stock.state
  if (stock.state === "DEACTIVATED") {
    entity["deactivate_request_no"] = `SANDBOX-DEACTIVATE-${stock.stockId}`
    entity["deactivate_time"] = rfc3339(stock.deactivateTimeMillis)
    entity["deactivate_reason"] = stock.deactivateReason
  }
  entity["brand_id"] = coupon.brandId
  return stock.extraFields === undefined ? entity : { ...entity, ...stock.extraFields }
}

// ---------------------------------------------------------------------------
// The rules

/**
 * 查询批次关联门店列表. `emptyLastToken`: the last page sends `next_page_token: ""`
 * rather than leaving it out (`lastPageToken: "empty"` in the rule options).
 */
export const listStores = (
  state: State.State,
  query: string,
  now: number,
  ids: Partial<Verdict> & { readonly productCouponId: string; readonly stockId: string },
  emptyLastToken: boolean
): Verdict => {
  const params = readQuery(query, ["brand_id", "page_size", "page_token"], ids)
  if (isVerdict(params)) return params
  const brandId = params.get("brand_id") ?? ""
  if (brandId === "") return paramError("query", "brand_id", "brand_id is required", "brand_id 为必填参数", ids)
  const sizeText = params.get("page_size")
  let pageSize = DEFAULT_PAGE_SIZE
  if (sizeText !== undefined) {
    pageSize = /^\d{1,4}$/.test(sizeText) ? Number(sizeText) : Number.NaN
    if (!(pageSize >= 1 && pageSize <= MAX_PAGE_SIZE)) {
      return paramError(
        "query",
        "page_size",
        `page_size must be an integer from 1 to ${MAX_PAGE_SIZE}`,
        `page_size 取值范围为1-${MAX_PAGE_SIZE}`,
        ids
      )
    }
  }
  const tokenText = params.get("page_token") ?? ""
  const token = tokenText === "" ? undefined : decodePageToken(tokenText)
  if (tokenText !== "" && token === undefined) {
    return paramError("query", "page_token", "not a token this listing handed out", MESSAGES.pageTokenInvalid, ids)
  }
  const coupon = couponOf(state, brandId, ids.productCouponId, ids)
  if (isVerdict(coupon)) return coupon
  const stock = coupon.stocks.get(ids.stockId)
  if (stock === undefined) return fail(404, "NOT_FOUND", MESSAGES.stockNotFound, ids)
  if (State.isExpired(stock, now)) return fail(400, "INVALID_REQUEST", MESSAGES.listStockExpired, ids)
  // The page's precondition: 批次未失效或过期.
  if (stock.state === "DEACTIVATED") return fail(400, "INVALID_REQUEST", MESSAGES.listStockDeactivated, ids)
  if (stock.storeScope !== "SPECIFIC") return fail(400, "INVALID_REQUEST", MESSAGES.listStockNotSpecific, ids)
  if (token !== undefined && token.stockId !== stock.stockId) {
    return paramError("query", "page_token", "the token belongs to another stock", MESSAGES.pageTokenInvalid, ids)
  }
  const all = stock.associated.sorted()
  const start = token === undefined ? 0 : stock.associated.indexAfter(token.afterStoreId)
  const page = all.slice(start, start + pageSize)
  const response: Record<string, unknown> = {
    total_count: all.length,
    store_list: page.map((store_id) => ({ store_id }))
  }
  if (start + pageSize < all.length) response["next_page_token"] = encodePageToken(stock.stockId, page[page.length - 1]!)
  else if (emptyLastToken) response["next_page_token"] = ""
  return { status: 200, body: JSON.stringify(response), signed: true, processed: true, ...ids }
}

/** 查询商品券指定批次. */
export const getStock = (
  state: State.State,
  query: string,
  ids: Partial<Verdict> & { readonly productCouponId: string; readonly stockId: string }
): Verdict => {
  const params = readQuery(query, ["brand_id"], ids)
  if (isVerdict(params)) return params
  const brandId = params.get("brand_id") ?? ""
  if (brandId === "") return paramError("query", "brand_id", "brand_id is required", "brand_id 为必填参数", ids)
  const coupon = couponOf(state, brandId, ids.productCouponId, ids)
  if (isVerdict(coupon)) return coupon
  const stock = coupon.stocks.get(ids.stockId)
  if (stock === undefined) return fail(404, "NOT_FOUND", MESSAGES.stockNotFound, ids)
  // A seed's `extraFields` may hold what JSON cannot carry (a BigInt, a cycle): a 500, never a throw.
  let body: string
  try {
    body = JSON.stringify(stockEntity(stock, coupon))
  } catch {
    return fail(500, "SYSTEM_ERROR", MESSAGES.systemError, ids)
  }
  return { status: 200, body, signed: true, processed: true, ...ids }
}
