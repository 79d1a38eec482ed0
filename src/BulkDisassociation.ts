/**
 * "Remove these 30,000 stores from this stock": any number of store ids,
 * de-duplicated in first-seen order, cut into calls of at most 200, sent with
 * bounded concurrency through `ProductCouponStores` (so its rate limiter,
 * retries and failover apply), and a report in which every unique store
 * appears exactly once: succeeded, failed, or unresolved.
 *
 * @since 0.1.0
 */
import { Cause, Chunk, Deferred, Effect, Either, Exit, Option, Predicate, Ref, Scope, Stream } from "effect"
import type { DisassociateStoresResult } from "./ProductCoupon.js"
import * as ProductCoupon from "./ProductCoupon.js"
import * as DomainFailover from "./internal/DomainFailover.js"
import { type AttemptEvent, AttemptObserver, ProductCouponStores, StopSignal } from "./ProductCouponStores.js"
import type { DisassociateStoresError } from "./WechatPayError.js"
import * as WechatPayError from "./WechatPayError.js"
import { ConfigurationError, describeTransport } from "./WechatPayError.js"

/** The endpoint's documented maximum of stores per call. */
export const MAX_CHUNK = 200

/** A store WeChat Pay (or this client, for ids it cannot send) refused. */
export interface FailedStore {
  readonly storeId: string
  readonly code: string
  readonly message: string
}

/** A store whose outcome is not known: not sent, or sent without a trustworthy answer. */
export interface UnresolvedStore {
  readonly storeId: string
  readonly reason: string
  readonly requestId?: string | undefined
}

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
}

/**
 * A signed 200 answer that cannot be taken at its word: it contradicts itself or
 * the request. Logged as a warning when it is settled.
 */
export interface Anomaly {
  readonly requestId: string | undefined
  readonly reason: string
  /** The call's stores it left `unresolved` (none when only ignored entries were wrong). */
  readonly stores: ReadonlyArray<string>
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
}

// ---------------------------------------------------------------------------
// Pure planning: de-duplication and chunking

/** Keeps the first occurrence of each id. */
export const makeDeduplicator = (): (id: string) => boolean => {
  const seen = new Set<string>()
  return (id) => {
    if (seen.has(id)) return false
    seen.add(id)
    return true
  }
}

/** De-duplicates (first-seen order) and cuts into chunks of at most `size`. */
export const plan = (
  ids: Iterable<string>,
  size: number = MAX_CHUNK
): { readonly input: number; readonly unique: number; readonly chunks: ReadonlyArray<ReadonlyArray<string>> } => {
  const fresh = makeDeduplicator()
  const chunks: Array<Array<string>> = []
  let input = 0
  let unique = 0
  let current: Array<string> = []
  for (const id of ids) {
    input++
    if (!fresh(id)) continue
    unique++
    current.push(id)
    if (current.length === size) {
      chunks.push(current)
      current = []
    }
  }
  if (current.length > 0) chunks.push(current)
  return { input, unique, chunks }
}

// ---------------------------------------------------------------------------
// Pure accounting: what one chunk's outcome means for each of its stores

/** How one call ended, as far as its stores are concerned. */
export type ChunkOutcome =
  | {
    readonly _tag: "Answered"
    readonly result: Pick<DisassociateStoresResult, "totalCount" | "successStoreList" | "failedStoreList" | "requestId">
  }
  | { readonly _tag: "Rejected"; readonly code: string; readonly message: string }
  | { readonly _tag: "Unknown"; readonly reason: string; readonly requestId?: string | undefined }

/** One chunk's stores, split three ways. */
export interface Settlement {
  readonly succeeded: ReadonlyArray<string>
  readonly failed: ReadonlyArray<FailedStore>
  readonly unresolved: ReadonlyArray<UnresolvedStore>
  /** What was wrong with the answer, if anything (see {@link Anomaly}). */
  readonly anomalies?: ReadonlyArray<Anomaly> | undefined
}

