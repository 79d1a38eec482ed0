// The sandbox's rules and state, through the in-memory HttpClient and this library's client.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Redacted, TestClock } from "effect"
import * as NodeCrypto from "node:crypto"
import { KeyStore, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import * as Authorization from "../packages/effect-wechatpay/src/internal/Authorization.js"
import { FakeWechatPay, SandboxHttpClient } from "../packages/effect-wechatpay/src/testing/index.js"
import { body, disassociate, endpointPath, F, inMemory, keys } from "./sandbox-support.js"
import { post } from "./support/Requests.js"

const M = FakeWechatPay.MESSAGES
const s = FakeWechatPay.storeId

/** Expects a WechatPayApiError with exactly these fields. */
const expectApiError = <A, E extends { readonly _tag: string }, R>(
  effect: Effect.Effect<A, E, R>,
  expected: { status: number; code: string; message: string; verified: boolean }
) =>
  Effect.gen(function*() {
    const result = yield* Effect.either(effect)
    assert.isTrue(Either.isLeft(result), "expected a failure")
    if (Either.isRight(result)) return
    const error = result.left as unknown as Record<string, unknown>
    assert.strictEqual(error["_tag"], "WechatPayApiError")
    assert.deepStrictEqual(
      { status: error["status"], code: error["code"], message: error["message"], verified: error["verified"] },
      expected
    )
    assert.isString(error["requestId"])
  })

describe("sandbox rules: success and state", () => {
  it.effect("disassociates associated stores, verified, and they are no longer associated", () => {
    const { fake, layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 50 }) })
    return Effect.gen(function*() {
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
      const { json, requestId } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0), s(1), s(2)]))
      assert.deepStrictEqual(json, {
        total_count: 3,
        success_store_list: [{ store_id: s(0) }, { store_id: s(1) }, { store_id: s(2) }]
      })
      assert.isString(requestId)
      for (const i of [0, 1, 2]) assert.isFalse(fake.isAssociated(F.stockId, s(i)))
      assert.isTrue(fake.isAssociated(F.stockId, s(3)))
      assert.strictEqual(fake.associatedCount(F.stockId), 47)
      const entry = fake.log[0]!
      assert.deepStrictEqual(
        { processed: entry.processed, status: entry.status, changed: entry.changedStores, stock: entry.stockId },
        { processed: true, status: 200, changed: [s(0), s(1), s(2)], stock: F.stockId }
      )
      assert.strictEqual(entry.requestId, requestId)
    }).pipe(Effect.provide(layer))
  })

  it.effect("de-duplicates: total_count is the distinct count and each store is reported once", () => {
    const { fake, layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 20 }) })
    return Effect.gen(function*() {
      const ids = [s(5), s(5), s(6), "999999999", s(5), "999999999", s(6)]
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, ids))
      assert.strictEqual(json["total_count"], 3)
      assert.deepStrictEqual(json["success_store_list"], [{ store_id: s(5) }, { store_id: s(6) }])
      assert.deepStrictEqual(json["failed_store_list"], [
        { store_id: "999999999", code: "INVALID_REQUEST", message: M.storeInvalid }
      ])
      assert.deepStrictEqual(fake.log[0]!.changedStores, [s(5), s(6)])
    }).pipe(Effect.provide(layer))
  })

  it.effect("a repeated call succeeds again without changing anything (documented choice)", () => {
    const { fake, layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 20 }) })
    return Effect.gen(function*() {
      const payload = body(F.brandId, [s(1), s(2)])
      const first = yield* disassociate(F.productCouponId, F.stockId, payload)
      const second = yield* disassociate(F.productCouponId, F.stockId, payload)
      assert.deepStrictEqual(second.json, first.json)
      assert.deepStrictEqual(fake.log.map((e) => e.changedStores), [[s(1), s(2)], []])
      assert.strictEqual(fake.associatedCount(F.stockId), 18)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a store of the brand that was never associated is a success, with no change", () => {
    const { fake, layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 10, associated: 5 }) })
    return Effect.gen(function*() {
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(7), s(0)]))
      assert.deepStrictEqual(json, { total_count: 2, success_store_list: [{ store_id: s(7) }, { store_id: s(0) }] })
      assert.deepStrictEqual(fake.log[0]!.changedStores, [s(0)])
    }).pipe(Effect.provide(layer))
  })

  it.effect("notAssociated: \"failed\" reports not-associated stores as failures instead", () => {
    const { layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 10, associated: 5 }), notAssociated: "failed" })
    return Effect.gen(function*() {
      yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)]))
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0), s(7), s(1)]))
      assert.deepStrictEqual(json, {
        total_count: 3,
        success_store_list: [{ store_id: s(1) }],
        failed_store_list: [
          { store_id: s(0), code: "INVALID_REQUEST", message: M.storeNotAssociated },
          { store_id: s(7), code: "INVALID_REQUEST", message: M.storeNotAssociated }
        ]
      })
    }).pipe(Effect.provide(layer))
  })

  it.effect("stores of another brand or unknown ones fail with the page's code and message; the rest succeed", () => {
    const { fake, layer } = inMemory({ emptyLists: "include" })
    return Effect.gen(function*() {
      const other = FakeWechatPay.otherBrandStoreId(0)
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [other, "unknown-1", s(3)]))
      assert.deepStrictEqual(json, {
        total_count: 3,
        success_store_list: [{ store_id: s(3) }],
        failed_store_list: [
          { store_id: other, code: "INVALID_REQUEST", message: M.storeInvalid },
          { store_id: "unknown-1", code: "INVALID_REQUEST", message: M.storeInvalid }
        ]
      })
      assert.isTrue(fake.isAssociated(F.otherBrandStockId, other))
      // emptyLists: "include" sends [] rather than leaving a list out.
      const again = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, ["unknown-2"]))
      assert.deepStrictEqual(again.json["success_store_list"], [])
    }).pipe(Effect.provide(layer))
  })

  it.effect("plain-data seeds work, and a stock expires when the clock reaches the end of its window", () => {
    const { fake, layer } = inMemory({
      seed: {
        brands: [{ brandId: "b1", storeIds: ["x1", "x2", "x3"] }],
        productCoupons: [{
          productCouponId: "c1",
          brandId: "b1",
          stocks: [{ stockId: "k1", availableEndMillis: 60_000, associatedStoreIds: ["x1", "x2", "x3"] }]
        }]
      }
    })
    return Effect.gen(function*() {
      const { json } = yield* disassociate("c1", "k1", body("b1", ["x1"]))
      assert.deepStrictEqual(json, { total_count: 1, success_store_list: [{ store_id: "x1" }] })
      yield* TestClock.adjust("60 seconds")
      yield* expectApiError(disassociate("c1", "k1", body("b1", ["x2"])), {
        status: 400,
        code: "INVALID_REQUEST",
        message: M.stockExpired,
        verified: true
      })
      assert.isTrue(fake.isAssociated("k1", "x2"))
    }).pipe(Effect.provide(layer))
  })

  it.effect("the generator scales: 100,000 associated stores, one call of 200", () => {
    const { fake, layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 100_000 }) })
    return Effect.gen(function*() {
      assert.strictEqual(fake.associatedCount(F.stockId), 100_000)
      const ids = Array.from({ length: 200 }, (_, i) => s(99_800 + i))
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, ids))
      assert.strictEqual(json["total_count"], 200)
      assert.strictEqual(fake.associatedCount(F.stockId), 99_800)
    }).pipe(Effect.provide(layer))
  })
})

