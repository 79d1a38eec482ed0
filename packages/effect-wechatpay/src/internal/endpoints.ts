/**
 * The endpoints, declared: each is method, path, parameters, Schemas and error
 * table; `Endpoint.compile` and the shared `Call` core do the rest.
 */
import { Duration } from "effect"
import * as ProductCoupon from "../ProductCoupon.js"
import {
  type ApiErrorProps,
  InvalidRequestError,
  NoAuthError,
  NotFoundError,
  ParamError,
  ProductCouponNotFoundError,
  RateLimitExceededError,
  SignError,
  StockExpiredError,
  StockNotFoundError,
  StockScopeNotSpecificError,
  SystemError
} from "../WechatPayError.js"
import * as Endpoint from "./Endpoint.js"

/**
 * "频率限制:20/s" on every endpoint of the family, counted per service provider across
 * them (issue #14; the official troubleshooting guide: brands a provider serves share its
 * quota), so they all name one quota and share one limiter.
 */
const PARTNER_PRODUCT_COUPON = { name: "partner/product-coupon", limit: 20, interval: Duration.seconds(1) } as const

const PARTNER_COUPON = "/v3/marketing/partner/product-coupon/product-coupons/{product_coupon_id}"
const PARTNER_STOCK = `${PARTNER_COUPON}/stocks/{stock_id}` as const
const PARTNER_BUNDLE = `${PARTNER_COUPON}/stock-bundles/{stock_bundle_id}` as const

const stockParams = { product_coupon_id: "productCouponId", stock_id: "stockId" } as const
const bundleParams = { product_coupon_id: "productCouponId", stock_bundle_id: "stockBundleId" } as const

const stockAttributes = (request: { readonly productCouponId: string; readonly stockId: string; readonly brandId: string }) => ({
  "wechatpay.product_coupon_id": request.productCouponId,
  "wechatpay.stock_id": request.stockId,
  "wechatpay.brand_id": request.brandId
})

const storeBatchAttributes = (request: ProductCoupon.DisassociateStoresRequest) => ({
  ...stockAttributes(request),
  "wechatpay.store_count": request.storeList.length
})

const bundleBatchAttributes = (request: ProductCoupon.StockBundleStoresRequest) => ({
  "wechatpay.product_coupon_id": request.productCouponId,
  "wechatpay.stock_bundle_id": request.stockBundleId,
  "wechatpay.brand_id": request.brandId,
  "wechatpay.store_count": request.storeList.length
})

/** The APIv3 codes every endpoint can answer with (protocol notes: the common codes and the HTTP table). */
const commonErrors = Endpoint.errors(
  { status: 400, code: "PARAM_ERROR", make: (p: ApiErrorProps) => new ParamError(p) },
  { status: 400, code: "INVALID_REQUEST", make: (p: ApiErrorProps) => new InvalidRequestError(p) },
  { status: 401, code: "SIGN_ERROR", make: (p: ApiErrorProps) => new SignError(p) },
  { status: 403, code: "NO_AUTH", make: (p: ApiErrorProps) => new NoAuthError(p) },
  { status: 429, code: "RATELIMIT_EXCEEDED", make: (p: ApiErrorProps) => new RateLimitExceededError(p) },
  { status: 500, code: "SYSTEM_ERROR", make: (p: ApiErrorProps) => new SystemError(p) }
)

/**
 * The two 400 sub-cases of 批次取消关联门店: a stock past its period, or one whose `store_scope`
 * is not `SPECIFIC`. Rows are tried in order, so these come before the generic INVALID_REQUEST.
 */
const stockStateErrors = Endpoint.errors(
  { status: 400, code: "INVALID_REQUEST", fragment: "过期", make: (p: ApiErrorProps) => new StockExpiredError(p) },
  {
    status: 400,
    code: "INVALID_REQUEST",
    fragment: "store_scope",
    make: (p: ApiErrorProps) => new StockScopeNotSpecificError(p)
  }
)

const productCouponNotFound = Endpoint.errors({
  status: 404,
  code: "NOT_FOUND",
  fragment: "product_coupon_id",
  make: (p: ApiErrorProps) => new ProductCouponNotFoundError(p)
})
const notFound = Endpoint.errors({ status: 404, code: "NOT_FOUND", make: (p: ApiErrorProps) => new NotFoundError(p) })

/** 404 NOT_FOUND of a path naming a stock: which id was not found, told by the message. */
const stockNotFoundErrors = Endpoint.errors(
  ...productCouponNotFound,
  { status: 404, code: "NOT_FOUND", fragment: "stock_id", make: (p: ApiErrorProps) => new StockNotFoundError(p) },
  ...notFound
)

