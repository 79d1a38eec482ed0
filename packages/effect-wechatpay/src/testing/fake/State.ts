/**
 * The fake's world: the seed it starts from ({@link generate} makes the usual
 * one), and the in-memory brands, stores, coupons, stocks and stock bundles the
 * rules read and change.
 *
 * @since 0.1.0
 */
import { describeType } from "../../internal/describeType.js"

// ---------------------------------------------------------------------------
// Seed data

export type StoreScope = "SPECIFIC" | "ALL" | "NONE"
export type UsageMode = "SINGLE" | "PROGRESSIVE_BUNDLE"
/** The documented states of a stock (查询商品券指定批次). */
export type StockState = "AUDITING" | "SENDING" | "PAUSED" | "STOPPED" | "DEACTIVATED"

export interface StockSeed {
  readonly stockId: string
  /**
   * Defaults to `SPECIFIC`. Any other string is accepted (the stock query sends
   * it as it is, e.g. to test a client against a value it does not know yet);
   * the rules treat every value but `SPECIFIC` as "not SPECIFIC".
   */
  readonly storeScope?: StoreScope | (string & {}) | undefined
  /**
   * What the stock query reports. Defaults to `STOPPED` when {@link expired} is
   * set, `SENDING` otherwise. The fake never changes it by itself (not even when
   * the clock passes {@link availableEndMillis}). `STOPPED` ("已到达结束时间")
   * makes the stock expired for the rules; `DEACTIVATED` refuses the store calls and the listing.
   * Any other string is sent as it is.
   */
  readonly state?: StockState | (string & {}) | undefined
  /** Marks the stock expired regardless of its window. */
  readonly expired?: boolean | undefined
  /** Reported as `available_begin_time`; default {@link DEFAULT_AVAILABLE_BEGIN_MILLIS}. */
  readonly availableBeginMillis?: number | undefined
  /**
   * From this instant on (sandbox clock) the stock is expired. Reported as
   * `available_end_time`; when absent, {@link DEFAULT_EXPIRED_END_MILLIS} is
   * reported for an expired or `STOPPED` stock and {@link DEFAULT_AVAILABLE_END_MILLIS}
   * for any other.
   */
  readonly availableEndMillis?: number | undefined
  /** The stock bundle (批次组) of its coupon this stock belongs to, if any. */
  readonly stockBundleId?: string | undefined
  /** For a `DEACTIVATED` stock: `deactivate_time`; default {@link DEFAULT_DEACTIVATE_MILLIS}. */
  readonly deactivateTimeMillis?: number | undefined
  /** For a `DEACTIVATED` stock: `deactivate_reason`; a default text otherwise. */
  readonly deactivateReason?: string | undefined
  /**
   * Fields merged over the stock query's answer as they are (e.g. fields a client does not know).
   * What JSON cannot carry (a BigInt, a cycle) makes the stock query answer 500 `SYSTEM_ERROR`.
   */
  readonly extraFields?: Readonly<Record<string, unknown>> | undefined
  readonly associatedStoreIds?: Iterable<string> | undefined
}

export interface ProductCouponSeed {
  readonly productCouponId: string
  readonly brandId: string
  /** Defaults to `SINGLE`. */
  readonly usageMode?: UsageMode | undefined
  readonly stocks: ReadonlyArray<StockSeed>
}

export interface BrandSeed {
  readonly brandId: string
  /** Whether the brand authorized the service provider; defaults to `true`. */
  readonly authorized?: boolean | undefined
  readonly storeIds: Iterable<string>
}

/**
 * Plain data the sandbox starts from. Each fake built from a seed iterates its
 * store lists once; to reuse a seed (e.g. one layer provided to many tests),
 * give iterables that can be walked again (arrays, or what {@link generate}
 * returns), not one-shot generators.
 */
export interface Seed {
  readonly brands: ReadonlyArray<BrandSeed>
  readonly productCoupons: ReadonlyArray<ProductCouponSeed>
}

