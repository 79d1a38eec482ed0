/**
 * The endpoints the fake answers, by operation: method and path pattern (the
 * partner-mode paths of the product-coupon store family), and the request
 * target split into path and raw query.
 *
 * @since 0.1.0
 */

/** One name per endpoint the fake implements. */
export const OPERATIONS = [
  /** 批次取消关联门店 */
  "disassociateStores",
  /** 批次关联门店 */
  "associateStores",
  /** 查询批次关联门店列表 */
  "listAssociatedStores",
  /** 查询商品券指定批次 */
  "getStock",
  /** 批次组关联门店 */
  "associateStockBundleStores",
  /** 批次组取消关联门店 */
  "disassociateStockBundleStores"
] as const

export type Operation = typeof OPERATIONS[number]

const COUPON = String.raw`^\/v3\/marketing\/partner\/product-coupon\/product-coupons\/([^/]+)`

/**
 * Each operation's method and path, from the start of the path: WeChat Pay serves
 * nothing under another prefix, so a client that puts one there (a doubled `/v3`, a
 * stray segment) must not pass here; only the in-memory form's own base-URL path is
 * taken off first (see {@link match}). The groups are the path parameters in order
 * (`product_coupon_id`, then `stock_id` or `stock_bundle_id`).
 */
export const ROUTES: Readonly<Record<Operation, { readonly method: "GET" | "POST"; readonly path: RegExp }>> = {
  disassociateStores: { method: "POST", path: new RegExp(`${COUPON}\\/stocks\\/([^/]+)\\/disassociate-stores$`) },
  associateStores: { method: "POST", path: new RegExp(`${COUPON}\\/stocks\\/([^/]+)\\/associate-stores$`) },
  listAssociatedStores: { method: "GET", path: new RegExp(`${COUPON}\\/stocks\\/([^/]+)\\/associated-stores$`) },
  getStock: { method: "GET", path: new RegExp(`${COUPON}\\/stocks\\/([^/]+)$`) },
  associateStockBundleStores: {
    method: "POST",
    path: new RegExp(`${COUPON}\\/stock-bundles\\/([^/]+)\\/associate-stores$`)
  },
  disassociateStockBundleStores: {
    method: "POST",
    path: new RegExp(`${COUPON}\\/stock-bundles\\/([^/]+)\\/disassociate-stores$`)
  }
}

/** A request target matched to an operation: its path parameters as sent (still percent-encoded) and raw query. */
export interface Route {
  readonly operation: Operation
  readonly params: readonly [string, string]
  /** Everything after the first `?` (empty when there is none). */
  readonly query: string
}

/** Splits a request target (`/path?query`) at its first `?`. */
export const splitTarget = (target: string): { readonly path: string; readonly query: string } => {
  const q = target.indexOf("?")
  return q < 0 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q + 1) }
}

/**
 * The operation `method` and `target` address, or `undefined` (an unknown path, or a known one
 * with another method). `basePath`: the path of the base URL the request was sent under (the
 * in-memory form's, e.g. a proxy's `/wechatpay`), taken off before matching.
 */
export const match = (method: string, target: string, basePath = ""): Route | undefined => {
  const split = splitTarget(target)
  const query = split.query
  const path = basePath !== "" && split.path.startsWith(`${basePath}/`) ? split.path.slice(basePath.length) : split.path
  for (const operation of OPERATIONS) {
    const route = ROUTES[operation]
    if (route.method !== method) continue
    const m = route.path.exec(path)
    if (m !== null) return { operation, params: [m[1]!, m[2]!], query }
  }
  return undefined
}
