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
import type { DisassociateStoresResult } from "./DisassociateStores.js"
import * as DisassociateStores from "./DisassociateStores.js"
import { type AttemptEvent, AttemptObserver, ProductCouponStores } from "./ProductCouponStores.js"
import type { DisassociateStoresError } from "./ProductCouponStoresError.js"
import { ConfigurationError } from "./WechatPayError.js"

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

/** The record of a job. */
export interface Report {
  readonly summary: Summary
  readonly succeeded: ReadonlyArray<string>
  readonly failed: ReadonlyArray<FailedStore>
  readonly unresolved: ReadonlyArray<UnresolvedStore>
  /** Set when an error that would fail every remaining call stopped the job. */
  readonly stoppedBy?: { readonly tag: string; readonly code: string; readonly message: string } | undefined
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
  | { readonly _tag: "Answered"; readonly result: Pick<DisassociateStoresResult, "successStoreList" | "failedStoreList" | "requestId"> }
  | { readonly _tag: "Rejected"; readonly code: string; readonly message: string }
  | { readonly _tag: "Unknown"; readonly reason: string; readonly requestId?: string | undefined }

/** One chunk's stores, split three ways. */
export interface Settlement {
  readonly succeeded: ReadonlyArray<string>
  readonly failed: ReadonlyArray<FailedStore>
  readonly unresolved: ReadonlyArray<UnresolvedStore>
}

/**
 * Splits a chunk by its outcome. Every store of the chunk lands in exactly one
 * list; a store the answer does not mention is unresolved, and stores the
 * answer mentions that were not sent are ignored.
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
      const { failedStoreList, successStoreList } = outcome.result
      if (failedStoreList.length === 0 && successStoreList.length === chunk.length) {
        let i = 0
        while (i < chunk.length && successStoreList[i]!.storeId === chunk[i]) i++
        if (i === chunk.length) return { succeeded: chunk, failed: [], unresolved: [] }
      }
      const ok = new Set<string>()
      for (const s of outcome.result.successStoreList) ok.add(s.storeId)
      const bad = new Map<string, FailedStore>()
      for (const f of outcome.result.failedStoreList) {
        if (!ok.has(f.storeId)) bad.set(f.storeId, { storeId: f.storeId, code: f.code, message: f.message })
      }
      const succeeded: Array<string> = []
      const failed: Array<FailedStore> = []
      const unresolved: Array<UnresolvedStore> = []
      for (const storeId of chunk) {
        if (ok.has(storeId)) succeeded.push(storeId)
        else {
          const f = bad.get(storeId)
          if (f !== undefined) failed.push(f)
          else {
            unresolved.push({
              storeId,
              reason: "not listed in the response's success or failure list",
              requestId: outcome.result.requestId
            })
          }
        }
      }
      return { succeeded, failed, unresolved }
    }
  }
}

// ---------------------------------------------------------------------------
// Error classification

/** Errors that will fail every remaining call of the job: stop instead of sending more. */
export const STOPPING_ERRORS: ReadonlySet<string> = new Set([
  "StockExpiredError",
  "StockScopeNotSpecificError",
  "ProductCouponNotFoundError",
  "StockNotFoundError",
  "NotFoundError",
  "NoAuthError",
  "SignError"
])

/** Definitive rejections of one call: its stores certainly did not change. */
export const REJECTING_ERRORS: ReadonlySet<string> = new Set([
  "ParamError",
  "InvalidRequestError",
  "RequestValidationError",
  ...STOPPING_ERRORS
])

/** What a failed call means for its stores, and whether the job must stop. */
export const classify = (error: DisassociateStoresError): { readonly outcome: ChunkOutcome; readonly stops: boolean } => {
  const requestId = "requestId" in error ? error.requestId : undefined
  const stops = STOPPING_ERRORS.has(error._tag)
  if (REJECTING_ERRORS.has(error._tag)) {
    // An unsigned error answer may come from anything on the way, so it cannot prove the stores were
    // left alone (protocol notes §2.3). 401 SIGN_ERROR is unsigned by design; local validation sent nothing.
    const trusted = !("verified" in error) || error.verified || error._tag === "SignError"
    if (trusted) {
      const code = "code" in error && typeof error.code === "string" ? error.code : "INVALID_INPUT"
      return { outcome: { _tag: "Rejected", code, message: error.message }, stops }
    }
    return { outcome: { _tag: "Unknown", reason: `${error._tag} (unsigned answer): ${error.message}`, requestId }, stops }
  }
  // Everything else (429 after retries, 5xx, transport, timeout, verification, probe, decode): the
  // request may or may not have been applied.
  return { outcome: { _tag: "Unknown", reason: `${error._tag}: ${error.message}`, requestId }, stops }
}

// ---------------------------------------------------------------------------
// The job

/** Progress while a job runs. `done` counts stores settled so far. */
export type ProgressEvent =
  | { readonly _tag: "ChunkSettled"; readonly chunk: number; readonly size: number; readonly done: number; readonly succeeded: number; readonly failed: number; readonly unresolved: number; readonly requests: number }
  | { readonly _tag: "Stopped"; readonly tag: string; readonly code: string; readonly message: string }

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
   * A graceful stop: when this effect completes, no further call is started;
   * calls in flight finish and are reported, and every store not yet sent is
   * `unresolved` ("not sent"). Interrupting the job instead loses the report.
   */
  readonly stopWhen?: Effect.Effect<void> | undefined
}

