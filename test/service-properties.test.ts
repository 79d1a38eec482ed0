import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Either, FastCheck, Schema } from "effect"
import { ProductCoupon, ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import * as Endpoint from "../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

// Characters chosen to hit every rule: path syntax, dots, percent signs, whitespace,
// controls (C0, C1, CR/LF), CJK, the BMP's edge, an emoji and both lone surrogates.
const nasty = FastCheck.constantFrom(
  "/", "?", "#", "%", ".", "..", "%2e", "\\", " ", "\t", "\r", "\n", "\u0000", "\u0085", "\u3000",
  "门", "店", "é", "\uFFFD", "\uFFFF", "😀", "\uD800", "\uDFFF", "a", "1", "_", "-", "+", "&", "="
)
const validId = FastCheck.string({
  unit: FastCheck.oneof(FastCheck.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }), nasty),
  minLength: 1,
  maxLength: 12
}).filter((s) => ProductCoupon.idProblem(s) === undefined)
const validPathId = validId.filter((s) => ProductCoupon.pathSegmentProblem(s) === undefined)
const validInput = FastCheck.record({
  productCouponId: validPathId,
  stockId: validPathId,
  brandId: validId,
  storeList: FastCheck.array(FastCheck.record({ storeId: validId }), { minLength: 1, maxLength: 30 })
})

// Arbitrary path ids, valid ones weighted so that both ids of a pair are valid about half the time:
// the "URL round-trips" half of the property must run, not only the rejections.
const anyId = FastCheck.oneof(
  { weight: 10, arbitrary: validPathId },
  { weight: 1, arbitrary: FastCheck.string({ unit: nasty, maxLength: 8 }) },
  { weight: 1, arbitrary: FastCheck.string({ unit: "binary", maxLength: 8 }) },
  { weight: 1, arbitrary: FastCheck.constantFrom("", ".", "..", "...", "%2E%2E", " ") }
)

// One service and fake for the whole block (layer setup is the slow part); each run looks
// only at the requests it added.
const fake = Scripted.make(() => Scripted.ok())

/** One call through the service and the signature-checking fake; returns what went on the wire. */
const send = (input: ProductCouponStores.DisassociateStoresInput) =>
  Effect.gen(function*() {
    const before = fake.requests.length
    const service = yield* ProductCouponStores.ProductCouponStores
    const result = yield* Effect.either(service.disassociateStores(input))
    return { result, sent: fake.requests.slice(before) }
  })

const idsFromUrl = (url: URL) => {
  const segments = url.pathname.split("/")
  return { productCouponId: decodeURIComponent(segments[6]!), stockId: decodeURIComponent(segments[8]!) }
}

const decodeBody = Schema.decodeUnknownSync(ProductCoupon.RequestBody)
const disassociate = Endpoint.compile(endpoints.disassociateStores)

layer(Scripted.serviceLayer(fake, { rateLimit: false, retry: false }))("properties through the service", (it) => {
  it.effect.prop("any valid request: the signed wire body decodes back to it, and the path to its ids", [validInput], ([input]) =>
    Effect.gen(function*() {
      const { result, sent } = yield* send(input)
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(sent.length, 1)
      const request = sent[0]!
      assert.isUndefined(request.rejection)
      const decoded: unknown = decodeBody(JSON.parse(request.bodyText))
      assert.deepStrictEqual(decoded, {
        storeList: input.storeList.map((s) => ({ storeId: s.storeId })),
        brandId: input.brandId
      })
      assert.deepStrictEqual(idsFromUrl(request.url), { productCouponId: input.productCouponId, stockId: input.stockId })
    }), { fastCheck: { numRuns: 60 } })

  it.effect.prop(
    "arbitrary ids: rejected with a typed error (nothing sent), or the URL actually sent round-trips",
    [anyId, anyId],
    ([productCouponId, stockId]) =>
      Effect.gen(function*() {
        const { result, sent } = yield* send({ ...Scripted.sampleInput, productCouponId, stockId })
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "RequestValidationError")
          assert.include(["productCouponId", "stockId"], result.left._tag === "RequestValidationError" && result.left.field)
          assert.strictEqual(sent.length, 0)
        } else {
          assert.strictEqual(sent.length, 1)
          assert.isUndefined(sent[0]!.rejection)
          assert.strictEqual(sent[0]!.url.search, "")
          assert.deepStrictEqual(idsFromUrl(sent[0]!.url), { productCouponId, stockId })
          assert.strictEqual(sent[0]!.url.pathname.split("/").length, 10)
        }
      }),
    { fastCheck: { numRuns: 150 } }
  )
})