/** `available_begin_time` when the seed gives none: 2025-01-01T00:00:00+08:00. */
export const DEFAULT_AVAILABLE_BEGIN_MILLIS = Date.UTC(2024, 11, 31, 16, 0, 0)
/** `available_end_time` of a stock that is not expired when the seed gives none: 2099-12-31T23:59:59+08:00. */
export const DEFAULT_AVAILABLE_END_MILLIS = Date.UTC(2099, 11, 31, 15, 59, 59)
/** `available_end_time` of an expired or `STOPPED` stock when the seed gives none: 2025-06-30T23:59:59+08:00. */
export const DEFAULT_EXPIRED_END_MILLIS = Date.UTC(2025, 5, 30, 15, 59, 59)
/** `deactivate_time` of a `DEACTIVATED` stock when the seed gives none: 2025-03-01T10:00:00+08:00. */
export const DEFAULT_DEACTIVATE_MILLIS = Date.UTC(2025, 2, 1, 2, 0, 0)

/** The ids {@link generate} uses, one per documented situation. */
export const Fixture = {
  brandId: "120344",
  otherBrandId: "120345",
  unauthorizedBrandId: "120399",
  productCouponId: "200000001",
  bundleProductCouponId: "200000002",
  otherBrandProductCouponId: "200000003",
  /** SPECIFIC, SENDING, valid, associated with the generated stores. */
  stockId: "123456789",
  /** SPECIFIC but expired (state `STOPPED`). */
  expiredStockId: "123456790",
  allScopeStockId: "123456791",
  noneScopeStockId: "123456792",
  /** SPECIFIC stock of the PROGRESSIVE_BUNDLE coupon, in {@link Fixture.stockBundleId}. */
  bundleStockId: "123456793",
  otherBrandStockId: "123456794",
  /** SPECIFIC, state `AUDITING`, valid. */
  auditingStockId: "123456795",
  /** SPECIFIC, state `PAUSED`, valid. */
  pausedStockId: "123456796",
  /** SPECIFIC, state `DEACTIVATED` (with `deactivate_time` and `deactivate_reason`): the store calls and the listing refused. */
  deactivatedStockId: "123456797",
  /**
   * SPECIFIC, state `SENDING`, but its available period ended at
   * 2025-06-30T23:59:59+08:00: expired on any clock past that instant (the wall
   * clock; under `TestClock`, after `TestClock.setTime`).
   */
  endedStockId: "123456798",
  /** The second SPECIFIC stock of the bundle coupon, in {@link Fixture.stockBundleId}. */
  bundleSecondStockId: "123456799",
  /** The bundle coupon's stock bundle: {@link Fixture.bundleStockId} and {@link Fixture.bundleSecondStockId}. */
  stockBundleId: "123456800"
} as const

/** The i-th generated store of the main brand (0-based): 9 digits, like the documentation's `100000001`. */
export const storeId = (i: number): string => String(100_000_001 + i)
/** The i-th generated store of the other brand. */
export const otherBrandStoreId = (i: number): string => String(300_000_001 + i)

export interface GenerateOptions {
  /** Stores of the main brand; default 1,000. */
  readonly stores?: number | undefined
  /** How many of them (the first ones) are associated with {@link Fixture.stockId}; default all. */
  readonly associated?: number | undefined
  /** Stores of the other brand; default 10. */
  readonly otherBrandStores?: number | undefined
  /** Overrides for {@link Fixture.stockId} (its state, store scope, available period, bundle, …). */
  readonly stock?: Omit<StockSeed, "stockId" | "associatedStoreIds"> | undefined
  /** More stocks for the main brand's coupon ({@link Fixture.productCouponId}), after the fixture's. */
  readonly stocks?: ReadonlyArray<StockSeed> | undefined
}

/**
 * A world with one coupon, one SPECIFIC stock associated with `stores` stores,
 * one stock or brand for each documented error row and each stock state, and
 * one stock bundle (see {@link Fixture}).
 */
/** What is wrong with `generate`'s options, kept on the seed it returns, for `make` to refuse. */
const badSeed = Symbol.for("effect-wechatpay/testing/FakeWechatPay/badSeed")

