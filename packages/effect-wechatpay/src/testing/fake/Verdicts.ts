/**
 * What every rule of the fake shares: the {@link Verdict} a rule returns, the
 * error messages and refusals, and the readers of a request's path segments,
 * store-call body and query, each of which yields the input or the refusal.
 * The rules themselves are in `Rules.ts` (the store-changing calls and the
 * dispatcher) and `QueryRules.ts` (the listing and the stock query).
 *
 * @since 0.1.0
 */
import type * as Routes from "./Routes.js"
import type * as State from "./State.js"

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
  /** Not documented as a row; the page's precondition is "批次未失效或过期". This fake's wording. */
  stockDeactivated: "已失效的批次不可取消关联门店",
  /** Not documented: this fake's wording. */
  associateProgressiveBundle: "多次优惠商品券的批次请使用批次组关联门店接口",
  /** Not documented: used only with `alreadyAssociated: "failed"`. */
  storeAlreadyAssociated: "门店已关联该批次",
  /** Not documented (查询批次关联门店列表 has no error table on record): this fake's wording. */
  listStockExpired: "已过期的批次不可查询关联门店",
  /** Not documented as a row; the page's precondition is "批次未失效或过期". This fake's wording. */
  listStockDeactivated: "已失效的批次不可查询关联门店",
  /** Not documented: this fake's wording. */
  listStockNotSpecific: "只有 store_scope 为 SPECIFIC 的批次可以查询关联门店",
  /** Not documented: this fake's wording. */
  stockBundleNotFound: "未找到 stock_bundle_id 对应的批次组",
  /** Not documented: a `page_token` this fake did not hand out for this stock. */
  pageTokenInvalid: "page_token 无效，请使用上一页返回的 next_page_token"
} as const

/** At most this many entries in `store_list` per call. */
export const MAX_STORES_PER_CALL = 200

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

export const paramError = (
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

/** Tells a reader's refusal from what it read: only a {@link Verdict} has a `status`. */
export const isVerdict = (x: object): x is Verdict => "status" in x

// ---------------------------------------------------------------------------
// Reading the request

export const decodeSegment = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s)
  } catch {
    return undefined
  }
}

export type Direction = "associate" | "disassociate"

/** The body of the four store calls: the brand and the distinct store ids, or the refusal. */
export const readStoreBody = (
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
export const readQuery = (
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

/** The brand, then its coupon: the refusal, or the coupon. */
export const couponOf = (
  state: State.State,
  brandId: string,
  productCouponId: string,
  ids: Partial<Verdict>
): Verdict | State.Coupon => {
  if (state.brands.get(brandId) !== true) return fail(403, "NO_AUTH", MESSAGES.noAuth, ids)
  const coupon = state.coupons.get(productCouponId)
  if (coupon === undefined || coupon.brandId !== brandId) {
    return fail(404, "NOT_FOUND", MESSAGES.productCouponNotFound, ids)
  }
  return coupon
}
