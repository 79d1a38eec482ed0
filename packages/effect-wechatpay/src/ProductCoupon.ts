/**
 * The product-coupon store endpoints' vocabulary: branded ids, and the request
 * and answer Schemas (camelCase domain names over the snake_case wire). These
 * Schemas are the one source of truth for validation and the wire format.
 * Pure: nothing here signs or sends.
 *
 * @since 0.1.0
 */
import { type Brand, Schema } from "effect"
import { describeType } from "./internal/describeType.js"

/** "单次最多可批量取消200个门店" — the one size limit the endpoint page states. */
export const MAX_STORES = 200

/**
 * Why an id cannot be sent, or `undefined` when it can. Only what the platform
 * documents or what cannot be encoded is refused; no length limits are invented.
 */
export const idProblem = (value: unknown): string | undefined => {
  // Ids from parsed JSON or a plain-JavaScript caller may be anything.
  if (typeof value !== "string") return `must be a string (got ${describeType(value)})`
  if (value.length === 0) return "must not be empty"
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      return `must not contain control characters (U+${hex(c)} at index ${i})`
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        return `must not contain characters outside the Basic Multilingual Plane (index ${i}): WeChat Pay accepts only 1-3 byte UTF-8`
      }
      return `must not contain a lone UTF-16 surrogate (U+${hex(c)} at index ${i}): it has no UTF-8 encoding`
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      return `must not contain a lone UTF-16 surrogate (U+${hex(c)} at index ${i}): it has no UTF-8 encoding`
    }
  }
  if (value.trim() === "") return "must not be blank (whitespace only)"
  return undefined
}

const hex = (c: number) => c.toString(16).toUpperCase().padStart(4, "0")

/**
 * Extra rule for ids that become URL path segments: the WHATWG URL parser
 * collapses "." and ".." (even as %2E) so they could never address the resource.
 */
export const pathSegmentProblem = (value: string): string | undefined =>
  value === "." || value === ".."
    ? `must not be "${value}": a dot segment cannot be addressed as a URL path segment (URL parsers collapse it, even percent-encoded)`
    : undefined

const Id = Schema.String.pipe(Schema.filter((s) => idProblem(s) ?? true))
const PathId = Id.pipe(Schema.filter((s) => pathSegmentProblem(s) ?? true))

/** 商品券ID, a path parameter. */
export const ProductCouponId = PathId.pipe(Schema.brand("ProductCouponId"))
export type ProductCouponId = typeof ProductCouponId.Type
/** 批次ID, a path parameter. */
export const StockId = PathId.pipe(Schema.brand("StockId"))
export type StockId = typeof StockId.Type
/** 批次组ID, a path parameter. */
export const StockBundleId = PathId.pipe(Schema.brand("StockBundleId"))
export type StockBundleId = typeof StockBundleId.Type
/** 品牌ID. */
export const BrandId = Id.pipe(Schema.brand("BrandId"))
export type BrandId = typeof BrandId.Type
/** 门店ID. */
export const StoreId = Id.pipe(Schema.brand("StoreId"))
export type StoreId = typeof StoreId.Type

/** Store ids as the server reports them: branded, but not re-judged (the server is the authority). */
const ReportedStoreId = Schema.String.pipe(Schema.brand("StoreId"))

/** One `store_list` entry. */
export const StoreInfo = Schema.Struct({
  storeId: StoreId.pipe(Schema.propertySignature, Schema.fromKey("store_id"))
})

const StoreList = Schema.Array(StoreInfo).pipe(
  Schema.filter((list) =>
    list.length >= 1 && list.length <= MAX_STORES
      ? true
      : `must list 1 to ${MAX_STORES} stores (got ${list.length})`
  )
)

/** The JSON body, wire ⇄ domain. */
export const RequestBody = Schema.Struct({
  storeList: StoreList.pipe(Schema.propertySignature, Schema.fromKey("store_list")),
  brandId: BrandId.pipe(Schema.propertySignature, Schema.fromKey("brand_id"))
})

/** The whole request (path ids + body), validated and branded. */
export const DisassociateStoresRequest = Schema.Struct({
  productCouponId: ProductCouponId,
  stockId: StockId,
  ...RequestBody.fields
})
export type DisassociateStoresRequest = typeof DisassociateStoresRequest.Type

/** What callers pass: plain strings (branded ids are subtypes, so they fit too). */
export interface DisassociateStoresInput {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  readonly storeList: ReadonlyArray<{ readonly storeId: string }>
}

