// The per-attempt timeout on the real clock. Under a TestClock the service uses
// Effect.timeoutFail (see service-retry); on the live clock it uses its own
// one-fiber timer, which must time out, interrupt the attempt, and let a caller
// interrupt it — checked here in real time, with short durations.
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, Layer } from "effect"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

/** A transport that never answers, and records when an attempt starts and is interrupted. */
const hangingTransport = () => {
  const state = { started: 0, interrupted: 0 }
  const client = HttpClient.make(() =>
    Effect.sync(() => state.started++).pipe(
      Effect.zipRight(Effect.never),
      Effect.onInterrupt(() => Effect.sync(() => state.interrupted++))
    )
  )
  return { state, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

const service = (transport: Layer.Layer<HttpClient.HttpClient>, options: ProductCouponStores.Options) =>
  ProductCouponStores.layerMerchant(Scripted.merchantOptions, { rateLimit: false, failover: false, ...options }).pipe(
    Layer.provide(transport)
  )

describe("per-attempt timeout on the live clock", () => {
  it.live("a hanging attempt fails with TimeoutError after the timeout, and the attempt is interrupted", () =>
    Effect.gen(function*() {
      const { layer, state } = hangingTransport()
      const started = Date.now()
      const result = yield* Effect.either(
        Effect.flatMap(ProductCouponStores.ProductCouponStores, (s) => s.disassociateStores(Scripted.sampleInput)).pipe(
          Effect.provide(service(layer, { timeout: "80 millis", retry: false }))
        )
      )
      const elapsed = Date.now() - started
      assert.isTrue(Either.isLeft(result) && result.left._tag === "TimeoutError", String(result))
      if (Either.isLeft(result) && result.left._tag === "TimeoutError") assert.strictEqual(result.left.timeoutMillis, 80)
      assert.isAtLeast(elapsed, 75)
      assert.isBelow(elapsed, 5_000)
      assert.deepStrictEqual(state, { started: 1, interrupted: 1 })
    }))

  it.live("each retry gets its own timeout", () =>
    Effect.gen(function*() {
      const { layer, state } = hangingTransport()
      const result = yield* Effect.either(
        Effect.flatMap(ProductCouponStores.ProductCouponStores, (s) => s.disassociateStores(Scripted.sampleInput)).pipe(
          Effect.provide(service(layer, { timeout: "30 millis", retry: { maxTransientRetries: 2, baseDelay: "1 millis", jitter: 0 } }))
        )
      )
      assert.isTrue(Either.isLeft(result) && result.left._tag === "TimeoutError")
      assert.deepStrictEqual(state, { started: 3, interrupted: 3 })
    }))

  it.live("interrupting the caller interrupts the attempt in flight and stops its timer", () =>
    Effect.gen(function*() {
      const { layer, state } = hangingTransport()
      const fiber = yield* Effect.flatMap(ProductCouponStores.ProductCouponStores, (s) =>
        s.disassociateStores(Scripted.sampleInput)).pipe(
          Effect.provide(service(layer, { timeout: "10 seconds", retry: false })),
          Effect.fork
        )
      // Wait until the transport has the request, then interrupt the caller.
      while (state.started === 0) yield* Effect.sleep("5 millis")
      const started = Date.now()
      const exit = yield* Fiber.interrupt(fiber)
      assert.isBelow(Date.now() - started, 1_000, "the interrupt did not wait for the 10 s timer")
      assert.isTrue(exit._tag === "Failure")
      assert.deepStrictEqual(state, { started: 1, interrupted: 1 })
    }))
})