describe("properties of validation", () => {
  it.prop("arbitrary body ids: validate rejects exactly what idProblem names, and prepare takes what it accepts", [anyId, anyId], ([brandId, storeId]) => {
    const r = disassociate.validate({ ...Scripted.sampleInput, brandId, storeList: [{ storeId }] })
    // Fields are checked in schema order: the store list comes before the brand.
    const expected = ProductCoupon.idProblem(storeId) ?? ProductCoupon.idProblem(brandId)
    assert.strictEqual(Either.isLeft(r) ? r.left.reason : undefined, expected)
    if (Either.isRight(r)) assert.isTrue(Either.isRight(disassociate.prepare(r.right)))
  }, { fastCheck: { numRuns: 300 } })

  it.prop("arbitrary path ids: validate rejects exactly what idProblem and pathSegmentProblem name", [anyId, anyId], ([productCouponId, stockId]) => {
    const r = disassociate.validate({ ...Scripted.sampleInput, productCouponId, stockId })
    const problem = (id: string) => ProductCoupon.idProblem(id) ?? ProductCoupon.pathSegmentProblem(id)
    const expected = problem(productCouponId) ?? problem(stockId)
    assert.strictEqual(Either.isLeft(r) ? r.left.reason : undefined, expected)
    if (Either.isLeft(r)) assert.strictEqual(r.left.field, problem(productCouponId) === undefined ? "stockId" : "productCouponId")
    if (Either.isRight(r)) {
      const request = disassociate.prepare(r.right)
      assert.isTrue(Either.isRight(request))
      if (Either.isRight(request)) {
        assert.deepStrictEqual(idsFromUrl(new URL(request.right.url, "https://x.test")), { productCouponId, stockId })
      }
    }
  }, { fastCheck: { numRuns: 300 } })

  it.prop("prepare's body is exactly the JSON of Schema.encode(RequestBody)", [validInput], ([input]) => {
    const request = Either.getOrThrow(disassociate.validate(input))
    const viaSchema: unknown = Schema.encodeSync(ProductCoupon.RequestBody)(request)
    const prepared = Either.getOrThrow(disassociate.prepare(request))
    assert.strictEqual(prepared.body._tag, "Uint8Array")
    if (prepared.body._tag !== "Uint8Array") return
    // Byte for byte: same values and same key order.
    assert.strictEqual(new TextDecoder().decode(prepared.body.body), JSON.stringify(viaSchema))
  }, { fastCheck: { numRuns: 100 } })

  it.prop("store lists of 1..200 pass, 0 and 201+ fail", [FastCheck.integer({ min: 0, max: 450 })], ([n]) => {
    const storeList = Array.from({ length: n }, (_, i) => ({ storeId: String(100000000 + i) }))
    const r = disassociate.validate({ ...Scripted.sampleInput, storeList })
    if (n >= 1 && n <= 200) {
      assert.isTrue(Either.isRight(r))
    } else {
      assert.isTrue(Either.isLeft(r) && r.left.field === "storeList")
    }
  }, { fastCheck: { numRuns: 200, examples: [[0], [1], [200], [201]] } })
})

describe("the property inputs", () => {
  it("a pair of arbitrary ids is sendable about half the time, so both halves of the property run", () => {
    const pairs = FastCheck.sample(FastCheck.tuple(anyId, anyId), { numRuns: 2_000, seed: 20261201 })
    const sendable = (id: string) =>
      ProductCoupon.idProblem(id) === undefined && ProductCoupon.pathSegmentProblem(id) === undefined
    const share = pairs.filter(([a, b]) => sendable(a) && sendable(b)).length / pairs.length
    assert.isAbove(share, 0.25)
    assert.isBelow(share, 0.75)
  })
})