describe("sandbox rules: documented errors through WechatPayClient.execute", () => {
  const rows: ReadonlyArray<{
    name: string
    coupon: string
    stock: string
    payload: unknown
    status: number
    code: string
    message: string
  }> = [
    {
      name: "more than 200 stores",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: body(F.brandId, Array.from({ length: 201 }, (_, i) => s(i))),
      status: 400,
      code: "PARAM_ERROR",
      message: "单次最多可批量取消200个门店"
    },
    {
      name: "missing brand_id",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: { store_list: [{ store_id: s(0) }] },
      status: 400,
      code: "PARAM_ERROR",
      message: "brand_id 为必填参数"
    },
    {
      name: "empty store_list",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: body(F.brandId, []),
      status: 400,
      code: "PARAM_ERROR",
      message: "store_list 为必填参数"
    },
    {
      name: "a store entry without store_id",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: { brand_id: F.brandId, store_list: [{ store_id: s(0) }, { id: 1 }] },
      status: 400,
      code: "PARAM_ERROR",
      message: "store_id 为必填参数"
    },
    {
      name: "expired stock",
      coupon: F.productCouponId,
      stock: F.expiredStockId,
      payload: body(F.brandId, [s(0)]),
      status: 400,
      code: "INVALID_REQUEST",
      message: M.stockExpired
    },
    {
      name: "store_scope ALL",
      coupon: F.productCouponId,
      stock: F.allScopeStockId,
      payload: body(F.brandId, [s(0)]),
      status: 400,
      code: "INVALID_REQUEST",
      message: M.stockNotSpecific
    },
    {
      name: "store_scope NONE",
      coupon: F.productCouponId,
      stock: F.noneScopeStockId,
      payload: body(F.brandId, [s(0)]),
      status: 400,
      code: "INVALID_REQUEST",
      message: M.stockNotSpecific
    },
    {
      name: "PROGRESSIVE_BUNDLE coupon (documented choice)",
      coupon: F.bundleProductCouponId,
      stock: F.bundleStockId,
      payload: body(F.brandId, [s(0)]),
      status: 400,
      code: "INVALID_REQUEST",
      message: M.progressiveBundle
    },
    {
      name: "brand not authorized",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: body(F.unauthorizedBrandId, [s(0)]),
      status: 403,
      code: "NO_AUTH",
      message: M.noAuth
    },
    {
      name: "unknown brand",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: body("777777", [s(0)]),
      status: 403,
      code: "NO_AUTH",
      message: M.noAuth
    },
    {
      name: "unknown product coupon",
      coupon: "299999999",
      stock: F.stockId,
      payload: body(F.brandId, [s(0)]),
      status: 404,
      code: "NOT_FOUND",
      message: M.productCouponNotFound
    },
    {
      name: "product coupon of another brand",
      coupon: F.otherBrandProductCouponId,
      stock: F.otherBrandStockId,
      payload: body(F.brandId, [s(0)]),
      status: 404,
      code: "NOT_FOUND",
      message: M.productCouponNotFound
    },
    {
      name: "unknown stock",
      coupon: F.productCouponId,
      stock: "199999999",
      payload: body(F.brandId, [s(0)]),
      status: 404,
      code: "NOT_FOUND",
      message: M.stockNotFound
    },
    {
      name: "stock of another coupon",
      coupon: F.productCouponId,
      stock: F.bundleStockId,
      payload: body(F.brandId, [s(0)]),
      status: 404,
      code: "NOT_FOUND",
      message: M.stockNotFound
    }
  ]
  for (const row of rows) {
    it.effect(`${row.name} → ${row.status} ${row.code}, signed, nothing changes`, () => {
      const { fake, layer } = inMemory({ seed: FakeWechatPay.generate({ stores: 300 }) })
      return Effect.gen(function*() {
        yield* expectApiError(disassociate(row.coupon, row.stock, row.payload), {
          status: row.status,
          code: row.code,
          message: row.message,
          verified: true
        })
        assert.strictEqual(fake.associatedCount(F.stockId), 300)
        assert.deepStrictEqual(fake.log.map((e) => [e.processed, e.changedStores.length]), [[false, 0]])
      }).pipe(Effect.provide(layer))
    })
  }

  it.effect("a malformed body → 400 PARAM_ERROR with a detail", () => {
    const { layer } = inMemory()
    const text = "{\"brand_id\":\"120344\",\"store_list\":["
    const prepared = post(endpointPath(F.productCouponId, F.stockId), text)
    return Effect.gen(function*() {
      const client = yield* WechatPayClient.WechatPayClient
      const error = yield* Effect.flip(client.execute(prepared))
      assert.strictEqual(error._tag, "WechatPayApiError")
      if (error._tag !== "WechatPayApiError") return
      assert.deepStrictEqual([error.status, error.code, error.verified], [400, "PARAM_ERROR", true])
      assert.deepStrictEqual(error.detail, { field: "/", location: "body", issue: "body is not JSON" })
    }).pipe(Effect.provide(layer))
  })

  it.effect("rate limit: 20 per second by default, then 429 RATELIMIT_EXCEEDED until the window slides", () => {
    const { layer } = inMemory()
    return Effect.gen(function*() {
      const call = disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)]))
      for (let i = 0; i < 20; i++) yield* call
      yield* expectApiError(call, { status: 429, code: "RATELIMIT_EXCEEDED", message: M.rateLimited, verified: true })
      yield* TestClock.adjust("999 millis")
      yield* expectApiError(call, { status: 429, code: "RATELIMIT_EXCEEDED", message: M.rateLimited, verified: true })
      yield* TestClock.adjust("1 millis")
      yield* call
    }).pipe(Effect.provide(layer))
  })

  it.effect("rate limit is configurable and can be turned off", () => {
    const { fake, layer } = inMemory({ rateLimit: 2 })
    return Effect.gen(function*() {
      const call = disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)]))
      yield* call
      yield* call
      yield* expectApiError(call, { status: 429, code: "RATELIMIT_EXCEEDED", message: M.rateLimited, verified: true })
      yield* fake.setRateLimit(false)
      for (let i = 0; i < 30; i++) yield* call
      assert.strictEqual(fake.log.filter((e) => e.status === 429).length, 1)
    }).pipe(Effect.provide(layer))
  })
})

