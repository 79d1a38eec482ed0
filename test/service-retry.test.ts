import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Schedule, TestClock } from "effect"
import { ProductCouponStores, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import * as Endpoint from "../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import * as RetryPolicy from "../packages/effect-wechatpay/src/internal/RetryPolicy.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const { sampleInput } = Scripted
const T0 = Scripted.NOW * 1000
const rateLimited = Scripted.apiError(429, "RATELIMIT_EXCEEDED", "请求超过接口频率限制")
const systemError = Scripted.apiError(500, "SYSTEM_ERROR", "系统异常,请稍后重试")

/** Runs one call in a fiber and drives the TestClock far enough for every retry. */
const run = (
  script: Scripted.Script,
  options: ProductCouponStores.Options,
  advance: Duration.DurationInput = "2 minutes"
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const fake = Scripted.make(script)
    const events: Array<ProductCouponStores.AttemptEvent> = []
    const fiber = yield* Effect.gen(function*() {
      const service = yield* ProductCouponStores.ProductCouponStores
      return yield* Effect.either(service.disassociateStores(sampleInput))
    }).pipe(
      Effect.provideService(ProductCouponStores.AttemptObserver, {
        onAttempt: (event) => Effect.sync(() => events.push(event))
      }),
      Effect.provide(Scripted.serviceLayer(fake, options)),
      Effect.fork
    )
    yield* TestClock.adjust(advance)
    const result = yield* Fiber.join(fiber)
    for (const r of fake.requests) assert.isUndefined(r.rejection)
    return { result, requests: fake.requests, events, offsets: fake.requests.map((r) => r.atMillis - T0) }
  })

describe("429 retries", () => {
  it.effect("429 twice then 200: three attempts, identical bodies, fresh signatures, exact backoff", () =>
    Effect.gen(function*() {
      const { events, offsets, requests, result } = yield* run([rateLimited, rateLimited, Scripted.ok()], {
        rateLimit: false,
        retry: { jitter: 0 }
      })
      assert.isTrue(Either.isRight(result))
      assert.strictEqual(requests.length, 3)
      assert.deepStrictEqual(offsets, [0, 500, 1500])
      assert.strictEqual(new Set(requests.map((r) => r.bodyText)).size, 1)
      assert.deepStrictEqual(requests[2]!.body, requests[0]!.body)
      assert.strictEqual(new Set(requests.map((r) => r.headers["authorization"])).size, 3)
      assert.deepStrictEqual(events.map((e) => [e.attempt, e.outcome, e.status, e.willRetry]), [
        [1, "RateLimitExceededError", 429, true],
        [2, "RateLimitExceededError", 429, true],
        [3, "success", 200, false]
      ])
      assert.strictEqual(events[2]!.requestId, "REQ-OK")
    }))

  it.effect("with the default jitter every delay stays within ±20% of the exponential step", () =>
    Effect.gen(function*() {
      const { offsets, result } = yield* run([rateLimited, rateLimited, rateLimited, Scripted.ok()], {
        rateLimit: false
      })
      assert.isTrue(Either.isRight(result))
      const delays = offsets.slice(1).map((t, i) => t - offsets[i]!)
      assert.strictEqual(delays.length, 3)
      delays.forEach((d, i) => {
        const step = 500 * 2 ** i
        assert.isTrue(d >= step * 0.8 && d <= step * 1.2, `delay ${i}: ${d}`)
      })
    }))

  it.effect("gives up after maxRateLimitRetries with the last typed error", () =>
    Effect.gen(function*() {
      const { events, requests, result } = yield* run(() => rateLimited, {
        rateLimit: false,
        retry: { jitter: 0, maxRateLimitRetries: 3 }
      })
      assert.strictEqual(requests.length, 4)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "RateLimitExceededError")
      assert.deepStrictEqual(events.map((e) => e.willRetry), [true, true, true, false])
    }))

  it.effect("delays are capped by maxDelay and the total by maxTotalDelay", () =>
    Effect.gen(function*() {
      const { offsets, requests } = yield* run(() => rateLimited, {
        rateLimit: false,
        retry: { jitter: 0, baseDelay: "1 second", maxDelay: "3 seconds", maxRateLimitRetries: 100, maxTotalDelay: "10 seconds" }
      })
      // 1 + 2 + 3 + 3 = 9 s; one more 3 s delay would exceed 10 s.
      assert.deepStrictEqual(offsets, [0, 1000, 3000, 6000, 9000])
      assert.strictEqual(requests.length, 5)
    }))

  it.effect("the total cap is inclusive: delays that add up to exactly maxTotalDelay are taken, 1 ms less is not", () =>
    Effect.gen(function*() {
      const retry = { jitter: 0, baseDelay: "1 second", maxDelay: "3 seconds", maxRateLimitRetries: 100 } as const
      // 1 + 2 + 3 + 3 + 3 = 12 s.
      const exact = yield* run(() => rateLimited, { rateLimit: false, retry: { ...retry, maxTotalDelay: "12 seconds" } })
      assert.deepStrictEqual(exact.offsets, [0, 1000, 3000, 6000, 9000, 12000])
      const under = yield* run(() => rateLimited, { rateLimit: false, retry: { ...retry, maxTotalDelay: "11999 millis" } })
      assert.deepStrictEqual(under.offsets, [0, 1000, 3000, 6000, 9000])
    }))
})