/** The reason of a store listed in both of an answer's lists. */
export const LISTED_AS_BOTH = "contradictory answer: listed as both succeeded and failed"

/**
 * Splits a chunk (distinct ids, as the job sends them) by its outcome. Every
 * store of the chunk lands in exactly one list. A store the answer does not
 * mention is unresolved. A signed answer is only believed where it is
 * consistent: `total_count` (去重后门店总数, the request's distinct stores) must
 * equal the number of stores sent, or every store of the call is unresolved; a
 * store in both lists is unresolved. Entries repeated within one list count once
 * (the first failure entry wins), and entries naming stores not sent are ignored;
 * both of those inconsistencies are flagged in `anomalies`.
 */
export const settle = (chunk: ReadonlyArray<string>, outcome: ChunkOutcome): Settlement => {
  switch (outcome._tag) {
    case "Rejected":
      return {
        succeeded: [],
        failed: chunk.map((storeId) => ({ storeId, code: outcome.code, message: outcome.message })),
        unresolved: []
      }
    case "Unknown":
      return {
        succeeded: [],
        failed: [],
        unresolved: chunk.map((storeId) => ({ storeId, reason: outcome.reason, requestId: outcome.requestId }))
      }
    case "Answered": {
      // The usual answer lists every store as a success, in the order sent: checked
      // in one pass, without hashing every id into a set.
      const { failedStoreList, successStoreList, totalCount } = outcome.result
      if (totalCount === chunk.length && failedStoreList.length === 0 && successStoreList.length === chunk.length) {
        let i = 0
        while (i < chunk.length && successStoreList[i]!.storeId === chunk[i]) i++
        if (i === chunk.length) return { succeeded: chunk, failed: [], unresolved: [] }
      }
      return settleAnswer(chunk, outcome.result)
    }
  }
}

const settleAnswer = (
  chunk: ReadonlyArray<string>,
  result: Extract<ChunkOutcome, { _tag: "Answered" }>["result"]
): Settlement => {
  const { requestId, totalCount } = result
  const sent = new Set(chunk)
  if (totalCount !== sent.size) {
    // The answer does not describe the request that was sent: none of it can be believed.
    const reason = `contradictory answer: total_count is ${totalCount} but ${sent.size} distinct stores were sent`
    return {
      succeeded: [],
      failed: [],
      unresolved: chunk.map((storeId) => ({ storeId, reason, requestId })),
      anomalies: [{ requestId, reason, stores: chunk }]
    }
  }
  const foreign = new Set<string>()
  const ok = new Set<string>()
  for (const s of result.successStoreList) {
    if (sent.has(s.storeId)) ok.add(s.storeId)
    else foreign.add(s.storeId)
  }
  const bad = new Map<string, FailedStore>()
  const both = new Set<string>()
  for (const f of result.failedStoreList) {
    if (!sent.has(f.storeId)) foreign.add(f.storeId)
    else if (ok.has(f.storeId)) both.add(f.storeId)
    else if (!bad.has(f.storeId)) bad.set(f.storeId, { storeId: f.storeId, code: f.code, message: f.message })
  }
  const succeeded: Array<string> = []
  const failed: Array<FailedStore> = []
  const unresolved: Array<UnresolvedStore> = []
  for (const storeId of chunk) {
    if (both.has(storeId)) unresolved.push({ storeId, reason: LISTED_AS_BOTH, requestId })
    else if (ok.has(storeId)) succeeded.push(storeId)
    else {
      const f = bad.get(storeId)
      if (f !== undefined) failed.push(f)
      else unresolved.push({ storeId, reason: "not listed in the response's success or failure list", requestId })
    }
  }
  if (both.size === 0 && foreign.size === 0) return { succeeded, failed, unresolved }
  const anomalies: Array<Anomaly> = []
  if (both.size > 0) {
    anomalies.push({
      requestId,
      reason: `contradictory answer: ${both.size} store(s) listed as both succeeded and failed`,
      stores: chunk.filter((id) => both.has(id))
    })
  }
  if (foreign.size > 0) {
    const [example] = foreign
    anomalies.push({
      requestId,
      reason: `the answer lists ${foreign.size} store(s) not sent in this call (e.g. ${JSON.stringify(example)}); ignored`,
      stores: []
    })
  }
  return { succeeded, failed, unresolved, anomalies }
}

