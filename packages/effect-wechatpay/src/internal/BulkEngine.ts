/**
 * A bulk job over one `ProductCouponStores` endpoint: any number of store ids,
 * de-duplicated, cut into calls, sent with bounded concurrency through the
 * service (so its rate limiter, retries and failover apply), and a report in
 * which every unique store appears exactly once: succeeded, failed or unresolved.
 *
 * The endpoint is a parameter ({@link Job}): the call, and how its answer settles
 * a chunk. What a failed call means is read from the error's own `behaviour`.
 */
import { Cause, Deferred, Effect, Either, Fiber, Option, Stream } from "effect"
import { AttemptObserver, StopSignal } from "../ProductCouponStores.js"
import type { AttemptEvent } from "../ProductCouponStores.js"
import type { HasBehaviour } from "../WechatPayError.js"
import { ConfigurationError, NotSentError } from "../WechatPayError.js"
import { chunked, describeCause, Intake, type StoreIds, toStream } from "./bulk/Ids.js"
import { Tally } from "./bulk/Tally.js"
import { CallRecorder, JOURNAL_FAILED, type RecordFailure } from "./bulk/Recorder.js"
import { gated } from "./bulk/JournalGate.js"
import { jobHooks, wholeNumber } from "./Options.js"
import { Reachability, UNREACHABLE } from "./bulk/Reachability.js"
import { ABORTED_BY_CALLER, makeStop, STOPPED_BY_CALLER } from "./bulk/Stop.js"
import type { Anomaly, FailedStore, Settlement, UnresolvedStore } from "./bulk/Settle.js"
import { classify, settleFailure, unresolvedAll } from "./bulk/Settle.js"

export type { Anomaly, FailedStore, Settlement, UnresolvedStore } from "./bulk/Settle.js"
export type { SourceError, StoreIds } from "./bulk/Ids.js"

/** The counts; `succeeded + failed + unresolved = unique` and `unique + duplicates = input`. */
export interface Summary {
  readonly input: number
  readonly unique: number
  readonly duplicates: number
  readonly succeeded: number
  readonly failed: number
  readonly unresolved: number
  /** Calls of at most 200 stores that were (or would have been) made. */
  readonly chunks: number
  /** HTTP attempts made, retries included. */
  readonly requests: number
  /** Retries by what caused them (an error tag). */
  readonly retries: Readonly<Record<string, number>>
  /**
   * Stores of `succeeded` that no call's answer settled: the stock's listing, walked after
   * the job, showed them in the state the job was asked for (see `Report.settledByListing`).
   * Set by the stock jobs (`disassociateAll`, `associateAll`).
   */
  readonly settledByListing?: number | undefined
  /** Unresolved stores the listing showed still to do, sent once more (their outcome is in the lists). */
  readonly resent?: number | undefined
  /** Stores the listing showed in the state asked for before the first call (set by the durable stock jobs). */
  readonly alreadyDone?: number | undefined
}

/** Why a job ended early: the error's tag (or the caller, `UNREACHABLE`, …), a code and one line. */
export interface StopReason {
  readonly tag: string
  readonly code: string
  readonly message: string
}

/** The record of a job. */
export interface Report {
  readonly summary: Summary
  readonly succeeded: ReadonlyArray<string>
  readonly failed: ReadonlyArray<FailedStore>
  readonly unresolved: ReadonlyArray<UnresolvedStore>
  /** Answers that contradicted themselves or the request, one entry per problem, in settling order. */
  readonly anomalies: ReadonlyArray<Anomaly>
  /**
   * Set when the job stopped early: an error that would fail every remaining call,
   * WeChat Pay unreachable (`UNREACHABLE`), the caller (`STOPPED`, `ABORTED`), or a
   * broken id source (`SOURCE_FAILED`).
   */
  readonly stoppedBy?: StopReason | undefined
  /** The stock check made before any store was sent (set by the stock jobs). */
  readonly preflight?: PreflightReport | undefined
  /** The listing walked after the job to settle unresolved stores (set by the stock jobs). */
  readonly verification?: VerificationReport | undefined
  /**
   * The stores of `succeeded` settled by the listing, not by a call's answer: the job cannot
   * tell whether its own call or something else put them in that state.
   */
  readonly settledByListing?: ReadonlyArray<string> | undefined
  /** The listing walked before the first call (set by the durable jobs), so that an undo reverses only what changed. */
  readonly snapshot?: SnapshotReport | undefined
  /**
   * Stores of the input the snapshot showed in the state asked for already: sent all the same (the job
   * does what it was asked), and left alone by an undo.
   */
  readonly alreadyDone?: ReadonlyArray<string> | undefined
}

