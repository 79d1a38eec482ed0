/**
 * The rules of the product-coupon store family: what an authenticated request
 * does to the {@link State.State} and what it answers, from the rate limit to
 * the per-store lists, the listing's pages and the stock query. The choices
 * made where the documentation is silent are listed in the notes of
 * `FakeWechatPay.ts`.
 *
 * @since 0.1.0
 */
import type { IncomingRequest } from "../ServerProtocol.js"
import * as Routes from "./Routes.js"
import * as State from "./State.js"

/**
 * Messages exactly as 批次取消关联门店's error table words them, plus the fake's
 * own wording where no table was found (associate, list, stock query, bundles):
 * those keep the documented message's key words (`过期`, `store_scope`), so a
 * client that tells the documented rows apart by them reads them the same way.
 */
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
  badWechatpaySerial: "Http头Wechatpay-Serial的值不是有效的微信支付公钥ID",
  /** Not documented (批次关联门店 has no error table on record): this fake's wording. */
  associateStockExpired: "已过期的批次不可关联门店",
  /** Not documented: this fake's wording. */
  associateStockNotSpecific: "只有 store_scope 为 SPECIFIC 的批次可以关联门店",
  /** Not documented as a row; the page's precondition is "批次未失效或过期". This fake's wording. */
  associateStockDeactivated: "已失效的批次不可关联门店",
  /** Not documented: this fake's wording. */
  associateProgressiveBundle: "多次优惠商品券的批次请使用批次组关联门店接口",
  /** Not documented: used only with `alreadyAssociated: "failed"`. */
  storeAlreadyAssociated: "门店已关联该批次",
  /** Not documented (查询批次关联门店列表 has no error table on record): this fake's wording. */
  listStockExpired: "已过期的批次不可查询关联门店",
  /** Not documented: this fake's wording. */
  listStockNotSpecific: "只有 store_scope 为 SPECIFIC 的批次可以查询关联门店",
  /** Not documented: this fake's wording. */
  stockBundleNotFound: "未找到 stock_bundle_id 对应的批次组",
  /** Not documented: a `page_token` this fake did not hand out for this stock. */
  pageTokenInvalid: "page_token 无效，请使用上一页返回的 next_page_token"
} as const

/** At most this many entries in `store_list` per call. */
export const MAX_STORES_PER_CALL = 200

/** `page_size` of 查询批次关联门店列表: at most this many, and this many when not given. */
export const MAX_PAGE_SIZE = 200
export const DEFAULT_PAGE_SIZE = 20

/** Matches 批次取消关联门店's path (any prefix, e.g. a base-URL path, is allowed before it). */
export const ENDPOINT_PATH = Routes.ROUTES.disassociateStores.path

// ---------------------------------------------------------------------------
// Verdicts

/** The stores of one stock whose association changed in a request. */
export interface StockChange {
  readonly stockId: string
  readonly storeIds: ReadonlyArray<string>
}

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
  readonly operation?: Routes.Operation | undefined
  readonly productCouponId?: string | undefined
  readonly stockId?: string | undefined
  readonly stockBundleId?: string | undefined
  /** Every store whose association changed (with any stock), in the order they changed. */
  readonly changedStores?: ReadonlyArray<string> | undefined
  /** The same, stock by stock (one entry per stock the call applied to, changed or not). */
  readonly changes?: ReadonlyArray<StockChange> | undefined
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

