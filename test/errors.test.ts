import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import type * as Endpoint from "../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import { WechatPayError } from "../packages/effect-wechatpay/src/index.js"

// The classes are read from the module itself, so a class added to src is covered here.
const classes: ReadonlyArray<{ readonly name: string }> = Object.values(WechatPayError as Record<string, unknown>).filter(
  (v): v is { readonly name: string } => typeof v === "function" && /Error$/.test(v.name) && Schema.isSchema(v)
)
// Each endpoint's declared table, and the union its service method says it fails with.
const unions: Readonly<Record<keyof typeof endpoints, { readonly members: ReadonlyArray<{ readonly name: string }> }>> = {
  disassociateStores: WechatPayError.DisassociateStoresError,
  associateStores: WechatPayError.AssociateStoresError,
  listAssociatedStores: WechatPayError.ListAssociatedStoresError,
  getStock: WechatPayError.GetStockError,
  associateStockBundleStores: WechatPayError.StockBundleStoresError,
  disassociateStockBundleStores: WechatPayError.StockBundleStoresError
}
const callErrorSchemas = Object.values(unions)

// What any call can end with besides its table's rows (written out here, not read from src).
const callErrors = [
  WechatPayError.RequestValidationError,
  WechatPayError.RequestEncodeError,
  WechatPayError.SigningError,
  WechatPayError.TransportError,
  WechatPayError.TimeoutError,
  WechatPayError.MissingSignatureHeadersError,
  WechatPayError.StaleTimestampError,
  WechatPayError.UnknownSerialError,
  WechatPayError.InvalidSignatureError,
  WechatPayError.SignatureProbeError,
  WechatPayError.UnexpectedResponseError,
  WechatPayError.ResponseDecodeError,
  WechatPayError.NotSentError,
  WechatPayError.RateLimiterError,
  WechatPayError.UnknownApiError
]

describe("the error module", () => {
  it("holds every error class in the WechatPayError union, and only those", () => {
    assert.isAbove(classes.length, 20)
    const members = new Set<unknown>(WechatPayError.WechatPayError.members)
    for (const c of classes) assert.isTrue(members.has(c), `${c.name} is missing from the union`)
    assert.strictEqual(members.size, classes.length)
  })

  it("every error a call can fail with says how it behaves", () => {
    for (const union of callErrorSchemas) {
      for (const member of union.members) {
        const proto = (member as unknown as { prototype: object }).prototype
        const descriptor = Object.getOwnPropertyDescriptor(proto, "behaviour")
        assert.isDefined(descriptor?.get, `${member.name} has no behaviour`)
      }
    }
  })

  it("the guard accepts the library's errors and nothing shaped like them", () => {
    const error = new WechatPayError.TimeoutError({ method: "POST", url: "https://x.test/v3", timeoutMillis: 10 })
    assert.isTrue(WechatPayError.isWechatPayError(error))
    assert.isFalse(WechatPayError.isWechatPayError({ ...error, _tag: "TimeoutError" }))
    assert.isFalse(WechatPayError.isWechatPayError(new Error("TimeoutError")))
    assert.isFalse(WechatPayError.isWechatPayError(undefined))
  })

  it("an endpoint's errors encode to plain data and decode back to the same class", () => {
    const error = new WechatPayError.StockExpiredError({
      status: 400,
      code: "INVALID_REQUEST",
      message: "已过期的批次不可取消关联门店",
      requestId: "R1",
      verified: true
    })
    const encoded = Schema.encodeEither(WechatPayError.DisassociateStoresError)(error)
    assert.isTrue(Either.isRight(encoded))
    const json = JSON.parse(JSON.stringify(Either.getOrThrow(encoded)))
    const decoded = Schema.decodeUnknownEither(WechatPayError.DisassociateStoresError)(json)
    assert.isTrue(Either.isRight(decoded))
    const back = Either.getOrThrow(decoded)
    assert.instanceOf(back, WechatPayError.StockExpiredError)
    assert.deepStrictEqual(back.behaviour, error.behaviour)
    assert.strictEqual(back.behaviour.stopsJob, true)
  })

  it("each endpoint's union is exactly its table's errors and the call errors, nothing its table cannot produce", () => {
    const props = { status: 400, code: "X", message: "m", verified: true }
    for (const [name, endpoint] of Object.entries(endpoints) as ReadonlyArray<[keyof typeof endpoints, Endpoint.Endpoint<any, any, any>]>) {
      const union = unions[name]
      assert.isDefined(union, `${name} has no union in this test`)
      const rows = endpoint.errors.map((row) => (row.make(props) as object).constructor)
      const expected = new Set<unknown>([...rows, ...callErrors])
      const members = new Set<unknown>(union.members)
      for (const c of expected) assert.isTrue(members.has(c), `${name}: ${(c as { name: string }).name} is missing from its union`)
      for (const m of members) assert.isTrue(expected.has(m), `${name}: ${(m as { name: string }).name} cannot come out of its table`)
    }
    // Associate and the bundle variants take disassociate's sub-cases; the reads do not.
    const tags = (u: { readonly members: ReadonlyArray<unknown> }) => new Set(u.members.map((m) => (m as { name: string }).name))
    assert.isTrue(tags(WechatPayError.AssociateStoresError).has("StockScopeNotSpecificError"))
    assert.isTrue(tags(WechatPayError.StockBundleStoresError).has("StockExpiredError"))
    assert.isFalse(tags(WechatPayError.StockBundleStoresError).has("StockNotFoundError"))
    assert.isFalse(tags(WechatPayError.GetStockError).has("StockExpiredError"))
    assert.isTrue(tags(WechatPayError.GetStockError).has("StockNotFoundError"))
  })
})