/** `stoppedBy.tag` when the job was stopped through `stopWhen`. */
export const STOPPED_BY_CALLER = "StoppedByCaller"

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
const storeIdProblem = (storeId: string): Option.Option<string> => DisassociateStores.storeIdProblem(storeId)

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
const checkIds = (options: Options): Either.Either<void, DisassociateStores.RequestValidationError> => {
  const fields = [
    ["productCouponId", options.productCouponId, true],
    ["stockId", options.stockId, true],
    ["brandId", options.brandId, false]
  ] as const
  for (const [field, value, inPath] of fields) {
    const reason = typeof value !== "string"
      ? "must be a string"
      : DisassociateStores.idProblem(value) ?? (inPath ? DisassociateStores.pathSegmentProblem(value) : undefined)
    if (reason !== undefined) return Either.left(new DisassociateStores.RequestValidationError({ field, reason }))
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
): Effect.Effect<Report, JobSourceError | ConfigurationError | DisassociateStores.RequestValidationError, R | ProductCouponStores> =>
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
    const stop = yield* Ref.make(Option.none<{ tag: string; code: string; message: string }>())
    const fresh = makeDeduplicator()

    // Count attempts, and still tell an observer the caller installed (metrics, a soak).
    const outer = yield* AttemptObserver
    const observer = {
      onAttempt: (event: AttemptEvent) =>
        Effect.zipRight(
          Effect.sync(() => {
            requests++
            if (event.willRetry) retries[event.outcome] = (retries[event.outcome] ?? 0) + 1
          }),
          outer.onAttempt(event)
        )
    }
    // The first call goes out alone: errors that fail every call (expired stock, NO_AUTH, ...)
    // show on it, and the job then stops after exactly one call instead of `concurrency`.
    const firstSettled = yield* Deferred.make<void>()

    const send = (chunk: ReadonlyArray<string>, index: number): Effect.Effect<Settlement> =>
      Effect.gen(function*() {
        if (index > 0) yield* Deferred.await(firstSettled)
        const stopped = yield* Ref.get(stop)
        if (Option.isSome(stopped)) {
          return settle(chunk, {
            _tag: "Unknown",
            reason: stopped.value.tag === STOPPED_BY_CALLER
              ? "not sent: the job was stopped before this call"
              : `not sent: the job stopped after ${stopped.value.code}: ${stopped.value.message}`
          })
        }
        const result = yield* service.disassociateStores({
          productCouponId: options.productCouponId,
          stockId: options.stockId,
          brandId: options.brandId,
          storeList: chunk.map((storeId) => ({ storeId }))
        }).pipe(Effect.either)
        if (result._tag === "Right") return settle(chunk, { _tag: "Answered", result: result.right })
        const error = result.left
        const { outcome, stops } = classify(error)
        if (stops) {
          const why = { tag: error._tag, code: "code" in error ? error.code : error._tag, message: error.message }
          const first = yield* Ref.modify(stop, (current) =>
            Option.isSome(current) ? [false, current] as const : [true, Option.some(why)] as const)
          if (first) yield* progress({ _tag: "Stopped", ...why })
        }
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
      yield* Effect.forkIn(
        Effect.flatMap(options.stopWhen, () =>
          Effect.flatMap(
            Ref.modify(stop, (current) => Option.isSome(current) ? [false, current] as const : [true, Option.some(why)] as const),
            (first) => first ? progress({ _tag: "Stopped", ...why }) : Effect.void
          )),
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
      return progress({
        _tag: "ChunkSettled",
        chunk: chunks,
        size: s.succeeded.length + s.failed.length + s.unresolved.length,
        done: succeeded.length + failed.length + unresolved.length,
        succeeded: succeeded.length,
        failed: failed.length,
        unresolved: unresolved.length,
        requests
      })
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
      const problem = DisassociateStores.idProblem(storeId)
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
      // Installed once for the job: every worker forked here inherits it.
      Effect.provideService(AttemptObserver, observer)
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
