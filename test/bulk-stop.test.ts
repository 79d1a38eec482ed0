// Ending a bulk job early (issue #11, items 8, 9 and 10): a graceful stop starts no further attempt and
// ends within one per-attempt timeout; an abort interrupts the calls in flight and still reports; an
// unreachable WeChat Pay (both domains failing at the network level) stops the job within seconds and
// says why. Scripted answers under TestClock where timing matters, real HTTP where the transport does.
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Deferred, Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { BulkDisassociation, ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import { classify } from "../packages/effect-wechatpay/src/internal/bulk/Settle.js"
import * as W from "../packages/effect-wechatpay/src/WechatPayError.js"
import { assertPartition } from "./support/Bulk.js"
import { closedPort, merchantOptions, serve, serviceLayer } from "./support/Sandbox.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const B = BulkDisassociation
const T0 = Scripted.NOW * 1000
const { storeList: _, ...job } = Scripted.sampleInput
const storeIds = (n: number) => Array.from({ length: n }, (_, i) => String(100_000_001 + i))

/** Answers a request with every store it carries as a success. */
const echo = (request: Scripted.Recorded): Scripted.Step => {
  const body = JSON.parse(request.bodyText) as { store_list: Array<{ store_id: string }> }
  return Scripted.ok({ total_count: body.store_list.length, success_store_list: body.store_list })
}

/** 1,000 stores on a loopback sandbox whose first 20 answers take 5 s, and a service over it (real HTTP). */
const slowSandbox = (options: ProductCouponStores.Options) =>
  Effect.gen(function*() {
    const { fake, server } = yield* serve({
      seed: FakeWechatPay.generate({ stores: 1_000 }),
      faults: { script: Array.from({ length: 20 }, () => "slow" as const), slowMillis: 5_000 }
    })
    const ids = Array.from({ length: 1_000 }, (_, i) => FakeWechatPay.storeId(i))
    return { fake, layer: serviceLayer(server, options), ids }
  })

/** Waits (real time) until the sandbox has received its first request: the job's first call is then on the wire. */
const firstRequest = (fake: { readonly log: ReadonlyArray<unknown> }) =>
  Effect.gen(function*() {
    for (let waited = 0; fake.log.length === 0; waited += 5) {
      if (waited > 5_000) return assert.fail("no request reached the sandbox within 5 s")
      yield* Effect.sleep("5 millis")
    }
  })

/**
 * Advances the TestClock in small steps until the job is done or `millis` have passed; returns the
 * report and how long after the call it took (TestClock time).
 */
const doneWithin = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, millis: number, step = 10) =>
  Effect.gen(function*() {
    for (let waited = 0; waited <= millis; waited += step) {
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      const exit = yield* Fiber.poll(fiber)
      if (Option.isSome(exit)) {
        if (Exit.isFailure(exit.value)) return assert.fail(`the job failed: ${String(exit.value.cause)}`)
        return { value: exit.value.value, after: waited }
      }
      yield* TestClock.adjust(step)
    }
    yield* Fiber.interrupt(fiber)
    return assert.fail(`the job was still running ${millis} ms later`)
  })

