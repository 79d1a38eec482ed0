// One quota for the whole family: WeChat Pay counts 20 requests/s per service provider across
// these endpoints, so every endpoint of a service takes its permits from one limiter. The spacing
// is read off the TestClock times at which the recording client received each request.
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Layer, TestClock } from "effect"
import { BulkStores, ProductCouponStores, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import { baseOptions, keys } from "./support/Keys.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { NOW } from "./support/Time.js"

const T0 = NOW * 1000
const stock = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" }
const storeList = [{ storeId: "100000001" }]
const bundle = { productCouponId: "200000001", stockBundleId: "B1", brandId: "120344", storeList }

const reply = (status: number, body: unknown): RecordingHttpClient.Reply => ({
  status,
  headers: { "content-type": "application/json", "request-id": `REQ-${status}` },
  body: JSON.stringify(body),
  sign: "arrival"
})

// Answers each endpoint with a body its Schema accepts, told apart by the request.
const answer: RecordingHttpClient.Script = (request) => {
  if (request.rejection !== undefined) return { status: 599, body: "refused by the server-side check" }
  if (request.method === "POST") return reply(200, { total_count: 1, success_store_list: [{ store_id: "100000001" }] })
  if (request.url.pathname.endsWith("/associated-stores")) return reply(200, { total_count: 0 })
  return reply(200, { product_coupon_id: "200000001", stock_id: "123456789", state: "SENDING", store_scope: "SPECIFIC" })
}

/** One call of each of the service's six endpoints (the stream's one page is a listing call). */
const everyEndpoint = (s: ProductCouponStores.Service): ReadonlyArray<Effect.Effect<unknown, unknown>> => [
  s.disassociateStores({ ...stock, storeList }),
  s.associateStores({ ...stock, storeList }),
  s.listAssociatedStores(stock),
  s.getStock(stock),
  s.associateStockBundleStores(bundle),
  s.disassociateStockBundleStores(bundle)
]

const service = (
  script: RecordingHttpClient.Script,
  requests: Array<RecordingHttpClient.Recorded>,
  options: ProductCouponStores.Options
) =>
  ProductCouponStores.layerMerchant(baseOptions, options).pipe(
    Layer.provide(RecordingHttpClient.make(script, { requests, check: true }).layer)
  )

/** Runs `calls` concurrently under the TestClock until they are all done; the arrival offsets, sorted. */
const concurrently = (
  calls: (s: ProductCouponStores.Service) => ReadonlyArray<Effect.Effect<unknown, unknown>>,
  requests: Array<RecordingHttpClient.Recorded>,
  advance: Duration.DurationInput = "30 seconds"
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const stores = yield* ProductCouponStores.ProductCouponStores
    const fiber = yield* Effect.fork(Effect.all(calls(stores), { concurrency: "unbounded" }))
    yield* TestClock.adjust(advance)
    yield* Fiber.join(fiber)
    for (const r of requests) assert.isUndefined(r.rejection)
    return requests.map((r) => r.atMillis - T0).sort((a, b) => a - b)
  })

/** Largest number of requests inside any half-open window [t, t + width). */
const busiestWindow = (offsets: ReadonlyArray<number>, width: number) =>
  Math.max(...offsets.map((t) => offsets.filter((u) => u >= t && u < t + width).length))

