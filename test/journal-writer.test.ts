// The journal's writer on its own, over an appender that records each append: a queued record starts no
// append of its own but goes out with the next awaited one, or with the barrier; records awaited together
// share one append, run by the first fiber that waits; after a failed append nothing unwritten is reported
// durable. The crash sweep (jobs-crash.test.ts) checks what this means for jobs.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber, FiberId, Option, Scope } from "effect"
import { JobJournal } from "../packages/effect-wechatpay/src/index.js"
import { makeWriter } from "../packages/effect-wechatpay/src/internal/bulk/JournalWriter.js"

/** An appender that records every append, can hold one until released, and fails when told to. */
const recordingAppender = () =>
  Effect.gen(function*() {
    const appends: Array<string> = []
    let gate: Deferred.Deferred<void, JobJournal.JournalIoError> | undefined
    let failNext = false
    const appender = {
      append: (text: string) =>
        Effect.suspend(() => {
          if (failNext) {
            failNext = false
            return Effect.fail(new JobJournal.JournalIoError({ location: "memory", operation: "append", reason: "disk full" }))
          }
          appends.push(text)
          return gate === undefined ? Effect.void : Deferred.await(gate)
        })
    }
    return {
      appender,
      appends,
      hold: () => Effect.sync(() => (gate = Deferred.unsafeMake<void, JobJournal.JournalIoError>(FiberId.none))),
      release: () => Effect.suspend(() => gate === undefined ? Effect.void : Deferred.succeed(gate, undefined)),
      /** Ends the held append with a failure (the disk filled up during it). */
      releaseFailing: () =>
        Effect.suspend(() =>
          gate === undefined ? Effect.void : Deferred.fail(gate, new JobJournal.JournalIoError({ location: "memory", operation: "append", reason: "disk full" }))
        ),
      failNextAppend: () => Effect.sync(() => (failNext = true))
    }
  })

/** A writer over a fresh recording appender, in the test's scope. */
const writerOnDisk = Effect.flatMap(recordingAppender(), (disk) => Effect.map(makeWriter(disk.appender), (writer) => ({ disk, writer })))

// Lets every forked fiber run as far as it can.
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("the journal's writer", () => {
  it.scoped("a queued record starts no append; the next awaited record takes it along, in queue order", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* writer.queue("call 2\n")
      yield* settle
      assert.deepStrictEqual(disk.appends, [])
      yield* writer.write("outcome 1\n")
      assert.deepStrictEqual(disk.appends, ["call 2\noutcome 1\n"])
      // Already on disk: the barrier appends nothing more.
      yield* writer.barrier
      yield* settle
      assert.deepStrictEqual(disk.appends, ["call 2\noutcome 1\n"])
    }))

  it.scoped("the barrier flushes every queued record in one append, in queue order", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* writer.queue("call 1\n")
      yield* writer.queue("outcome 0\n")
      yield* writer.barrier
      assert.deepStrictEqual(disk.appends, ["call 1\noutcome 0\n"])
    }))

  it.scoped("the first fiber that waits starts the append at once, before any other fiber ready to run", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      const order: Array<string> = []
      yield* writer.queue("call 1\n")
      const waiter = yield* Effect.fork(Effect.zipRight(Effect.sync(() => order.push("waiter")), writer.barrier))
      const other = yield* Effect.fork(Effect.sync(() => order.push(`other, after ${disk.appends.length} append`)))
      yield* Fiber.join(waiter)
      yield* Fiber.join(other)
      assert.deepStrictEqual(order, ["waiter", "other, after 1 append"])
    }))

  it.scoped("closing the job's scope interrupts an append that hangs", () =>
    Effect.gen(function*() {
      const disk = yield* recordingAppender()
      yield* disk.hold()
      const scope = yield* Scope.make()
      const writer = yield* Scope.extend(makeWriter(disk.appender), scope)
      const waiter = yield* Effect.fork(writer.write("a\n"))
      yield* settle
      yield* Scope.close(scope, Exit.void)
      yield* settle
      // Polled, not awaited: a waiter left hanging fails here at once instead of at the test's timeout.
      const exit = yield* Fiber.poll(waiter)
      assert.isTrue(Option.isSome(exit) && Exit.isInterrupted(exit.value))
    }))

  it.scoped("records awaited while an append runs share the next one", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* disk.hold()
      const first = yield* Effect.fork(writer.write("a\n"))
      yield* settle
      assert.deepStrictEqual(disk.appends, ["a\n"])
      const rest = yield* Effect.fork(Effect.all([writer.write("b\n"), writer.write("c\n")], { concurrency: "unbounded" }))
      yield* settle
      assert.deepStrictEqual(disk.appends, ["a\n"])
      yield* disk.release()
      yield* Fiber.join(first)
      yield* Fiber.join(rest)
      assert.deepStrictEqual(disk.appends, ["a\n", "b\nc\n"])
    }))

  it.scoped("interrupting the fiber that started the appends does not strand the others waiting for them", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* disk.hold()
      const runner = yield* Effect.fork(writer.write("a\n"))
      yield* settle
      const other = yield* Effect.fork(writer.write("b\n"))
      yield* settle
      const interrupted = yield* Effect.fork(Fiber.interrupt(runner))
      yield* settle
      yield* disk.release()
      yield* Fiber.join(interrupted)
      yield* Fiber.join(other)
      assert.deepStrictEqual(disk.appends, ["a\n", "b\n"])
    }))

  it.scoped("after a failed append, nothing more is queued or appended, and the barrier fails", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* disk.failNextAppend()
      const failed = yield* Effect.either(writer.write("outcome 1\n"))
      assert.isTrue(Either.isLeft(failed))
      assert.strictEqual(writer.failure()?.reason, "disk full")
      // Queued after the failure: refused at once.
      assert.isTrue(Either.isLeft(yield* Effect.either(writer.queue("call 2\n"))))
      assert.isTrue(Either.isLeft(yield* Effect.either(writer.barrier)))
      assert.deepStrictEqual(disk.appends, [])
    }))

  it.scoped("a record queued before a failed append is not reported durable", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* writer.write("header\n")
      yield* writer.queue("call 2\n")
      yield* disk.failNextAppend()
      // The failed append carried the queued record with it.
      assert.isTrue(Either.isLeft(yield* Effect.either(writer.write("outcome 1\n"))))
      assert.isTrue(Either.isLeft(yield* Effect.either(writer.barrier)))
      assert.deepStrictEqual(disk.appends, ["header\n"])
    }))

  it.scoped("a record awaited while an append fails is refused, not written after it", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* disk.hold()
      const first = yield* Effect.fork(Effect.either(writer.write("outcome 1\n")))
      yield* settle
      // Awaited while the append runs: its turn would come after the failure.
      const next = yield* Effect.fork(Effect.either(writer.write("call 5\n")))
      yield* settle
      yield* disk.releaseFailing()
      assert.isTrue(Either.isLeft(yield* Fiber.join(first)))
      assert.isTrue(Either.isLeft(yield* Fiber.join(next)))
      yield* settle
      assert.deepStrictEqual(disk.appends, ["outcome 1\n"])
    }))
})
