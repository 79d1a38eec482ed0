import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { WechatPayError } from "../packages/effect-wechatpay/src/index.js"

// The classes are read from the module itself, so a class added to src is covered here.
const classes: ReadonlyArray<{ readonly name: string }> = Object.values(WechatPayError as Record<string, unknown>).filter(
  (v): v is { readonly name: string } => typeof v === "function" && /Error$/.test(v.name) && Schema.isSchema(v)
)
const callErrorSchemas = [WechatPayError.DisassociateStoresError, WechatPayError.AssociateStoresError]

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

  it("associateStores' union holds no error its unknown table could not produce", () => {
    const tags = new Set(WechatPayError.AssociateStoresError.members.map((m) => m.name))
    assert.isFalse(tags.has("StockExpiredError"))
    assert.isTrue(tags.has("UnknownApiError"))
    assert.isTrue(tags.has("RateLimitExceededError"))
  })
})