describe("every endpoint of a service shares one limiter", () => {
  it.effect("by default: calls of two endpoints, interleaved, go out 50 ms apart as one sequence", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const offsets = yield* concurrently(
        (s) => Array.from({ length: 30 }, (_, i) => i % 2 === 0 ? s.getStock(stock) : s.associateStores({ ...stock, storeList })),
        requests
      )
      const guard = ProductCouponStores.WINDOW_GUARD_MILLIS
      assert.deepStrictEqual(offsets, Array.from({ length: 30 }, (_, i) => i * 50 + Math.floor(i / 20) * guard))
      assert.isAtMost(busiestWindow(offsets, 1000), 20)
      assert.strictEqual(requests.filter((r) => r.method === "GET").length, 15)
    }).pipe(Effect.provide(service(answer, requests, {})))
  })

  it.effect("by default: one call of each of the six endpoints takes the next permit of the same limiter", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const offsets = yield* concurrently(everyEndpoint, requests)
      assert.deepStrictEqual(offsets, [0, 50, 100, 150, 200, 250])
      assert.strictEqual(new Set(requests.map((r) => r.url.pathname)).size, 6)
    }).pipe(Effect.provide(service(answer, requests, {})))
  })

  it.effect("one endpoint's retry waits its turn behind another endpoint's call", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    // The stock query is answered 429 once; the associate call is waiting for the same limiter meanwhile.
    let busy = true
    const script: RecordingHttpClient.Script = (request, index) => {
      if (request.method === "GET" && busy) {
        busy = false
        return reply(429, { code: "RATELIMIT_EXCEEDED", message: "请求超过接口频率限制" })
      }
      return answer(request, index)
    }
    return Effect.gen(function*() {
      const offsets = yield* concurrently((s) => [s.getStock(stock), s.associateStores({ ...stock, storeList })], requests)
      assert.strictEqual(offsets.length, 3)
      // One permit a second: the retry and the other endpoint's call are each a second apart.
      for (let i = 1; i < offsets.length; i++) assert.isAtLeast(offsets[i]! - offsets[i - 1]!, 1000)
      assert.deepStrictEqual(requests.map((r) => r.method), ["GET", "POST", "GET"])
    }).pipe(Effect.provide(service(script, requests, { rateLimit: { limit: 1, interval: "1 second" }, retry: { jitter: 0 } })))
  })

  it.effect("a custom limit applies to the shared quota", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const offsets = yield* concurrently((s) => [...everyEndpoint(s), ...everyEndpoint(s)], requests)
      assert.strictEqual(offsets.length, 12)
      for (let i = 1; i < offsets.length; i++) assert.isAtLeast(offsets[i]! - offsets[i - 1]!, 500)
      assert.isAtMost(busiestWindow(offsets, 1000), 2)
    }).pipe(Effect.provide(service(answer, requests, { rateLimit: { limit: 2, interval: "1 second" } })))
  })

  it.effect("rateLimit: false turns it off for every endpoint", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    return Effect.gen(function*() {
      const offsets = yield* concurrently((s) => [...everyEndpoint(s), ...everyEndpoint(s)], requests)
      assert.deepStrictEqual(offsets, Array.from({ length: 12 }, () => 0))
    }).pipe(Effect.provide(service(answer, requests, { rateLimit: false })))
  })
})

