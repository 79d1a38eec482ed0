/**
 * A bulk job's stop: why it stopped (the first reason, or an abort), the signal the service watches
 * so that no call starts another attempt, and the signal calls in flight race when aborted.
 */
import { Deferred, Effect, Either, Fiber, Option, Ref } from "effect"
import type { ProgressEvent, StopReason } from "../BulkEngine.js"
import type { ConfigurationError } from "../../WechatPayError.js"
import { jobHooks } from "../Options.js"

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

/** A job's own signals, as its options carry them. */
export interface Signals {
  readonly stopWhen?: Effect.Effect<void> | undefined
  readonly abortWhen?: Effect.Effect<void> | undefined
}

/**
 * Runs a phase that sends nothing (a listing walk) until it ends or one of the job's signals completes:
 * its outcome as an `Either` (so that its failure ends the race too: `raceAll` waits for a success),
 * or which signal ended it. Either signal ends it at once, since a walk has no call to let finish.
 */
export const raceSignals = <A, E, R>(
  phase: Effect.Effect<A, E, R>,
  signals: Signals
): Effect.Effect<Either.Either<A, E> | "stop" | "abort", never, R> => {
  type Ended = Either.Either<A, E> | "stop" | "abort"
  const signal = (effect: Effect.Effect<void> | undefined, by: "stop" | "abort"): Array<Effect.Effect<Ended>> =>
    effect === undefined ? [] : [Effect.as(effect, by)]
  return Effect.raceAll<Effect.Effect<Ended, never, R>>([
    Effect.either(phase),
    ...signal(signals.stopWhen, "stop"),
    ...signal(signals.abortWhen, "abort")
  ])
}

/**
 * Runs a job whose phases (the snapshot walk, the calls, the verification walk, a sync's two parts) each
 * watch the caller's signals: every signal is started once, when the job starts, and each phase awaits
 * that one run. A phase that ran the caller's effect itself would restart it: a timer given as
 * `stopWhen` would count from the start of each phase, not of the job.
 */
export const once = <O extends Signals, A, E, R>(
  options: O,
  job: (options: O) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | ConfigurationError, R> => {
  // A plain-JavaScript caller may hand over anything: refused, naming what is wrong, before anything runs.
  const refused = jobHooks(options)
  if (Either.isLeft(refused)) return Effect.fail(refused.left)
  const { abortWhen, stopWhen } = options
  if (stopWhen === undefined && abortWhen === undefined) return job(options)
  const started = (signal: Effect.Effect<void> | undefined) =>
    // Forked where the acquisition runs uninterruptibly: the signal itself must stay interruptible.
    signal === undefined ? Effect.succeed(undefined) : Effect.fork(Effect.interruptible(signal))
  return Effect.acquireUseRelease(
    Effect.all([started(stopWhen), started(abortWhen)]),
    ([stop, abort]) =>
      job({
        ...options,
        stopWhen: stop === undefined ? undefined : Fiber.join(stop),
        abortWhen: abort === undefined ? undefined : Fiber.join(abort)
      }),
    ([stop, abort]) => Effect.zipRight(interruptIf(stop), interruptIf(abort))
  )
}

const interruptIf = (fiber: Fiber.RuntimeFiber<void> | undefined) => fiber === undefined ? Effect.void : Fiber.interrupt(fiber)
