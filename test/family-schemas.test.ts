// The new Schemas through the compiled codec (SchemaCodec), which endpoint calls decode and encode
// with: it must give exactly what the Schema gives, keep the stock's unknown fields (at every level
// the Schema keeps them), and accept enum values it does not know.
import { assert, describe, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import * as Endpoint from "../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import * as SchemaCodec from "../packages/effect-wechatpay/src/internal/SchemaCodec.js"
import { ProductCoupon } from "../packages/effect-wechatpay/src/index.js"

const text = FastCheck.oneof(FastCheck.string({ maxLength: 12 }), FastCheck.constantFrom("SENDING", "SPECIFIC", "ALL", "STOPPED"))
// Any JSON-ish value, including the wrong types for a field.
const anything = FastCheck.oneof(text, FastCheck.integer(), FastCheck.constant(null), FastCheck.boolean(), FastCheck.constant([]))
// Field names that are not the Schema's own (nor the domain names, which the wire never uses).
const extraKey = FastCheck.stringMatching(/^x_[a-z_]{1,10}$/)
const extras = FastCheck.dictionary(extraKey, anything, { maxKeys: 3 })

const period = FastCheck.record(
  { available_begin_time: text, available_end_time: FastCheck.oneof(text, anything) },
  { requiredKeys: [] }
).chain((p) => extras.map((x) => ({ ...x, ...p })))
const rule = FastCheck.record({ coupon_available_period: FastCheck.oneof(period, anything) }, { requiredKeys: [] })
  .chain((r) => extras.map((x) => ({ ...x, ...r })))
const stock = FastCheck.record({
  product_coupon_id: text,
  stock_id: FastCheck.oneof(text, anything),
  brand_id: text,
  remark: anything,
  state: FastCheck.oneof(FastCheck.constantFrom("AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED"), text, anything),
  store_scope: FastCheck.oneof(FastCheck.constantFrom("NONE", "ALL", "SPECIFIC"), text),
  single_usage_rule: FastCheck.oneof(rule, FastCheck.constant(null)),
  deactivate_time: FastCheck.oneof(text, FastCheck.constant(null)),
  deactivate_reason: text,
  deactivate_request_no: text
}, { requiredKeys: ["product_coupon_id", "state", "store_scope"] }).chain((s) => extras.map((x) => ({ ...x, ...s })))

// The Schema's own optional fields read null as absent, so they come back absent; a null in a
// field it does not name is kept as it is.
const named: Readonly<Record<string, ReadonlyArray<string>>> = {
  stock: ["brand_id", "remark", "single_usage_rule", "deactivate_time", "deactivate_reason", "deactivate_request_no"],
  single_usage_rule: ["coupon_available_period"],
  coupon_available_period: ["available_begin_time", "available_end_time"]
}
const withoutNamedNulls = (value: unknown, level = "stock"): unknown => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    if (v === null && named[level]?.includes(key)) continue
    out[key] = named[level]?.includes(key) && named[key] !== undefined ? withoutNamedNulls(v, key) : v
  }
  return out
}

describe("the stock's Schema through the compiled codec", () => {
  const compiled = SchemaCodec.decoder(ProductCoupon.Stock)
  const reference = Schema.decodeUnknownEither(ProductCoupon.Stock)

  it("decodes every stock, valid or not, exactly as the Schema does", () => {
    FastCheck.assert(
      FastCheck.property(stock, (wire) => {
        const a = compiled(wire)
        const b = reference(wire)
        assert.strictEqual(Either.isRight(a), Either.isRight(b))
        if (Either.isRight(a) && Either.isRight(b)) assert.deepStrictEqual(a.right, b.right)
      }),
      { numRuns: 500 }
    )
  })

  it("keeps the fields it does not name, at the top and inside the rule and the period", () => {
    const wire = {
      product_coupon_id: "1",
      stock_id: "2",
      state: "SENDING",
      store_scope: "SPECIFIC",
      sent_count_info: { total_count: 3 },
      single_usage_rule: {
        coupon_available_period: { available_end_time: "2025-05-31T23:59:59+08:00", irregular_available_period_list: [{ a: 1 }] },
        exchange_coupon: { exchange_price: 1 }
      }
    }
    const decoded = Either.getOrThrow(compiled(wire))
    assert.strictEqual(decoded.singleUsageRule?.couponAvailablePeriod?.availableEndTime, "2025-05-31T23:59:59+08:00")
    assert.deepStrictEqual(decoded.sent_count_info, { total_count: 3 })
    assert.deepStrictEqual(decoded.singleUsageRule?.exchange_coupon, { exchange_price: 1 })
    assert.deepStrictEqual(decoded.singleUsageRule?.couponAvailablePeriod?.irregular_available_period_list, [{ a: 1 }])
    // And they go back out under the same names: nothing was renamed or lost.
    assert.deepStrictEqual(Schema.encodeSync(ProductCoupon.Stock)(decoded), wire as unknown)
  })

  it("every valid stock survives decode then encode unchanged", () => {
    const valid = stock.filter((s) => Either.isRight(reference(s)))
    FastCheck.assert(
      FastCheck.property(valid, (wire) => {
        const decoded = Either.getOrThrow(compiled(wire))
        const back = Schema.encodeSync(ProductCoupon.Stock)(decoded) as Record<string, unknown>
        assert.deepStrictEqual(back, withoutNamedNulls(wire))
      }),
      { numRuns: 300 }
    )
  })
})