describe("the limiter is replaceable behind ProductCouponStores.RateLimiter", () => {
  // A stand-in for a quota kept outside the process: it records what it was asked to enforce,
  // and every permit taken through it.
  const recordingLimiter = () => {
    const specs: Array<ProductCouponStores.QuotaSpec> = []
    let permits = 0
    const layer = Layer.succeed(ProductCouponStores.RateLimiter, {
      limiter: (spec) =>
        Effect.sync((): ProductCouponStores.Limiter => {
          specs.push(spec)
          return { run: (effect) => Effect.zipRight(Effect.sync(() => permits++), effect) }
        })
    })
    return { layer, specs, permits: () => permits }
  }

  it.effect("built once per service for the one quota, named with the mchid and the documented limit; every attempt takes a permit", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const limiter = recordingLimiter()
    let first = true
    const script: RecordingHttpClient.Script = (request, index) => {
      if (first) {
        first = false
        return reply(500, { code: "SYSTEM_ERROR", message: "系统异常,请稍后重试" })
      }
      return answer(request, index)
    }
    return Effect.gen(function*() {
      yield* concurrently(everyEndpoint, requests)
      assert.deepStrictEqual(limiter.specs, [
        { quota: "partner/product-coupon", mchid: keys.mchid, limit: 20, intervalMillis: 1000 }
      ])
      assert.strictEqual(requests.length, 7)
      assert.strictEqual(limiter.permits(), 7)
    }).pipe(Effect.provide(service(script, requests, { retry: { jitter: 0 } }).pipe(Layer.provide(limiter.layer))))
  })

  it.effect("a custom limit is what it is asked to enforce; with rateLimit: false it is never asked", () =>
    Effect.gen(function*() {
      const custom = recordingLimiter()
      yield* Effect.scoped(Layer.build(
        service(answer, [], { rateLimit: { limit: 5, interval: "2 seconds" } }).pipe(Layer.provide(custom.layer))
      ))
      assert.deepStrictEqual(custom.specs.map((s) => [s.limit, s.intervalMillis]), [[5, 2000]])

      const off = recordingLimiter()
      const requests: Array<RecordingHttpClient.Recorded> = []
      yield* concurrently(everyEndpoint, requests).pipe(
        Effect.provide(service(answer, requests, { rateLimit: false }).pipe(Layer.provide(off.layer)))
      )
      assert.strictEqual(requests.length, 6)
      assert.deepStrictEqual(off.specs, [])
      assert.strictEqual(off.permits(), 0)
    }))

  /** A quota kept outside the process whose store cannot be reached for its first `failures` permits. */
  const unreachableLimiter = (failures: number) => {
    let refused = 0
    const layer = Layer.succeed(ProductCouponStores.RateLimiter, {
      limiter: (spec) =>
        Effect.succeed<ProductCouponStores.Limiter>({
          run: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
            Effect.suspend((): Effect.Effect<A, E | WechatPayError.RateLimiterError, R> => {
              if (refused >= failures) return effect
              refused++
              return Effect.fail(new WechatPayError.RateLimiterError({ quota: spec.quota, reason: "connect ECONNREFUSED 127.0.0.1:6379" }))
            })
        })
    })
    return { layer, refused: () => refused }
  }

  it.effect("a permit it cannot grant is a typed, retried error: nothing sent meanwhile, and no attempt observed", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const limiter = unreachableLimiter(2)
    const events: Array<ProductCouponStores.AttemptEvent> = []
    return Effect.gen(function*() {
      const offsets = yield* concurrently((s) => [s.disassociateStores({ ...stock, storeList })], requests).pipe(
        Effect.provideService(ProductCouponStores.AttemptObserver, { onAttempt: (e) => Effect.sync(() => events.push(e)) })
      )
      assert.strictEqual(limiter.refused(), 2)
      // Sent once, after two back-offs (500 ms, then 1 s: jitter off).
      assert.deepStrictEqual(offsets, [1500])
      assert.deepStrictEqual(events.map((e) => [e.attempt, e.outcome]), [[1, "success"]])
    }).pipe(Effect.provide(service(answer, requests, { retry: { jitter: 0 } }).pipe(Layer.provide(limiter.layer))))
  })

  it.effect("one that never can: the call fails with RateLimiterError, and a bulk job stops after one call, nothing sent", () => {
    const requests: Array<RecordingHttpClient.Recorded> = []
    const limiter = unreachableLimiter(Number.POSITIVE_INFINITY)
    return Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const stores = yield* ProductCouponStores.ProductCouponStores
      const call = yield* Effect.fork(Effect.flip(stores.disassociateStores({ ...stock, storeList })))
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(call)
      assert.strictEqual(error._tag, "RateLimiterError")
      assert.include(error.message, "partner/product-coupon")
      assert.strictEqual(error.behaviour.outcome, "unresolved")
      // The first try and the three retries a transient failure gets.
      assert.strictEqual(limiter.refused(), 4)

      const ids = Array.from({ length: 400 }, (_, i) => String(100000001 + i))
      const job = yield* Effect.fork(BulkStores.disassociateAll(ids, { ...stock, preflight: false, verify: false }))
      yield* TestClock.adjust("1 minute")
      const report = yield* Fiber.join(job)
      assert.strictEqual(report.stoppedBy?.code, "RateLimiterError")
      assert.strictEqual(report.summary.unresolved, 400)
      assert.strictEqual(report.summary.requests, 0)
      assert.strictEqual(limiter.refused(), 8)
      assert.strictEqual(requests.length, 0)
    }).pipe(Effect.provide(service(answer, requests, { retry: { jitter: 0 } }).pipe(Layer.provide(limiter.layer))))
  })

  it.effect("a non-positive custom limit is still a ConfigurationError when the layer is built", () =>
    Effect.gen(function*() {
      const result = yield* Effect.flip(Effect.scoped(Layer.build(service(answer, [], { rateLimit: { limit: -1 } }))))
      assert.strictEqual(result._tag, "ConfigurationError")
    }))
})
