import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import * as Endpoint from "../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const { sampleInput } = Scripted
const disassociate = Endpoint.compile(endpoints.disassociateStores)
const stores = (n: number) => Array.from({ length: n }, (_, i) => ({ storeId: `S${i}` }))

/** Calls the service; returns the error (if any) and how many requests reached the fake. */
const attempt = (input: ProductCouponStores.DisassociateStoresInput) =>
  Effect.gen(function*() {
    const fake = Scripted.make(() => Scripted.ok())
    const result = yield* Effect.gen(function*() {
      const service = yield* ProductCouponStores.ProductCouponStores
      return yield* Effect.either(service.disassociateStores(input))
    }).pipe(Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false })))
    return { result, sent: fake.requests }
  })

const rejected: ReadonlyArray<readonly [string, ProductCouponStores.DisassociateStoresInput, string, RegExp]> = [
  ["empty product coupon id", { ...sampleInput, productCouponId: "" }, "productCouponId", /empty/],
  ["whitespace-only stock id", { ...sampleInput, stockId: " \t\u3000" }, "stockId", /control|blank/],
  ["blank brand id", { ...sampleInput, brandId: "   " }, "brandId", /blank/],
  ["CR/LF in the brand id", { ...sampleInput, brandId: "120344\r\nX-Evil: 1" }, "brandId", /control characters/],
  ["a C1 control", { ...sampleInput, stockId: "1\u0085" }, "stockId", /control characters/],
  ["DEL", { ...sampleInput, productCouponId: "1\u007f" }, "productCouponId", /control characters/],
  ["an emoji (4-byte UTF-8)", { ...sampleInput, brandId: "品牌😀" }, "brandId", /Basic Multilingual Plane/],
  ["a lone surrogate", { ...sampleInput, productCouponId: "a\uD800b" }, "productCouponId", /lone UTF-16 surrogate/],
  ["a lone low surrogate", { ...sampleInput, brandId: "\uDC00" }, "brandId", /lone UTF-16 surrogate/],
  ["a '.' path id", { ...sampleInput, productCouponId: "." }, "productCouponId", /dot segment/],
  ["a '..' path id", { ...sampleInput, stockId: ".." }, "stockId", /dot segment/],
  ["no stores", { ...sampleInput, storeList: [] }, "storeList", /1 to 200 stores \(got 0\)/],
  ["201 stores", { ...sampleInput, storeList: stores(201) }, "storeList", /1 to 200 stores \(got 201\)/],
  [
    "a bad store id, by position",
    { ...sampleInput, storeList: [...stores(3), { storeId: "\n" }] },
    "storeList[3].storeId",
    /control characters/
  ]
]

describe("validation happens before anything is signed or sent", () => {
  for (const [name, input, field, reason] of rejected) {
    it.effect(`${name} → RequestValidationError(${field})`, () =>
      Effect.gen(function*() {
        const { result, sent } = yield* attempt(input)
        assert.strictEqual(sent.length, 0)
        assert.isTrue(Either.isLeft(result) && result.left._tag === "RequestValidationError")
        if (Either.isLeft(result) && result.left._tag === "RequestValidationError") {
          assert.strictEqual(result.left.field, field)
          assert.match(result.left.reason, reason)
          if (field.startsWith("storeList[")) assert.strictEqual(result.left.index, 3)
        }
      }))
  }

  it.effect("'.' and '..' are fine where they are not path segments, and 200 stores pass", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* attempt({
        ...sampleInput,
        brandId: "..",
        storeList: [{ storeId: "." }, ...stores(199)]
      })
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(sent.length, 1)
      assert.strictEqual(JSON.parse(sent[0]!.bodyText).store_list.length, 200)
    }))

  it.effect("ids with / ? # % .. stay inside their path segment, and the encoded path is what is signed", () =>
    Effect.gen(function*() {
      const { result, sent } = yield* attempt({ ...sampleInput, productCouponId: "../a/b?c#d%2e", stockId: "门店 ..%" })
      assert.isTrue(Either.isRight(result))
      const url = sent[0]!.url
      assert.strictEqual(url.search, "")
      assert.strictEqual(url.hash, "")
      const segments = url.pathname.split("/")
      assert.strictEqual(segments.length, 10)
      assert.strictEqual(decodeURIComponent(segments[6]!), "../a/b?c#d%2e")
      assert.strictEqual(decodeURIComponent(segments[8]!), "门店 ..%")
      assert.strictEqual(segments[9], endpoints.disassociateStores.path.split("/")[9])
      // The fake verified the signature over exactly this encoded path.
      assert.isUndefined(sent[0]!.rejection)
    }))

  it("validate accepts unknown input and names what is structurally wrong", () => {
    const notAnArray: unknown = { ...sampleInput, storeList: "S1" }
    const r = disassociate.validate(notAnArray)
    assert.isTrue(Either.isLeft(r) && r.left.field === "storeList")
    const missing: unknown = { productCouponId: "1", stockId: "2", storeList: [{ storeId: "3" }] }
    const m = disassociate.validate(missing)
    assert.isTrue(Either.isLeft(m) && m.left.field === "brandId")
    const nothing = disassociate.validate(null)
    assert.isTrue(Either.isLeft(nothing) && nothing.left.field === "request")
  })

  it("unknown extra input fields are not sent", () => {
    const r = disassociate.validate({ ...sampleInput, extra: "x", storeList: [{ storeId: "1", note: "y" }] })
    assert.isTrue(Either.isRight(r))
    if (Either.isRight(r)) {
      const request = Either.getOrThrow(disassociate.prepare(r.right))
      assert.strictEqual(request.body._tag, "Uint8Array")
      if (request.body._tag === "Uint8Array") {
        assert.strictEqual(new TextDecoder().decode(request.body.body), `{"store_list":[{"store_id":"1"}],"brand_id":"120344"}`)
      }
    }
  })
})