describe("stopWhen: after the stop, no attempt starts", () => {
  it.scoped("a 429 followed by a long back-off: the stop ends the call at once, without the retry", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make((request, i) => i === 0 ? Scripted.apiError(429, "RATELIMIT_EXCEEDED", "请求超过接口频率限制") : echo(request))
      const stop = yield* Deferred.make<void>()
      const ids = storeIds(1_000)
      const fiber = yield* B.disassociateAll(ids, { ...job, concurrency: 4, stopWhen: Deferred.await(stop) }).pipe(
        Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false, retry: { baseDelay: "8 seconds", jitter: 0 } })),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      assert.strictEqual(fake.requests.length, 1, "the first call is in its 8 s back-off")
      yield* Deferred.succeed(stop, undefined)
      const { after, value: report } = yield* doneWithin(fiber, 100)
      assert.isAtMost(after, 20)
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(fake.requests.length, 1, "no attempt after the stop")
      assert.strictEqual(report.summary.requests, 1)
      assertPartition(report, ids)
      assert.strictEqual(report.stoppedBy?.code, "STOPPED")
      assert.strictEqual(report.unresolved.filter((u) => u.reason.startsWith("RateLimitExceededError")).length, 200)
      assert.strictEqual(report.unresolved.filter((u) => u.reason === "not sent: the job was stopped before this call").length, 800)
    }))

  it.scoped("calls waiting for a rate-limit permit give it up and send nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make(echo)
      const stop = yield* Deferred.make<void>()
      const ids = storeIds(1_000)
      const fiber = yield* B.disassociateAll(ids, { ...job, concurrency: 4, stopWhen: Deferred.await(stop) }).pipe(
        Effect.provide(Scripted.serviceLayer(fake, { rateLimit: { limit: 1, interval: "10 seconds" } })),
        Effect.fork
      )
      // The first call went out at once; four more wait for permits 10 s apart.
      yield* TestClock.adjust("1 second")
      assert.strictEqual(fake.requests.length, 1)
      yield* Deferred.succeed(stop, undefined)
      const { after, value: report } = yield* doneWithin(fiber, 100)
      assert.isAtMost(after, 20)
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(fake.requests.length, 1, "no permit waited for after the stop was used to send")
      assertPartition(report, ids)
      assert.strictEqual(report.summary.succeeded, 200)
      assert.strictEqual(report.unresolved.filter((u) => u.reason === "not sent: the job was stopped before this call").length, 800)
    }))

  it.scoped("an attempt on the wire finishes within the per-attempt timeout, and is not retried", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make(() => Scripted.hang)
      const stop = yield* Deferred.make<void>()
      const ids = storeIds(1_000)
      const fiber = yield* B.disassociateAll(ids, { ...job, concurrency: 4, stopWhen: Deferred.await(stop) }).pipe(
        Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false, timeout: "10 seconds" })),
        Effect.fork
      )
      yield* TestClock.adjust("2 seconds")
      yield* Deferred.succeed(stop, undefined)
      // The attempt sent at 0 times out at 10 s: the job ends then, 8 s after the stop.
      const { after, value: report } = yield* doneWithin(fiber, 10_000, 50)
      assert.isAtLeast(after, 7_900)
      assert.isAtMost(after, 8_100)
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(fake.requests.length, 1)
      assertPartition(report, ids)
      assert.strictEqual(report.unresolved.filter((u) => u.reason.startsWith("TimeoutError")).length, 200)
    }))

  it.scoped("calls at different stages when the stop comes: each ends without a new attempt", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      // Call 1 succeeds; of the four that follow, one draws a 429 (back-off 8 s) and three hang.
      const fake = Scripted.make((request, i) =>
        i === 0 ? echo(request) : i === 1 ? Scripted.apiError(429, "RATELIMIT_EXCEEDED", "请求超过接口频率限制") : Scripted.hang
      )
      const stop = yield* Deferred.make<void>()
      const ids = storeIds(2_000)
      const fiber = yield* B.disassociateAll(ids, { ...job, concurrency: 4, stopWhen: Deferred.await(stop) }).pipe(
        Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false, timeout: "5 seconds", retry: { baseDelay: "8 seconds", jitter: 0 } })),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      yield* Deferred.succeed(stop, undefined)
      // The back-off ends at once; the hanging attempts at their timeout, 5 s after they were sent.
      const { after, value: report } = yield* doneWithin(fiber, 5_000, 50)
      assert.isAtLeast(after, 3_900)
      assert.isAtMost(after, 4_100)
      yield* TestClock.adjust("60 seconds")
      assertPartition(report, ids)
      assert.strictEqual(fake.requests.length, 5)
      assert.strictEqual(report.summary.requests, 5)
      assert.strictEqual(report.summary.succeeded, 200)
      assert.strictEqual(report.unresolved.filter((u) => u.reason.startsWith("RateLimitExceededError")).length, 200)
      assert.strictEqual(report.unresolved.filter((u) => u.reason.startsWith("TimeoutError")).length, 600)
      assert.strictEqual(report.unresolved.filter((u) => u.reason.startsWith("not sent")).length, 1_000)
    }))

  it.scopedLive("real time, slow answers over HTTP: the stop completes within one per-attempt timeout", () =>
    Effect.gen(function*() {
      const { fake, layer, ids } = yield* slowSandbox({ timeout: "400 millis", retry: { baseDelay: "50 millis", jitter: 0 }, rateLimit: false })
      const stop = yield* Deferred.make<void>()
      const fiber = yield* B.disassociateAll(ids, {
        productCouponId: FakeWechatPay.Fixture.productCouponId,
        stockId: FakeWechatPay.Fixture.stockId,
        brandId: FakeWechatPay.Fixture.brandId,
        concurrency: 4,
        stopWhen: Deferred.await(stop)
      }).pipe(Effect.provide(layer), Effect.fork)
      // The first call's answer takes 5 s: the stop comes while it is in flight.
      yield* firstRequest(fake)
      const stoppedAt = Date.now()
      yield* Deferred.succeed(stop, undefined)
      const report = yield* Fiber.join(fiber)
      const took = Date.now() - stoppedAt
      assert.isBelow(took, 400 + 300, `the stop took ${took} ms`)
      yield* Effect.sleep("300 millis")
      assert.strictEqual(fake.log.length, 1, "no attempt after the stop")
      assertPartition(report, ids)
      assert.strictEqual(report.summary.unresolved, 1_000)
    }))
})

