/**
 * The fake's world: the seed it starts from ({@link generate} makes the usual
 * one), and the in-memory brands, stores, coupons and stocks the rules read
 * and change.
 *
 * @since 0.1.0
 */

// ---------------------------------------------------------------------------
// Seed data

export type StoreScope = "SPECIFIC" | "ALL" | "NONE"
export type UsageMode = "SINGLE" | "PROGRESSIVE_BUNDLE"

export interface StockSeed {
  readonly stockId: string
  /** Defaults to `SPECIFIC`. */
  readonly storeScope?: StoreScope | undefined
  /** Marks the stock expired regardless of its window. */
  readonly expired?: boolean | undefined
  /** From this instant on (sandbox clock) the stock is expired. */
  readonly availableEndMillis?: number | undefined
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

/** The ids {@link generate} uses, one per documented situation. */
export const Fixture = {
  brandId: "120344",
  otherBrandId: "120345",
  unauthorizedBrandId: "120399",
  productCouponId: "200000001",
  bundleProductCouponId: "200000002",
  otherBrandProductCouponId: "200000003",
  /** SPECIFIC, valid, associated with the generated stores. */
  stockId: "123456789",
  /** SPECIFIC but expired. */
  expiredStockId: "123456790",
  allScopeStockId: "123456791",
  noneScopeStockId: "123456792",
  /** SPECIFIC stock of the PROGRESSIVE_BUNDLE coupon. */
  bundleStockId: "123456793",
  otherBrandStockId: "123456794"
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
}

/**
 * A world with one coupon, one SPECIFIC stock associated with `stores` stores,
 * and one stock or brand for each documented error row (see {@link Fixture}).
 */
export const generate = (options: GenerateOptions = {}): Seed => {
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
          { stockId: Fixture.stockId, associatedStoreIds: range(associated, storeId) },
          { stockId: Fixture.expiredStockId, expired: true, associatedStoreIds: range(Math.min(stores, 10), storeId) },
          { stockId: Fixture.allScopeStockId, storeScope: "ALL" },
          { stockId: Fixture.noneScopeStockId, storeScope: "NONE" }
        ]
      },
      {
        productCouponId: Fixture.bundleProductCouponId,
        brandId: Fixture.brandId,
        usageMode: "PROGRESSIVE_BUNDLE",
        stocks: [{ stockId: Fixture.bundleStockId, associatedStoreIds: range(Math.min(stores, 10), storeId) }]
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
// The live state

export interface Stock {
  readonly storeScope: StoreScope
  readonly expired: boolean
  readonly availableEndMillis: number | undefined
  /** The stores associated right now; the rules delete from it. */
  readonly associated: Set<string>
}

export interface Coupon {
  readonly brandId: string
  readonly usageMode: UsageMode
  readonly stocks: Map<string, Stock>
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
    for (const s of coupon.stocks) {
      const stock: Stock = {
        storeScope: s.storeScope ?? "SPECIFIC",
        expired: s.expired ?? false,
        availableEndMillis: s.availableEndMillis,
        associated: new Set(s.associatedStoreIds ?? [])
      }
      own.set(s.stockId, stock)
      stocks.set(s.stockId, stock)
    }
    coupons.set(coupon.productCouponId, { brandId: coupon.brandId, usageMode: coupon.usageMode ?? "SINGLE", stocks: own })
  }
  return { brands, storeBrand, coupons, stocks }
}

/** Is `storeId` associated with `stockId` right now? */
export const isAssociated = (state: State, stockId: string, storeId: string): boolean =>
  state.stocks.get(stockId)?.associated.has(storeId) ?? false

/** How many stores `stockId` has (0 for an unknown stock). */
export const associatedCount = (state: State, stockId: string): number =>
  state.stocks.get(stockId)?.associated.size ?? 0
