/**
 * When a durable job's call may be sent: once every record queued before it took its permit is on disk
 * (its own, and the outcomes of the calls whose permits it took), so the calls sent whose outcome a crash
 * can lose are never more than the concurrency. A record that cannot be written keeps the call from
 * being sent, and stops the job.
 */
import { Effect, Either } from "effect"
import { NotSentError } from "../../WechatPayError.js"
import { SendGate } from "../SendGate.js"
import type { RecordFailure } from "./Recorder.js"
import { type Settlement, unresolvedAll } from "./Settle.js"

export interface Gated {
  readonly chunk: ReadonlyArray<string>
  /** The call, through the job's service. */
  readonly send: Effect.Effect<Settlement>
  /** The checkpoint taken with the call's permit (see `Recorder.checkpoint`). */
  readonly flushed: Effect.Effect<void, RecordFailure>
  /** The service awaits the `SendGate` once the request is signed (else the call waits before it starts). */
  readonly awaitsSendGate: boolean
  /** Stops the job for a journal that could not be written. */
  readonly stopJob: (failure: RecordFailure) => Effect.Effect<void>
  /** Why such a call was not sent. */
  readonly refused: (failure: RecordFailure) => string
}

/**
 * The call, sent once its checkpoint is on disk. A service that awaits the gate does so once the request
 * is signed, so the flush runs meanwhile, and only before its first attempt: a retry belongs to a call
 * already recorded and sent, which finishes like any call in flight.
 */
export const gated = (g: Gated): Effect.Effect<Settlement> => {
  const notSent = (failure: RecordFailure) => unresolvedAll(g.chunk, `not sent: ${g.refused(failure)}`)
  if (!g.awaitsSendGate) {
    return Effect.flatMap(Effect.either(g.flushed), (flushed) =>
      Either.isRight(flushed) ? g.send : Effect.as(g.stopJob(flushed.left), notSent(flushed.left)))
  }
  let refusedBy: RecordFailure | undefined
  let passed = false
  const gate = Effect.suspend(() =>
    passed ? Effect.void : Effect.matchEffect(g.flushed, {
      onFailure: (failure) => {
        refusedBy = failure
        return Effect.zipRight(g.stopJob(failure), Effect.fail(new NotSentError({ reason: g.refused(failure) })))
      },
      onSuccess: () => Effect.sync(() => {
        passed = true
      })
    })
  )
  // Reported as when the call waits for the flush before it starts, whatever the stop says.
  return Effect.map(Effect.provideService(g.send, SendGate, gate), (s) => refusedBy === undefined ? s : notSent(refusedBy))
}