// ---------------------------------------------------------------------------
// Error classification

/** A transport failure says why and where (the method and path are the same for every call). */
const unknownReason = (error: DisassociateStoresError): string =>
  error._tag === "TransportError"
    ? `TransportError: ${describeTransport(error)}${error.phase === "response" ? " (while reading the answer)" : ""}`
    : `${error._tag}: ${error.message}`

/**
 * What a failed call means for its stores, and whether the job must stop: read from the error's own
 * `behaviour`, so a new error class needs no edit here.
 */
export const classify = (error: DisassociateStoresError): { readonly outcome: ChunkOutcome; readonly stops: boolean } => {
  const { outcome, stopsJob: stops } = error.behaviour
  if (outcome === "failed") {
    // A trusted rejection (or one refused before sending): its stores certainly did not change.
    const code = "code" in error && typeof error.code === "string" ? error.code : "INVALID_INPUT"
    return { outcome: { _tag: "Rejected", code, message: error.message }, stops }
  }
  const requestId = "requestId" in error ? error.requestId : undefined
  // A documented rejection that came unsigned could come from anything on the way: say so.
  const reason = "verified" in error && !error.verified && "code" in error && error.behaviour.retry === "never"
    ? `${error._tag} (unsigned answer): ${error.message}`
    : unknownReason(error)
  // Everything else (429 after retries, 5xx, transport, timeout, verification, probe, decode): the
  // request may or may not have been applied.
  return { outcome: { _tag: "Unknown", reason, requestId }, stops }
}

// ---------------------------------------------------------------------------
// The job

/** Progress while a job runs. `done` counts stores settled so far. */
export type ProgressEvent =
  | { readonly _tag: "ChunkSettled"; readonly chunk: number; readonly size: number; readonly done: number; readonly succeeded: number; readonly failed: number; readonly unresolved: number; readonly requests: number }
  | ({ readonly _tag: "Stopped" } & StopReason)

/** @since 0.1.0 */
export interface Options {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
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
   */
  readonly stopWhen?: Effect.Effect<void> | undefined
  /**
   * An abort that still reports: when this effect completes, calls in flight are
   * interrupted at once and their stores are `unresolved` ({@link ABORTED_IN_FLIGHT}),
   * nothing more is sent, and the job returns its full report with `stoppedBy`
   * `{ tag: "AbortedByCaller", code: "ABORTED" }`. Meant for a second Ctrl-C.
   */
  readonly abortWhen?: Effect.Effect<void> | undefined
}

/** `stoppedBy.tag` when the job was stopped through `stopWhen`. */
export const STOPPED_BY_CALLER = "StoppedByCaller"
/** `stoppedBy.tag` (code `ABORTED`) when the job was aborted through `abortWhen`. */
export const ABORTED_BY_CALLER = "AbortedByCaller"
/** The reason of a store whose call was interrupted by `abortWhen`. */
export const ABORTED_IN_FLIGHT = "aborted while in flight: the call may or may not have been applied"
/** `stoppedBy.tag` (code `UNREACHABLE`) when no host of WeChat Pay answered. */
export const UNREACHABLE = "Unreachable"
/**
 * Consecutive calls that must end on a network-level failure (refused, DNS, TLS,
 * reset, timeout), with no HTTP answer from any host meanwhile and every host the
 * job used failing, before the job stops as `UNREACHABLE`.
 */
export const UNREACHABLE_AFTER_CALLS = 3

const ABORTED: unique symbol = Symbol.for("effect-wechatpay/BulkDisassociation/aborted")

