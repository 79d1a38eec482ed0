/**
 * The per-attempt timeout, on effect's `Clock` (so a `TestClock` drives it and
 * tests run the code production runs). `Effect.timeoutFail` races two forked
 * fibers per attempt; here one long-lived fiber per service sleeps until the
 * earliest deadline of all attempts in flight, and each attempt forks only
 * itself, or nothing when its transport stops its own request at the deadline
 * (`runInPlace`; see docs/benchmarks.md for what each saves). Every attempt gets
 * the same timeout, so deadlines arrive in the order attempts start: a FIFO queue.
 */
import { Cause, Deferred, Duration, Effect, Exit, Fiber, type Scope } from "effect"
import * as AttemptDeadline from "./AttemptDeadline.js"

interface Entry {
  readonly deadline: number
  /**
   * Ends the attempt with its timeout; cleared once the attempt ended or was given up, so the
   * entry is skipped. The queue keeps entries until the deadline passes (10 s by default): a
   * cleared entry must not hold on to the attempt's fiber and whatever its answer was.
   */
  fire: (() => void) | undefined
}

export interface Timeouts {
  /** `self`, or `onTimeout()` once `millis` passed on the Clock; a late attempt is interrupted. */
  readonly run: <A, E, R, E2>(self: Effect.Effect<A, E, R>, onTimeout: (answered: boolean) => E2) => Effect.Effect<A, E | E2, R>
  /**
   * The same on the caller's fiber, for an attempt whose transport stops itself at the deadline
   * (see AttemptDeadline.ts): the request is stopped instead of the attempt's fiber, and an attempt
   * that ends after its deadline, however it ended, is `onTimeout()`, as `run` would have made it.
   */
  readonly runInPlace: <A, E, R, E2>(self: Effect.Effect<A, E, R>, onTimeout: (answered: boolean) => E2) => Effect.Effect<A, E | E2, R>
}

export const make = (millis: number): Effect.Effect<Timeouts, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    let queue: Array<Entry> = []
    let head = 0
    let wake = yield* Deferred.make<void>()
    let waiting = false

    // A deadline `millis` from now that calls `fire` unless cleared first.
    const enqueue = (fire: () => void): Entry => {
      const entry: Entry = { deadline: clock.unsafeCurrentTimeMillis() + millis, fire }
      queue.push(entry)
      if (waiting) {
        waiting = false
        Deferred.unsafeDone(wake, Effect.void)
      }
      return entry
    }

    // Sleeps until the earliest live deadline, fires what is due, and waits for work when there is none.
    const tick: Effect.Effect<void> = Effect.suspend(() => {
      while (head < queue.length && queue[head]!.fire === undefined) head++
      if (head === queue.length) {
        queue = []
        head = 0
        waiting = true
        return Effect.flatMap(Deferred.await(wake), () =>
          Effect.flatMap(Deferred.make<void>(), (next) =>
            Effect.sync(() => {
              wake = next
            })))
      }
      if (head > 1024 && head * 2 > queue.length) {
        queue = queue.slice(head)
        head = 0
      }
      const entry = queue[head]!
      const wait = entry.deadline - clock.unsafeCurrentTimeMillis()
      if (wait > 0) return clock.sleep(Duration.millis(wait))
      head++
      const fire = entry.fire!
      entry.fire = undefined
      fire()
      return Effect.void
    })
    yield* Effect.forkScoped(Effect.forever(tick))

    const run = <A, E, R, E2>(self: Effect.Effect<A, E, R>, onTimeout: (answered: boolean) => E2): Effect.Effect<A, E | E2, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Effect.fork(restore(self)), (fiber) =>
          restore(Effect.async<A, E | E2>((resume) => {
            const finished = (exit: Exit.Exit<A, E>) => {
              entry.fire = undefined
              resume(exit)
            }
            const entry = enqueue(() => {
              fiber.removeObserver(finished)
              resume(Effect.zipRight(Fiber.interrupt(fiber), Effect.suspend(() => Effect.fail(onTimeout(false)))))
            })
            fiber.addObserver(finished)
            // The caller was interrupted: forget the deadline and stop the attempt.
            return Effect.suspend(() => {
              entry.fire = undefined
              fiber.removeObserver(finished)
              return Fiber.interrupt(fiber)
            })
          }))
        )
      )

    const runInPlace = <A, E, R, E2>(self: Effect.Effect<A, E, R>, onTimeout: (answered: boolean) => E2): Effect.Effect<A, E | E2, R> =>
      Effect.withFiberRuntime((fiber) => {
        const deadline: AttemptDeadline.Deadline = { expired: false, stop: undefined, answered: false }
        const entry = enqueue(() => {
          deadline.expired = true
          deadline.stop?.()
        })
        AttemptDeadline.arm(fiber, deadline)
        const settle = Effect.sync(() => {
          entry.fire = undefined
          AttemptDeadline.disarm(fiber)
        })
        // An interrupted caller is not caught here: `ensuring` still settles, and the interruption goes on.
        return Effect.flatMap(Effect.exit(Effect.ensuring(self, settle)), (exit): Effect.Effect<A, E | E2> =>
          deadline.expired && !(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause))
            ? Effect.fail(onTimeout(deadline.answered))
            : exit)
      })

    return { run, runInPlace }
  })