describe("open enums", () => {
  for (const [name, schema, known] of [
    ["StockState", ProductCoupon.StockState, ["AUDITING", "SENDING", "PAUSED", "STOPPED", "DEACTIVATED"]],
    ["StoreScope", ProductCoupon.StoreScope, ["NONE", "ALL", "SPECIFIC"]]
  ] as const) {
    it(`${name}: known and unknown strings decode to themselves through the codec; anything else fails`, () => {
      const open = schema as unknown as Schema.Schema<string, string>
      const decode = SchemaCodec.decoder(open)
      for (const value of [...known, "SOMETHING_NEW", "", "sending"]) assert.strictEqual(Either.getOrThrow(decode(value)), value)
      for (const value of [1, null, undefined, { state: "SENDING" }]) assert.isTrue(Either.isLeft(decode(value)))
      assert.isTrue(Schema.is(open)("SOMETHING_NEW"))
    })
  }
})

describe("the new requests through the compiled codec", () => {
  const id = FastCheck.stringMatching(/^[0-9A-Za-z_ ./-]{1,12}$/)
  const bodyOf = (request: Either.Either<{ readonly body: unknown }, unknown>) => {
    const body = Either.getOrThrow(request).body as { readonly _tag: string; readonly body?: Uint8Array }
    return body._tag === "Uint8Array" ? new TextDecoder().decode(body.body) : undefined
  }

  for (const endpoint of [endpoints.associateStockBundleStores, endpoints.disassociateStockBundleStores]) {
    it(`${endpoint.name}: validates as the Schema does, and sends the bytes Schema.encode gives`, () => {
      const compiled = Endpoint.compile(endpoint)
      const input = FastCheck.record({
        productCouponId: id,
        stockBundleId: id,
        brandId: id,
        storeList: FastCheck.array(FastCheck.record({ storeId: id }), { minLength: 0, maxLength: 201 })
      })
      FastCheck.assert(
        FastCheck.property(input, (raw) => {
          const validated = compiled.validate(raw)
          const reference = Schema.decodeUnknownEither(Schema.typeSchema(ProductCoupon.StockBundleStoresRequest))(raw)
          assert.strictEqual(Either.isRight(validated), Either.isRight(reference))
          if (Either.isLeft(validated)) return
          const expected = JSON.stringify(Either.getOrThrow(Schema.encodeEither(ProductCoupon.RequestBody)(validated.right)))
          assert.strictEqual(bodyOf(compiled.prepareValidated(validated.right)), expected)
        }),
        { numRuns: 200 }
      )
    })
  }

  it("getStock: validates as the Schema does, and sends no body", () => {
    const compiled = Endpoint.compile(endpoints.getStock)
    const input = FastCheck.record({ productCouponId: FastCheck.oneof(id, FastCheck.constant("..")), stockId: id, brandId: id })
    FastCheck.assert(
      FastCheck.property(input, (raw) => {
        const validated = compiled.validate(raw)
        const reference = Schema.decodeUnknownEither(ProductCoupon.GetStockRequest)(raw)
        assert.strictEqual(Either.isRight(validated), Either.isRight(reference))
        if (Either.isRight(validated)) assert.isUndefined(bodyOf(compiled.prepare(validated.right)))
      }),
      { numRuns: 200 }
    )
  })
})

describe("the compiled decoder keeps a nested value that needs no change", () => {
  const request = Schema.typeSchema(ProductCoupon.DisassociateStoresRequest)
  const compiled = SchemaCodec.decoder(request)
  const reference = Schema.decodeUnknownEither(request)
  const id = FastCheck.stringMatching(/^[0-9A-Za-z_-]{1,12}$/)
  // Store entries as callers build them: plain, with keys the Schema drops, or class instances.
  class Store {
    constructor(readonly storeId: string) {}
  }
  const store = FastCheck.oneof(
    id.map((storeId) => ({ storeId })),
    FastCheck.tuple(id, extras).map(([storeId, extra]) => ({ ...extra, storeId })),
    id.map((storeId) => new Store(storeId))
  )
  const input = FastCheck.record({
    productCouponId: id,
    stockId: id,
    brandId: id,
    storeList: FastCheck.array(store, { minLength: 1, maxLength: 20 })
  })

  it("gives what the Schema gives, a fresh outer object, and the caller's own entries only when they are already exact", () => {
    FastCheck.assert(
      FastCheck.property(input, (raw) => {
        const a = Either.getOrThrow(compiled(raw))
        assert.deepStrictEqual(a, Either.getOrThrow(reference(raw)))
        assert.notStrictEqual<unknown>(a, raw)
        a.storeList.forEach((entry, i) => {
          const given = raw.storeList[i]!
          const exact = Object.getPrototypeOf(given) === Object.prototype && Object.keys(given).length === 1
          assert.strictEqual(entry === given, exact)
        })
      }),
      { numRuns: 300 }
    )
  })
})