const StoreList0 = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.optionalWith(Schema.Array(item), { nullable: true, default: () => [] })

/** The 200 body, wire ⇄ domain. Missing lists are empty; unknown fields are ignored. */
export const ResponseBody = Schema.Struct({
  totalCount: Schema.Int.pipe(Schema.propertySignature, Schema.fromKey("total_count")),
  successStoreList: StoreList0(Schema.Struct({
    storeId: ReportedStoreId.pipe(Schema.propertySignature, Schema.fromKey("store_id"))
  })).pipe(Schema.fromKey("success_store_list")),
  failedStoreList: StoreList0(Schema.Struct({
    storeId: ReportedStoreId.pipe(Schema.propertySignature, Schema.fromKey("store_id")),
    code: Schema.String,
    message: Schema.String
  })).pipe(Schema.fromKey("failed_store_list"))
})
export type ResponseBody = typeof ResponseBody.Type

/** The outcome of a call. A non-empty `failedStoreList` is still a success: the call itself worked. */
export interface DisassociateStoresResult extends ResponseBody {
  /** The `Request-ID` header, to quote to WeChat Pay support. */
  readonly requestId: string | undefined
}

/** 批次关联门店 takes the same request as 批次取消关联门店 (path ids, `store_list` ≤ 200, `brand_id`). */
export const AssociateStoresRequest = DisassociateStoresRequest
export type AssociateStoresRequest = DisassociateStoresRequest
/** What callers pass to `associateStores`. */
export type AssociateStoresInput = DisassociateStoresInput
/** 批次关联门店 answers as 批次取消关联门店 does: `total_count` and per-store success and failure lists. */
export type AssociateStoresResult = DisassociateStoresResult

/** "page_size 默认20, 最大200" (查询批次关联门店列表). */
export const MAX_PAGE_SIZE = 200

/** 查询批次关联门店列表: the path ids, `brand_id` (required, in the query) and cursor paging. */
export const ListAssociatedStoresRequest = Schema.Struct({
  productCouponId: ProductCouponId,
  stockId: StockId,
  brandId: BrandId,
  pageSize: Schema.optional(Schema.Int.pipe(Schema.between(1, MAX_PAGE_SIZE))),
  /** The previous page's `nextPageToken`. */
  pageToken: Schema.optional(Id)
})
export type ListAssociatedStoresRequest = typeof ListAssociatedStoresRequest.Type

/** What callers pass to `listAssociatedStores`. */
export interface ListAssociatedStoresInput {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  readonly pageSize?: number | undefined
  readonly pageToken?: string | undefined
}

/** One page of a stock's associated stores, wire ⇄ domain. */
export const AssociatedStoresPage = Schema.Struct({
  totalCount: Schema.Int.pipe(Schema.propertySignature, Schema.fromKey("total_count")),
  storeList: StoreList0(Schema.Struct({
    storeId: ReportedStoreId.pipe(Schema.propertySignature, Schema.fromKey("store_id"))
  })).pipe(Schema.fromKey("store_list")),
  /** Absent on the last page. */
  nextPageToken: Schema.optional(Schema.String).pipe(Schema.fromKey("next_page_token"))
})
export type AssociatedStoresPage = typeof AssociatedStoresPage.Type

/** A page and the `Request-ID` header. */
export interface ListAssociatedStoresResult extends AssociatedStoresPage {
  readonly requestId: string | undefined
}

/**
 * 批次组关联门店 / 批次组取消关联门店: the body and answer of the stock variants, addressed to a
 * stock bundle (`stock_bundle_id`); WeChat Pay applies it to every stock of the bundle.
 */
export const StockBundleStoresRequest = Schema.Struct({
  productCouponId: ProductCouponId,
  stockBundleId: StockBundleId,
  ...RequestBody.fields
})
export type StockBundleStoresRequest = typeof StockBundleStoresRequest.Type

/** What callers pass to `associateStockBundleStores` and `disassociateStockBundleStores`. */
export interface StockBundleStoresInput {
  readonly productCouponId: string
  readonly stockBundleId: string
  readonly brandId: string
  readonly storeList: ReadonlyArray<{ readonly storeId: string }>
}

/** The bundle variants answer as the stock variants do. */
export type StockBundleStoresResult = DisassociateStoresResult