describe("the service under a StopSignal", () => {
  it.scoped("a call still waiting for its first permit fails with NotSentError; one in its back-off with its last error", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make((request, i) => i === 0 ? Scripted.apiError(500, "SYSTEM_ERROR", "系统异常,请稍后重试") : echo(request))
      const layer = Scripted.serviceLayer(fake, { rateLimit: { limit: 1, interval: "10 seconds" }, retry: { baseDelay: "1 second", jitter: 0 } })
      const stores = yield* Effect.map(Layer.build(layer), Context.get(ProductCouponStores.ProductCouponStores))
      const stopped = yield* Deferred.make<void>()
      const underStop = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.provideService(effect, ProductCouponStores.StopSignal, { stopped })
      const first = yield* Effect.fork(underStop(stores.disassociateStores(Scripted.sampleInput)))
      const second = yield* Effect.fork(underStop(stores.disassociateStores(Scripted.sampleInput)))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(fake.requests.length, 1, "the first call's retry and the second call wait for permits")
      yield* Deferred.succeed(stopped, undefined)
      const [a, b] = [yield* Fiber.await(first), yield* Fiber.await(second)]
      assert.isTrue(Exit.isFailure(a) && Cause.failureOption(a.cause).pipe(Option.map((e) => e._tag), Option.getOrNull) === "SystemError")
      assert.isTrue(Exit.isFailure(b) && Cause.failureOption(b.cause).pipe(Option.map((e) => e._tag), Option.getOrNull) === "NotSentError")
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(fake.requests.length, 1)
    }))
})