/** 批次取消关联门店's table (spec/disassociate-stores.zh.txt), row for row. */
const storeChangeErrors = Endpoint.errors(...stockStateErrors, ...commonErrors, ...stockNotFoundErrors)

/** 批次取消关联门店: its page's error table (spec/disassociate-stores.zh.txt). */
export const disassociateStores = Endpoint.make({
  name: "disassociateStores",
  method: "POST",
  path: `${PARTNER_STOCK}/disassociate-stores`,
  pathParams: stockParams,
  request: ProductCoupon.DisassociateStoresRequest,
  body: ProductCoupon.RequestBody,
  response: ProductCoupon.ResponseBody,
  quota: PARTNER_PRODUCT_COUPON,
  spanAttributes: storeBatchAttributes,
  errors: storeChangeErrors
})

/**
 * 批次关联门店: same request and answer as disassociate. Its page's own error table was not
 * found in any stored copy, so it takes disassociate's: the common codes, the expired and
 * not-`SPECIFIC` sub-cases (the page states both as preconditions) and the 404s of its path ids.
 */
export const associateStores = Endpoint.make({
  name: "associateStores",
  method: "POST",
  path: `${PARTNER_STOCK}/associate-stores`,
  pathParams: stockParams,
  request: ProductCoupon.AssociateStoresRequest,
  body: ProductCoupon.RequestBody,
  response: ProductCoupon.ResponseBody,
  quota: PARTNER_PRODUCT_COUPON,
  spanAttributes: storeBatchAttributes,
  errors: storeChangeErrors
})

/**
 * 查询批次关联门店列表: a GET whose query (`brand_id`, `page_size`, `page_token`) is part of
 * the signed request-target. Its own error table was not found either: the common codes and
 * the 404s of its path ids, from disassociate's table.
 */
export const listAssociatedStores = Endpoint.make({
  name: "listAssociatedStores",
  method: "GET",
  path: `${PARTNER_STOCK}/associated-stores`,
  pathParams: stockParams,
  query: { brand_id: "brandId", page_size: "pageSize", page_token: "pageToken" },
  request: ProductCoupon.ListAssociatedStoresRequest,
  response: ProductCoupon.AssociatedStoresPage,
  quota: PARTNER_PRODUCT_COUPON,
  spanAttributes: stockAttributes,
  errors: Endpoint.errors(...commonErrors, ...stockNotFoundErrors)
})

/** 查询商品券指定批次: the stock itself (`brand_id` in the signed query); the common codes and the 404s of its path ids. */
export const getStock = Endpoint.make({
  name: "getStock",
  method: "GET",
  path: PARTNER_STOCK,
  pathParams: stockParams,
  query: { brand_id: "brandId" },
  request: ProductCoupon.GetStockRequest,
  response: ProductCoupon.Stock,
  quota: PARTNER_PRODUCT_COUPON,
  spanAttributes: stockAttributes,
  errors: Endpoint.errors(...commonErrors, ...stockNotFoundErrors)
})

/**
 * The bundle variants' tables were not found either: disassociate's, its sub-cases included
 * (they apply to every stock of the bundle). A 404 names the coupon or, failing that, stays
 * the generic `NotFoundError`: no bundle-specific message is documented to tell it by.
 */
const bundleStoreChangeErrors = Endpoint.errors(...stockStateErrors, ...commonErrors, ...productCouponNotFound, ...notFound)

/** 批次组关联门店: associates the stores with every stock of the bundle. */
export const associateStockBundleStores = Endpoint.make({
  name: "associateStockBundleStores",
  method: "POST",
  path: `${PARTNER_BUNDLE}/associate-stores`,
  pathParams: bundleParams,
  request: ProductCoupon.StockBundleStoresRequest,
  body: ProductCoupon.RequestBody,
  response: ProductCoupon.ResponseBody,
  quota: PARTNER_PRODUCT_COUPON,
  spanAttributes: bundleBatchAttributes,
  errors: bundleStoreChangeErrors
})

/** 批次组取消关联门店: disassociates the stores from every stock of the bundle. */
export const disassociateStockBundleStores = Endpoint.make({
  name: "disassociateStockBundleStores",
  method: "POST",
  path: `${PARTNER_BUNDLE}/disassociate-stores`,
  pathParams: bundleParams,
  request: ProductCoupon.StockBundleStoresRequest,
  body: ProductCoupon.RequestBody,
  response: ProductCoupon.ResponseBody,
  quota: PARTNER_PRODUCT_COUPON,
  spanAttributes: bundleBatchAttributes,
  errors: bundleStoreChangeErrors
})
