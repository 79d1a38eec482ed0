// The per-attempt timeout: one fiber per service sleeps on the Clock until the earliest deadline,
// so a TestClock drives exactly the code production runs.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, TestClock } from "effect"
import * as AttemptDeadline from "../packages/effect-wechatpay/src/internal/AttemptDeadline.js"
import * as Timeout from "../packages/effect-wechatpay/src/internal/Timeout.js"

const timedOut = "timed out" as const

// An attempt that never ends by itself, and says whether it was interrupted.
const hangingAttempt = Effect.map(Deferred.make<void>(), (interrupted) => ({
  interrupted,
  attempt: Effect.onInterrupt(Effect.never, () => Deferred.succeed(interrupted, undefined))
}))

describe("Timeout (one sleeping fiber for every attempt in flight)", () => {
  it.scoped("attempts started at different times each end at their own deadline; a finished one never fires", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(5_000)
      const release = yield* Deferred.make<number>()
      const first = yield* Effect.fork(timeouts.run(Effect.never, () => timedOut))
      yield* TestClock.adjust(Duration.seconds(1))
      const second = yield* Effect.fork(timeouts.run(Deferred.await(release), () => timedOut))
      yield* TestClock.adjust(Duration.seconds(1))
      const third = yield* Effect.fork(timeouts.run(Effect.never, () => timedOut))
      yield* TestClock.adjust(Duration.seconds(1)) // t = 3 s
      yield* Deferred.succeed(release, 42)
      assert.deepStrictEqual(yield* Fiber.await(second), Exit.succeed(42))
      yield* TestClock.adjust(Duration.millis(1_999)) // t = 4.999 s: nothing due yet
      assert.strictEqual((yield* Fiber.poll(first))._tag, "None")
      yield* TestClock.adjust(Duration.millis(1)) // t = 5 s
      assert.deepStrictEqual(yield* Fiber.await(first), Exit.fail(timedOut))
      yield* TestClock.adjust(Duration.millis(1_999)) // t = 6.999 s: the third's deadline is 7 s
      assert.strictEqual((yield* Fiber.poll(third))._tag, "None")
      yield* TestClock.adjust(Duration.millis(1))
      assert.deepStrictEqual(yield* Fiber.await(third), Exit.fail(timedOut))
    }))

  it.scoped("the attempt itself is interrupted when its time is up", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      const { attempt, interrupted } = yield* hangingAttempt
      const fiber = yield* Effect.fork(timeouts.run(attempt, () => timedOut))
      yield* TestClock.adjust(Duration.seconds(1))
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail(timedOut))
      assert.isTrue(yield* Deferred.isDone(interrupted))
    }))

  it.scoped("an interrupted caller stops its attempt, and its deadline later fires nothing", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      const { attempt, interrupted } = yield* hangingAttempt
      const fiber = yield* Effect.fork(timeouts.run(attempt, () => timedOut))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.interrupt(fiber)
      assert.isTrue(yield* Deferred.isDone(interrupted))
      yield* TestClock.adjust(Duration.seconds(5))
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isInterrupted(exit))
    }))

  it.scoped("after the queue ran empty, a new attempt still times out (the sleeping fiber is woken)", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      assert.strictEqual(yield* timeouts.run(Effect.succeed(1), () => timedOut), 1)
      yield* TestClock.adjust(Duration.seconds(30))
      const fiber = yield* Effect.fork(timeouts.run(Effect.never, () => timedOut))
      yield* TestClock.adjust(Duration.millis(999))
      assert.strictEqual((yield* Fiber.poll(fiber))._tag, "None")
      yield* TestClock.adjust(Duration.millis(1))
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail(timedOut))
    }))

  it.scoped("thousands of finished attempts do not pile up ahead of a live one", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      const slow = yield* Effect.fork(timeouts.run(Effect.never, () => timedOut))
      for (let i = 0; i < 5_000; i++) yield* timeouts.run(Effect.succeed(i), () => timedOut)
      yield* TestClock.adjust(Duration.seconds(1))
      assert.deepStrictEqual(yield* Fiber.await(slow), Exit.fail(timedOut))
      const last = yield* Effect.fork(timeouts.run(Effect.never, () => timedOut))
      yield* TestClock.adjust(Duration.seconds(1))
      assert.deepStrictEqual(yield* Fiber.await(last), Exit.fail(timedOut))
    }))
})

describe("Timeout.runInPlace (the attempt on the caller's fiber, its transport stopping itself)", () => {
  /** A request that only its deadline's `stop` ends, as UndiciHttpClient's does. */
  const stoppableRequest = Effect.withFiberRuntime<never, string>((fiber) =>
    Effect.async<never, string>((resume) => {
      const deadline = AttemptDeadline.of(fiber)
      if (deadline !== undefined) deadline.stop = () => resume(Effect.fail("stopped"))
    })
  )

  it.scoped("the deadline stops the request and the attempt ends with its timeout, on the caller's own fiber", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      const fiber = yield* Effect.fork(timeouts.runInPlace(stoppableRequest, () => timedOut))
      yield* TestClock.adjust(Duration.millis(10))
      assert.isFunction(AttemptDeadline.of(fiber)?.stop)
      yield* TestClock.adjust(Duration.millis(989))
      assert.strictEqual((yield* Fiber.poll(fiber))._tag, "None")
      yield* TestClock.adjust(Duration.millis(1))
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail(timedOut))
      assert.isUndefined(AttemptDeadline.of(fiber))
    }))

  it.scoped("an attempt done in time keeps its result, and its deadline fires nothing later", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      let stops = 0
      const quick = Effect.withFiberRuntime<number>((fiber) => {
        const deadline = AttemptDeadline.of(fiber)!
        deadline.stop = () => stops++
        return Effect.as(Effect.sleep(Duration.millis(500)), 7)
      })
      const fiber = yield* Effect.fork(timeouts.runInPlace(quick, () => timedOut))
      yield* TestClock.adjust(Duration.millis(500))
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed(7))
      assert.isUndefined(AttemptDeadline.of(fiber))
      yield* TestClock.adjust(Duration.seconds(5))
      assert.strictEqual(stops, 0)
    }))

  it.scoped("an attempt that ends after its deadline without a request to stop is still its timeout, as with run", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      const slow = Effect.as(Effect.sleep(Duration.millis(1_500)), 7)
      const inPlace = yield* Effect.fork(timeouts.runInPlace(slow, () => timedOut))
      const forked = yield* Effect.fork(timeouts.run(slow, () => timedOut))
      yield* TestClock.adjust(Duration.millis(1_500))
      assert.deepStrictEqual(yield* Fiber.await(inPlace), Exit.fail(timedOut))
      assert.deepStrictEqual(yield* Fiber.await(forked), Exit.fail(timedOut))
    }))

  it.scoped("an interrupted caller is interrupted, not timed out, and its deadline is forgotten", () =>
    Effect.gen(function*() {
      const timeouts = yield* Timeout.make(1_000)
      const fiber = yield* Effect.fork(timeouts.runInPlace(stoppableRequest, () => timedOut))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isInterrupted(yield* Fiber.await(fiber)))
      assert.isUndefined(AttemptDeadline.of(fiber))
      yield* TestClock.adjust(Duration.seconds(5))
    }))
})
