/**
 * How a durable job writes its journal: a writer that flushes every waiting record at once, and the
 * recorder the bulk engine reports each call to.
 */
import { Cause, Deferred, Effect, Exit, Fiber, FiberId, Runtime } from "effect"
import type { JournalIoError } from "../../JobJournal.js"
import * as Journal from "./Journal.js"
import type { Recorder } from "./Recorder.js"
import { type Pipeline, pipelineOf } from "./WriterThread.js"

/** The journal's writer. */
export interface Writer {
  /** Returns once the record is durable, or fails with the append's error. */
  readonly write: (text: string) => Effect.Effect<void, JournalIoError>
  /**
   * Queues the record (refused after a failed append). It goes to disk with the next flush someone
   * awaits: a record written, or the barrier. `soon`: someone will wait for it shortly (an outcome), so a
   * writer that can start writing before anyone waits starts now.
   */
  readonly queue: (text: string, soon?: boolean) => Effect.Effect<void, JournalIoError>
  /** Returns once every record queued so far is durable; fails if any append has failed. */
  readonly barrier: Effect.Effect<void, JournalIoError>
  /**
   * The barrier as of now: returns once every record queued before this call is durable, whatever is
   * queued after it.
   */
  readonly checkpoint: () => Effect.Effect<void, JournalIoError>
  /** The first append that failed: after it, nothing more is written. */
  readonly failure: () => JournalIoError | undefined
}

/**
 * Records wait in a queue until someone awaits one; then everything queued goes out in one append, and
 * the records awaited while it runs share the next. The appends run in a fiber of their own, started
 * at once by the first fiber that waits (not scheduled after every fiber ready to run): a job's calls,
 * started together, then sign their requests while the append runs (see `SendGate`). That fiber lives
 * in the job's scope: closing it interrupts an append that hangs.
 */
export const makeWriter = (appender: { readonly append: (text: string) => Effect.Effect<void, JournalIoError> }) =>
  Effect.suspend(() => {
    const pipeline = pipelineOf(appender)
    return pipeline === undefined ? makeFiberWriter(appender) : Effect.succeed(pipelinedWriter(pipeline))
  })

/**
 * Over a journal a thread of its own appends: every record goes to it at once, and waiting for one
 * first looks whether it is already on disk, which needs no turn of the event loop.
 */
const pipelinedWriter = (pipeline: Pipeline): Writer => {
  let last = 0
  const awaitUpTo = (seq: number): Effect.Effect<void, JournalIoError> => {
    const failed = pipeline.failure()
    return failed !== undefined ? Effect.fail(failed) : pipeline.await(seq)
  }
  // Hands the record over (refused after a failed append), then goes on with its sequence number.
  const submit = (text: string, then: (seq: number) => Effect.Effect<void, JournalIoError>) =>
    Effect.suspend(() => {
      const failed = pipeline.failure()
      if (failed !== undefined) return Effect.fail(failed)
      last = pipeline.submit(text)
      return then(last)
    })
  return {
    write: (text) => submit(text, pipeline.await),
    // An outcome (`soon`) is awaited by the next call to take its permit: it goes to the thread at once,
    // with the calls recorded ahead of it. Those alone wait for a checkpoint.
    queue: (text, soon) =>
      submit(text, () => {
        if (soon === true) pipeline.flush()
        return Effect.void
      }),
    barrier: Effect.suspend(() => awaitUpTo(last)),
    checkpoint: () => {
      const upTo = last
      // Written while the call is signed: the gate awaits it then.
      pipeline.flush()
      return Effect.suspend(() => awaitUpTo(upTo))
    },
    failure: pipeline.failure
  }
}