/** Why the stores of a call that was never made are unresolved. */
const notSent = (why: StopReason): string =>
  why.tag === STOPPED_BY_CALLER
    ? "not sent: the job was stopped before this call"
    : why.tag === ABORTED_BY_CALLER
    ? "not sent: the job was aborted before this call"
    : `not sent: the job stopped after ${why.code}: ${why.message}`

/** Why an attempt got no answer, for `UNREACHABLE`'s message. */
const networkWhy = (error: DisassociateStoresError): string =>
  error._tag === "TransportError"
    ? describeTransport(error)
    : error._tag === "TimeoutError"
    ? `no answer within ${error.timeoutMillis} ms`
    : error.message

/** Where store ids can come from. */
export type StoreIds<E = never, R = never> = Iterable<string> | AsyncIterable<string> | Stream.Stream<string, E, R>

/** A store-id source that cannot be read: what it failed with, or what its iterator threw. */
export interface SourceError {
  readonly _tag: "StoreSourceError"
  readonly cause: unknown
}

/**
 * What `disassociateAll` fails with when its source breaks part-way: nothing
 * already read is lost. The ids read before the break are sent (the last call
 * may be short), calls in flight finish, `report` accounts for every id read,
 * and `report.stoppedBy.code` is `SOURCE_FAILED`.
 */
export interface JobSourceError extends SourceError {
  readonly report: Report
}

/** `stoppedBy.code` when the id source broke part-way. */
export const SOURCE_FAILED = "SOURCE_FAILED"

// Our own wrappers, told apart from a stream's own error that happens to carry the same tag.
const ownSourceErrors = new WeakSet<object>()
const sourceError = (cause: unknown): SourceError => {
  const error: SourceError = { _tag: "StoreSourceError", cause }
  ownSourceErrors.add(error)
  return error
}
// A failure that crossed a span arrives as a proxy of the original: compare and return originals.
const causeOf = (failure: unknown): unknown => {
  const error = Cause.originalError(failure)
  return Predicate.isObject(error) && ownSourceErrors.has(error) ? (error as SourceError).cause : error
}

/** A line for `stoppedBy.message`: an error's message, or the value itself. */
const describeCause = (cause: unknown): string =>
  Predicate.hasProperty(cause, "message") && typeof cause.message === "string" ? cause.message : String(cause)

const toStream = <E, R>(ids: StoreIds<E, R>): Stream.Stream<string, E | SourceError, R> => {
  if (Predicate.hasProperty(ids, Stream.StreamTypeId)) return ids as Stream.Stream<string, E, R>
  if (Predicate.hasProperty(ids, Symbol.asyncIterator)) {
    return Stream.fromAsyncIterable(ids as AsyncIterable<string>, sourceError)
  }
  return Stream.fromIterable(ids as Iterable<string>)
}

/**
 * Checks one store id on its own, so one bad id is reported as failed instead
 * of sinking the 199 good ids that share its call.
 */
const storeIdProblem = (storeId: string): Option.Option<string> => ProductCoupon.storeIdProblem(storeId)

/** A whole number in 1..max, or the fallback when absent. */
const wholeNumber = (
  name: string,
  value: number | undefined,
  fallback: number,
  max: number
): Either.Either<number, ConfigurationError> =>
  value === undefined
    ? Either.right(fallback)
    : Number.isInteger(value) && value >= 1 && value <= max
    ? Either.right(value)
    : Either.left(new ConfigurationError({ variable: name, reason: `must be a whole number from 1 to ${max}, got ${value}` }))

/** The job's three ids, checked as the service would check them, once, up front. */
const checkIds = (options: Options): Either.Either<void, WechatPayError.RequestValidationError> => {
  const fields = [
    ["productCouponId", options.productCouponId, true],
    ["stockId", options.stockId, true],
    ["brandId", options.brandId, false]
  ] as const
  for (const [field, value, inPath] of fields) {
    const reason = typeof value !== "string"
      ? "must be a string"
      : ProductCoupon.idProblem(value) ?? (inPath ? ProductCoupon.pathSegmentProblem(value) : undefined)
    if (reason !== undefined) return Either.left(new WechatPayError.RequestValidationError({ field, reason }))
  }
  return Either.void
}

