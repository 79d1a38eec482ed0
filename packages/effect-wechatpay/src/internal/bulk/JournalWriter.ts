/**
 * How a durable job writes its journal: one writer fiber that flushes every waiting record at once,
 * and the recorder the bulk engine reports each call to.
 */
import { Cause, Deferred, Effect, Exit, FiberId } from "effect"
import type { JournalIoError } from "../../JobJournal.js"
import * as Journal from "./Journal.js"
import type { Recorder } from "./Recorder.js"

/** The journal's writer. */
export interface Writer {
  /** Returns once the record is durable, or fails with the append's error. */
  readonly write: (text: string) => Effect.Effect<void, JournalIoError>
  /**
   * Queues the record and gives what to await for it to be durable (fails at once after a failed append).
   * It is flushed with the next record someone awaits, or when it is awaited itself.
   */
  readonly queue: (text: string) => Effect.Effect<Effect.Effect<void, JournalIoError>>
  /** The first append that failed: after it, nothing more is written. */
  readonly failure: () => JournalIoError | undefined
}

/**
 * One writer fiber per journal: the records that arrive while it writes wait together for its next
 * write and flush, so calls in flight share an fsync. A record queued ahead (a call's, before its
 * permit) waits for a flush someone awaits rather than starting one: the records of the next calls
 * go to disk with the outcomes of the calls before them, one flush for both. The fiber lives in the
 * job's scope.
 */
export const makeWriter = (appender: { readonly append: (text: string) => Effect.Effect<void, JournalIoError> }) =>
  Effect.gen(function*() {
    interface Entry {
      readonly text: string
      readonly done: Deferred.Deferred<void, JournalIoError>
      /** A drain took it: its append is under way or done. */
      taken: boolean
    }
    let pending: Array<Entry> = []
    // Someone waits for a record of `pending`: a flush starts only then.
    let wanted = false
    let idle: Deferred.Deferred<void> | undefined
    let failed: JournalIoError | undefined
    const drain = Effect.suspend(() => {
      const batch = pending
      pending = []
      wanted = false
      let text = ""
      for (const b of batch) {
        b.taken = true
        text += b.text
      }
      return Effect.flatMap(Effect.exit(appender.append(text)), (exit) =>
        Effect.sync(() => {
          if (Exit.isFailure(exit) && failed === undefined) {
            const error = Cause.failureOption(exit.cause)
            if (error._tag === "Some") failed = error.value
          }
          for (const b of batch) Deferred.unsafeDone(b.done, exit)
        }))
    })
    // The check and the wait are set up in one synchronous step: a record awaited in between would sleep.
    const step = Effect.suspend(() => {
      if (wanted) return drain
      const wake = Deferred.unsafeMake<void>(FiberId.none)
      idle = wake
      return Deferred.await(wake)
    })
    yield* Effect.forkScoped(Effect.forever(step))
    const await_ = (entry: Entry): Effect.Effect<void, JournalIoError> =>
      Effect.suspend(() => {
        if (entry.taken) return Deferred.await(entry.done)
        // Never written, and after a failed append nothing more is.
        if (failed !== undefined) return Effect.fail(failed)
        // Still pending: someone waits for it now, so the writer flushes.
        wanted = true
        if (idle !== undefined) {
          const wake = idle
          idle = undefined
          Deferred.unsafeDone(wake, Exit.void)
        }
        return Deferred.await(entry.done)
      })
    const queue = (text: string) =>
      Effect.sync((): Effect.Effect<void, JournalIoError> => {
        if (failed !== undefined) return Effect.fail(failed)
        const entry: Entry = {
          text,
          done: Deferred.unsafeMake<void, JournalIoError>(FiberId.none),
          taken: false
        }
        pending.push(entry)
        return await_(entry)
      })
    const writer: Writer = { write: (text) => Effect.flatten(queue(text)), queue, failure: () => failed }
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
        return Effect.map(writer.queue(Journal.line(call)), (durable) => Effect.mapError(durable, failure))
      }),
    afterCall: (chunk, s, sent, totals) => {
      const from = positions.get(chunk)
      // The settlement splits the chunk: no failure and nothing unresolved means every store succeeded.
      const whole = from !== undefined && (!sent || (s.failed.length === 0 && s.unresolved.length === 0))
      return record({
        t: "outcome",
        job,
        part,
        sent,
        ...(whole ? { from, count: chunk.length } : { succeeded: s.succeeded, failed: s.failed, unresolved: s.unresolved }),
        ...(s.anomalies === undefined || s.anomalies.length === 0 ? {} : { anomalies: s.anomalies }),
        requests: totals.requests,
        ...(Object.keys(totals.retries).length === 0 ? {} : { retries: totals.retries })
      })
    },
    listed: (stores) => record({ t: "listed", job, part, stores })
  }
}
