// The journal's writer fiber on its own, over an appender that records each append: records awaited
// together share one append; a record queued ahead (a call's, before its permit) starts no append of its
// own but goes out with the next awaited one, or when it is awaited itself; after a failed append nothing
// unwritten is reported durable. The crash sweep (jobs-crash.test.ts) checks what this means for jobs.
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber } from "effect"
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
      hold: () => Effect.sync(() => (gate = Deferred.unsafeMake<void, JobJournal.JournalIoError>(undefined as never))),
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

// Lets the writer fiber run whatever it was woken for.
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("the journal's writer", () => {
  it.scoped("a record queued ahead starts no append; the next awaited record takes it along, in queue order", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      const ahead = yield* writer.queue("call 2\n")
      yield* settle
      assert.deepStrictEqual(disk.appends, [])
      yield* writer.write("outcome 1\n")
      assert.deepStrictEqual(disk.appends, ["call 2\noutcome 1\n"])
      // Already on disk: awaiting it appends nothing more.
      yield* ahead
      yield* settle
      assert.deepStrictEqual(disk.appends, ["call 2\noutcome 1\n"])
    }))

  it.scoped("awaiting a record queued ahead flushes it, with anything queued before it", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* writer.queue("call 1\n")
      const second = yield* writer.queue("call 2\n")
      yield* second
      assert.deepStrictEqual(disk.appends, ["call 1\ncall 2\n"])
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

  it.scoped("after a failed append, a record never written fails when awaited and nothing more is appended", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* disk.failNextAppend()
      const failed = yield* Effect.either(writer.write("outcome 1\n"))
      assert.isTrue(Either.isLeft(failed))
      assert.strictEqual(writer.failure()?.reason, "disk full")
      // Queued after the failure: refused at once.
      assert.isTrue(Either.isLeft(yield* Effect.either(Effect.flatten(writer.queue("call 2\n")))))
      assert.deepStrictEqual(disk.appends, [])
    }))

  it.scoped("a record queued ahead of a failed append is not reported durable", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* writer.write("header\n")
      const ahead = yield* writer.queue("call 2\n")
      yield* disk.failNextAppend()
      // The failed append carried the record queued ahead with it.
      assert.isTrue(Either.isLeft(yield* Effect.either(writer.write("outcome 1\n"))))
      assert.isTrue(Either.isLeft(yield* Effect.either(ahead)))
      assert.deepStrictEqual(disk.appends, ["header\n"])
    }))

  it.scoped("a record queued ahead and still pending when an append fails is refused, not written", () =>
    Effect.gen(function*() {
      const { disk, writer } = yield* writerOnDisk
      yield* disk.hold()
      const first = yield* Effect.fork(Effect.either(writer.write("outcome 1\n")))
      yield* settle
      // Queued while the append runs: it stays pending, since nobody awaits it yet.
      const ahead = yield* writer.queue("call 5\n")
      yield* disk.releaseFailing()
      assert.isTrue(Either.isLeft(yield* Fiber.join(first)))
      // Its turn would come after the failure: it is refused, and the journal gets nothing more.
      assert.isTrue(Either.isLeft(yield* Effect.either(ahead)))
      yield* settle
      assert.deepStrictEqual(disk.appends, ["outcome 1\n"])
    }))
})
