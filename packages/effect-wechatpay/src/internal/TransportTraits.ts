/**
 * What a transport (or another service) of this package promises about itself, so the client can skip a
 * guard it does not need. Set only on the exact object a layer provides: any composition the application
 * adds makes a new object without it, and the guard is kept.
 */

/** A promise named `name`: `mark` sets it on an object, `has` reads it. */
export const trait = (name: string) => {
  const key = Symbol.for(`effect-wechatpay/${name}`)
  return {
    mark: <A extends object>(target: A): A => Object.defineProperty(target, key, { value: true }),
    has: (target: object): boolean => (target as Record<symbol, unknown>)[key] === true
  }
}

/** The transport never follows a redirect (so fetch's `redirect: "manual"` guard has nothing to do). */
const NeverFollowsRedirects = trait("TransportTraits/NeverFollowsRedirects")

export const markNeverFollowsRedirects = NeverFollowsRedirects.mark
export const neverFollowsRedirects = NeverFollowsRedirects.has