describe("abortWhen: calls in flight are interrupted, the report is complete", () => {
  it.scoped("a hanging call is interrupted at once; its stores are 'aborted while in flight'", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const fake = Scripted.make(() => Scripted.hang)
      const abort = yield* Deferred.make<void>()
      const ids = storeIds(1_000)
      const events: Array<BulkDisassociation.ProgressEvent> = []
      const fiber = yield* B.disassociateAll(ids, {
        ...job,
        concurrency: 4,
        abortWhen: Deferred.await(abort),
        onProgress: (e) => Effect.sync(() => void events.push(e))
      }).pipe(Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false })), Effect.fork)
      yield* TestClock.adjust("1 second")
      yield* Deferred.succeed(abort, undefined)
      const { after, value: report } = yield* doneWithin(fiber, 100)
      assert.isAtMost(after, 20)
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(fake.requests.length, 1)
      assertPartition(report, ids)
      assert.strictEqual(report.stoppedBy?.tag, "AbortedByCaller")
      assert.strictEqual(report.stoppedBy?.code, "ABORTED")
      assert.strictEqual(report.unresolved.filter((u) => u.reason === B.ABORTED_IN_FLIGHT).length, 200)
      assert.strictEqual(report.unresolved.filter((u) => u.reason === "not sent: the job was aborted before this call").length, 800)
      assert.strictEqual(events.filter((e) => e._tag === "Stopped" && e.code === "ABORTED").length, 1)
    }))

  it.scoped("after a graceful stop (the CLI's first Ctrl-C), an abort (the second) ends the job at once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      // The first call succeeds, the next four hang.
      const fake = Scripted.make((request, i) => i === 0 ? echo(request) : Scripted.hang)
      const stop = yield* Deferred.make<void>()
      const abort = yield* Deferred.make<void>()
      const ids = storeIds(2_000)
      const fiber = yield* B.disassociateAll(ids, {
        ...job,
        concurrency: 4,
        stopWhen: Deferred.await(stop),
        abortWhen: Deferred.await(abort)
      }).pipe(Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false, timeout: "10 seconds" })), Effect.fork)
      yield* TestClock.adjust("1 second")
      yield* Deferred.succeed(stop, undefined)
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "the graceful stop waits for the hanging calls")
      yield* Deferred.succeed(abort, undefined)
      const { after, value: report } = yield* doneWithin(fiber, 100)
      assert.isAtMost(after, 20)
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual(fake.requests.length, 5)
      assertPartition(report, ids)
      assert.strictEqual(report.stoppedBy?.code, "ABORTED")
      assert.strictEqual(report.summary.succeeded, 200)
      assert.strictEqual(report.unresolved.filter((u) => u.reason === B.ABORTED_IN_FLIGHT).length, 800)
      assert.strictEqual(report.unresolved.filter((u) => u.reason.startsWith("not sent")).length, 1_000)
    }))

  it.scopedLive("real time over HTTP: slow answers, an abort returns the full report at once", () =>
    Effect.gen(function*() {
      const { fake, layer, ids } = yield* slowSandbox({ rateLimit: false })
      const abort = yield* Deferred.make<void>()
      const fiber = yield* B.disassociateAll(ids, {
        productCouponId: FakeWechatPay.Fixture.productCouponId,
        stockId: FakeWechatPay.Fixture.stockId,
        brandId: FakeWechatPay.Fixture.brandId,
        abortWhen: Deferred.await(abort)
      }).pipe(Effect.provide(layer), Effect.fork)
      yield* firstRequest(fake)
      const abortedAt = Date.now()
      yield* Deferred.succeed(abort, undefined)
      const report = yield* Fiber.join(fiber)
      assert.isBelow(Date.now() - abortedAt, 500)
      assertPartition(report, ids)
      assert.strictEqual(report.stoppedBy?.code, "ABORTED")
      assert.strictEqual(report.unresolved.filter((u) => u.reason === B.ABORTED_IN_FLIGHT).length, 200)
      assert.strictEqual(fake.log.length, 1)
    }))
})

// ---------------------------------------------------------------------------
// WeChat Pay unreachable