/**
 * The listing walked before a durable stock job's first call. `done`: walked (`requests` pages).
 * `off`: `snapshot: false`. `skipped`: not walked (a bundle has no listing; a sync's plan is its
 * snapshot; the caller stopped the job during the walk). `failed`: the walk failed (`reason`); the
 * job went on, and an undo reverses every store of `succeeded`.
 */
export interface SnapshotReport {
  readonly status: "done" | "off" | "skipped" | "failed"
  readonly reason?: string | undefined
  readonly requests: number
}

/**
 * The preflight: `passed` (the stock was checked and allowed the job), `skipped` (the stock
 * query got no usable answer, e.g. a transport error or 5xx after its retries, so the job went
 * on unchecked; `reason` says why) or `off` (`preflight: false`). A stock that refuses the job
 * is not here: the job fails with a `Preflight…Error` instead.
 */
export type PreflightReport =
  | {
    readonly status: "passed"
    readonly state: string
    readonly storeScope: string
    /** As sent; absent when the answer has none (e.g. a bundle coupon's period), so it was not checked. */
    readonly availableEndTime?: string | undefined
    readonly requestId?: string | undefined
    readonly requests: number
  }
  | { readonly status: "skipped"; readonly reason: string; readonly requests: number }
  | { readonly status: "off" }

/**
 * The listing check after the job. `done`: the listing was walked once (`settled` stores settled
 * by it, `resent` sent once more). `not-needed`: nothing was unresolved. `off`: `verify: false`.
 * `skipped`: the job had stopped (`reason`), so nothing more is sent. `failed`: the listing could
 * not be walked (`reason`); the stores stay unresolved.
 */
export interface VerificationReport {
  readonly status: "done" | "not-needed" | "off" | "skipped" | "failed"
  readonly reason?: string | undefined
  /** Stores settled by the listing (also in `summary.settledByListing`). */
  readonly settled: number
  /** Stores sent once more because the listing showed them still to do. */
  readonly resent: number
  /** HTTP attempts of the listing's pages, retries included (the re-sends count in `summary.requests`). */
  readonly requests: number
}

/** Progress while a job runs. `done` counts stores settled so far. */
export type ProgressEvent =
  | { readonly _tag: "ChunkSettled"; readonly chunk: number; readonly size: number; readonly done: number; readonly succeeded: number; readonly failed: number; readonly unresolved: number; readonly requests: number }
  | ({ readonly _tag: "Stopped" } & StopReason)

/** How a job runs, whatever its endpoint. */
export interface JobOptions {
  /** Calls in flight at once; defaults to 4 (the service's rate limiter still caps calls per second). */
  readonly concurrency?: number | undefined
  /** Stores per call, 1 to 200; defaults to 200. */
  readonly chunkSize?: number | undefined
  /** Called after each chunk settles, and when the job stops. */
  readonly onProgress?: ((event: ProgressEvent) => Effect.Effect<void>) | undefined
  /**
   * A graceful stop: when this effect completes, no further call and no further
   * attempt is started (no retry, no rate-limit wait that then sends). An attempt
   * already on the wire finishes (within the service's per-attempt timeout); a
   * call whose retry it cut short reports its last error. Every store not sent is
   * `unresolved` ("not sent"). Interrupting the job instead loses the report.
   * Started once, when the job starts, and watched by each of its phases (the listing walks
   * too): a timer counts from the job's start. Interrupted when the job ends.
   */
  readonly stopWhen?: Effect.Effect<void> | undefined
  /**
   * An abort that still reports: when this effect completes, calls in flight are
   * interrupted at once and their stores are `unresolved` ({@link ABORTED_IN_FLIGHT}),
   * nothing more is sent, and the job returns its full report with `stoppedBy`
   * `{ tag: "AbortedByCaller", code: "ABORTED" }`. Meant for a second Ctrl-C. Started once,
   * as `stopWhen` is.
   */
  readonly abortWhen?: Effect.Effect<void> | undefined
  /** The ids are distinct already (a durable job reads and de-duplicates its input first): not checked again. */
  readonly distinct?: boolean | undefined
}

