/**
 * A bulk job's stop: why it stopped (the first reason, or an abort), the signal the service watches
 * so that no call starts another attempt, and the signal calls in flight race when aborted.
 */
import { Deferred, Effect, Option, Ref } from "effect"
import type { ProgressEvent, StopReason } from "../BulkEngine.js"

/** `stoppedBy.tag` when the job was stopped through `stopWhen`. */
export const STOPPED_BY_CALLER = "StoppedByCaller"
/** `stoppedBy.tag` (code `ABORTED`) when the job was aborted through `abortWhen`. */
export const ABORTED_BY_CALLER = "AbortedByCaller"

/**
 * Why and whether the job stopped. The first reason stays, except an abort: that is
 * how the job ended, whatever stopped it before.
 */
export const makeStop = (progress: (event: ProgressEvent) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const reason = yield* Ref.make(Option.none<StopReason>())
    // The service watches this: once it is done, no call starts another attempt.
    const signal = yield* Deferred.make<void>()
    // Calls in flight race this.
    const aborted = yield* Deferred.make<void>()
    const stop = (why: StopReason) =>
      Effect.flatMap(
        Ref.modify(reason, (now) => Option.isSome(now) ? [false, now] as const : [true, Option.some(why)] as const),
        (first) => first ? Effect.zipRight(Deferred.succeed(signal, undefined), progress({ _tag: "Stopped", ...why })) : Effect.void
      )
    const abort = Effect.gen(function*() {
      const before = yield* Ref.get(reason)
      const earlier = Option.isSome(before) && before.value.tag !== STOPPED_BY_CALLER
        ? ` (the job had already stopped after ${before.value.code}: ${before.value.message})`
        : ""
      const why = {
        tag: ABORTED_BY_CALLER,
        code: "ABORTED",
        message: `aborted by the caller: calls in flight were interrupted, nothing more was sent${earlier}`
      }
      yield* Ref.set(reason, Option.some(why))
      yield* Deferred.succeed(signal, undefined)
      yield* Deferred.succeed(aborted, undefined)
      yield* progress({ _tag: "Stopped", ...why })
    })
    return { reason: Ref.get(reason), keep: (why: StopReason) => Ref.update(reason, Option.orElseSome(() => why)), signal, aborted, stop, abort }
  })