const generateProblem = (options: unknown): string | undefined => {
  if (typeof options !== "object" || options === null) return `generate's options must be an object, got ${describeType(options)}`
  for (const name of ["stores", "associated", "otherBrandStores"] as const) {
    const value = (options as Record<string, unknown>)[name]
    if (value !== undefined && !(typeof value === "number" && Number.isSafeInteger(value) && value >= 0)) {
      return `generate's ${name} must be a whole number ≥ 0, got ${typeof value === "number" ? value : describeType(value)}`
    }
  }
  return undefined
}

/** Why `seed` cannot seed a fake, or `undefined` when it can. */
export const seedProblem = (seed: unknown): string | undefined => {
  if (typeof seed !== "object" || seed === null) return `must be a seed (from FakeWechatPay.generate, or your own), got ${describeType(seed)}`
  const marked = (seed as { readonly [badSeed]?: string })[badSeed]
  if (marked !== undefined) return marked
  const { brands, productCoupons } = seed as { readonly brands?: unknown; readonly productCoupons?: unknown }
  const iterable = (x: unknown) => typeof x === "object" && x !== null && Symbol.iterator in x
  return iterable(brands) && iterable(productCoupons) ? undefined : "must have brands and productCoupons (arrays)"
}

export const generate = (options: GenerateOptions = {}): Seed => {
  // Never a throw: options that cannot work give an empty seed that says why, which the fake refuses.
  const problem = generateProblem(options)
  if (problem !== undefined) return { brands: [], productCoupons: [], [badSeed]: problem } as Seed
  const stores = options.stores ?? 1_000
  const associated = Math.min(options.associated ?? stores, stores)
  const otherStores = options.otherBrandStores ?? 10
  // Lazy, so a million-store world is never an array of ids, yet re-iterable: every
  // fake built from this seed walks the ids afresh (a generator would serve only the first).
  const range = (n: number, f: (i: number) => string): Iterable<string> => ({
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) yield f(i)
    }
  })
  const firstTen = range(Math.min(stores, 10), storeId)
  return {
    brands: [
      { brandId: Fixture.brandId, storeIds: range(stores, storeId) },
      { brandId: Fixture.otherBrandId, storeIds: range(otherStores, otherBrandStoreId) },
      { brandId: Fixture.unauthorizedBrandId, authorized: false, storeIds: [] }
    ],
    productCoupons: [
      {
        productCouponId: Fixture.productCouponId,
        brandId: Fixture.brandId,
        stocks: [
          { ...options.stock, stockId: Fixture.stockId, associatedStoreIds: range(associated, storeId) },
          { stockId: Fixture.expiredStockId, expired: true, associatedStoreIds: firstTen },
          { stockId: Fixture.allScopeStockId, storeScope: "ALL" },
          { stockId: Fixture.noneScopeStockId, storeScope: "NONE" },
          { stockId: Fixture.auditingStockId, state: "AUDITING", associatedStoreIds: firstTen },
          { stockId: Fixture.pausedStockId, state: "PAUSED", associatedStoreIds: firstTen },
          {
            stockId: Fixture.deactivatedStockId,
            state: "DEACTIVATED",
            deactivateReason: "沙箱：品牌方已使该批次失效",
            associatedStoreIds: firstTen
          },
          {
            stockId: Fixture.endedStockId,
            state: "SENDING",
            availableEndMillis: DEFAULT_EXPIRED_END_MILLIS,
            associatedStoreIds: firstTen
          },
          ...(options.stocks ?? [])
        ]
      },
      {
        productCouponId: Fixture.bundleProductCouponId,
        brandId: Fixture.brandId,
        usageMode: "PROGRESSIVE_BUNDLE",
        stocks: [
          { stockId: Fixture.bundleStockId, stockBundleId: Fixture.stockBundleId, associatedStoreIds: firstTen },
          { stockId: Fixture.bundleSecondStockId, stockBundleId: Fixture.stockBundleId, associatedStoreIds: firstTen }
        ]
      },
      {
        productCouponId: Fixture.otherBrandProductCouponId,
        brandId: Fixture.otherBrandId,
        stocks: [{ stockId: Fixture.otherBrandStockId, associatedStoreIds: range(otherStores, otherBrandStoreId) }]
      }
    ]
  }
}