const makeFiberWriter = (appender: { readonly append: (text: string) => Effect.Effect<void, JournalIoError> }) =>
  Effect.gen(function*() {
    interface Entry {
      readonly text: string
      readonly done: Deferred.Deferred<void, JournalIoError>
      /** An append took it: under way or done. */
      taken: boolean
    }
    let pending: Array<Entry> = []
    let last: Entry | undefined
    // Someone waits for a record of `pending`: appends run only then.
    let wanted = false
    // The fiber running the appends, while one does.
    let flushing = false
    let flusher: Fiber.RuntimeFiber<void> | undefined
    let closed = false
    let failed: JournalIoError | undefined
    const appendPending = Effect.suspend(() => {
      const batch = pending
      pending = []
      wanted = false
      let text = ""
      for (const b of batch) {
        b.taken = true
        text += b.text
      }
      // After a failed append nothing more is written: the file may end in a torn line.
      const appended = failed === undefined ? Effect.exit(appender.append(text)) : Effect.succeed(Exit.fail(failed))
      return Effect.flatMap(appended, (exit) =>
        Effect.sync(() => {
          if (Exit.isFailure(exit) && failed === undefined) {
            const error = Cause.failureOption(exit.cause)
            if (error._tag === "Some") failed = error.value
          }
          for (const b of batch) Deferred.unsafeDone(b.done, exit)
        })).pipe(
          // Interrupted with the job: its records are not known to be on disk.
          Effect.onInterrupt((ids) => Effect.sync(() => {
            for (const b of batch) Deferred.unsafeDone(b.done, Exit.interrupt(FiberId.combineAll(ids)))
          }))
        )
    })
    const flush: Effect.Effect<void> = Effect.suspend(() => {
      if (wanted && pending.length > 0) return Effect.zipRight(appendPending, flush)
      flushing = false
      return Effect.void
    })
    const run = Runtime.runFork(yield* Effect.runtime<never>())
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        return flushing && flusher !== undefined ? Fiber.interrupt(flusher) : Effect.void
      })
    )
    const await_ = (entry: Entry): Effect.Effect<void, JournalIoError> =>
      Effect.suspend(() => {
        if (entry.taken) return Deferred.await(entry.done)
        // Never written, and after a failed append nothing more is.
        if (failed !== undefined) return Effect.fail(failed)
        wanted = true
        if (!flushing && !closed) {
          flushing = true
          // It may finish before `run` returns (an appender that never waits).
          const fiber = run(flush)
          if (flushing) flusher = fiber
        }
        return Deferred.await(entry.done)
      })
    const enqueue = (text: string): Entry => {
      const entry: Entry = { text, done: Deferred.unsafeMake<void, JournalIoError>(FiberId.none), taken: false }
      pending.push(entry)
      last = entry
      return entry
    }
    const awaitUpTo = (entry: Entry | undefined): Effect.Effect<void, JournalIoError> =>
      failed !== undefined ? Effect.fail(failed) : entry === undefined ? Effect.void : await_(entry)
    const writer: Writer = {
      write: (text) => Effect.suspend(() => failed !== undefined ? Effect.fail(failed) : await_(enqueue(text))),
      queue: (text) =>
        Effect.suspend(() => {
          if (failed !== undefined) return Effect.fail(failed)
          enqueue(text)
          return Effect.void
        }),
      barrier: Effect.suspend(() => awaitUpTo(last)),
      checkpoint: () => {
        const upTo = last
        return Effect.suspend(() => awaitUpTo(upTo))
      },
      failure: () => failed
    }
    return writer
  })

/**
 * The recorder of one part. `ids` are the part's ids in the order the engine sends them (a run that
 * sends them all): a call of the next consecutive ids is recorded by position, and so is its outcome
 * when the call settled whole (every store succeeded, or it was not sent). Anything else names its stores.
 */
export const recorderFor = (writer: Writer, job: string, part: number, ids?: ReadonlyArray<string>): Recorder => {
  const failure = (e: JournalIoError) => ({ message: e.message })
  const record = (r: object) => Effect.mapError(writer.write(Journal.line(r)), failure)
  const queue = (r: object, soon?: boolean) => Effect.mapError(writer.queue(Journal.line(r), soon), failure)
  // Where each call recorded by position starts; calls are recorded in the order they are sent.
  const positions = new WeakMap<ReadonlyArray<string>, number>()
  let next = 0
  const positionOf = (chunk: ReadonlyArray<string>): number | undefined => {
    if (ids === undefined || next + chunk.length > ids.length) return undefined
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== ids[next + i]) return undefined
    const from = next
    next += chunk.length
    positions.set(chunk, from)
    return from
  }
  return {
    beforeCall: (stores) =>
      Effect.suspend(() => {
        const from = positionOf(stores)
        const call = { t: "call", job, part, ...(from === undefined ? { stores } : { from, count: stores.length }) }
        return queue(call)
      }),
    checkpoint: () => Effect.mapError(writer.checkpoint(), failure),
    afterCall: (chunk, s, sent, totals) => {
      const from = positions.get(chunk)
      // The settlement splits the chunk: no failure and nothing unresolved means every store succeeded.
      const whole = from !== undefined && (!sent || (s.failed.length === 0 && s.unresolved.length === 0))
      return queue({
        t: "outcome",
        job,
        part,
        sent,
        ...(whole ? { from, count: chunk.length } : { succeeded: s.succeeded, failed: s.failed, unresolved: s.unresolved }),
        ...(s.anomalies === undefined || s.anomalies.length === 0 ? {} : { anomalies: s.anomalies }),
        requests: totals.requests,
        ...(Object.keys(totals.retries).length === 0 ? {} : { retries: totals.retries })
      }, true)
    },
    listed: (stores) => record({ t: "listed", job, part, stores })
  }
}
