/**
 * What a transport of this package promises about itself, so the client can skip a guard it does not need.
 * Set only on the exact client object a layer provides: any composition the application adds makes a new
 * object without it, and the guard is kept.
 */

/** The transport never follows a redirect (so fetch's `redirect: "manual"` guard has nothing to do). */
export const NeverFollowsRedirects: unique symbol = Symbol.for("effect-wechatpay/TransportTraits/NeverFollowsRedirects")

export const markNeverFollowsRedirects = <A extends object>(client: A): A =>
  Object.defineProperty(client, NeverFollowsRedirects, { value: true })

export const neverFollowsRedirects = (client: object): boolean =>
  (client as { readonly [NeverFollowsRedirects]?: boolean })[NeverFollowsRedirects] === true