// ---------------------------------------------------------------------------
// The stores of a stock, in listing order

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * A stock's associated stores: a set for the O(1) checks of the store calls, and
 * the same ids sorted (by UTF-16 code units, which for the generated 9-digit ids
 * is numeric order) for the listing's cursor. The sorted copy is built on the
 * first listing and then kept up to date lazily: changes between two listings
 * are folded in by one merge (O(n + k log k)), so a walk that is not disturbed
 * costs O(log n + page) per page, and one disturbed between pages O(n) per page.
 * Every change goes through `add` and `remove`.
 */
export interface StoreSet {
  readonly size: () => number
  readonly has: (id: string) => boolean
  /** `true` when `id` was not associated before. */
  readonly add: (id: string) => boolean
  /** `true` when `id` was associated before. */
  readonly remove: (id: string) => boolean
  /** The ids in listing order (do not modify; valid until the next change). */
  readonly sorted: () => ReadonlyArray<string>
  /** The index in `sorted()` of the first id after `after` (binary search). */
  readonly indexAfter: (after: string) => number
}

export const makeStoreSet = (initial: Iterable<string>): StoreSet => {
  const ids = new Set(initial)
  let sortedIds: Array<string> | undefined
  // Changes since sortedIds was last brought up to date (tracked only once it exists).
  const added = new Set<string>()
  const removed = new Set<string>()

  const sorted = (): ReadonlyArray<string> => {
    if (sortedIds === undefined) {
      sortedIds = Array.from(ids).sort(compare)
      return sortedIds
    }
    if (added.size === 0 && removed.size === 0) return sortedIds
    const kept = removed.size === 0 ? sortedIds : sortedIds.filter((id) => !removed.has(id))
    const extra = Array.from(added).sort(compare)
    const merged = new Array<string>(kept.length + extra.length)
    let i = 0
    let j = 0
    let k = 0
    while (i < kept.length && j < extra.length) merged[k++] = compare(kept[i]!, extra[j]!) <= 0 ? kept[i++]! : extra[j++]!
    while (i < kept.length) merged[k++] = kept[i++]!
    while (j < extra.length) merged[k++] = extra[j++]!
    sortedIds = merged
    added.clear()
    removed.clear()
    return merged
  }

  return {
    size: () => ids.size,
    has: (id) => ids.has(id),
    add: (id) => {
      if (ids.has(id)) return false
      ids.add(id)
      if (sortedIds !== undefined && !removed.delete(id)) added.add(id)
      return true
    },
    remove: (id) => {
      if (!ids.delete(id)) return false
      if (sortedIds !== undefined && !added.delete(id)) removed.add(id)
      return true
    },
    sorted,
    indexAfter: (after) => {
      const list = sorted()
      let lo = 0
      let hi = list.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (compare(list[mid]!, after) <= 0) lo = mid + 1
        else hi = mid
      }
      return lo
    }
  }
}

// ---------------------------------------------------------------------------
// The live state

export interface Stock {
  readonly stockId: string
  readonly productCouponId: string
  readonly storeScope: string
  readonly state: string
  readonly expired: boolean
  readonly availableBeginMillis: number
  /** When the rules start to refuse it (`undefined`: never by time). */
  readonly availableEndMillis: number | undefined
  /** What the stock query reports as `available_end_time`. */
  readonly reportedEndMillis: number
  readonly stockBundleId: string | undefined
  readonly deactivateTimeMillis: number
  readonly deactivateReason: string
  readonly extraFields: Readonly<Record<string, unknown>> | undefined
  /** The stores associated right now; the rules change it. */
  readonly associated: StoreSet
}

export interface Coupon {
  readonly brandId: string
  readonly usageMode: UsageMode
  readonly stocks: Map<string, Stock>
  /** Stock bundle id → its stocks, in seed order. */
  readonly bundles: Map<string, Array<Stock>>
}

