import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Either, Fiber, Layer, TestClock } from "effect"
import { ProductCouponStores, WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import * as DomainFailover from "../packages/effect-wechatpay/src/internal/DomainFailover.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const { BACKUP, PRIMARY, sampleInput } = Scripted
const T0 = Scripted.NOW * 1000

/** A service over `script`, and a `call` that forks one call and drives the clock through its retries. */
const setup = (script: Scripted.Script, options: ProductCouponStores.Options = {}) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const fake = Scripted.make(script)
    // Built in the test's scope, so the service (and its state) lives across calls.
    const context = yield* Layer.build(
      Scripted.serviceLayer(fake, { rateLimit: false, retry: { jitter: 0 }, ...options })
    )
    const service = Context.get(context, ProductCouponStores.ProductCouponStores)
    const call = Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.either(service.disassociateStores(sampleInput)))
      yield* TestClock.adjust("1 minute")
      return yield* Fiber.join(fiber)
    })
    /** One call that needs no clock (its answer comes at once). */
    const once = Effect.either(service.disassociateStores(sampleInput))
    const origins = () => fake.requests.map((r) => r.url.origin)
    return { call, once, fake, origins }
  })

describe("primary/backup failover", () => {
  it.scoped("a refused connection sends the next attempt to the backup, which stays for 3 minutes", () =>
    Effect.gen(function*() {
      const { call, fake, origins } = yield* setup((_, i) => i === 0 ? Scripted.refuse : Scripted.ok())
      assert.isTrue(Either.isRight(yield* call))
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP])
      // The path and signature are the same on either host.
      assert.strictEqual(fake.requests[1]!.url.pathname, fake.requests[0]!.url.pathname)
      for (const r of fake.requests) assert.isUndefined(r.rejection)
      // Still within the window (1 minute has passed while driving the call).
      assert.isTrue(Either.isRight(yield* call))
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP, BACKUP])
      // Past the 3-minute window: back to the primary.
      yield* TestClock.adjust("2 minutes")
      assert.isTrue(Either.isRight(yield* call))
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP, BACKUP, PRIMARY])
    }))

  it.scoped("the window is exactly 3 minutes from the failure: backup 1 ms before, primary at the boundary", () =>
    Effect.gen(function*() {
      const { call, once, origins } = yield* setup((_, i) => i === 0 ? Scripted.refuse : Scripted.ok())
      // The refusal happens at T0; the retry goes to the backup.
      yield* call
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP])
      yield* TestClock.setTime(T0 + 3 * 60_000 - 1)
      assert.isTrue(Either.isRight(yield* once))
      yield* TestClock.setTime(T0 + 3 * 60_000)
      assert.isTrue(Either.isRight(yield* once))
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP, BACKUP, PRIMARY])
    }))

  it.scoped("an HTTP error response, whatever its status, never fails over", () =>
    Effect.gen(function*() {
      const { call, origins } = yield* setup([
        Scripted.apiError(500, "SYSTEM_ERROR", "系统异常"),
        Scripted.reply(503, "<html>unavailable</html>", { signature: "none" }),
        Scripted.ok()
      ])
      assert.isTrue(Either.isRight(yield* call))
      assert.deepStrictEqual(origins(), [PRIMARY, PRIMARY, PRIMARY])
    }))

  it.scoped("a timeout before any response fails over", () =>
    Effect.gen(function*() {
      const { call, origins } = yield* setup([Scripted.hang, Scripted.ok()], { timeout: "2 seconds" })
      const result = yield* call
      assert.isTrue(Either.isRight(result))
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP])
    }))

  it.scoped("when the backup is refused too, the next attempt tries the primary again", () =>
    Effect.gen(function*() {
      const { call, origins } = yield* setup([Scripted.refuse, Scripted.refuse, Scripted.ok()])
      assert.isTrue(Either.isRight(yield* call))
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP, PRIMARY])
    }))

  it.scoped("the window is configurable, and failover can be turned off", () =>
    Effect.gen(function*() {
      const short = yield* setup((_, i) => i === 0 ? Scripted.refuse : Scripted.ok(), { failover: { window: "10 seconds" } })
      yield* short.call
      // The call itself advanced the clock by a minute: the 10 s window is over.
      yield* short.call
      assert.deepStrictEqual(short.origins(), [PRIMARY, BACKUP, PRIMARY])
      const off = yield* setup((_, i) => i === 0 ? Scripted.refuse : Scripted.ok(), { failover: false })
      yield* off.call
      assert.deepStrictEqual(off.origins(), [PRIMARY, PRIMARY])
    }))

  it.scoped("failover state is shared by every fiber using the service", () =>
    Effect.gen(function*() {
      const { call, origins } = yield* setup((_, i) => i === 0 ? Scripted.refuse : Scripted.ok())
      yield* call
      const results = yield* Effect.all([call, call, call], { concurrency: "unbounded" })
      assert.isTrue(results.every(Either.isRight))
      assert.deepStrictEqual(origins(), [PRIMARY, BACKUP, BACKUP, BACKUP, BACKUP])
    }))
})

describe("DomainFailover (pure)", () => {
  it("select and onFailure", () => {
    const primary = { _tag: "Primary" } as const
    const afterPrimary = DomainFailover.onFailure(primary, "primary", 1000, 500)
    assert.strictEqual(DomainFailover.select(afterPrimary, 1000), "backup")
    assert.strictEqual(DomainFailover.select(afterPrimary, 1499), "backup")
    assert.strictEqual(DomainFailover.select(afterPrimary, 1500), "primary")
    assert.strictEqual(DomainFailover.select(DomainFailover.onFailure(afterPrimary, "backup", 1200, 500), 1200), "primary")
  })

  it("only network-level failures trigger it", () => {
    const at = { method: "POST", url: "u" }
    assert.isTrue(DomainFailover.triggersFailover(new WechatPayError.TimeoutError({ ...at, timeoutMillis: 1 })))
    assert.isTrue(DomainFailover.triggersFailover(new WechatPayError.TransportError({ ...at, phase: "request", reason: "r" })))
    assert.isFalse(DomainFailover.triggersFailover(new WechatPayError.TransportError({ ...at, phase: "response", reason: "r" })))
    assert.isFalse(
      DomainFailover.triggersFailover(new WechatPayError.UnexpectedResponseError({ status: 502, excerpt: "", verified: false }))
    )
    assert.isFalse(
      DomainFailover.triggersFailover(
        new WechatPayError.SystemError({ status: 500, code: "SYSTEM_ERROR", message: "", verified: true })
      )
    )
  })
})