/** What callers pass to `associatedStores`: the listing's request; `pageToken` resumes a walk, `pageSize` defaults to {@link MAX_PAGE_SIZE}. */
export type AssociatedStoresInput = ListAssociatedStoresInput

// ---- 查询商品券指定批次 ----

/**
 * Fields this version does not name are kept as they came, under their wire
 * (snake_case) names, so nothing WeChat Pay adds is lost on the way.
 */
const Rest = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** An optional wire field under its camelCase name; `null` reads as absent. */
const optionalFrom = <A, I>(key: string, schema: Schema.Schema<A, I>) =>
  Schema.optionalWith(schema, { nullable: true }).pipe(Schema.fromKey(key))

/**
 * A documented enum that also takes values added later: a known value is its literal, any
 * other string is kept as it is, branded as not (yet) known, rather than failing the answer.
 */
const OpenEnum = <const Known extends ReadonlyArray<string>, const Unknown extends string>(unknown: Unknown, ...known: Known) =>
  Schema.Union(Schema.Literal(...known), Schema.String.pipe(Schema.brand(unknown)))

/** A `store_scope` this version does not know. */
export type UnknownStoreScope = string & Brand.Brand<"UnknownStoreScope">
/** 门店适用范围: no store, every store of the brand, or the associated ones (`SPECIFIC`, the only scope whose stores can be changed). */
export const StoreScope = OpenEnum("UnknownStoreScope", "NONE", "ALL", "SPECIFIC")
export type StoreScope = typeof StoreScope.Type

/** A `state` this version does not know. */
export type UnknownStockState = string & Brand.Brand<"UnknownStockState">
/**
 * 批次状态: `AUDITING`, `SENDING`, `PAUSED`, `STOPPED` ("已停止,当前已到达结束时间") or
 * `DEACTIVATED` (the brand deactivated it), or a state added later.
 */
export const StockState = OpenEnum("UnknownStockState", "AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED")
export type StockState = typeof StockState.Type

/** Ids as the server reports them: branded, but not re-judged. */
const Reported = <B extends string>(brand: B) => Schema.String.pipe(Schema.brand(brand))

/**
 * 券可用时间 (`coupon_available_period`): the begin and end times as sent (RFC 3339, with the
 * offset WeChat Pay gave), and its other fields under their wire names.
 */
export const CouponAvailablePeriod = Schema.Struct({
  availableBeginTime: optionalFrom("available_begin_time", Schema.String),
  availableEndTime: optionalFrom("available_end_time", Schema.String)
}, Rest)
export type CouponAvailablePeriod = typeof CouponAvailablePeriod.Type

/** 单券使用规则 (`single_usage_rule`): the available period; the coupon's kind and amounts as sent. */
export const SingleUsageRule = Schema.Struct({
  couponAvailablePeriod: optionalFrom("coupon_available_period", CouponAvailablePeriod)
}, Rest)
export type SingleUsageRule = typeof SingleUsageRule.Type

/**
 * A product-coupon stock as 查询商品券指定批次 answers it, wire ⇄ domain. The ids, `state` and
 * `store_scope` are required; the rest is optional, and whatever else the answer holds is kept.
 */
export const Stock = Schema.Struct({
  productCouponId: Reported("ProductCouponId").pipe(Schema.propertySignature, Schema.fromKey("product_coupon_id")),
  stockId: Reported("StockId").pipe(Schema.propertySignature, Schema.fromKey("stock_id")),
  brandId: optionalFrom("brand_id", Reported("BrandId")),
  remark: optionalFrom("remark", Schema.String),
  state: StockState,
  storeScope: StoreScope.pipe(Schema.propertySignature, Schema.fromKey("store_scope")),
  singleUsageRule: optionalFrom("single_usage_rule", SingleUsageRule),
  deactivateRequestNo: optionalFrom("deactivate_request_no", Schema.String),
  deactivateTime: optionalFrom("deactivate_time", Schema.String),
  deactivateReason: optionalFrom("deactivate_reason", Schema.String)
}, Rest)
export type Stock = typeof Stock.Type

/** 查询商品券指定批次: the path ids and `brand_id` (in the query). */
export const GetStockRequest = Schema.Struct({
  productCouponId: ProductCouponId,
  stockId: StockId,
  brandId: BrandId
})
export type GetStockRequest = typeof GetStockRequest.Type

/** What callers pass to `getStock`. */
export interface GetStockInput {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
}

/** The stock and the `Request-ID` header. */
export type GetStockResult = Stock & { readonly requestId: string | undefined }