export interface State {
  /** Brand id → whether it authorized the service provider. */
  readonly brands: Map<string, boolean>
  /** Store id → the brand it belongs to. */
  readonly storeBrand: Map<string, string>
  readonly coupons: Map<string, Coupon>
  /** The same stocks as in `coupons`, by stock id alone, for the queries that name no coupon. */
  readonly stocks: Map<string, Stock>
}

/** A fresh state from `seed`, walking each of its store lists once. */
export const fromSeed = (seed: Seed): State => {
  const brands = new Map<string, boolean>()
  const storeBrand = new Map<string, string>()
  const coupons = new Map<string, Coupon>()
  const stocks = new Map<string, Stock>()
  for (const brand of seed.brands) {
    brands.set(brand.brandId, brand.authorized ?? true)
    for (const id of brand.storeIds) storeBrand.set(id, brand.brandId)
  }
  for (const coupon of seed.productCoupons) {
    const own = new Map<string, Stock>()
    const bundles = new Map<string, Array<Stock>>()
    for (const s of coupon.stocks) {
      const expired = s.expired ?? false
      const state = s.state ?? (expired ? "STOPPED" : "SENDING")
      const stock: Stock = {
        stockId: s.stockId,
        productCouponId: coupon.productCouponId,
        storeScope: s.storeScope ?? "SPECIFIC",
        state,
        expired,
        availableBeginMillis: s.availableBeginMillis ?? DEFAULT_AVAILABLE_BEGIN_MILLIS,
        availableEndMillis: s.availableEndMillis,
        reportedEndMillis: s.availableEndMillis ??
          (expired || state === "STOPPED" ? DEFAULT_EXPIRED_END_MILLIS : DEFAULT_AVAILABLE_END_MILLIS),
        stockBundleId: s.stockBundleId,
        deactivateTimeMillis: s.deactivateTimeMillis ?? DEFAULT_DEACTIVATE_MILLIS,
        deactivateReason: s.deactivateReason ?? "沙箱：批次已失效",
        extraFields: s.extraFields,
        associated: makeStoreSet(s.associatedStoreIds ?? [])
      }
      own.set(s.stockId, stock)
      stocks.set(s.stockId, stock)
      if (s.stockBundleId !== undefined) {
        const members = bundles.get(s.stockBundleId)
        if (members === undefined) bundles.set(s.stockBundleId, [stock])
        else members.push(stock)
      }
    }
    coupons.set(coupon.productCouponId, {
      brandId: coupon.brandId,
      usageMode: coupon.usageMode ?? "SINGLE",
      stocks: own,
      bundles
    })
  }
  return { brands, storeBrand, coupons, stocks }
}

/** Is the stock past its period at `nowMillis` (marked expired, `STOPPED`, or its end reached)? */
export const isExpired = (stock: Stock, nowMillis: number): boolean =>
  stock.expired || stock.state === "STOPPED" ||
  (stock.availableEndMillis !== undefined && nowMillis >= stock.availableEndMillis)

/** Is `storeId` associated with `stockId` right now? */
export const isAssociated = (state: State, stockId: string, storeId: string): boolean =>
  state.stocks.get(stockId)?.associated.has(storeId) ?? false

/** How many stores `stockId` has (0 for an unknown stock). */
export const associatedCount = (state: State, stockId: string): number =>
  state.stocks.get(stockId)?.associated.size() ?? 0

/** The stores of `stockId` in listing order (a copy; empty for an unknown stock). */
export const associatedStores = (state: State, stockId: string): ReadonlyArray<string> =>
  state.stocks.get(stockId)?.associated.sorted().slice() ?? []

/** The stocks of a bundle (of any coupon that has one by this id), in seed order. */
export const bundleStockIds = (state: State, stockBundleId: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const coupon of state.coupons.values()) {
    for (const stock of coupon.bundles.get(stockBundleId) ?? []) out.push(stock.stockId)
  }
  return out
}
