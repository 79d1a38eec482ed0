/**
 * The product-coupon store endpoints as one Effect service: 批次取消关联门店
 * (`disassociateStores`), 批次关联门店 (`associateStores`), 查询批次关联门店列表
 * (`listAssociatedStores` one page at a time, `associatedStores` as a stream),
 * 查询商品券指定批次 (`getStock`) and the stock-bundle variants
 * (`associateStockBundleStores`, `disassociateStockBundleStores`). Each call is
 * validated locally, serialized once, signed afresh per attempt, verified, and
 * fails with one typed error per documented case; attempts are rate limited
 * (one quota for all of them), timed out, retried and failed over by the shared core.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Chunk, Context, Effect, Layer, Option, type Scope, Stream } from "effect"
import * as Call from "./internal/Call.js"
import * as Endpoint from "./internal/Endpoint.js"
import * as endpoints from "./internal/endpoints.js"
import * as SendGate from "./internal/SendGate.js"
import { MerchantConfig } from "./MerchantConfig.js"
import * as ProductCoupon from "./ProductCoupon.js"
import * as WechatPayClientModule from "./WechatPayClient.js"
import { WechatPayClient } from "./WechatPayClient.js"
import {
  type AssociateStoresError,
  type ConfigurationError,
  type DisassociateStoresError,
  type GetStockError,
  type HasBehaviour,
  type KeyFormatError,
  type ListAssociatedStoresError,
  RequestValidationError,
  ResponseDecodeError,
  type StockBundleStoresError
} from "./WechatPayError.js"
import type * as MerchantConfigModule from "./MerchantConfig.js"

export type {
  AssociatedStoresInput,
  AssociateStoresInput,
  AssociateStoresResult,
  DisassociateStoresInput,
  DisassociateStoresResult,
  GetStockInput,
  GetStockResult,
  ListAssociatedStoresInput,
  ListAssociatedStoresResult,
  StockBundleStoresInput,
  StockBundleStoresResult
} from "./ProductCoupon.js"
export type {
  AssociateStoresError,
  DisassociateStoresError,
  GetStockError,
  ListAssociatedStoresError,
  StockBundleStoresError
} from "./WechatPayError.js"
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
  /**
   * Every store associated with the stock: the listing followed from page to page (each page
   * one `listAssociatedStores` call, {@link ProductCoupon.MAX_PAGE_SIZE} stores a page unless
   * `pageSize` says otherwise) until a page has no `nextPageToken`. A page's error fails the stream.
   */
  readonly associatedStores: (
    input: ProductCoupon.AssociatedStoresInput
  ) => Stream.Stream<ProductCoupon.StoreId, ListAssociatedStoresError>
  /** 查询商品券指定批次: the stock's state, store scope, available period and deactivation. */
  readonly getStock: (input: ProductCoupon.GetStockInput) => Effect.Effect<ProductCoupon.GetStockResult, GetStockError>
  /** 批次组关联门店: the stores, associated with every stock of the bundle. */
  readonly associateStockBundleStores: (
    input: ProductCoupon.StockBundleStoresInput
  ) => Effect.Effect<ProductCoupon.StockBundleStoresResult, StockBundleStoresError>
  /** 批次组取消关联门店: the stores, disassociated from every stock of the bundle. */
  readonly disassociateStockBundleStores: (
    input: ProductCoupon.StockBundleStoresInput
  ) => Effect.Effect<ProductCoupon.StockBundleStoresResult, StockBundleStoresError>
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
  listAssociatedStores: Endpoint.compile(endpoints.listAssociatedStores),
  getStock: Endpoint.compile(endpoints.getStock),
  associateStockBundleStores: Endpoint.compile(endpoints.associateStockBundleStores),
  disassociateStockBundleStores: Endpoint.compile(endpoints.disassociateStockBundleStores)
}

const bound = <Req, Res, E extends HasBehaviour>(core: Call.Core, c: Endpoint.Compiled<Req, Res, E>) =>
  Effect.map(core.caller(c.endpoint.quota), (caller) => Endpoint.bind(c, caller, "ProductCouponStores"))

/** Pages in a row with a next token and no store the walk had not seen, before the walk ends as a loop. */
const STALE_PAGES = 3

/**
 * `associatedStores` over any single-page listing (the service's own, a stub's, a wrapper's):
 * one call per page, starting at `input.pageToken` when given; each store is emitted once, however
 * often the pages repeat it. A page whose `nextPageToken` was already followed would start the walk
 * over forever: its stores are emitted, then the stream ends with a `ResponseDecodeError`; so does
 * a walk whose fresh tokens bring no new store three pages in a row. So does a walk from the first page that ends
 * (no `nextPageToken`) with fewer distinct stores than its last page's `total_count`: a
 * listing cut short would pass for the whole stock, and a store missing from it for one
 * that is not associated.
 */