/** Arrays, sets and other synchronous iterables: what `toStream` would read with `Stream.fromIterable`. */
const isSyncSource = <E, R>(ids: StoreIds<E, R>): ids is Iterable<string> =>
  !Predicate.hasProperty(ids, Stream.StreamTypeId) && !Predicate.hasProperty(ids, Symbol.asyncIterator)

/**
 * Cuts a synchronous iterable into chunks of accepted ids with a plain loop: for
 * an in-memory list the stream machinery cost more than the chunks' own work.
 * An iterator that throws ends the job with a `StoreSourceError`, like a failing
 * stream, and like one it first hands on the ids it had read (`Stream.grouped`
 * emits its partial group before the failure).
 */
const forEachChunkSync = (
  ids: Iterable<string>,
  size: number,
  accept: (storeId: string) => boolean,
  onChunk: (chunk: ReadonlyArray<string>) => Effect.Effect<unknown>
): Effect.Effect<void, SourceError> =>
  Effect.suspend(() => {
    const iterator = ids[Symbol.iterator]()
    const next = (): { readonly chunk: ReadonlyArray<string>; readonly error?: SourceError } => {
      const chunk: Array<string> = []
      try {
        while (chunk.length < size) {
          const step = iterator.next()
          if (step.done === true) break
          if (accept(step.value)) chunk.push(step.value)
        }
      } catch (cause) {
        return { chunk, error: sourceError(cause) }
      }
      return { chunk }
    }
    const loop: Effect.Effect<void, SourceError> = Effect.suspend(() => {
      const { chunk, error } = next()
      const rest = error !== undefined ? Effect.fail(error) : chunk.length < size ? Effect.void : loop
      return chunk.length === 0 ? rest : Effect.zipRight(onChunk(chunk), rest)
    })
    return loop
  })

/** The same for streams and async iterables. */
const forEachChunk = <E, R>(
  ids: StoreIds<E, R>,
  size: number,
  accept: (storeId: string) => boolean,
  onChunk: (chunk: ReadonlyArray<string>) => Effect.Effect<unknown>
): Effect.Effect<void, E | SourceError, R> =>
  toStream(ids).pipe(
    Stream.filter(accept),
    Stream.grouped(size),
    Stream.runForEach((chunk) => onChunk(Chunk.toReadonlyArray(chunk)))
  )

/**
 * Runs the job. Fails before anything is sent (bad options or ids: typed
 * errors), or with a `JobSourceError` holding the report so far when the id
 * source breaks part-way (a stream's own error is its `cause`).
 */
