// The writer thread behind `JobJournal.layerNodeFile`: records handed over are appended in order and read as
// durable from shared memory; a failed write is a typed error and nothing after it is written; stopping writes
// what was handed over before it lets the descriptor go; a thread that dies wakes whoever waits.
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Worker } from "node:worker_threads"
import { JobJournal } from "../packages/effect-wechatpay/src/index.js"
import { makeWriter } from "../packages/effect-wechatpay/src/internal/bulk/JournalWriter.js"
import * as WriterThread from "../packages/effect-wechatpay/src/internal/bulk/WriterThread.js"

const toError = (reason: string) => new JobJournal.JournalIoError({ location: "test", operation: "append", reason })

const tempFile = () => Path.join(Fs.mkdtempSync(Path.join(Os.tmpdir(), "writer-thread-")), "journal.jsonl")
const openAppend = (file: string) =>
  Fs.openSync(file, Fs.constants.O_CREAT | Fs.constants.O_WRONLY | Fs.constants.O_APPEND | Fs.constants.O_DSYNC)

/** A thread attached to `fd`, stopped (and the descriptor closed) with the scope. */
const attached = (fd: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const thread = WriterThread.spawn(Worker)
      if (thread === undefined) throw new Error("this Node has worker threads and Atomics.waitAsync")
      return { thread, pipeline: thread.attach(fd, toError) }
    }),
    ({ thread }) => Effect.zipRight(thread.stop, Effect.sync(() => Fs.closeSync(fd)))
  )

describe("the journal's writer thread", () => {
  it.scoped("appends every record handed over, in order, and says so through shared memory", () =>
    Effect.gen(function*() {
      const file = tempFile()
      const { pipeline } = yield* attached(openAppend(file))
      const lines = Array.from({ length: 300 }, (_, i) => `{"n":${i}}\n`)
      const seqs = lines.map((line) => pipeline.submit(line))
      assert.deepStrictEqual(seqs, lines.map((_, i) => i + 1))
      yield* pipeline.await(300)
      assert.isAtLeast(pipeline.durable(), 300)
      assert.strictEqual(Fs.readFileSync(file, "utf8"), lines.join(""))
      assert.isUndefined(pipeline.failure())
    }))

  it.scoped("a write that fails is a JournalIoError, and nothing handed over after it is written", () =>
    Effect.gen(function*() {
      const file = tempFile()
      Fs.writeFileSync(file, "")
      // Read-only: the thread's write fails (EBADF).
      const { pipeline } = yield* attached(Fs.openSync(file, "r"))
      const first = pipeline.submit("{\"n\":1}\n")
      const failed = yield* Effect.either(pipeline.await(first))
      assert.isTrue(Either.isLeft(failed))
      if (Either.isLeft(failed)) {
        assert.strictEqual(failed.left._tag, "JournalIoError")
        assert.match(failed.left.reason, /EBADF|bad file/i)
      }
      assert.strictEqual(pipeline.failure(), Either.isLeft(failed) ? failed.left : undefined)
      // The job's writer refuses what comes after, without handing it over.
      const writer = yield* makeWriter({ append: () => Effect.void, [WriterThread.PipelineKey]: pipeline } as never)
      const queued = yield* Effect.either(writer.queue("{\"n\":2}\n"))
      assert.isTrue(Either.isLeft(queued))
      assert.isTrue(Either.isLeft(yield* Effect.either(writer.barrier)))
      assert.strictEqual(pipeline.durable(), 0)
    }))

  it.effect("stopping writes what was handed over before the thread lets the descriptor go", () =>
    Effect.gen(function*() {
      const file = tempFile()
      const fd = openAppend(file)
      const thread = WriterThread.spawn(Worker)!
      const pipeline = thread.attach(fd, toError)
      const lines = Array.from({ length: 50 }, (_, i) => `{"n":${i}}\n`)
      for (const line of lines) pipeline.submit(line)
      yield* thread.stop
      Fs.closeSync(fd)
      assert.strictEqual(Fs.readFileSync(file, "utf8"), lines.join(""))
    }))

  it.scoped("records go to the thread in one message when flushed, awaited or followed by an outcome, not one by one", () =>
    Effect.gen(function*() {
      // A stand-in thread that keeps the messages it is sent.
      const messages: Array<unknown> = []
      class Recording {
        postMessage(message: unknown) {
          messages.push(message)
        }
        once() {}
        unref() {}
      }
      const pipeline = WriterThread.spawn(Recording)!.attach(3, toError)
      assert.strictEqual(messages.length, 1)
      pipeline.submit("{\"a\":1}\n")
      pipeline.submit("{\"b\":2}\n")
      assert.strictEqual(messages.length, 1)
      pipeline.flush()
      assert.deepStrictEqual(messages.slice(1), [{ seq: 2, text: "{\"a\":1}\n{\"b\":2}\n" }])
      pipeline.flush()
      assert.strictEqual(messages.length, 2)
      // Awaiting a record not yet handed over hands it over.
      const waiting = yield* Effect.fork(pipeline.await(pipeline.submit("{\"c\":3}\n")))
      yield* Effect.yieldNow()
      assert.deepStrictEqual(messages.slice(2), [{ seq: 3, text: "{\"c\":3}\n" }])
      yield* Fiber.interrupt(waiting)
      // The job's writer: a call recorded ahead waits for the next outcome, which goes at once.
      const writer = yield* makeWriter({ append: () => Effect.void, [WriterThread.PipelineKey]: pipeline } as never)
      yield* writer.queue("{\"call\":4}\n")
      assert.strictEqual(messages.length, 3)
      yield* writer.queue("{\"outcome\":3}\n", true)
      assert.deepStrictEqual(messages.slice(3), [{ seq: 5, text: "{\"call\":4}\n{\"outcome\":3}\n" }])
    }))

  it.effect("a thread that ends wakes whoever waits, with a failure", () =>
    Effect.gen(function*() {
      // A stand-in thread that takes records and writes none, then exits when told.
      const listeners: Record<string, Array<(...args: Array<unknown>) => void>> = {}
      class Silent {
        postMessage(_message: unknown) {}
        once(event: string, listener: (...args: Array<unknown>) => void) {
          ;(listeners[event] ??= []).push(listener)
        }
        unref() {}
      }
      const thread = WriterThread.spawn(Silent)!
      const pipeline = thread.attach(3, toError)
      const waiting = yield* Effect.fork(pipeline.await(pipeline.submit("{}\n")))
      yield* Effect.yieldNow()
      for (const listener of listeners.exit ?? []) listener(1)
      const exit = yield* Fiber.await(waiting)
      assert.isTrue(Exit.isFailure(exit))
      assert.match(pipeline.failure()?.reason ?? "", /writer thread ended/)
    }))

  it.scoped("a checkpoint waits for the records queued before it, not for those queued after", () =>
    Effect.gen(function*() {
      // A stand-in pipeline whose durable sequence number the test moves.
      let durable = 0
      let seq = 0
      const pipeline: WriterThread.Pipeline = {
        submit: () => ++seq,
        flush: () => {},
        durable: () => durable,
        failure: () => undefined,
        await: (target) => Effect.repeat(Effect.yieldNow(), { until: () => durable >= target }),
        writes: () => 0
      }
      const writer = yield* makeWriter({ append: () => Effect.void, [WriterThread.PipelineKey]: pipeline } as never)
      yield* writer.queue("{\"call\":1}\n")
      const checkpoint = writer.checkpoint()
      yield* writer.queue("{\"outcome\":0}\n")
      const early = yield* Effect.fork(checkpoint)
      const all = yield* Effect.fork(writer.barrier)
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      assert.isNull(early.unsafePoll())
      durable = 1
      yield* Effect.repeatN(Effect.yieldNow(), 5)
      const passed = early.unsafePoll()
      assert.isTrue(passed !== null && Exit.isSuccess(passed))
      assert.isNull(all.unsafePoll())
      durable = 2
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(all)))
    }))

  it.scoped("layerNodeFile appends a journal through a writer thread", () =>
    Effect.gen(function*() {
      const file = tempFile()
      const store = yield* JobJournal.JobJournal
      const appender = yield* store.create(file, "{\"t\":\"opening\"}\n")
      assert.isDefined(WriterThread.pipelineOf(appender))
      yield* appender.append("{\"t\":\"next\"}\n")
      assert.strictEqual(Fs.readFileSync(file, "utf8"), "{\"t\":\"opening\"}\n{\"t\":\"next\"}\n")
    }).pipe(Effect.provide(JobJournal.layerNodeFile), Effect.provide(NodeFileSystem.layer)))
})