export const associatedStoresOf = (
  listAssociatedStores: Service["listAssociatedStores"]
) =>
(input: ProductCoupon.AssociatedStoresInput): Stream.Stream<ProductCoupon.StoreId, ListAssociatedStoresError> =>
  Stream.suspend(() => {
    // As the call itself refuses it: a plain-JavaScript caller may pass anything.
    if (typeof input !== "object" || input === null) {
      return Stream.fail(new RequestValidationError({ field: "input", reason: "must be an object" }))
    }
    const followed = new Set<string>()
    const seen = new Set<string>()
    let stale = 0
    if (input.pageToken !== undefined) followed.add(input.pageToken)
    const pageSize = input.pageSize ?? ProductCoupon.MAX_PAGE_SIZE
    // The state is the next page's token, or the error that ends the walk once the stores before it are out.
    return Stream.paginateChunkEffect(input.pageToken as string | undefined | ResponseDecodeError, (state) => {
      if (state instanceof ResponseDecodeError) return Effect.fail(state)
      return Effect.map(listAssociatedStores({ ...input, pageSize, pageToken: state }), (page) => {
        // Each store once per walk, however the pages repeat it.
        const fresh: Array<ProductCoupon.StoreId> = []
        for (const store of page.storeList) {
          if (seen.has(store.storeId)) continue
          seen.add(store.storeId)
          fresh.push(store.storeId)
        }
        const ids = Chunk.unsafeFromArray(fresh)
        const next = page.nextPageToken
        // Fresh tokens whose pages bring nothing new would page for ever: a few such pages in a row end the walk.
        stale = fresh.length === 0 && next !== undefined && next !== "" ? stale + 1 : 0
        if (stale >= STALE_PAGES) {
          const endless = new ResponseDecodeError({
            status: 200,
            ...(page.requestId === undefined ? {} : { requestId: page.requestId }),
            issue: `next_page_token: ${STALE_PAGES} pages in a row brought no store this walk had not seen (the listing would not end)`,
            excerpt: next!.slice(0, 64)
          })
          return [ids, Option.some(endless)] as const
        }
        if (next === undefined || next === "") {
          // Only a walk from the first page has seen every store the total counts.
          if (input.pageToken !== undefined || seen.size >= page.totalCount) return [ids, Option.none()] as const
          const short = new ResponseDecodeError({
            status: 200,
            ...(page.requestId === undefined ? {} : { requestId: page.requestId }),
            issue: `the listing ended after ${seen.size} store(s) where its total_count says ${page.totalCount}`,
            excerpt: ""
          })
          return [ids, Option.some(short)] as const
        }
        if (!followed.has(next)) {
          followed.add(next)
          return [ids, Option.some(next)] as const
        }
        const loop = new ResponseDecodeError({
          status: 200,
          ...(page.requestId === undefined ? {} : { requestId: page.requestId }),
          issue: "next_page_token: a token this walk already followed (the listing would loop)",
          excerpt: next.slice(0, 64)
        })
        return [ids, Option.some(loop)] as const
      })
    })
  })

/** Builds the service over a `WechatPayClient`; every endpoint takes its permits from one rate limiter, shared by every fiber. */
export const make = (
  options: Call.Options = {}
): Effect.Effect<Service, ConfigurationError, WechatPayClient | MerchantConfig | Scope.Scope> =>
  Effect.gen(function*() {
    const core = yield* Call.make(options)
    const disassociateStores = yield* bound(core, compiled.disassociateStores)
    const associateStores = yield* bound(core, compiled.associateStores)
    const listAssociatedStores = yield* bound(core, compiled.listAssociatedStores)
    const getStock = yield* bound(core, compiled.getStock)
    const associateStockBundleStores = yield* bound(core, compiled.associateStockBundleStores)
    const disassociateStockBundleStores = yield* bound(core, compiled.disassociateStockBundleStores)
    const service = ProductCouponStores.of({
      disassociateStores,
      associateStores,
      listAssociatedStores,
      associatedStores: associatedStoresOf(listAssociatedStores),
      getStock,
      associateStockBundleStores,
      disassociateStockBundleStores
    })
    // Every call goes through the client: it awaits a durable job's gate if the client does.
    return SendGate.awaitedBy(yield* WechatPayClient) ? SendGate.markAwaitedBy(service) : service
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
