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
const TWENTY_PER_SECOND = { name: "partner/product-coupon", limit: 20, interval: Duration.seconds(1) } as const

const PARTNER_STOCK = "/v3/marketing/partner/product-coupon/product-coupons/{product_coupon_id}/stocks/{stock_id}"

const stockParams = { product_coupon_id: "productCouponId", stock_id: "stockId" } as const

const storeBatchAttributes = (request: ProductCoupon.DisassociateStoresRequest) => ({
  "wechatpay.product_coupon_id": request.productCouponId,
  "wechatpay.stock_id": request.stockId,
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

/** 批次取消关联门店: its page's error table (spec/disassociate-stores.zh.txt). */
export const disassociateStores = Endpoint.make({
  name: "disassociateStores",
  method: "POST",
  path: `${PARTNER_STOCK}/disassociate-stores`,
  pathParams: stockParams,
  request: ProductCoupon.DisassociateStoresRequest,
  body: ProductCoupon.RequestBody,
  response: ProductCoupon.ResponseBody,
  quota: TWENTY_PER_SECOND,
  spanAttributes: storeBatchAttributes,
  // Rows are tried in order: the documented fragments come before the generic row of their code.
  errors: Endpoint.errors(
    { status: 400, code: "INVALID_REQUEST", fragment: "过期", make: (p: ApiErrorProps) => new StockExpiredError(p) },
    {
      status: 400,
      code: "INVALID_REQUEST",
      fragment: "store_scope",
      make: (p: ApiErrorProps) => new StockScopeNotSpecificError(p)
    },
    ...commonErrors,
    {
      status: 404,
      code: "NOT_FOUND",
      fragment: "product_coupon_id",
      make: (p: ApiErrorProps) => new ProductCouponNotFoundError(p)
    },
    { status: 404, code: "NOT_FOUND", fragment: "stock_id", make: (p: ApiErrorProps) => new StockNotFoundError(p) },
    { status: 404, code: "NOT_FOUND", make: (p: ApiErrorProps) => new NotFoundError(p) }
  )
})

/**
 * 批次关联门店: same request and answer as disassociate. Its page's own error
 * table was not found in any stored copy, so only the common APIv3 codes are
 * typed; anything else is `UnknownApiError`, with all it carried.
 */
export const associateStores = Endpoint.make({
  name: "associateStores",
  method: "POST",
  path: `${PARTNER_STOCK}/associate-stores`,
  pathParams: stockParams,
  request: ProductCoupon.AssociateStoresRequest,
  body: ProductCoupon.RequestBody,
  response: ProductCoupon.ResponseBody,
  quota: TWENTY_PER_SECOND,
  spanAttributes: storeBatchAttributes,
  errors: commonErrors
})

/**
 * 查询批次关联门店列表: a GET whose query (`brand_id`, `page_size`, `page_token`) is part of
 * the signed request-target. Its own error table was not found either: common codes only.
 */
export const listAssociatedStores = Endpoint.make({
  name: "listAssociatedStores",
  method: "GET",
  path: `${PARTNER_STOCK}/associated-stores`,
  pathParams: stockParams,
  query: { brand_id: "brandId", page_size: "pageSize", page_token: "pageToken" },
  request: ProductCoupon.ListAssociatedStoresRequest,
  response: ProductCoupon.AssociatedStoresPage,
  quota: TWENTY_PER_SECOND,
  spanAttributes: (request) => ({
    "wechatpay.product_coupon_id": request.productCouponId,
    "wechatpay.stock_id": request.stockId,
    "wechatpay.brand_id": request.brandId
  }),
  errors: commonErrors
})