// Requests built by hand, to reach the checks this library's client never trips.
const handBuilt = (
  overrides: {
    headers?: Record<string, string | undefined>
    timestamp?: number
    mchid?: string
    serial?: string
    corrupt?: boolean
    target?: string
  } = {}
): FakeWechatPay.Request => {
  const target = overrides.target ?? endpointPath(F.productCouponId, F.stockId)
  const bodyText = JSON.stringify(body(F.brandId, [s(0)]))
  const timestamp = String(overrides.timestamp ?? Math.floor(Date.now() / 1000))
  const nonce = Authorization.randomNonce()
  const key = NodeCrypto.createPrivateKey(Redacted.value(keys.merchantPrivateKeyPem))
  let signature = NodeCrypto.sign(
    "sha256",
    Authorization.requestMessage("POST", target, timestamp, nonce, new TextEncoder().encode(bodyText)),
    key
  ).toString("base64")
  if (overrides.corrupt === true) signature = FakeWechatPay.flipFirstByte(signature)
  const authorization = Authorization.format({
    mchid: overrides.mchid ?? keys.mchid,
    nonce,
    signature,
    timestamp,
    serialNo: overrides.serial ?? keys.merchantSerialNo
  })
  return {
    endpoint: "primary",
    method: "POST",
    target,
    bodyText,
    headers: {
      accept: "application/json",
      "user-agent": "hand-built/1.0",
      "content-type": "application/json",
      authorization,
      ...overrides.headers
    }
  }
}

