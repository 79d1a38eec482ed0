import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Fiber, Layer, Redacted, TestClock, type Tracer } from "effect"
import { ProductCouponStores, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const { keys, sampleInput } = Scripted

const callWith = <E>(layer: Layer.Layer<ProductCouponStores.ProductCouponStores, E>) =>
  Effect.gen(function*() {
    const service = yield* ProductCouponStores.ProductCouponStores
    return yield* service.disassociateStores(sampleInput)
  }).pipe(Effect.provide(layer), Effect.either)

describe("layers", () => {
  it.effect("layer(options) composes with WechatPayClient.layer", () =>
    Effect.gen(function*() {
      const fake = Scripted.make([Scripted.ok()])
      const live = ProductCouponStores.layer({ rateLimit: false }).pipe(
        Layer.provide(WechatPayClient.layer(Scripted.merchantOptions)),
        Layer.provide(fake.layer)
      )
      const result = yield* callWith(live)
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(fake.requests.length, 1)
    }))

  it.effect("layerConfig reads WECHATPAY_* through the ConfigProvider and needs only HttpClient", () =>
    Effect.gen(function*() {
      const fake = Scripted.make([Scripted.ok()])
      const env = ConfigProvider.fromMap(
        new Map([
          ["WECHATPAY_MCHID", keys.mchid],
          ["WECHATPAY_MERCHANT_SERIAL_NO", keys.merchantSerialNo],
          ["WECHATPAY_PRIVATE_KEY", Redacted.value(keys.merchantPrivateKeyPem)],
          ["WECHATPAY_PUBLIC_KEY_ID", keys.wechatpayPublicKeyId],
          ["WECHATPAY_PUBLIC_KEY", keys.wechatpayPublicKeyPem]
        ])
      )
      const live = ProductCouponStores.layerConfig({ rateLimit: false }).pipe(
        Layer.provide(fake.layer),
        Layer.provide(Layer.setConfigProvider(env))
      )
      const result = yield* callWith(live)
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(fake.requests[0]!.url.origin, "https://api.mch.weixin.qq.com")
    }))
})

describe("tracing", () => {
  it.effect("one span per call with ids, store count, attempts and request id; no secrets", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Scripted.NOW * 1000)
      const fake = Scripted.make([Scripted.apiError(429, "RATELIMIT_EXCEEDED", "请求超过接口频率限制"), Scripted.ok()])
      const spans: Array<Tracer.Span> = []
      const fiber = yield* Effect.gen(function*() {
        const service = yield* ProductCouponStores.ProductCouponStores
        return yield* service.disassociateStores(sampleInput)
      }).pipe(
        Effect.provideService(ProductCouponStores.AttemptObserver, {
          onAttempt: () =>
            Effect.map(Effect.option(Effect.currentSpan), (span) => {
              if (span._tag === "Some") spans.push(span.value)
            })
        }),
        Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false })),
        Effect.fork
      )
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      assert.strictEqual(spans.length, 2)
      assert.strictEqual(spans[0], spans[1], "both attempts belong to the same call span")
      const span = spans[0]!
      assert.strictEqual(span.name, "ProductCouponStores.disassociateStores")
      assert.strictEqual(span.status._tag, "Ended")
      const attributes = Object.fromEntries(span.attributes)
      assert.deepStrictEqual(
        {
          pc: attributes["wechatpay.product_coupon_id"],
          stock: attributes["wechatpay.stock_id"],
          brand: attributes["wechatpay.brand_id"],
          stores: attributes["wechatpay.store_count"],
          attempts: attributes["wechatpay.attempts"],
          requestId: attributes["wechatpay.request_id"]
        },
        { pc: "200000001", stock: "123456789", brand: "120344", stores: 1, attempts: 2, requestId: "REQ-OK" }
      )
      const text = JSON.stringify(attributes)
      assert.notInclude(text, "WECHATPAY2-SHA256")
      assert.notInclude(text, "PRIVATE KEY")
      assert.notInclude(text, fake.requests[0]!.headers["authorization"]!.slice(-40))
    }))
})