describe("what is retried and what is not", () => {
  for (
    const [status, code, message] of [
      [400, "PARAM_ERROR", "参数错误"],
      [400, "INVALID_REQUEST", "已过期的批次不可取消关联门店"],
      [401, "SIGN_ERROR", "验证不通过"],
      [403, "NO_AUTH", "缺少业务相关权限"],
      [404, "NOT_FOUND", "未找到 stock_id 对应的商品券批次"]
    ] as const
  ) {
    it.effect(`${status} ${code} is sent once`, () =>
      Effect.gen(function*() {
        const { events, requests, result } = yield* run(() => Scripted.apiError(status, code, message), {})
        assert.strictEqual(requests.length, 1)
        assert.isTrue(Either.isLeft(result))
        assert.deepStrictEqual(events.map((e) => e.willRetry), [false])
      }))
  }

  it.effect("500 SYSTEM_ERROR is retried maxTransientRetries times", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* run(() => systemError, { rateLimit: false })
      assert.strictEqual(requests.length, 1 + RetryPolicy.DEFAULTS.maxTransientRetries)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "SystemError")
    }))

  it.effect("503 gateway pages and refused connections are retried, then succeed", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* run([
        Scripted.reply(503, "<html>busy</html>", { signature: "none" }),
        Scripted.refuse,
        Scripted.ok()
      ], { rateLimit: false, failover: false })
      assert.strictEqual(requests.length, 3)
      assert.isTrue(Either.isRight(result))
    }))

  it.effect("a probe-signed answer is not retried", () =>
    Effect.gen(function*() {
      const { requests, result } = yield* run(() => Scripted.reply(429, { code: "RATELIMIT_EXCEEDED", message: "x" }, {
        signature: "probe"
      }), {})
      assert.strictEqual(requests.length, 1)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "SignatureProbeError")
    }))

  it.effect("retry: false sends a 429 once", () =>
    Effect.gen(function*() {
      const { requests } = yield* run(() => rateLimited, { retry: false })
      assert.strictEqual(requests.length, 1)
    }))

  it.effect("a hanging attempt times out (TimeoutError), is observed, and is retried", () =>
    Effect.gen(function*() {
      const { events, offsets, result } = yield* run([Scripted.hang, Scripted.ok()], {
        rateLimit: false,
        failover: false,
        timeout: "3 seconds",
        retry: { jitter: 0 }
      })
      assert.isTrue(Either.isRight(result))
      assert.deepStrictEqual(offsets, [0, 3500])
      assert.deepStrictEqual(events.map((e) => [e.outcome, e.willRetry]), [["TimeoutError", true], ["success", false]])
    }))

  it.effect("the default timeout is 10 s", () =>
    Effect.gen(function*() {
      const { result } = yield* run(() => Scripted.hang, { retry: false, failover: false })
      assert.isTrue(Either.isLeft(result) && result.left._tag === "TimeoutError")
      if (Either.isLeft(result) && result.left._tag === "TimeoutError") assert.strictEqual(result.left.timeoutMillis, 10_000)
    }))
})

