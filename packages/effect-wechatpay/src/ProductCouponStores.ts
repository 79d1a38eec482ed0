/**
 * The product-coupon store endpoints as one Effect service: 批次取消关联门店
 * (`disassociateStores`) and 批次关联门店 (`associateStores`). Each call is
 * validated locally, serialized once, signed afresh per attempt, verified, and
 * fails with one typed error per documented case; attempts are rate limited,
 * timed out, retried and failed over by the shared core.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Context, Effect, Layer, type Scope } from "effect"
import * as Call from "./internal/Call.js"
import * as Endpoint from "./internal/Endpoint.js"
import * as endpoints from "./internal/endpoints.js"
import { MerchantConfig } from "./MerchantConfig.js"
import type * as ProductCoupon from "./ProductCoupon.js"
import * as WechatPayClientModule from "./WechatPayClient.js"
import { WechatPayClient } from "./WechatPayClient.js"
import type {
  AssociateStoresError,
  ConfigurationError,
  DisassociateStoresError,
  HasBehaviour,
  KeyFormatError,
  ListAssociatedStoresError
} from "./WechatPayError.js"
import type * as MerchantConfigModule from "./MerchantConfig.js"

export type {
  AssociateStoresInput,
  AssociateStoresResult,
  DisassociateStoresInput,
  DisassociateStoresResult,
  ListAssociatedStoresInput,
  ListAssociatedStoresResult
} from "./ProductCoupon.js"
export type { AssociateStoresError, DisassociateStoresError, ListAssociatedStoresError } from "./WechatPayError.js"
export { type AttemptEvent, AttemptObserver, DEFAULT_TIMEOUT, type Options, StopSignal } from "./internal/Call.js"
export { type Limiter, type QuotaSpec, RateLimiter, WINDOW_GUARD_MILLIS } from "./internal/RateLimiter.js"

/** @since 0.1.0 */
export interface Service {
  readonly disassociateStores: (
    input: ProductCoupon.DisassociateStoresInput
  ) => Effect.Effect<ProductCoupon.DisassociateStoresResult, DisassociateStoresError>
  readonly associateStores: (
    input: ProductCoupon.AssociateStoresInput
  ) => Effect.Effect<ProductCoupon.AssociateStoresResult, AssociateStoresError>
  /** One page of the stock's associated stores; pass the answer's `nextPageToken` for the next. */
  readonly listAssociatedStores: (
    input: ProductCoupon.ListAssociatedStoresInput
  ) => Effect.Effect<ProductCoupon.ListAssociatedStoresResult, ListAssociatedStoresError>
}

/** @since 0.1.0 */
export class ProductCouponStores extends Context.Tag("effect-wechatpay/ProductCouponStores")<
  ProductCouponStores,
  Service
>() {}

/** The documented limit of the quota these endpoints share: 20 requests per second (from the declarations). */
export const DEFAULT_RATE_LIMIT = endpoints.disassociateStores.quota

const compiled = {
  disassociateStores: Endpoint.compile(endpoints.disassociateStores),
  associateStores: Endpoint.compile(endpoints.associateStores),
  listAssociatedStores: Endpoint.compile(endpoints.listAssociatedStores)
}

const bound = <Req, Res, E extends HasBehaviour>(core: Call.Core, c: Endpoint.Compiled<Req, Res, E>) =>
  Effect.map(core.caller(c.endpoint.quota), (caller) => Endpoint.bind(c, caller, "ProductCouponStores"))

/** Builds the service over a `WechatPayClient`; every endpoint takes its permits from one rate limiter, shared by every fiber. */
export const make = (
  options: Call.Options = {}
): Effect.Effect<Service, ConfigurationError, WechatPayClient | MerchantConfig | Scope.Scope> =>
  Effect.gen(function*() {
    const core = yield* Call.make(options)
    const disassociateStores = yield* bound(core, compiled.disassociateStores)
    const associateStores = yield* bound(core, compiled.associateStores)
    const listAssociatedStores = yield* bound(core, compiled.listAssociatedStores)
    return ProductCouponStores.of({ disassociateStores, associateStores, listAssociatedStores })
  })

/** The service over a `WechatPayClient` and `MerchantConfig` you provide (e.g. `WechatPayClient.layer(...)`). */
export const layer = (
  options?: Call.Options
): Layer.Layer<ProductCouponStores, ConfigurationError, WechatPayClient | MerchantConfig> =>
  Layer.scoped(ProductCouponStores, make(options))

/** Service and client from the `WECHATPAY_*` environment variables; only `HttpClient` is left to the application. */
export const layerConfig = (
  options?: Call.Options
): Layer.Layer<
  ProductCouponStores | WechatPayClient | MerchantConfig,
  ConfigurationError | KeyFormatError,
  HttpClient.HttpClient
> => layer(options).pipe(Layer.provideMerge(WechatPayClientModule.layerConfig))

/** Service and client from plain merchant options; only `HttpClient` is left to the application. */
export const layerMerchant = (
  merchant: MerchantConfigModule.Options,
  options?: Call.Options
): Layer.Layer<
  ProductCouponStores | WechatPayClient | MerchantConfig,
  ConfigurationError | KeyFormatError,
  HttpClient.HttpClient
> => layer(options).pipe(Layer.provideMerge(WechatPayClientModule.layer(merchant)))
