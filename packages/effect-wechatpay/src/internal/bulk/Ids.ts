/**
 * Store ids on their way into a bulk job: read from any source, counted,
 * de-duplicated (first seen wins), checked, and cut into calls. Each of these is
 * done in exactly one place, shared by the job, its dry run and its plan.
 */
import { Chunk, Effect, Either, Option, Predicate, Stream } from "effect"
import * as ProductCoupon from "../../ProductCoupon.js"
import { describeType } from "../describeType.js"
import { RequestValidationError } from "../../WechatPayError.js"
import type { FailedStore } from "./Settle.js"

/** Where store ids can come from. */
export type StoreIds<E = never, R = never> = Iterable<string> | AsyncIterable<string> | Stream.Stream<string, E, R>

/** A store-id source that cannot be read: what it failed with, or what its iterator threw. */
export interface SourceError {
  readonly _tag: "StoreSourceError"
  readonly cause: unknown
  /** One line, for logs that print an error's message. */
  readonly message: string
}

/** Ids a synchronous iterable hands on per stream element. */
const BATCH = 1_024

/**
 * The ids as a stream. A stream's own failure passes through as it is; what an
 * iterable throws or an async iterable rejects with becomes `onThrow(cause)`.
 * Either way the ids read before the failure come first.
 */
export const toStream = <E, R, F>(ids: StoreIds<E, R>, onThrow: (cause: unknown) => F): Stream.Stream<string, E | F, R> => {
  if (Predicate.hasProperty(ids, Stream.StreamTypeId)) return ids as Stream.Stream<string, E, R>
  if (Predicate.hasProperty(ids, Symbol.asyncIterator)) return Stream.fromAsyncIterable(ids as AsyncIterable<string>, onThrow)
  const refused = notCollection(ids)
  if (refused !== undefined) return Stream.fail(onThrow(new TypeError(refused)))
  return fromIterable(ids as Iterable<string>, onThrow)
}

/**
 * Why a value given as the store ids is no collection of them, or `undefined`. A string is iterable,
 * but read as ids it would send each of its characters.
 */
export const notCollection = (ids: unknown): string | undefined =>
  typeof ids === "string"
    ? "the store ids must be a collection of ids (an array, an iterable or a Stream), not one string"
    : Predicate.hasProperty(ids, Symbol.iterator) || Predicate.hasProperty(ids, Symbol.asyncIterator) ||
        Predicate.hasProperty(ids, Stream.StreamTypeId)
    ? undefined
    : `the store ids must be an array, an iterable, an async iterable or a Stream (got ${describeType(ids)})`

/** A synchronous iterable read in batches; a throwing iterator fails the stream after the batch it interrupted. */
const fromIterable = <F>(ids: Iterable<string>, onThrow: (cause: unknown) => F): Stream.Stream<string, F> =>
  Stream.suspend(() => {
    const iterator = ids[Symbol.iterator]()
    let ended = false
    let thrown: Option.Option<F> = Option.none()
    return Stream.repeatEffectChunkOption(Effect.suspend(() => {
      if (Option.isSome(thrown)) return Effect.fail(thrown)
      if (ended) return Effect.fail(Option.none())
      const batch: Array<string> = []
      try {
        while (batch.length < BATCH) {
          const step = iterator.next()
          if (step.done === true) {
            ended = true
            break
          }
          batch.push(step.value)
        }
      } catch (cause) {
        thrown = Option.some(onThrow(cause))
      }
      if (batch.length > 0) return Effect.succeed(Chunk.unsafeFromArray(batch))
      return Effect.fail(Option.isSome(thrown) ? thrown : Option.none())
    }))
  })

/**
 * Counts ids as they are read and lets through the first occurrence of each id
 * that can be sent. An id that cannot be sent (see `ProductCoupon.idProblem`) is
 * handed to `onInvalid` once, so it fails alone instead of sinking the ids that
 * would share its call.
 */
export class Intake {
  input = 0
  unique = 0
  readonly invalid: Array<FailedStore> = []
  // Undefined when the ids are known distinct already: hashing each one again costs ~0.4 µs an id.
  private readonly seen: Set<string> | undefined

  constructor(private readonly onInvalid: (store: FailedStore) => void = () => {}, distinct = false) {
    this.seen = distinct ? undefined : new Set()
  }

  // Synchronous, for `Stream.filter`: an effect per id would cost more than the id's own work.
  readonly admit = (storeId: string): boolean => {
    this.input++
    if (this.seen !== undefined) {
      if (this.seen.has(storeId)) return false
      this.seen.add(storeId)
    }
    this.unique++
    const store = unsendable(storeId)
    if (store === undefined) return true
    this.invalid.push(store)
    this.onInvalid(store)
    return false
  }
}

/** An id no call can carry, as the report fails it; `undefined` for a valid one. */
export const unsendable = (storeId: string): FailedStore | undefined => {
  const problem = ProductCoupon.idProblem(storeId)
  return problem === undefined
    ? undefined
    : { storeId: typeof storeId === "string" ? storeId : printable(storeId), code: "INVALID_STORE_ID", message: problem }
}

/** What a source failed with, in one line: its message, or the value itself (named by its kind if it has no text). */
export const describeCause = (cause: unknown): string => {
  if (Predicate.hasProperty(cause, "message") && typeof cause.message === "string") return cause.message
  try {
    return String(cause)
  } catch {
    return describeType(cause)
  }
}

/** A value that is not a string, as the report can show it (some objects cannot be made strings). */
const printable = (value: unknown): string => {
  try {
    return typeof value === "symbol" ? value.toString() : JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/**
 * The calls: ids admitted by `intake`, in first-seen order, in chunks of `size`
 * (the last may be short). A failing source first hands on the partial chunk it
 * had read, then fails.
 */
export const chunked = <E, R>(
  ids: Stream.Stream<string, E, R>,
  intake: Intake,
  size: number
): Stream.Stream<ReadonlyArray<string>, E, R> =>
  ids.pipe(Stream.filter(intake.admit), Stream.grouped(size), Stream.map(Chunk.toReadonlyArray))

/** What a job would send for these ids, computed without sending: for tests and benchmarks. */
export const plan = (
  ids: Iterable<string>,
  size: number = ProductCoupon.MAX_STORES
): Effect.Effect<{
  readonly input: number
  readonly unique: number
  readonly invalid: ReadonlyArray<FailedStore>
  readonly chunks: ReadonlyArray<ReadonlyArray<string>>
}> =>
  Effect.suspend(() => {
    const intake = new Intake()
    return Effect.map(Stream.runCollect(chunked(Stream.fromIterable(ids), intake, size)), (chunks) => ({
      input: intake.input,
      unique: intake.unique,
      invalid: intake.invalid,
      chunks: Chunk.toReadonlyArray(chunks)
    }))
  })

/**
 * A job's own ids (coupon, stock or bundle, brand), checked once, up front, as the service
 * checks them: `inPath` ids must also be safe as one URL path segment.
 */
export const checkJobIds = (
  fields: ReadonlyArray<readonly [field: string, value: unknown, inPath: boolean]>
): Either.Either<void, RequestValidationError> => {
  for (const [field, value, inPath] of fields) {
    const reason = typeof value !== "string"
      ? "must be a string"
      : ProductCoupon.idProblem(value) ?? (inPath ? ProductCoupon.pathSegmentProblem(value) : undefined)
    if (reason !== undefined) return Either.left(new RequestValidationError({ field, reason }))
  }
  return Either.void
}