const paramError = (
  location: "body" | "path" | "query",
  field: string,
  issue: string,
  message: string,
  extra: Partial<Verdict> = {}
): Verdict => ({
  status: 400,
  body: errorBody("PARAM_ERROR", message, { field, location, issue }),
  signed: true,
  processed: false,
  code: "PARAM_ERROR",
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

export interface RuleOptions {
  /** Requests per second across the sandbox (all endpoints share it); `false` turns the limit off. Default 20. */
  readonly rateLimit?: number | false | undefined
  /** See the notes of `FakeWechatPay.ts`. Default `"success"`. */
  readonly notAssociated?: "success" | "failed" | undefined
  /** The mirror of `notAssociated` for association; see the notes of `FakeWechatPay.ts`. Default `"success"`. */
  readonly alreadyAssociated?: "success" | "failed" | undefined
  /** See the notes of `FakeWechatPay.ts`. Default `"omit"`. */
  readonly emptyLists?: "omit" | "include" | undefined
  /** The listing's last page: `next_page_token` left out (`"omit"`, the default) or sent as `""` (`"empty"`). */
  readonly lastPageToken?: "omit" | "empty" | undefined
}

export interface Rules {
  /** The answer to a request that passed authentication; may change `state`. */
  readonly decide: (request: IncomingRequest, nowMillis: number) => Verdict
  readonly setRateLimit: (perSecond: number | false) => void
}

type Direction = "associate" | "disassociate"

/** The body of the four store calls: the brand and the distinct store ids, or the refusal. */
const readStoreBody = (
  bodyText: string,
  direction: Direction,
  ids: Partial<Verdict>
): Verdict | { readonly brandId: string; readonly unique: ReadonlySet<string> } => {
  let json: unknown
  try {
    json = JSON.parse(bodyText)
  } catch {
    return paramError("body", "/", "body is not JSON", "请求体不是合法的JSON", ids)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return paramError("body", "/", "body is not a JSON object", "请求体不是合法的JSON对象", ids)
  }
  const body = json as Record<string, unknown>
  const brandId = body["brand_id"]
  if (typeof brandId !== "string" || brandId === "") {
    return paramError("body", "/brand_id", "brand_id is required", "brand_id 为必填参数", ids)
  }
  const list = body["store_list"]
  if (!Array.isArray(list) || list.length === 0) {
    return paramError("body", "/store_list", "store_list must be a non-empty array", "store_list 为必填参数", ids)
  }
  if (list.length > MAX_STORES_PER_CALL) {
    return paramError(
      "body",
      "/store_list",
      `${list.length} entries; at most ${MAX_STORES_PER_CALL}`,
      direction === "associate" ? "单次最多可批量关联200个门店" : "单次最多可批量取消200个门店",
      ids
    )
  }
  const unique = new Set<string>()
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i]
    const id = typeof entry === "object" && entry !== null ? (entry as Record<string, unknown>)["store_id"] : undefined
    if (typeof id !== "string" || id === "") {
      return paramError("body", `/store_list/${i}/store_id`, "store_id is required", "store_id 为必填参数", ids)
    }
    unique.add(id)
  }
  return { brandId, unique }
}

/** The query's parameters, once each; a parameter sent twice is refused. */
const readQuery = (
  query: string,
  names: ReadonlyArray<string>,
  ids: Partial<Verdict>
): Verdict | ReadonlyMap<string, string> => {
  const params = new URLSearchParams(query)
  const out = new Map<string, string>()
  for (const name of names) {
    const all = params.getAll(name)
    if (all.length > 1) return paramError("query", name, `${name} is given ${all.length} times`, `${name} 重复`, ids)
    if (all.length === 1) out.set(name, all[0]!)
  }
  return out
}