/** The endpoint a job drives: all that differs between, say, disassociating and associating stores. */
export interface Job<Result, E extends HasBehaviour> {
  /** Prefixes the job's log lines. */
  readonly name: string
  /** The endpoint's most stores per call: the default and the largest `chunkSize`. */
  readonly maxChunk: number
  /** One call for a chunk of distinct, valid store ids. */
  readonly call: (chunk: ReadonlyArray<string>) => Effect.Effect<Result, E>
  /** The call awaits the `SendGate` in its context before it sends (else the engine waits before the call). */
  readonly awaitsSendGate?: boolean | undefined
  /** What a successful call's answer says about each store of its chunk. */
  readonly settle: (chunk: ReadonlyArray<string>, result: Result) => Settlement
}

/**
 * What a job fails with when its source breaks part-way: nothing already read is
 * lost. The ids read before the break are sent (the last call may be short),
 * calls in flight finish, `report` accounts for every id read, and
 * `report.stoppedBy.code` is `SOURCE_FAILED`.
 */
export interface JobSourceError {
  readonly _tag: "StoreSourceError"
  /** What the source failed with: a stream's own error, or what an iterator threw. */
  readonly cause: unknown
  /** One line, as `report.stoppedBy.message` says it (for logs that print an error's message). */
  readonly message: string
  readonly report: Report
}

export { ABORTED_BY_CALLER, STOPPED_BY_CALLER } from "./bulk/Stop.js"
/** The reason of a store whose call was interrupted by `abortWhen`. */
export const ABORTED_IN_FLIGHT = "aborted while in flight: the call may or may not have been applied"
/** `stoppedBy.code` when the id source broke part-way. */
export const SOURCE_FAILED = "SOURCE_FAILED"
export { UNREACHABLE, UNREACHABLE_AFTER_CALLS } from "./bulk/Reachability.js"

/** Chunks sent (or settled as not sent) ahead of the oldest chunk still in flight. */
const READ_AHEAD = 16

/** A chunk, its index, and whether a durable job recorded it as a call. */
type Prepared = readonly [ReadonlyArray<string>, number, boolean]

/** Why the stores of a call that was never made are unresolved. */
const notSent = (why: StopReason): string =>
  why.tag === STOPPED_BY_CALLER
    ? "not sent: the job was stopped before this call"
    : why.tag === ABORTED_BY_CALLER
    ? "not sent: the job was aborted before this call"
    : `not sent: the job stopped after ${why.code}: ${why.message}`

const ABORTED: unique symbol = Symbol.for("effect-wechatpay/BulkEngine/aborted")

/**
 * Runs a job. Fails before anything is sent on bad options, or with a
 * {@link JobSourceError} holding the report so far when the id source breaks
 * part-way (a stream's own error is its `cause`).
 */