export const disassociateAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options
): Effect.Effect<Report, JobSourceError | ConfigurationError | WechatPayError.RequestValidationError, R | ProductCouponStores> =>
  Effect.gen(function*() {
    // Options that would fail (or hang) every chunk are refused before any id is read.
    const chunkSize = yield* wholeNumber("chunkSize", options.chunkSize, MAX_CHUNK, MAX_CHUNK)
    const concurrency = yield* wholeNumber("concurrency", options.concurrency, 4, Number.MAX_SAFE_INTEGER)
    yield* checkIds(options)
    const service = yield* ProductCouponStores
    const progress = options.onProgress ?? (() => Effect.void)

    let input = 0
    let unique = 0
    let chunks = 0
    let requests = 0
    const retries: Record<string, number> = {}
    const succeeded: Array<string> = []
    const failed: Array<FailedStore> = []
    const unresolved: Array<UnresolvedStore> = []
    const anomalies: Array<Anomaly> = []
    const stop = yield* Ref.make(Option.none<StopReason>())
    const fresh = makeDeduplicator()
    // Completed on any stop: the service then starts no further attempt for calls in flight.
    const stopSignal = yield* Deferred.make<void>()
    // Completed on abort: calls in flight are interrupted.
    const abortSignal = options.abortWhen === undefined ? undefined : yield* Deferred.make<void>()
    const stopWith = (why: StopReason) =>
      Effect.flatMap(
        Ref.modify(stop, (current) => Option.isSome(current) ? [false, current] as const : [true, Option.some(why)] as const),
        (first) => first ? Effect.zipRight(Deferred.succeed(stopSignal, undefined), progress({ _tag: "Stopped", ...why })) : Effect.void
      )

    // Since the last HTTP answer from any host: why each host failed at the network level, and how
    // many calls ended on such a failure. Every host failing, several calls in a row, is an outage.
    const hostsUsed = new Set<string>()
    const silentHosts = new Map<string, string>()
    let silentCalls = 0

    // Count attempts, and still tell an observer the caller installed (metrics, a soak).
    const outer = yield* AttemptObserver
    const observer = {
      onAttempt: (event: AttemptEvent) =>
        Effect.zipRight(
          Effect.sync(() => {
            requests++
            if (event.willRetry) retries[event.outcome] = (retries[event.outcome] ?? 0) + 1
            hostsUsed.add(event.baseUrl)
            const error = event.error
            if (error !== undefined && DomainFailover.triggersFailover(error)) {
              silentHosts.set(event.baseUrl, networkWhy(error))
            } else if (event.outcome === "success" || event.status !== undefined || error?._tag === "TransportError") {
              // An answer came back (a response-phase transport failure had its status line).
              silentHosts.clear()
              silentCalls = 0
            }
          }),
          outer.onAttempt(event)
        )
    }
    const unreachable = Effect.suspend(() => {
      silentCalls++
      if (silentCalls < UNREACHABLE_AFTER_CALLS || hostsUsed.size === 0) return Effect.void
      for (const host of hostsUsed) if (!silentHosts.has(host)) return Effect.void
      const hosts = Array.from(silentHosts, ([host, why]) => `${host}: ${why}`).join("; ")
      return stopWith({
        tag: UNREACHABLE,
        code: "UNREACHABLE",
        message: `WeChat Pay unreachable: ${silentCalls} calls in a row got no answer from any host (${hosts})`
      })
    })
    // The first call goes out alone: errors that fail every call (expired stock, NO_AUTH, ...)
    // show on it, and the job then stops after exactly one call instead of `concurrency`.
    const firstSettled = yield* Deferred.make<void>()

    const send = (chunk: ReadonlyArray<string>, index: number): Effect.Effect<Settlement> =>
      Effect.gen(function*() {
        if (index > 0) yield* Deferred.await(firstSettled)
        const stopped = yield* Ref.get(stop)
        if (Option.isSome(stopped)) return settle(chunk, { _tag: "Unknown", reason: notSent(stopped.value) })
        const call = service.disassociateStores({
          productCouponId: options.productCouponId,
          stockId: options.stockId,
          brandId: options.brandId,
          storeList: chunk.map((storeId) => ({ storeId }))
        }).pipe(Effect.either)
        // Only a job that can be aborted pays for the race (two fibers a call).
        const result = abortSignal === undefined
          ? yield* call
          : yield* Effect.raceFirst(call, Effect.as(Deferred.await(abortSignal), ABORTED))
        if (result === ABORTED) return settle(chunk, { _tag: "Unknown", reason: ABORTED_IN_FLIGHT })
        if (result._tag === "Right") return settle(chunk, { _tag: "Answered", result: result.right })
        const error = result.left
        if (error._tag === "NotSentError") {
          // The stop came while this call waited for its first permit.
          const now = yield* Ref.get(stop)
          return settle(chunk, { _tag: "Unknown", reason: Option.isSome(now) ? notSent(now.value) : error.message })
        }
        if (DomainFailover.triggersFailover(error)) yield* unreachable
        const { outcome, stops } = classify(error)
        if (stops) yield* stopWith({ tag: error._tag, code: "code" in error ? error.code : error._tag, message: error.message })
        return settle(chunk, outcome)
      }).pipe(index === 0 ? Effect.ensuring(Deferred.succeed(firstSettled, undefined)) : (self) => self)

    // A pool of `concurrency` workers (a fiber per chunk) rather than `Stream.mapEffect`
    // with concurrency, whose per-element machinery cost ~0.25 ms a chunk. Chunks still
    // settle in input order: answers wait in `ready` until those before them are in,
    // and at most `concurrency` + 16 chunks are sent but not yet settled (as the
    // ordered `mapEffect` buffered).
    const inFlight = yield* Effect.makeSemaphore(concurrency)
    // Workers live in a scope of the job's: fibers forked with a plain `fork` inside
    // `runForEach` were interrupted when the stream ended (the tests caught it).
    const workers = yield* Scope.make()
    if (options.stopWhen !== undefined) {
      const why = { tag: STOPPED_BY_CALLER, code: "STOPPED", message: "stopped by the caller; calls in flight finish" }
      yield* Effect.forkIn(Effect.flatMap(options.stopWhen, () => stopWith(why)), workers)
    }
    if (options.abortWhen !== undefined && abortSignal !== undefined) {
      yield* Effect.forkIn(
        Effect.flatMap(options.abortWhen, () =>
          Effect.gen(function*() {
            // The abort is how the job ended, whatever stopped it before; an earlier reason is kept in the message.
            const before = yield* Ref.get(stop)
            const earlier = Option.isSome(before) && before.value.tag !== STOPPED_BY_CALLER
              ? ` (the job had already stopped after ${before.value.code}: ${before.value.message})`
              : ""
            const why = {
              tag: ABORTED_BY_CALLER,
              code: "ABORTED",
              message: `aborted by the caller: calls in flight were interrupted, nothing more was sent${earlier}`
            }
            yield* Ref.set(stop, Option.some(why))
            yield* Deferred.succeed(stopSignal, undefined)
            yield* Deferred.succeed(abortSignal, undefined)
            yield* progress({ _tag: "Stopped", ...why })
          })),
        workers
      )
    }
    const window = yield* Effect.makeSemaphore(concurrency + 16)
    const settling = yield* Effect.makeSemaphore(1)
    const ready = new Map<number, Settlement>()
    let sent = 0
    let nextToSettle = 0
    const record = (s: Settlement) => {
      chunks++
      for (const id of s.succeeded) succeeded.push(id)
      for (const f of s.failed) failed.push(f)
      for (const u of s.unresolved) unresolved.push(u)
      const flagged = s.anomalies === undefined ? Effect.void : Effect.forEach(s.anomalies, (a) => {
        anomalies.push(a)
        return Effect.logWarning(`BulkDisassociation: ${a.reason}`).pipe(
          Effect.annotateLogs({ requestId: a.requestId ?? "none", unresolvedStores: a.stores.length })
        )
      }, { discard: true })
      return Effect.zipRight(flagged, progress({
        _tag: "ChunkSettled",
        chunk: chunks,
        size: s.succeeded.length + s.failed.length + s.unresolved.length,
        done: succeeded.length + failed.length + unresolved.length,
        succeeded: succeeded.length,
        failed: failed.length,
        unresolved: unresolved.length,
        requests
      }))
    }
    // One fiber at a time settles whatever is next in order.
    const settleReady: Effect.Effect<void> = settling.withPermits(1)(Effect.suspend(function loop(): Effect.Effect<void> {
      const s = ready.get(nextToSettle)
      if (s === undefined) return Effect.void
      ready.delete(nextToSettle)
      nextToSettle++
      return Effect.zipRight(Effect.zipRight(record(s), window.release(1)), Effect.suspend(loop))
    }))
    const dispatch = (chunk: ReadonlyArray<string>, index: number) =>
      send(chunk, index).pipe(
        Effect.flatMap((s) => {
          ready.set(index, s)
          return settleReady
        }),
        Effect.ensuring(inFlight.release(1))
      )

    // Counted in this synchronous filter: a `Stream.tap` effect per id cost ~13 µs, 1.3 s per 100,000 ids.
    const accept = (storeId: string): boolean => {
      input++
      if (!fresh(storeId)) return false
      unique++
      // Ids that cannot be sent are settled here, without costing their chunk-mates anything.
      const problem = ProductCoupon.idProblem(storeId)
      if (problem === undefined) return true
      failed.push({ storeId, code: "INVALID_STORE_ID", message: problem })
      return false
    }
    const onChunk = (chunk: ReadonlyArray<string>) =>
      Effect.zipRight(
        Effect.zipRight(window.take(1), inFlight.take(1)),
        Effect.forkIn(dispatch(chunk, sent++), workers)
      )

    // A source that breaks hands on the ids it had read first (a partial chunk included), so
    // every id read is in a call by the time the failure arrives here.
    const read = yield* (isSyncSource(ids) ? forEachChunkSync(ids, chunkSize, accept, onChunk) : forEachChunk(ids, chunkSize, accept, onChunk)).pipe(
      // A broken source still lets the calls in flight finish: what they did is reported.
      Effect.either,
      // Every worker releases its permit after settling and reporting its chunk.
      Effect.zipLeft(inFlight.take(concurrency)),
      Effect.ensuring(Scope.close(workers, Exit.void)),
      // Installed once for the job: every worker forked here inherits them.
      Effect.provideService(AttemptObserver, observer),
      Effect.provideService(StopSignal, { stopped: stopSignal })
    )
    const cause = Either.isLeft(read) ? causeOf(read.left) : undefined
    if (Either.isLeft(read)) {
      const why = { tag: "StoreSourceError", code: SOURCE_FAILED, message: `cannot read the store ids: ${describeCause(cause)}` }
      // A stop the job already had (a stopping answer, the caller) stays the one reported.
      yield* Ref.update(stop, (current) => Option.isSome(current) ? current : Option.some(why))
      yield* progress({ _tag: "Stopped", ...why })
    }

    const stoppedBy = Option.getOrUndefined(yield* Ref.get(stop))
    const report: Report = {
      summary: {
        input,
        unique,
        duplicates: input - unique,
        succeeded: succeeded.length,
        failed: failed.length,
        unresolved: unresolved.length,
        chunks,
        requests,
        retries
      },
      succeeded,
      failed,
      unresolved,
      anomalies,
      ...(stoppedBy === undefined ? {} : { stoppedBy })
    }
    if (Either.isLeft(read)) {
      return yield* Effect.fail<JobSourceError>({ _tag: "StoreSourceError", cause, report })
    }
    return report
  }).pipe(Effect.withSpan("BulkDisassociation.disassociateAll", {
    attributes: { productCouponId: options.productCouponId, stockId: options.stockId, brandId: options.brandId }
  }))

/** What a dry run reports: the plan, nothing sent. */
export interface DryRun {
  readonly input: number
  readonly unique: number
  readonly duplicates: number
  readonly invalid: ReadonlyArray<FailedStore>
  readonly calls: number
}

/** De-duplicates and validates without sending anything; holds only the de-duplication set. */
export const dryRun = <E = never, R = never>(
  ids: StoreIds<E, R>,
  chunkSize: number = MAX_CHUNK
): Effect.Effect<DryRun, E | SourceError | ConfigurationError, R> =>
  Effect.gen(function*() {
    const size = yield* wholeNumber("chunkSize", chunkSize, MAX_CHUNK, MAX_CHUNK)
    const fresh = makeDeduplicator()
    let input = 0
    let unique = 0
    const invalid: Array<FailedStore> = []
    yield* Stream.runForEach(toStream(ids), (storeId) =>
      Effect.sync(() => {
        input++
        if (!fresh(storeId)) return
        unique++
        const problem = storeIdProblem(storeId)
        if (Option.isSome(problem)) invalid.push({ storeId, code: "INVALID_STORE_ID", message: problem.value })
      }))
    return { input, unique, duplicates: input - unique, invalid, calls: Math.ceil((unique - invalid.length) / size) }
  })