describe("RetryPolicy (pure)", () => {
  const { apiError } = Endpoint.compile(endpoints.disassociateStores)
  const api = (status: number, code: string) =>
    apiError(new WechatPayError.WechatPayApiError({ status, code, message: "", verified: true }))
  it("classifies every kind of failure", () => {
    assert.strictEqual(RetryPolicy.classify(api(429, "RATELIMIT_EXCEEDED")), "rate-limited")
    assert.strictEqual(RetryPolicy.classify(api(500, "SYSTEM_ERROR")), "transient")
    assert.strictEqual(RetryPolicy.classify(api(504, "GATEWAY")), "transient")
    assert.strictEqual(RetryPolicy.classify(api(501, "NOPE")), "final")
    assert.strictEqual(RetryPolicy.classify(api(400, "PARAM_ERROR")), "final")
    assert.strictEqual(RetryPolicy.classify(api(404, "NOT_FOUND")), "final")
    assert.strictEqual(
      RetryPolicy.classify(new WechatPayError.TransportError({ phase: "request", method: "POST", url: "u", reason: "r" })),
      "transient"
    )
    assert.strictEqual(
      RetryPolicy.classify(new WechatPayError.InvalidSignatureError({ status: 200, serial: "s", reason: "r" })),
      "final"
    )
    assert.strictEqual(
      RetryPolicy.classify(new WechatPayError.ResponseDecodeError({ status: 200, issue: "i", excerpt: "" })),
      "final"
    )
  })

  it("decide: exponential, jitter-scaled, capped", () => {
    const policy = { ...RetryPolicy.DEFAULTS, jitter: 0.5 }
    const e = api(429, "RATELIMIT_EXCEEDED")
    const low = RetryPolicy.decide(policy, RetryPolicy.initialState, e, 0)
    const high = RetryPolicy.decide(policy, RetryPolicy.initialState, e, 0.999999)
    assert.strictEqual(low?.delayMillis, 250)
    assert.strictEqual(high?.delayMillis, 750)
    const late = RetryPolicy.decide(policy, { ...RetryPolicy.initialState, retries: 10 }, e, 0.999)
    assert.strictEqual(late?.delayMillis, policy.maxDelayMillis)
  })

  it("rejects nonsensical options with a ConfigurationError", () => {
    for (const bad of [{ jitter: 2 }, { factor: 0.5 }, { maxRateLimitRetries: -1 }, { baseDelay: Duration.infinity }]) {
      const r = RetryPolicy.resolve(bad)
      assert.isTrue(Either.isLeft(r) && r.left._tag === "ConfigurationError", JSON.stringify(bad))
    }
  })

  it.effect("the Schedule works with plain Effect.retry under TestClock", () =>
    Effect.gen(function*() {
      let attempts = 0
      const fiber = yield* Effect.suspend(() => {
        attempts++
        return Effect.fail(api(429, "RATELIMIT_EXCEEDED"))
      }).pipe(
        Effect.retry(RetryPolicy.schedule({ ...RetryPolicy.DEFAULTS, jitter: 0, maxRateLimitRetries: 2 })),
        Effect.flip,
        Effect.fork
      )
      yield* TestClock.adjust("499 millis")
      assert.strictEqual(attempts, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(attempts, 2)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(attempts, 3)
      assert.strictEqual(error._tag, "RateLimitExceededError")
      // The decisions in isolation: two delays, then done (Schedule.run reports the final step as 0).
      const delays = yield* Schedule.run(
        Schedule.delays(RetryPolicy.schedule({ ...RetryPolicy.DEFAULTS, jitter: 0, maxRateLimitRetries: 2 })),
        0,
        [api(429, "RATELIMIT_EXCEEDED"), api(429, "RATELIMIT_EXCEEDED"), api(429, "RATELIMIT_EXCEEDED")]
      )
      assert.deepStrictEqual(Array.from(delays, Duration.toMillis), [500, 1000, 0])
    }))
})