describe("an unreachable WeChat Pay stops the job within seconds and says why", () => {
  it.scopedLive("both base URLs refused (real HTTP, default retries): a 5,000-store job stops in seconds, naming both hosts", () =>
    Effect.gen(function*() {
      const [primary, backup] = [yield* closedPort, yield* closedPort]
      const layer = serviceLayer({ baseUrl: `http://127.0.0.1:${primary}`, backupBaseUrl: `http://127.0.0.1:${backup}` })
      const ids = storeIds(5_000)
      const started = Date.now()
      const report = yield* B.disassociateAll(ids, job).pipe(Effect.provide(layer))
      const took = Date.now() - started
      assert.isBelow(took, 12_000, `took ${took} ms`)
      assert.strictEqual(report.stoppedBy?.tag, B.UNREACHABLE)
      assert.strictEqual(report.stoppedBy?.code, "UNREACHABLE")
      const message = report.stoppedBy?.message ?? ""
      assert.notInclude(message, "\n")
      assert.include(message, `http://127.0.0.1:${primary}: connection refused (ECONNREFUSED)`)
      assert.include(message, `http://127.0.0.1:${backup}: connection refused (ECONNREFUSED)`)
      assert.isAtMost(report.summary.requests, 30)
      assertPartition(report, ids)
      assert.strictEqual(report.summary.unresolved, 5_000)
      const sent = report.unresolved.filter((u) => u.reason.startsWith("TransportError: "))
      assert.isAbove(sent.length, 0)
      assert.isTrue(sent.every((u) => /^TransportError: connection refused \(ECONNREFUSED\) at 127\.0\.0\.1:\d+$/.test(u.reason)))
      const notSent = report.unresolved.filter((u) => u.reason.startsWith("not sent: the job stopped after UNREACHABLE"))
      assert.strictEqual(sent.length + notSent.length, 5_000)
    }), 30_000)

  it.scopedLive("the same through NodeHttpClient.layerUndici, without retries", () =>
    Effect.gen(function*() {
      const [primary, backup] = [yield* closedPort, yield* closedPort]
      const layer = ProductCouponStores.layerMerchant(
        merchantOptions({ baseUrl: `http://127.0.0.1:${primary}`, backupBaseUrl: `http://127.0.0.1:${backup}` }),
        { retry: false }
      ).pipe(Layer.provide(NodeHttpClient.layerUndici))
      const ids = storeIds(3_000)
      const report = yield* B.disassociateAll(ids, job).pipe(Effect.provide(layer))
      assert.strictEqual(report.stoppedBy?.code, "UNREACHABLE")
      assert.include(report.stoppedBy?.message ?? "", `127.0.0.1:${primary}`)
      assert.include(report.stoppedBy?.message ?? "", `127.0.0.1:${backup}`)
      assert.isAtMost(report.summary.requests, 8)
      assertPartition(report, ids)
      assert.isTrue(
        report.unresolved.every((u) =>
          u.reason.startsWith("not sent: the job stopped after UNREACHABLE") || u.reason.startsWith("TransportError: connection refused (ECONNREFUSED) at 127.0.0.1:")
        )
      )
    }), 30_000)

  const sandbox = Effect.gen(function*() {
    const { fake, server } = yield* serve({ seed: FakeWechatPay.generate({ stores: 2_000 }) })
    yield* server.setPrimaryDown(true)
    return { fake, server }
  })
  const sandboxJob = {
    productCouponId: FakeWechatPay.Fixture.productCouponId,
    stockId: FakeWechatPay.Fixture.stockId,
    brandId: FakeWechatPay.Fixture.brandId
  }

  it.scopedLive("a primary-only outage (the backup answers) does not stop the job", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* sandbox
      const layer = serviceLayer(server, { retry: { baseDelay: "5 millis", jitter: 0 }, rateLimit: false })
      const ids = Array.from({ length: 2_000 }, (_, i) => FakeWechatPay.storeId(i))
      const report = yield* B.disassociateAll(ids, { ...sandboxJob, concurrency: 4 }).pipe(Effect.provide(layer))
      assert.isUndefined(report.stoppedBy)
      assert.strictEqual(report.summary.succeeded, 2_000)
      assert.strictEqual(fake.associatedCount(FakeWechatPay.Fixture.stockId), 0)
    }), 30_000)

  it.scopedLive("nor does it without retries, when every call that hits the primary fails", () =>
    Effect.gen(function*() {
      const { server } = yield* sandbox
      // A short failover window sends calls back to the down primary again and again.
      const layer = serviceLayer(server, { retry: false, rateLimit: { limit: 50 }, failover: { window: "30 millis" } })
      const ids = Array.from({ length: 2_000 }, (_, i) => FakeWechatPay.storeId(i))
      const report = yield* B.disassociateAll(ids, { ...sandboxJob, concurrency: 4, chunkSize: 20 }).pipe(Effect.provide(layer))
      assert.isUndefined(report.stoppedBy)
      assertPartition(report, ids)
      assert.isAbove(report.summary.succeeded, 0)
      assert.strictEqual(report.summary.chunks, 100)
    }), 30_000)
})

