/**
 * A journal appended by a thread of its own. The job's thread hands records over in batches (with a
 * call's outcome, at its checkpoint, or on a wait) and reads how far the file is durable from shared
 * memory, without waiting for a turn of its event loop: a call whose records reached the disk while the
 * job's thread was busy with other calls is sent as soon as it asks. Through Node's thread pool, the end
 * of a write is seen only once the job's thread has finished the work queued before the write's
 * callback, which on a busy machine was most of an append's time (docs/benchmarks.md, "A writer thread").
 */
import { Effect } from "effect"
import type { JournalIoError } from "../../JobJournal.js"

/** What a job needs from a journal written by another thread. */
export interface Pipeline {
  /**
   * Takes the text to be appended after everything taken before; its sequence number (from 1). It goes
   * to the thread with the next `flush`, or when someone awaits it.
   */
  readonly submit: (text: string) => number
  /** Hands everything taken so far to the thread, to be written at once. */
  readonly flush: () => void
  /** The highest sequence number on disk (with everything before it), read without waiting. */
  readonly durable: () => number
  /** Why the first append that failed did: after it nothing more is written. */
  readonly failure: () => JournalIoError | undefined
  /** Returns once `seq` is durable, or fails with the append's error; at once, with no wait, if it is. */
  readonly await: (seq: number) => Effect.Effect<void, JournalIoError>
  /** How many writes the thread has made (each one or more records), for measurements. */
  readonly writes: () => number
}

/** Marks an appender whose appends a thread of its own makes. */
export const PipelineKey: unique symbol = Symbol.for("effect-wechatpay/JobJournal/Pipeline") as never

export const pipelineOf = (appender: object): Pipeline | undefined =>
  (appender as { readonly [PipelineKey]?: Pipeline })[PipelineKey]

/** Shared memory: [durable sequence number, failed (0/1), reason's byte length, writes], then the reason. */
const DURABLE = 0
const FAILED = 1
const REASON_LENGTH = 2
const WRITES = 3
const REASON_OFFSET = 16
const REASON_BYTES = 1_024

/**
 * The thread's program. Its first message gives the descriptor (opened with `O_DSYNC`, so a write
 * returns once its bytes are durable) and the shared memory. Then it takes every record waiting in its
 * port, writes them with one `writeSync`, and publishes the last one's sequence number. After a failed
 * write it writes nothing more. `null` ends it once what came before is written.
 */
const program = `
const { parentPort, receiveMessageOnPort } = require("node:worker_threads")
const fs = require("node:fs")
let fd, state, reason
let failed = false
parentPort.on("message", (first) => {
  if (first === null) { parentPort.close(); return }
  if (first.fd !== undefined) {
    fd = first.fd
    state = new Int32Array(first.shared, 0, 4)
    reason = new Uint8Array(first.shared, ${REASON_OFFSET}, ${REASON_BYTES})
    return
  }
  if (failed) return
  const texts = [first.text]
  let last = first.seq
  let closing = false
  for (;;) {
    const next = receiveMessageOnPort(parentPort)
    if (next === undefined) break
    if (next.message === null) { closing = true; break }
    texts.push(next.message.text)
    last = next.message.seq
  }
  try {
    const bytes = Buffer.from(texts.join(""), "utf8")
    let offset = 0
    while (offset < bytes.length) offset += fs.writeSync(fd, bytes, offset, bytes.length - offset)
    Atomics.add(state, ${WRITES}, 1)
    Atomics.store(state, ${DURABLE}, last)
  } catch (error) {
    failed = true
    const text = Buffer.from(String(error && error.message || error), "utf8").subarray(0, ${REASON_BYTES})
    reason.set(text)
    Atomics.store(state, ${REASON_LENGTH}, text.length)
    Atomics.store(state, ${FAILED}, 1)
  }
  Atomics.notify(state, ${DURABLE})
  if (closing) parentPort.close()
})
`

/** `Atomics.waitAsync` (ES2024), where the runtime has it. */
const waitAsync = (Atomics as unknown as {
  readonly waitAsync?: (
    array: Int32Array,
    index: number,
    value: number
  ) => { readonly async: false; readonly value: string } | { readonly async: true; readonly value: Promise<string> }
}).waitAsync