const decode = (outcome: FakeWechatPay.Outcome) => {
  assert.strictEqual(outcome._tag, "Respond")
  if (outcome._tag !== "Respond") return { status: 0, json: {}, headers: {} as Record<string, string> }
  return {
    status: outcome.status,
    json: JSON.parse(new TextDecoder().decode(outcome.body)) as Record<string, unknown>,
    headers: outcome.headers
  }
}

describe("sandbox rules: authentication and headers", () => {
  const now = Date.now()
  const fresh = () => FakeWechatPay.makeWith(keys, { rateLimit: false })

  it("a correct hand-built request is accepted and answered in public-key mode", () => {
    const { status, headers } = decode(fresh().handle(handBuilt(), now))
    assert.strictEqual(status, 200)
    assert.strictEqual(headers["wechatpay-serial"], keys.wechatpayPublicKeyId)
    assert.match(headers["wechatpay-serial"]!, /^PUB_KEY_ID_/)
    for (const h of ["request-id", "wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature"]) {
      assert.isString(headers[h], h)
    }
  })

  const signErrors: ReadonlyArray<[string, Parameters<typeof handBuilt>[0], string]> = [
    ["a signature off by one byte", { corrupt: true }, "签名错误，请检查后再试"],
    ["another mchid", { mchid: "1900000999" }, "Http头Authorization中的mchid与商户号不匹配"],
    ["another serial", { serial: "0000000000000000000000000000000000000000" }, "商户证书序列号有误。请使用签名私钥匹配的证书序列号"],
    ["a timestamp 301 s old", { timestamp: Math.floor(now / 1000) - 301 }, "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"],
    ["a timestamp 301 s ahead", { timestamp: Math.floor(now / 1000) + 301 }, "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"],
    ["no Authorization", { headers: { authorization: undefined } }, "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"]
  ]
  for (const [name, overrides, message] of signErrors) {
    it(`${name} → 401 SIGN_ERROR, unsigned, with a Request-ID, nothing processed`, () => {
      const fake = fresh()
      const { status, json, headers } = decode(fake.handle(handBuilt(overrides), now))
      assert.deepStrictEqual([status, json["code"], json["message"]], [401, "SIGN_ERROR", message])
      assert.isString(headers["request-id"])
      assert.isUndefined(headers["wechatpay-signature"])
      assert.isFalse(fake.log[0]!.processed)
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
    })
  }

  it("a timestamp 299 s old is still accepted", () => {
    const { status } = decode(fresh().handle(handBuilt({ timestamp: Math.floor(now / 1000) - 299 }), now))
    assert.strictEqual(status, 200)
  })

  for (const missing of ["accept", "user-agent"]) {
    it(`no ${missing} → 400 INVALID_REQUEST, signed`, () => {
      const { status, json, headers } = decode(fresh().handle(handBuilt({ headers: { [missing]: undefined } }), now))
      assert.deepStrictEqual([status, json["code"], json["message"]], [400, "INVALID_REQUEST", "Http头缺少Accept或User-Agent"])
      assert.isString(headers["wechatpay-signature"])
    })
  }

  it("a Wechatpay-Serial request header naming an unknown key → 400 INVALID_REQUEST (documented choice)", () => {
    const { status, json } = decode(fresh().handle(handBuilt({ headers: { "wechatpay-serial": "PUB_KEY_ID_0000" } }), now))
    assert.deepStrictEqual([status, json["code"], json["message"]], [400, "INVALID_REQUEST", M.badWechatpaySerial])
  })

  it("an unknown path → 404 NOT_FOUND; a signature over another target → 401 (signing is checked first)", () => {
    const { status, json } = decode(fresh().handle(handBuilt({ target: "/v3/nothing/here" }), now))
    assert.deepStrictEqual([status, json["code"], json["message"]], [404, "NOT_FOUND", M.resourceNotFound])
    const moved = { ...handBuilt(), target: "/v3/nothing/here" }
    assert.deepStrictEqual(decode(fresh().handle(moved, now)).status, 401)
  })
})

describe("SandboxHttpClient.layerSandbox", () => {
  it.effect("one layer gives the fake, the in-memory HttpClient and a MerchantConfig that trusts it", () =>
    Effect.gen(function*() {
      const fake = yield* FakeWechatPay.FakeWechatPay
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)]))
      assert.deepStrictEqual(json, { total_count: 1, success_store_list: [{ store_id: s(0) }] })
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
      assert.strictEqual(fake.log[0]!.endpoint, "primary")
    }).pipe(
      Effect.provide(
        WechatPayClient.layerServices.pipe(
          Layer.provide(Signer.layer.pipe(Layer.provideMerge(KeyStore.layer))),
          Layer.provideMerge(SandboxHttpClient.layerSandbox({ keys, seed: FakeWechatPay.generate({ stores: 5 }) }))
        )
      )
    ))
})
