// Options as plain JavaScript may pass them: every one that cannot work is a ConfigurationError naming it, before
// anything is sent, never a defect and never a silent zero. Effect decodes a negative or NaN duration as zero, which
// read `baseDelay: -1000` as "no back-off" and `maxTotalDelay: -1` as "no retries".
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Layer } from "effect"
import { BulkStores, ProductCouponStores, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"
import * as RetryPolicy from "../packages/effect-wechatpay/src/internal/RetryPolicy.js"
import { stockOf, withFake } from "./support/Bulk.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

/** What building the service with `options` ends with: its error's variable, or "built". */
const build = (options: unknown) => {
  const fake = Scripted.make([Scripted.ok()])
  const layer = ProductCouponStores.layer(options as ProductCouponStores.Options).pipe(
    Layer.provide(WechatPayClient.layer(Scripted.merchantOptions)),
    Layer.provide(fake.layer)
  )
  return Effect.map(Effect.exit(Effect.scoped(Layer.build(layer))), (exit) => {
    if (Exit.isSuccess(exit)) return { outcome: "built", requests: fake.requests.length }
    const failure = Cause.failureOption(exit.cause)
    // A defect (Die) is never an answer here: it has no failure to read.
    assert.isTrue(failure._tag === "Some", `not a typed failure: ${Cause.pretty(exit.cause)}`)
    const error = failure._tag === "Some" ? failure.value as { readonly _tag: string; readonly variable?: string } : undefined
    assert.strictEqual(error?._tag, "ConfigurationError")
    return { outcome: error?.variable ?? "", requests: fake.requests.length }
  })
}

describe("service options from untyped callers", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["null options", null, "options"],
    ["a string for options", "fast", "options"],
    ["retry: null", { retry: null }, "retry"],
    ["retry: 5", { retry: 5 }, "retry"],
    ["retry: true", { retry: true }, "retry"],
    ["retry.jitter as a string", { retry: { jitter: "0.1" } }, "retry.jitter"],
    ["retry.factor as a string", { retry: { factor: "2" } }, "retry.factor"],
    ["retry.baseDelay: -1000", { retry: { baseDelay: -1000 } }, "retry.baseDelay"],
    ["retry.baseDelay: NaN", { retry: { baseDelay: Number.NaN } }, "retry.baseDelay"],
    ["retry.baseDelay: \"-5 seconds\"", { retry: { baseDelay: "-5 seconds" } }, "retry.baseDelay"],
    ["retry.maxDelay: -1", { retry: { maxDelay: -1 } }, "retry.maxDelay"],
    ["retry.maxTotalDelay: -1", { retry: { maxTotalDelay: -1 } }, "retry.maxTotalDelay"],
    ["retry.maxTotalDelay: [-1, 0]", { retry: { maxTotalDelay: [-1, 0] } }, "retry.maxTotalDelay"],
    ["failover: true", { failover: true }, "failover"],
    ["failover: null", { failover: null }, "failover"],
    ["failover.window: -1", { failover: { window: -1 } }, "failover.window"],
    ["failover.window: NaN", { failover: { window: Number.NaN } }, "failover.window"],
    ["timeout: -5", { timeout: -5 }, "timeout"]
  ]
  for (const [label, options, variable] of cases) {
    it.effect(`${label} → ConfigurationError naming ${variable}, nothing sent`, () =>
      Effect.map(build(options), (result) => assert.deepStrictEqual(result, { outcome: variable, requests: 0 })))
  }

  it.effect("what is valid still builds: zero delays, failover off, a window of 0", () =>
    Effect.gen(function*() {
      for (const options of [{ retry: { baseDelay: 0, maxTotalDelay: "0 millis" } }, { failover: false }, { failover: { window: 0 } }]) {
        assert.deepStrictEqual(yield* build(options), { outcome: "built", requests: 0 }, JSON.stringify(options))
      }
    }))

  it("RetryPolicy.resolve reads a zero as zero and refuses a negative", () => {
    const zero = RetryPolicy.resolve({ baseDelay: 0 })
    assert.isTrue(Either.isRight(zero) && zero.right.baseDelayMillis === 0)
    assert.isTrue(Either.isLeft(RetryPolicy.resolve({ baseDelay: -1 })))
  })
})

describe("a job's concurrency from untyped callers", () => {
  for (const [label, concurrency, shown] of [["a symbol", Symbol("x"), "a symbol"], ["a string", "4", "a string"], ["0", 0, "got 0"]] as const) {
    it.effect(`${label} → ConfigurationError saying what it got, not a defect`, () =>
      withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, () =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(
            BulkStores.disassociateAll([FakeWechatPay.storeId(1)], { ...stockOf(FakeWechatPay.Fixture.stockId), concurrency: concurrency as unknown as number })
          )
          assert.isTrue(Exit.isFailure(exit))
          if (Exit.isSuccess(exit)) return
          const failure = Cause.failureOption(exit.cause)
          assert.isTrue(failure._tag === "Some", `not a typed failure: ${Cause.pretty(exit.cause)}`)
          if (failure._tag !== "Some") return
          assert.strictEqual(failure.value._tag, "ConfigurationError")
          assert.include((failure.value as { message: string }).message, shown)
        })))
  }
})

describe("UndiciHttpClient options from untyped callers", () => {
  for (const [label, options, variable] of [
    ["null options", null, "UndiciHttpClient.options"],
    ["agent: null", { agent: null }, "UndiciHttpClient.agent"],
    ["agent: a string", { agent: "x" }, "UndiciHttpClient.agent"]
  ] as const) {
    it.effect(`layerWith(${label}) → ConfigurationError naming ${variable}, not a throw`, () =>
      Effect.gen(function*() {
        // Built inside the effect: a throw while making the layer would fail the test as a defect.
        const exit = yield* Effect.exit(Effect.scoped(Effect.suspend(() => Layer.build(UndiciHttpClient.layerWith(options as never)))))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isSuccess(exit)) return
        const failure = Cause.failureOption(exit.cause)
        assert.isTrue(failure._tag === "Some", `not a typed failure: ${Cause.pretty(exit.cause)}`)
        if (failure._tag === "Some") assert.strictEqual(failure.value.variable, variable)
      }))
  }
})