export const make = (state: State.State, options: RuleOptions = {}): Rules => {
  const notAssociatedFails = options.notAssociated === "failed"
  const alreadyAssociatedFails = options.alreadyAssociated === "failed"
  const includeEmptyLists = options.emptyLists === "include"
  const emptyLastToken = options.lastPageToken === "empty"

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

  /** The refusal of `stock` for a store call in `direction`, or `undefined` when it may go on. */
  const preconditions = (stock: State.Stock, direction: Direction, now: number, ids: Partial<Verdict>) => {
    if (State.isExpired(stock, now)) {
      return fail(400, "INVALID_REQUEST", direction === "associate" ? MESSAGES.associateStockExpired : MESSAGES.stockExpired, ids)
    }
    if (direction === "associate" && stock.state === "DEACTIVATED") {
      return fail(400, "INVALID_REQUEST", MESSAGES.associateStockDeactivated, ids)
    }
    if (stock.storeScope !== "SPECIFIC") {
      return fail(
        400,
        "INVALID_REQUEST",
        direction === "associate" ? MESSAGES.associateStockNotSpecific : MESSAGES.stockNotSpecific,
        ids
      )
    }
    return undefined
  }

  /** Applies the call to every stock in `stocks` and answers with the per-store lists. */
  const applyStores = (
    stocks: ReadonlyArray<State.Stock>,
    brandId: string,
    unique: ReadonlySet<string>,
    direction: Direction,
    ids: Partial<Verdict>
  ): Verdict => {
    const success: Array<{ store_id: string }> = []
    const failed: Array<{ store_id: string; code: string; message: string }> = []
    const changed: Array<string> = []
    const perStock = stocks.map(() => [] as Array<string>)
    const strict = direction === "associate" ? alreadyAssociatedFails : notAssociatedFails
    for (const id of unique) {
      if (state.storeBrand.get(id) !== brandId) {
        failed.push({ store_id: id, code: "INVALID_REQUEST", message: MESSAGES.storeInvalid })
        continue
      }
      let any = false
      for (let i = 0; i < stocks.length; i++) {
        const set = stocks[i]!.associated
        if (direction === "associate" ? set.add(id) : set.remove(id)) {
          perStock[i]!.push(id)
          any = true
        }
      }
      if (any) changed.push(id)
      if (any || !strict) {
        success.push({ store_id: id })
      } else {
        failed.push({
          store_id: id,
          code: "INVALID_REQUEST",
          message: direction === "associate" ? MESSAGES.storeAlreadyAssociated : MESSAGES.storeNotAssociated
        })
      }
    }
    const response: Record<string, unknown> = { total_count: unique.size }
    if (includeEmptyLists || success.length > 0) response["success_store_list"] = success
    if (includeEmptyLists || failed.length > 0) response["failed_store_list"] = failed
    return {
      status: 200,
      body: JSON.stringify(response),
      signed: true,
      processed: true,
      changedStores: changed,
      changes: stocks.map((s, i) => ({ stockId: s.stockId, storeIds: perStock[i]! })),
      ...ids
    }
  }

  /** The brand, then its coupon: the refusal, or the coupon. */
  const couponOf = (brandId: string, productCouponId: string, ids: Partial<Verdict>): Verdict | State.Coupon => {
    if (state.brands.get(brandId) !== true) return fail(403, "NO_AUTH", MESSAGES.noAuth, ids)
    const coupon = state.coupons.get(productCouponId)
    if (coupon === undefined || coupon.brandId !== brandId) {
      return fail(404, "NOT_FOUND", MESSAGES.productCouponNotFound, ids)
    }
    return coupon
  }

  const isVerdict = (x: object): x is Verdict => "status" in x

  // 批次关联门店 / 批次取消关联门店
  const stockStores = (
    request: IncomingRequest,
    now: number,
    direction: Direction,
    ids: Partial<Verdict> & { readonly productCouponId: string; readonly stockId: string }
  ): Verdict => {
    const body = readStoreBody(request.bodyText, direction, ids)
    if (isVerdict(body)) return body
    const coupon = couponOf(body.brandId, ids.productCouponId, ids)
    if (isVerdict(coupon)) return coupon
    const stock = coupon.stocks.get(ids.stockId)
    if (stock === undefined) return fail(404, "NOT_FOUND", MESSAGES.stockNotFound, ids)
    if (coupon.usageMode === "PROGRESSIVE_BUNDLE") {
      return fail(
        400,
        "INVALID_REQUEST",
        direction === "associate" ? MESSAGES.associateProgressiveBundle : MESSAGES.progressiveBundle,
        ids
      )
    }
    return preconditions(stock, direction, now, ids) ?? applyStores([stock], body.brandId, body.unique, direction, ids)
  }

  // 批次组关联门店 / 批次组取消关联门店: every stock of the bundle, or none.
  const bundleStores = (
    request: IncomingRequest,
    now: number,
    direction: Direction,
    ids: Partial<Verdict> & { readonly productCouponId: string; readonly stockBundleId: string }
  ): Verdict => {
    const body = readStoreBody(request.bodyText, direction, ids)
    if (isVerdict(body)) return body
    const coupon = couponOf(body.brandId, ids.productCouponId, ids)
    if (isVerdict(coupon)) return coupon
    const stocks = coupon.bundles.get(ids.stockBundleId)
    if (stocks === undefined) return fail(404, "NOT_FOUND", MESSAGES.stockBundleNotFound, ids)
    for (const stock of stocks) {
      const refused = preconditions(stock, direction, now, ids)
      if (refused !== undefined) return refused
    }
    return applyStores(stocks, body.brandId, body.unique, direction, ids)
  }

  // 查询批次关联门店列表
  const listStores = (
    query: string,
    now: number,
    ids: Partial<Verdict> & { readonly productCouponId: string; readonly stockId: string }
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
    const coupon = couponOf(brandId, ids.productCouponId, ids)
    if (isVerdict(coupon)) return coupon
    const stock = coupon.stocks.get(ids.stockId)
    if (stock === undefined) return fail(404, "NOT_FOUND", MESSAGES.stockNotFound, ids)
    if (State.isExpired(stock, now)) return fail(400, "INVALID_REQUEST", MESSAGES.listStockExpired, ids)
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

  // 查询商品券指定批次
  const getStock = (
    query: string,
    ids: Partial<Verdict> & { readonly productCouponId: string; readonly stockId: string }
  ): Verdict => {
    const params = readQuery(query, ["brand_id"], ids)
    if (isVerdict(params)) return params
    const brandId = params.get("brand_id") ?? ""
    if (brandId === "") return paramError("query", "brand_id", "brand_id is required", "brand_id 为必填参数", ids)
    const coupon = couponOf(brandId, ids.productCouponId, ids)
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

  const decide = (request: IncomingRequest, now: number): Verdict => {
    const route = Routes.match(request.method, request.target)
    const operation = route?.operation
    if (!admit(now)) return fail(429, "RATELIMIT_EXCEEDED", MESSAGES.rateLimited, { operation })
    if (route === undefined) return fail(404, "NOT_FOUND", MESSAGES.resourceNotFound)
    const productCouponId = decodeSegment(route.params[0])
    const second = decodeSegment(route.params[1])
    const bundle = route.operation === "associateStockBundleStores" || route.operation === "disassociateStockBundleStores"
    if (productCouponId === undefined || second === undefined) {
      const field = productCouponId === undefined ? "product_coupon_id" : bundle ? "stock_bundle_id" : "stock_id"
      return paramError("path", field, "bad percent-encoding", "路径参数格式错误", { operation })
    }
    switch (route.operation) {
      case "disassociateStores":
        return stockStores(request, now, "disassociate", { operation, productCouponId, stockId: second })
      case "associateStores":
        return stockStores(request, now, "associate", { operation, productCouponId, stockId: second })
      case "listAssociatedStores":
        return listStores(route.query, now, { operation, productCouponId, stockId: second })
      case "getStock":
        return getStock(route.query, { operation, productCouponId, stockId: second })
      case "associateStockBundleStores":
        return bundleStores(request, now, "associate", { operation, productCouponId, stockBundleId: second })
      case "disassociateStockBundleStores":
        return bundleStores(request, now, "disassociate", { operation, productCouponId, stockBundleId: second })
    }
  }

  return {
    decide,
    setRateLimit: (perSecond) => {
      limit = perSecond
      resetRing()
    }
  }
}