describe("a transport failure says why, not only 'request failed'", () => {
  const base = { reason: "Transport: request failed", url: "https://api.mch.weixin.qq.com/v3/x" }
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    [
      "fetch: refused",
      Object.assign(new TypeError("fetch failed"), {
        cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1234"), { code: "ECONNREFUSED", address: "127.0.0.1", port: 1234 })
      }),
      "connection refused (ECONNREFUSED) at 127.0.0.1:1234"
    ],
    [
      "fetch: DNS",
      Object.assign(new TypeError("fetch failed"), {
        cause: Object.assign(new Error("getaddrinfo ENOTFOUND api.mch.weixin.qq.com"), { code: "ENOTFOUND", hostname: "api.mch.weixin.qq.com" })
      }),
      "DNS lookup failed (ENOTFOUND) at api.mch.weixin.qq.com"
    ],
    [
      "fetch: DNS, temporary",
      Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("x"), { code: "EAI_AGAIN", hostname: "h" }) }),
      "DNS lookup failed (temporary) (EAI_AGAIN) at h"
    ],
    [
      "fetch: TLS",
      Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("wrong version number"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" }) }),
      "TLS failure (ERR_SSL_WRONG_VERSION_NUMBER) at api.mch.weixin.qq.com"
    ],
    [
      "undici: connect timeout",
      Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" }),
      "connect timeout (UND_ERR_CONNECT_TIMEOUT) at api.mch.weixin.qq.com"
    ],
    [
      "happy eyeballs: an AggregateError",
      Object.assign(new TypeError("fetch failed"), {
        cause: new AggregateError([Object.assign(new Error("a"), { code: "ECONNREFUSED", address: "::1", port: 443 })], "all failed")
      }),
      "connection refused (ECONNREFUSED) at ::1:443"
    ],
    ["no cause at all", undefined, "Transport: request failed at api.mch.weixin.qq.com"]
  ]
  for (const [name, cause, text] of cases) {
    it(name, () => {
      const error = new W.TransportError({ ...base, phase: "request", method: "POST", cause })
      assert.strictEqual(W.describeTransport(error), text)
      assert.include(error.message, text)
      const { outcome } = classify(error)
      assert.strictEqual(outcome._tag === "Unknown" ? outcome.reason : "", `TransportError: ${text}`)
    })
  }
})

describe("a slow body is not an outage", () => {
  it("a timeout after the headers came resets the silence: hosts answering slowly never add up to UNREACHABLE", async () => {
    const { Reachability } = await import("../packages/effect-wechatpay/src/internal/bulk/Reachability.js")
    const event = (baseUrl: string, error: W.TimeoutError) => ({ attempt: 1, baseUrl, outcome: "TimeoutError", willRetry: false, error })
    const silent = (url: string) => new W.TimeoutError({ method: "POST", url, timeoutMillis: 100 })
    const slow = (url: string) => new W.TimeoutError({ method: "POST", url, timeoutMillis: 100, phase: "response" })
    assert.isFalse(slow("p").behaviour.triggersFailover)
    assert.isTrue(silent("p").behaviour.triggersFailover)
    const r = new Reachability()
    // Two silent calls on both hosts, then a slow answer: the count starts again.
    for (const host of ["p", "b", "p", "b"]) r.attempt(event(host, silent(host)))
    assert.isUndefined(r.silentCall())
    assert.isUndefined(r.silentCall())
    r.attempt(event("p", slow("p")))
    for (const host of ["p", "b"]) r.attempt(event(host, silent(host)))
    assert.isUndefined(r.silentCall())
    assert.isUndefined(r.silentCall())
    // Three silent calls in a row with every host silent: unreachable.
    assert.match(r.silentCall() ?? "", /unreachable: 3 calls in a row/)
  })
})