describe("a program whose only pending work is the writer thread's stop", () => {
  // A resume refused after its journal was locked (a finished job, an undone one) boots the thread and never
  // gives it a file: the layer's release then awaits only that unref'd thread. Node ended such a program with
  // exit code 13, its promise never settled.
  it.live("settles, and the process exits 0", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "writer-thread-exit-"))
      const src = (module: string) => JSON.stringify(Path.resolve("packages/effect-wechatpay/src", module))
      // Beside the project's node_modules, so that its packages resolve.
      const cache = Path.resolve("node_modules/.cache")
      Fs.mkdirSync(cache, { recursive: true })
      const script = Path.join(Fs.mkdtempSync(Path.join(cache, "writer-thread-exit-")), "program.mts")
      Fs.writeFileSync(
        script,
        `import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"
import { JobJournal, StoreJobs } from ${src("index.js")}
import { FakeWechatPay, SandboxStores } from ${src("testing/index.js")}
const F = FakeWechatPay.Fixture
const stock = { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId }
const journal = ${JSON.stringify(Path.join(dir, "job.jsonl"))}
const program = Effect.gen(function*() {
  yield* StoreJobs.disassociateAll([FakeWechatPay.storeId(1)], { ...stock, journal })
  // Finished: the resume locks the journal, reads it, and gives its report back without writing.
  yield* StoreJobs.resume(journal)
}).pipe(Effect.provide(Layer.merge(
  SandboxStores.layer({ seed: FakeWechatPay.generate({ stores: 10 }) }),
  JobJournal.layerNodeFile.pipe(Layer.provide(NodeFileSystem.layer))
)))
const exit = await Effect.runPromiseExit(program)
console.log("settled", exit._tag)
`
      )
      const { code, stdout } = yield* Effect.promise(() =>
        new Promise<{ code: number | null; stdout: string }>((resolve) => {
          const child = ChildProcess.spawn(process.execPath, ["--conditions=wechatpay-source", "--import", "tsx", script], {
            cwd: process.cwd(),
            stdio: ["ignore", "pipe", "inherit"]
          })
          let out = ""
          child.stdout.on("data", (b: Buffer) => void (out += b.toString()))
          child.on("exit", (c) => resolve({ code: c, stdout: out }))
        })
      )
      Fs.rmSync(Path.dirname(script), { recursive: true, force: true })
      assert.strictEqual(stdout, "settled Success\n")
      assert.strictEqual(code, 0)
    }), 60_000)
})