/** What this module needs of `node:worker_threads`' `Worker`. */
export type WorkerConstructor = new(code: string, options: { readonly eval: true }) => {
  postMessage(message: unknown): void
  once(event: "exit" | "error", listener: (...args: Array<unknown>) => void): unknown
  unref(): void
  ref?(): void
}

/** A writer thread, started: it boots while the job prepares, and is given its file once that is open. */
export interface Thread {
  /** Gives the thread the descriptor to append to (opened with `O_DSYNC`); once only. */
  readonly attach: (fd: number, toError: (reason: string) => JournalIoError) => Pipeline
  /** Ends the thread once it has written what it was handed; after it, the descriptor is free to close. */
  readonly stop: Effect.Effect<void>
}

/** Starts a writer thread; `undefined` where threads or shared memory are missing. */
export const spawn = (Worker: WorkerConstructor): Thread | undefined => {
  if (typeof SharedArrayBuffer !== "function" || waitAsync === undefined) return undefined
  const wait = waitAsync
  let worker: InstanceType<WorkerConstructor>
  try {
    worker = new Worker(program, { eval: true })
  } catch {
    return undefined
  }
  // The job's scope stops it; it must not keep a process alive by itself.
  worker.unref()
  let exited = false
  let crashed: string | undefined
  const exit = new Promise<void>((resolve) => {
    worker.once("exit", () => {
      exited = true
      resolve()
    })
  })
  worker.once("error", (e) => {
    crashed = `the journal's writer thread failed: ${String((e as { message?: unknown } | undefined)?.message ?? e)}`
  })
  // What stopping hands over first: the attached pipeline's texts not yet handed over.
  let flushAll = (): void => {}
  const attach = (fd: number, toError: (reason: string) => JournalIoError): Pipeline => {
    const shared = new SharedArrayBuffer(REASON_OFFSET + REASON_BYTES)
    const state = new Int32Array(shared, 0, 4)
    const reasonBytes = new Uint8Array(shared, REASON_OFFSET, REASON_BYTES)
    worker.postMessage({ fd, shared })
    let seq = 0
    // Texts taken and not yet handed over, and the last sequence number handed over.
    let held: Array<string> = []
    let posted = 0
    let failed: JournalIoError | undefined
    const failure = (): JournalIoError | undefined => {
      if (failed !== undefined) return failed
      if (Atomics.load(state, FAILED) !== 0) {
        failed = toError(new TextDecoder().decode(reasonBytes.slice(0, Atomics.load(state, REASON_LENGTH))))
      } else if (crashed !== undefined || exited) {
        failed = toError(crashed ?? "the journal's writer thread ended")
      }
      return failed
    }
    // Records go over in batches (with an outcome, at a call's checkpoint, or when awaited; see
    // `JournalWriter`): each message wakes the thread, and each O_DSYNC write costs it ~0.1 ms of CPU, on
    // cores the job shares.
    const flush = (): void => {
      if (held.length === 0) return
      worker.postMessage({ seq, text: held.length === 1 ? held[0] : held.join("") })
      held = []
      posted = seq
    }
    flushAll = flush
    return {
      submit: (text) => {
        seq += 1
        held.push(text)
        return seq
      },
      flush,
      durable: () => Atomics.load(state, DURABLE),
      writes: () => Atomics.load(state, WRITES),
      failure,
      await: (target) =>
        Atomics.load(state, DURABLE) >= target ? Effect.void : Effect.async<void, JournalIoError>((resume) => {
          if (target > posted) flush()
          let waiting = true
          const check = (): void => {
            if (!waiting) return
            const durable = Atomics.load(state, DURABLE)
            if (durable >= target) {
              waiting = false
              return resume(Effect.void)
            }
            const error = failure()
            if (error !== undefined) {
              waiting = false
              return resume(Effect.fail(error))
            }
            const waited = wait(state, DURABLE, durable)
            // A thread that dies notifies nobody: its exit wakes the waiters too.
            if (waited.async) void Promise.race([waited.value, exit]).then(check)
            else check()
          }
          check()
          return Effect.sync(() => {
            waiting = false
          })
        })
    }
  }
  const stop = Effect.promise(async () => {
    flushAll()
    if (!exited) {
      worker.postMessage(null)
      // Awaited, its exit must keep the process alive: unref'd, a program with nothing else pending would
      // end here with its promise never settled.
      worker.ref?.()
      await exit
    }
  })
  return { attach, stop }
}
