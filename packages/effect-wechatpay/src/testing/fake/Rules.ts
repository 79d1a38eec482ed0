/**
 * The rules of the product-coupon store family: what an authenticated request
 * does to the {@link State.State} and what it answers, from the rate limit to
 * the per-store lists, the listing's pages and the stock query. The choices
 * made where the documentation is silent are listed in the notes of
 * `FakeWechatPay.ts`.
 *
 * This module holds the dispatcher and the four store-changing calls; the
 * verdicts, messages and request readers every rule shares are in
 * `Verdicts.ts`, the listing and the stock query in `QueryRules.ts`. Their
 * public names are re-exported here, where the rest of the fake imports them.
 *
 * @since 0.1.0
 */
import type { IncomingRequest } from "../ServerProtocol.js"
import { getStock, listStores } from "./QueryRules.js"
import * as Routes from "./Routes.js"
import * as State from "./State.js"
import {
  couponOf,
  decodeSegment,
  type Direction,
  fail,
  isVerdict,
  MESSAGES,
  paramError,
  readStoreBody,
  type Verdict
} from "./Verdicts.js"

export { DEFAULT_PAGE_SIZE, decodePageToken, encodePageToken, MAX_PAGE_SIZE, rfc3339, stockEntity } from "./QueryRules.js"
export { errorBody, fail, MAX_STORES_PER_CALL, MESSAGES } from "./Verdicts.js"
export type { StockChange, Verdict } from "./Verdicts.js"

/** Matches 批次取消关联门店's path (from the start of the path). */
export const ENDPOINT_PATH = Routes.ROUTES.disassociateStores.path

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

const CHOICES = {
  notAssociated: ["success", "failed"],
  alreadyAssociated: ["success", "failed"],
  emptyLists: ["omit", "include"],
  lastPageToken: ["omit", "empty"]
} as const

/** The rate limit's problem, if any (a NaN or an infinity would make its window throw). */
export const checkRateLimit = (perSecond: unknown): string | undefined =>
  perSecond === undefined || perSecond === false ||
    (typeof perSecond === "number" && Number.isSafeInteger(perSecond) && perSecond >= 1)
    ? undefined
    : "must be a whole number of requests a second ≥ 1, or false for no limit"

/** The first rule option that cannot work, as `[option, reason]`; `undefined` when all can. */
export const checkRuleOptions = (options: RuleOptions): readonly [string, string] | undefined => {
  const rate = checkRateLimit(options.rateLimit)
  if (rate !== undefined) return ["rateLimit", rate]
  for (const name of Object.keys(CHOICES) as Array<keyof typeof CHOICES>) {
    const value = options[name]
    const allowed: ReadonlyArray<string> = CHOICES[name]
    if (value !== undefined && !allowed.includes(value)) return [name, `must be ${allowed.map((c) => `"${c}"`).join(" or ")}`]
  }
  return undefined
}

export interface Rules {
  /** The answer to a request that passed authentication; may change `state`. */
  /** `basePath`: see `Routes.match`. */
  readonly decide: (request: IncomingRequest & { readonly basePath?: string | undefined }, nowMillis: number) => Verdict
  readonly setRateLimit: (perSecond: number | false) => void
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
    // Both pages' preconditions: 批次未失效或过期 (not deactivated, not expired).
    if (stock.state === "DEACTIVATED") {
      return fail(
        400,
        "INVALID_REQUEST",
        direction === "associate" ? MESSAGES.associateStockDeactivated : MESSAGES.stockDeactivated,
        ids
      )
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

  // 批次关联门店 / 批次取消关联门店
  const stockStores = (
    request: IncomingRequest,
    now: number,
    direction: Direction,
    ids: Partial<Verdict> & { readonly productCouponId: string; readonly stockId: string }
  ): Verdict => {
    const body = readStoreBody(request.bodyText, direction, ids)
    if (isVerdict(body)) return body
    const coupon = couponOf(state, body.brandId, ids.productCouponId, ids)
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
    const coupon = couponOf(state, body.brandId, ids.productCouponId, ids)
    if (isVerdict(coupon)) return coupon
    const stocks = coupon.bundles.get(ids.stockBundleId)
    if (stocks === undefined) return fail(404, "NOT_FOUND", MESSAGES.stockBundleNotFound, ids)
    for (const stock of stocks) {
      const refused = preconditions(stock, direction, now, ids)
      if (refused !== undefined) return refused
    }
    return applyStores(stocks, body.brandId, body.unique, direction, ids)
  }

  const decide = (request: IncomingRequest & { readonly basePath?: string | undefined }, now: number): Verdict => {
    const route = Routes.match(request.method, request.target, request.basePath)
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
        return listStores(state, route.query, now, { operation, productCouponId, stockId: second }, emptyLastToken)
      case "getStock":
        return getStock(state, route.query, { operation, productCouponId, stockId: second })
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
