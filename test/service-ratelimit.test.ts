import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Fiber, Layer, TestClock } from "effect"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const { sampleInput } = Scripted
const T0 = Scripted.NOW * 1000

const service = (fake: Scripted.Scripted, options: ProductCouponStores.Options) =>
  Effect.map(Layer.build(Scripted.serviceLayer(fake, options)), Context.get(ProductCouponStores.ProductCouponStores))

/** Largest number of requests inside any half-open window [t, t + width). */
const busiestWindow = (offsets: ReadonlyArray<number>, width: number) =>
  Math.max(...offsets.map((t) => offsets.filter((u) => u >= t && u < t + width).length))

describe("client-side rate limit", () => {
  it.scoped("100 concurrent calls go out at 20/s: 50 ms apart, never more than 20 in a second", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make(() => Scripted.ok())
      const stores = yield* service(fake, {})
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 100 }, () => sampleInput), stores.disassociateStores, {
          concurrency: "unbounded"
        })
      )
      yield* TestClock.adjust("10 seconds")
      const results = yield* Fiber.join(fiber)
      assert.strictEqual(results.length, 100)
      const offsets = fake.requests.map((r) => r.atMillis - T0).sort((a, b) => a - b)
      assert.strictEqual(offsets.length, 100)
      for (let i = 1; i < offsets.length; i++) assert.isAtLeast(offsets[i]! - offsets[i - 1]!, 50)
      // Every 20th permit also waits out the sliding window's guard.
      const guard = ProductCouponStores.WINDOW_GUARD_MILLIS
      assert.deepStrictEqual(offsets, Array.from({ length: 100 }, (_, i) => i * 50 + Math.floor(i / 20) * guard))
      assert.isAtMost(busiestWindow(offsets, 1000), 20)
      for (const r of fake.requests) assert.isUndefined(r.rejection)
    }))

  it.scoped("one quota: every endpoint of the service takes its permits from the same limiter", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make(() => Scripted.ok())
      const stores = yield* service(fake, {})
      const calls = [stores.disassociateStores, stores.associateStores, stores.disassociateStores, stores.associateStores]
      const fiber = yield* Effect.fork(Effect.all(calls.map((call) => call(sampleInput)), { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      // With a limiter per endpoint, the first call of each would go out at once.
      assert.deepStrictEqual(fake.requests.map((r) => r.atMillis - T0).sort((a, b) => a - b), [0, 50, 100, 150])
      assert.strictEqual(fake.requests.filter((r) => r.url.pathname.endsWith("/associate-stores")).length, 2)
    }))

  it.scoped("retries take a permit too", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make([Scripted.apiError(429, "RATELIMIT_EXCEEDED", "请求超过接口频率限制"), Scripted.ok()])
      const stores = yield* service(fake, { rateLimit: { limit: 1, interval: "10 seconds" }, retry: { jitter: 0 } })
      const fiber = yield* Effect.fork(stores.disassociateStores(sampleInput))
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(fake.requests.length, 1, "the 500 ms backoff is over, but no permit yet")
      const guard = ProductCouponStores.WINDOW_GUARD_MILLIS
      yield* TestClock.adjust(1_000 + guard)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(fake.requests.map((r) => r.atMillis - T0), [0, 10_000 + guard])
    }))

  it.scoped("the rate can be changed, or turned off", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const slow = Scripted.make(() => Scripted.ok())
      const slowStores = yield* service(slow, { rateLimit: { limit: 5, interval: "1 second" } })
      const off = Scripted.make(() => Scripted.ok())
      const offStores = yield* service(off, { rateLimit: false })
      const inputs = Array.from({ length: 10 }, () => sampleInput)
      const fiber = yield* Effect.fork(
        Effect.all([
          Effect.forEach(inputs, slowStores.disassociateStores, { concurrency: "unbounded" }),
          Effect.forEach(inputs, offStores.disassociateStores, { concurrency: "unbounded" })
        ], { concurrency: "unbounded" })
      )
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(
        slow.requests.map((r) => r.atMillis - T0),
        Array.from({ length: 10 }, (_, i) => i * 200 + Math.floor(i / 5) * ProductCouponStores.WINDOW_GUARD_MILLIS)
      )
      assert.deepStrictEqual(off.requests.map((r) => r.atMillis - T0), Array.from({ length: 10 }, () => 0))
    }))

  it.effect("a non-positive rate is a ConfigurationError when the layer is built", () =>
    Effect.gen(function*() {
      const fake = Scripted.make([])
      const result = yield* Effect.either(Layer.build(Scripted.serviceLayer(fake, { rateLimit: { limit: 0 } })).pipe(Effect.scoped))
      assert.isTrue(Either.isLeft(result) && result.left._tag === "ConfigurationError")
    }))
})