export const run = <Result, E extends HasBehaviour, SE, R>(
  ids: StoreIds<SE, R>,
  job: Job<Result, E>,
  options: JobOptions
): Effect.Effect<Report, JobSourceError | ConfigurationError, R> =>
  Effect.gen(function*() {
    // Options that would fail (or hang) every chunk are refused before any id is read.
    yield* jobHooks(options)
    const chunkSize = yield* wholeNumber("chunkSize", options.chunkSize, job.maxChunk, job.maxChunk)
    const concurrency = yield* wholeNumber("concurrency", options.concurrency, 4, Number.MAX_SAFE_INTEGER)
    const progress = options.onProgress ?? (() => Effect.void)
    const tally = new Tally()
    const intake = new Intake((store) => tally.failed.push(store), options.distinct === true)
    const reachability = new Reachability()
    const stop = yield* makeStop(progress)

    // Count attempts, and still tell an observer the caller installed (metrics, a soak).
    const outer = yield* AttemptObserver
    const observer = {
      onAttempt: (event: AttemptEvent) =>
        Effect.zipRight(
          Effect.sync(() => {
            tally.attempt(event)
            reachability.attempt(event)
          }),
          outer.onAttempt(event)
        )
    }

    const failed = (chunk: ReadonlyArray<string>, error: E): Effect.Effect<Settlement> =>
      Effect.gen(function*() {
        if (error instanceof NotSentError) {
          // The service's answer to the stop signal: the call waited for its first permit when the job stopped.
          const now = yield* stop.reason
          return unresolvedAll(chunk, Option.isSome(now) ? notSent(now.value) : error.message)
        }
        if (error.behaviour.triggersFailover) {
          const unreachable = reachability.silentCall()
          if (unreachable !== undefined) yield* stop.stop({ tag: UNREACHABLE, code: "UNREACHABLE", message: unreachable })
        }
        const { outcome, stops } = classify(error)
        if (stops) {
          const code = "code" in error && typeof error.code === "string" ? error.code : error._tag
          yield* stop.stop({ tag: error._tag, code, message: error.message })
        }
        return settleFailure(chunk, outcome)
      })

    // Only a job that can be aborted pays for the race (two fibers a call).
    const attempt = options.abortWhen === undefined
      ? (chunk: ReadonlyArray<string>) => Effect.either(job.call(chunk))
      : (chunk: ReadonlyArray<string>) => Effect.raceFirst(Effect.either(job.call(chunk)), Effect.as(Deferred.await(stop.aborted), ABORTED))
    // The settlement, and whether the call went out (not when the stop signal kept it back).
    const settleCall = (chunk: ReadonlyArray<string>): Effect.Effect<readonly [Settlement, boolean]> =>
      Effect.flatMap(attempt(chunk), (result) =>
        result === ABORTED
          ? Effect.succeed([unresolvedAll(chunk, ABORTED_IN_FLIGHT), true] as const)
          : Either.isRight(result)
          ? Effect.succeed([job.settle(chunk, result.right), true] as const)
          : Effect.map(failed(chunk, result.left), (s) => [s, !(result.left instanceof NotSentError)] as const))

    // A durable job records each call before it is sent and after it settles; a call whose
    // record cannot be written is not sent, and the job stops.
    const recorder = yield* Effect.serviceOption(CallRecorder)
    const journalRefused = (failure: RecordFailure) => `the journal could not be written: ${failure.message}`
    const journalStopped = (failure: RecordFailure) =>
      stop.stop({ tag: "JournalError", code: JOURNAL_FAILED, message: journalRefused(failure) })
    const send = Option.isNone(recorder)
      ? (chunk: ReadonlyArray<string>): Effect.Effect<Settlement> => Effect.map(settleCall(chunk), ([s]) => s)
      : (chunk: ReadonlyArray<string>): Effect.Effect<Settlement> =>
        Effect.gen(function*() {
          // This call's own attempts, for the record; the job's observer still counts them.
          const totals = { requests: 0, retries: {} as Record<string, number> }
          const [settlement, sent] = yield* settleCall(chunk).pipe(
            Effect.provideService(AttemptObserver, {
              onAttempt: (event: AttemptEvent) =>
                Effect.zipRight(
                  Effect.sync(() => {
                    totals.requests++
                    if (event.willRetry) totals.retries[event.outcome] = (totals.retries[event.outcome] ?? 0) + 1
                  }),
                  observer.onAttempt(event)
                )
            })
          )
          // Queued, not awaited: the next call on this permit waits for it before it is sent (see dispatch).
          const after = yield* Effect.either(recorder.value.afterCall(chunk, settlement, sent, totals))
          if (Either.isLeft(after)) yield* journalStopped(after.left)
          return settlement
        })

    const record = (settlement: Settlement): Effect.Effect<void> => {
      const event = tally.add(settlement)
      const logged = settlement.anomalies === undefined ? Effect.void : Effect.forEach(settlement.anomalies, (a) =>
        Effect.logWarning(`${job.name}: ${a.reason}`).pipe(
          Effect.annotateLogs({ requestId: a.requestId ?? "none", unresolvedStores: a.stores.length })
        ), { discard: true })
      return Effect.zipRight(logged, progress(event))
    }

    const permits = yield* Effect.makeSemaphore(concurrency)
    const sendAll = Effect.gen(function*() {
      // Calls live in the job's scope: one still in flight when the source ends must finish, not be interrupted.
      const scope = yield* Effect.scope
      if (options.stopWhen !== undefined) {
        const why = { tag: STOPPED_BY_CALLER, code: "STOPPED", message: "stopped by the caller; calls in flight finish" }
        yield* Effect.forkIn(Effect.flatMap(options.stopWhen, () => stop.stop(why)), scope)
      }
      if (options.abortWhen !== undefined) yield* Effect.forkIn(Effect.zipRight(options.abortWhen, stop.abort), scope)

      // Starts a chunk's call once a permit is free, or settles it at once when the job has stopped;
      // gives what to wait for. The first call holds every permit: it goes out alone, so an error
      // that fails every call (an expired stock, NO_AUTH) stops the job after exactly one call.
      const dispatch = ([chunk, index, recorded]: Prepared): Effect.Effect<Effect.Effect<Settlement>> => {
        const n = index === 0 ? concurrency : 1
        // `sent`: the call, built once it has its permit; `unsent`: a chunk the stop kept back.
        const start = (sent: () => Effect.Effect<Settlement>, unsent: (s: Settlement) => Effect.Effect<void>) =>
          Effect.zipRight(
            permits.take(n),
            Effect.flatMap(stop.reason, (stopped) => {
              if (Option.isNone(stopped)) {
                return Effect.map(Effect.forkIn(Effect.ensuring(sent(), permits.release(n)), scope), Fiber.join)
              }
              const kept = unresolvedAll(chunk, notSent(stopped.value))
              return Effect.zipRight(permits.release(n), Effect.as(unsent(kept), Effect.succeed(kept)))
            })
          )
        if (!recorded || Option.isNone(recorder)) return start(() => send(chunk), () => Effect.void)
        const record = recorder.value
        const unsent = (kept: Settlement) => Effect.ignore(record.afterCall(chunk, kept, false, { requests: 0, retries: {} }))
        // The checkpoint is taken with the permit (see `JournalGate`).
        return start(() =>
          gated({
            flushed: record.checkpoint(),
            chunk,
            send: send(chunk),
            awaitsSendGate: job.awaitsSendGate === true,
            stopJob: journalStopped,
            refused: journalRefused
          }), unsent)
      }

      // A durable job records each call up to `concurrency` calls ahead of its permit (and up to two more: the
      // one `mapEffect` is recording and the one the buffer's pull holds); the record goes to
      // disk with the outcomes of the calls before it, in the flush the call awaits before it is sent. A
      // recorded call the stop then keeps back is recorded as not sent; one a crash catches before it is
      // sent is settled on resume like any call in flight. A chunk after the stop is settled at once, with
      // nothing recorded: it was never a call. A record refused (the journal failed) is still a call: the
      // flush it awaits fails, and it is not sent.
      const recordAhead = Option.isNone(recorder)
        ? <E2>(chunks: Stream.Stream<readonly [ReadonlyArray<string>, number], E2, R>): Stream.Stream<Prepared, E2, R> =>
          Stream.map(chunks, ([chunk, index]): Prepared => [chunk, index, false])
        : <E2>(chunks: Stream.Stream<readonly [ReadonlyArray<string>, number], E2, R>): Stream.Stream<Prepared, E2, R> =>
          chunks.pipe(
            Stream.mapEffect(([chunk, index]) =>
              Effect.flatMap(stop.reason, (stopped): Effect.Effect<Prepared> =>
                Option.isSome(stopped)
                  ? Effect.succeed([chunk, index, false])
                  : Effect.as(Effect.ignore(recorder.value.beforeCall(chunk)), [chunk, index, true] as const))
            ),
            Stream.buffer({ capacity: concurrency })
          )

      // Calls are started in input order and settled in input order; the buffer lets starting run
      // up to READ_AHEAD chunks ahead of settling, so one slow call does not hold up the others.
      // A source that breaks hands on the ids it had read first (a partial chunk included), and its
      // failure arrives here after every chunk before it has settled.
      return yield* chunked(toStream(ids, (cause) => cause), intake, chunkSize).pipe(
        Stream.zipWithIndex,
        recordAhead,
        Stream.mapEffect(dispatch),
        Stream.buffer({ capacity: READ_AHEAD }),
        Stream.runForEach((settled) => Effect.flatMap(settled, record)),
        Effect.either
      )
    }).pipe(
      Effect.scoped,
      // Installed once for the job: every call forked in it inherits them.
      Effect.provideService(AttemptObserver, observer),
      Effect.provideService(StopSignal, { stopped: stop.signal })
    )

    const read = yield* sendAll
    if (Either.isLeft(read)) {
      // A failure that crossed a span arrives as a proxy of the original.
      const cause = Cause.originalError(read.left)
      const why = { tag: "StoreSourceError", code: SOURCE_FAILED, message: `cannot read the store ids: ${describeCause(cause)}` }
      // A stop the job already had (a stopping answer, the caller) stays the one reported.
      yield* stop.keep(why)
      yield* progress({ _tag: "Stopped", ...why })
      const report = tally.report(intake, Option.getOrUndefined(yield* stop.reason))
      return yield* Effect.fail<JobSourceError>({ _tag: "StoreSourceError", cause, message: why.message, report })
    }
    return tally.report(intake, Option.getOrUndefined(yield* stop.reason))
  })
