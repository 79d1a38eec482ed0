/**
 * The foundation's typed failures. Every field is plain data that is safe to log:
 * no key material, no full signature, no Authorization header ever lands here.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Api from "./internal/errors/ApiErrors.js"
import * as Local from "./internal/errors/LocalErrors.js"
import { PreflightError } from "./internal/errors/PreflightErrors.js"
import * as Responses from "./internal/errors/ResponseErrors.js"

/** Why an attempt got no answer (refused, DNS, TLS, timeout, reset), read from the platform's error. */
export { describeTransport, diagnoseTransport, type TransportDiagnosis } from "./internal/TransportDiagnosis.js"
// The error modules hold the public errors and nothing else: all they export is this module's.
export type * from "./internal/errors/Behaviour.js"
export * from "./internal/errors/ApiErrors.js"
export * from "./internal/errors/LocalErrors.js"
export * from "./internal/errors/PreflightErrors.js"
export * from "./internal/errors/ResponseErrors.js"

const callErrors = [
  Local.RequestValidationError,
  Local.RequestEncodeError,
  Local.SigningError,
  Responses.TransportError,
  Responses.TimeoutError,
  Responses.MissingSignatureHeadersError,
  Responses.StaleTimestampError,
  Responses.UnknownSerialError,
  Responses.InvalidSignatureError,
  Responses.SignatureProbeError,
  Responses.UnexpectedResponseError,
  Responses.ResponseDecodeError,
  Local.NotSentError,
  Local.RateLimiterError,
  Api.UnknownApiError
] as const

/** The 400 sub-cases of the store-changing calls: a stock that is expired, or not limited to specific stores. */
const stockStateErrors = [Api.StockExpiredError, Api.StockScopeNotSpecificError] as const

/** The 404s every call under a product coupon can get: the coupon by name, or unnamed. */
const productCouponNotFound = [Api.NotFoundError, Api.ProductCouponNotFoundError] as const

/**
 * Everything `disassociateStores` can fail with: exactly this union, as a Schema (a report can
 * carry it). Its page's table, row for row.
 */
export const DisassociateStoresError = Schema.Union(
  Api.ParamError,
  Api.InvalidRequestError,
  ...stockStateErrors,
  Api.SignError,
  Api.NoAuthError,
  ...productCouponNotFound,
  Api.StockNotFoundError,
  Api.RateLimitExceededError,
  Api.SystemError,
  ...callErrors
)
export type DisassociateStoresError = typeof DisassociateStoresError.Type

/**
 * Everything `associateStores` can fail with. Its page's own error table was not found, so it
 * takes disassociate's, sub-cases (an expired stock, a scope other than `SPECIFIC`) included.
 */
export const AssociateStoresError = Schema.Union(...DisassociateStoresError.members)
export type AssociateStoresError = typeof AssociateStoresError.Type

/**
 * Everything `listAssociatedStores` (and each page of `associatedStores`) can fail with. Its
 * table was not found either: the common codes and the 404s of its path ids.
 */
export const ListAssociatedStoresError = Schema.Union(
  Api.ParamError,
  Api.InvalidRequestError,
  Api.SignError,
  Api.NoAuthError,
  ...productCouponNotFound,
  Api.StockNotFoundError,
  Api.RateLimitExceededError,
  Api.SystemError,
  ...callErrors
)
export type ListAssociatedStoresError = typeof ListAssociatedStoresError.Type

/** Everything `getStock` (查询商品券指定批次) can fail with: the common codes and the 404s of its path ids. */
export const GetStockError = Schema.Union(...ListAssociatedStoresError.members)
export type GetStockError = typeof GetStockError.Type

/**
 * Everything `associateStockBundleStores` and `disassociateStockBundleStores` can fail with: the
 * disassociate table without the stock's own 404 (the path names a bundle, and no message tells a
 * missing bundle apart, so that is the generic `NotFoundError`).
 */
export const StockBundleStoresError = Schema.Union(
  Api.ParamError,
  Api.InvalidRequestError,
  ...stockStateErrors,
  Api.SignError,
  Api.NoAuthError,
  ...productCouponNotFound,
  Api.RateLimitExceededError,
  Api.SystemError,
  ...callErrors
)
export type StockBundleStoresError = typeof StockBundleStoresError.Type

/** Every error the library fails with, as one Schema. */
export const WechatPayError = Schema.Union(
  ...DisassociateStoresError.members,
  ...PreflightError.members,
  Local.ConfigurationError,
  Local.KeyFormatError,
  Responses.WechatPayApiError
)
export type WechatPayError = typeof WechatPayError.Type

/** Is `u` one of the library's errors? (Every one a call can fail with carries a `behaviour`.) */
export const isWechatPayError: (u: unknown) => u is WechatPayError = Schema.is(WechatPayError)
