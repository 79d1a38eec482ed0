/**
 * Where a durable store job keeps its journal: an append-only text of JSON lines, each
 * write flushed to storage before it is acknowledged. The jobs of `StoreJobs` read and
 * write it through this service and nothing else, so the storage can be swapped:
 *
 * - `layerFile`: files, through `@effect/platform`'s `FileSystem` (give it
 *   `NodeFileSystem.layer` or any other platform's); every append is followed by an
 *   fsync, so a journal survives `kill -9` and a power cut up to its last acknowledged line.
 * - `layerNodeFile`: the same files, appended with `O_DSYNC` by a thread of the journal's own
 *   (`node:worker_threads`), each append one write that returns once it is on disk; a job sees a
 *   record durable without waiting for its event loop. For Node; it still needs a `FileSystem`.
 * - `layerMemory` / `makeMemory`: a map of texts, for tests (a test can drop the job and
 *   keep the journal, as a crash would).
 *
 * `BulkStores` keeps a job's record in memory and needs none of this.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Context, Effect, Layer, Option, Schema, type Scope } from "effect"
import * as JournalFiles from "./internal/bulk/JournalFiles.js"
import * as WriterThread from "./internal/bulk/WriterThread.js"

/** A journal that cannot be read or written: the location, what was attempted, and why. */
export class JournalIoError extends Schema.TaggedError<JournalIoError>("effect-wechatpay/JournalIoError")(
  "JournalIoError",
  {
    location: Schema.String,
    operation: Schema.Literal("create", "read", "append", "reopen", "lock"),
    reason: Schema.String
  }
) {
  override get message(): string {
    return `cannot ${this.operation} the journal ${this.location}: ${this.reason}`
  }
}

/** A journal already at the location: a new job never writes over another job's record. */
export class JournalExistsError extends Schema.TaggedError<JournalExistsError>("effect-wechatpay/JournalExistsError")(
  "JournalExistsError",
  { location: Schema.String }
) {
  override get message(): string {
    return `a journal already exists at ${this.location}: resume it, or give the new job another journal`
  }
}

/** No journal at the location. */
export class JournalNotFoundError extends Schema.TaggedError<JournalNotFoundError>("effect-wechatpay/JournalNotFoundError")(
  "JournalNotFoundError",
  { location: Schema.String }
) {
  override get message(): string {
    return `no journal at ${this.location}`
  }
}

/**
 * A journal that cannot be trusted: not a journal, a line (other than a torn last one) that is
 * not a record, ids whose digest differs from the header's, or records of another job.
 */
export class JournalCorruptError extends Schema.TaggedError<JournalCorruptError>("effect-wechatpay/JournalCorruptError")(
  "JournalCorruptError",
  {
    location: Schema.String,
    /** 1-based; 0 when the problem is the journal as a whole. */
    line: Schema.Number,
    reason: Schema.String,
    /**
     * True when the journal shows that its job never started (it is empty, or its opening write
     * was cut short): nothing was sent, so it may be deleted and the job run again.
     */
    neverStarted: Schema.optionalWith(Schema.Boolean, { default: () => false })
  }
) {
  override get message(): string {
    return `the journal ${this.location} cannot be trusted${this.line > 0 ? ` (line ${this.line})` : ""}: ${this.reason}`
  }
}

/** A journal of another job than the one asked for: another stock, coupon, brand, operation or job id. */
export class JournalMismatchError extends Schema.TaggedError<JournalMismatchError>("effect-wechatpay/JournalMismatchError")(
  "JournalMismatchError",
  {
    location: Schema.String,
    field: Schema.String,
    expected: Schema.String,
    found: Schema.String
  }
) {
  override get message(): string {
    return `the journal ${this.location} is for ${this.field} ${JSON.stringify(this.found)}, not ${JSON.stringify(this.expected)}`
  }
}

/**
 * A journal whose job an undo has put back (the undo records itself in the journal before its first
 * call): resuming it would redo what the undo reversed, and report as done stores the undo changed back.
 */
export class JournalUndoneError extends Schema.TaggedError<JournalUndoneError>("effect-wechatpay/JournalUndoneError")(
  "JournalUndoneError",
  {
    location: Schema.String,
    /** The undo's job id. */
    by: Schema.String,
    /** The undo's journal, when it kept one. */
    journal: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `the job of the journal ${this.location} was undone by job ${this.by}` +
      `${this.journal === undefined ? "" : ` (journal ${this.journal})`}: resuming it would redo what the undo put back`
  }
}

/**
 * A journal another run is using: its lock (`<journal>.lock`) names a process that is still running
 * (or one this process cannot check). Two runs of one job would send its stores twice.
 */
export class JournalLockedError extends Schema.TaggedError<JournalLockedError>("effect-wechatpay/JournalLockedError")(
  "JournalLockedError",
  {
    location: Schema.String,
    holder: Schema.String,
    /** The file that holds the journal; `<journal>.lock` unless said. */
    lockFile: Schema.optional(Schema.String)
  }
) {
  override get message(): string {
    return `the journal ${this.location} is in use by ${this.holder}: wait for it to end; ` +
      `if that run is gone, delete ${this.lockFile ?? `${this.location}.lock`}`
  }
}

/** Everything reading or writing a journal can fail with. */
export type JournalError =
  | JournalLockedError
  | JournalIoError
  | JournalExistsError
  | JournalNotFoundError
  | JournalCorruptError
  | JournalMismatchError
  | JournalUndoneError

/** An open journal: each `append` returns once its lines are durable (or fails, and nothing may rely on them). */
export interface Appender {
  readonly append: (text: string) => Effect.Effect<void, JournalIoError>
}

/** The storage of journals. Texts are UTF-8; lengths are in bytes. */
export interface Service {
  /** A new journal holding `text`, made durable; fails with `JournalExistsError` when the location is taken. */
  readonly create: (location: string, text: string) => Effect.Effect<Appender, JournalIoError | JournalExistsError, Scope.Scope>
  /** A journal's whole content. */
  readonly read: (location: string) => Effect.Effect<Uint8Array, JournalIoError | JournalNotFoundError>
  /** Opens a journal to append after its first `length` bytes (anything after them, a torn line, is cut off). */
  readonly reopen: (location: string, length: number) => Effect.Effect<Appender, JournalIoError | JournalNotFoundError, Scope.Scope>
  /**
   * Keeps every other run off the journal until the scope closes: a job holds it from before it reads
   * the journal to its last write. A lock left by a run that died (`kill -9`) is taken over.
   */
  readonly lock: (location: string) => Effect.Effect<void, JournalLockedError | JournalIoError, Scope.Scope>
}

export class JobJournal extends Context.Tag("effect-wechatpay/JobJournal")<JobJournal, Service>() {}

const encoder = new TextEncoder()

const reasonOf = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "message" in cause && typeof cause.message === "string"
    ? cause.message
    : String(cause)

/** What an operation on the journal at `location` failed with. */
const io = (location: string, operation: JournalIoError["operation"]) => (cause: unknown) =>
  new JournalIoError({ location, operation, reason: reasonOf(cause) })

const parentOf = (location: string): string => {
  const cut = Math.max(location.lastIndexOf("/"), location.lastIndexOf("\\"))
  return cut < 0 ? "." : cut === 0 ? "/" : location.slice(0, cut)
}

/** Journals as files: created exclusively, appended with an fsync after each write. */
export const makeFile: Effect.Effect<Service, never, FileSystem.FileSystem> = Effect.map(FileSystem.FileSystem, (fs) => {
  const appender = (location: string, file: FileSystem.File): Appender => ({
    append: (text) =>
      Effect.zipRight(file.writeAll(encoder.encode(text)), file.sync).pipe(Effect.mapError(io(location, "append")))
  })
  const notFound = (location: string) => (cause: unknown) =>
    typeof cause === "object" && cause !== null && "reason" in cause && cause.reason === "NotFound"
      ? new JournalNotFoundError({ location })
      : io(location, "read")(cause)
  return {
    create: (location, text) =>
      Effect.gen(function*() {
        const file = yield* fs.open(location, { flag: "ax" }).pipe(
          Effect.catchAll((cause) =>
            typeof cause === "object" && cause !== null && "reason" in cause && cause.reason === "AlreadyExists"
              ? Effect.zipRight(JournalFiles.notRegular(fs, location, "create"), Effect.fail(new JournalExistsError({ location })))
              : Effect.fail(io(location, "create")(cause))
          )
        )
        const opened = appender(location, file)
        // Cut short (a full disk), the opening would be a journal of a job that never started, in the way of the
        // same job run again: it is this run's own new file, and nothing was sent, so it goes.
        yield* opened.append(text).pipe(
          Effect.mapError((e) => new JournalIoError({ ...e, operation: "create" })),
          Effect.tapError(() => fs.remove(location).pipe(Effect.ignore))
        )
        // The new name must survive a power cut too: flush its directory (where the platform allows it).
        yield* Effect.scoped(Effect.flatMap(fs.open(parentOf(location), { flag: "r" }), (dir) => dir.sync)).pipe(Effect.ignore)
        return opened
      }),
    read: (location) => Effect.zipRight(JournalFiles.notRegular(fs, location, "read"), Effect.mapError(fs.readFile(location), notFound(location))),
    reopen: (location, length) =>
      Effect.gen(function*() {
        const file = yield* fs.open(location, { flag: "r+" }).pipe(Effect.mapError(notFound(location)))
        yield* Effect.mapError(file.truncate(length), io(location, "reopen"))
        yield* Effect.mapError(file.seek(length, "start"), io(location, "reopen"))
        return appender(location, file)
      }),
    lock: (location) => Effect.zipRight(JournalFiles.notRegular(fs, location, "lock"), JournalFiles.lock(fs, location, io(location, "lock")))
  }
})

/** Journals as files, through the platform's `FileSystem`. */
export const layerFile: Layer.Layer<JobJournal, never, FileSystem.FileSystem> = Layer.effect(JobJournal, makeFile)

/**
 * Journals as files, as `makeFile` keeps them, but appended with `O_DSYNC` (an append is one write that
 * returns once its bytes are on disk, where `makeFile` makes a write and an fsync) by a thread of the
 * journal's own. The job hands its records to that thread in batches (each call's outcome with the calls
 * recorded ahead of it) and reads how far the file is durable from memory they share, so a call whose
 * records reached the disk while the job was busy goes out without waiting for a turn of the event loop;
 * through Node's thread pool, a busy job saw each append's end milliseconds late, and every call waits
 * for its journal. A thread is kept ready from the service's start (it takes tens of milliseconds to
 * boot) and stopped with its journal or the service's scope. Creating, reading, reopening and locking
 * still go through `FileSystem`, which must be the platform's real one (`NodeFileSystem.layer`). Without
 * worker threads, appends go through `node:fs`'s thread pool; without `node:fs` or `O_DSYNC`, this is
 * `makeFile`.
 */
export const makeNodeFile: Effect.Effect<Service, never, FileSystem.FileSystem | Scope.Scope> = Effect.gen(function*() {
  const files = yield* makeFile
  const nodeFs = yield* Effect.option(Effect.tryPromise(() => import("node:fs")))
  if (nodeFs._tag === "None") return files
  const fs = nodeFs.value
  const durable = fs.constants.O_DSYNC ?? fs.constants.O_SYNC
  if (durable === undefined) return files
  const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | durable
  // Where worker threads are available, a thread of the journal's own makes the appends (see `WriterThread`).
  const threads = Option.getOrUndefined(yield* Effect.option(Effect.tryPromise(() => import("node:worker_threads"))))
  const appenderAt = (location: string, operation: "create" | "reopen"): Effect.Effect<Appender, JournalIoError, Scope.Scope> =>
    Effect.flatMap(
      Effect.acquireRelease(
        Effect.async<number, JournalIoError>((resume) => {
          fs.open(location, flags, (error, fd) =>
            resume(error === null ? Effect.succeed(fd) : Effect.fail(io(location, operation)(error))))
        }),
        (fd) => Effect.async<void>((resume) => fs.close(fd, () => resume(Effect.void)))
      ),
      (fd) => {
        // A regular file takes a write whole, but the call may say otherwise: the rest is written after.
        const writeFrom = (bytes: Uint8Array, offset: number): Effect.Effect<void, JournalIoError> =>
          Effect.flatMap(
            Effect.async<number, JournalIoError>((resume) => {
              fs.write(fd, bytes, offset, bytes.length - offset, null, (error, written) =>
                resume(error === null ? Effect.succeed(written) : Effect.fail(io(location, "append")(error))))
            }),
            (written) => offset + written < bytes.length ? writeFrom(bytes, offset + written) : Effect.void
          )
        const direct: Appender = { append: (text) => writeFrom(encoder.encode(text), 0) }
        // Stopped before the descriptor is closed: the thread lets go of it first.
        return Effect.map(
          Effect.acquireRelease(Effect.sync(takeThread), (thread) => thread?.stop ?? Effect.void),
          (thread): Appender => {
            if (thread === undefined) return direct
            const pipeline = thread.attach(fd, io(location, "append"))
            return { append: (text) => Effect.suspend(() => pipeline.await(pipeline.submit(text))), [WriterThread.PipelineKey]: pipeline } as Appender
          }
        )
      }
    )
  // A thread takes ~50 ms to boot, on the job's path if started with the file: one is kept ready from the
  // service's start, and again from a job's taking a journal's lock, and given a file once one is open.
  const spawn = (): WriterThread.Thread | undefined =>
    threads === undefined ? undefined : WriterThread.spawn(threads.Worker)
  let ready = spawn()
  yield* Effect.addFinalizer(() => Effect.suspend(() => ready?.stop ?? Effect.void))
  const takeThread = (): WriterThread.Thread | undefined => {
    const thread = ready ?? spawn()
    ready = undefined
    return thread
  }
  return {
    ...files,
    lock: (location) =>
      Effect.tap(files.lock(location), () => {
        ready ??= spawn()
      }),
    create: (location, text) => Effect.zipRight(files.create(location, text), appenderAt(location, "create")),
    reopen: (location, length) => Effect.zipRight(files.reopen(location, length), appenderAt(location, "reopen"))
  }
})

/** Journals as files appended with `O_DSYNC` by a writer thread (see `makeNodeFile`). */
export const layerNodeFile: Layer.Layer<JobJournal, never, FileSystem.FileSystem> = Layer.scoped(JobJournal, makeNodeFile)

/** In-memory journals, and their texts (location → content), for tests. */
export interface Memory {
  readonly service: Service
  readonly files: Map<string, Uint8Array>
}

/** Journals in a map: what a test keeps when it drops a job, as a crash would. */
export const makeMemory = (files: Map<string, Uint8Array> = new Map()): Memory => {
  // Each text grows in a buffer of doubling capacity, so appends cost their own bytes, not the text's;
  // the map holds a view of it. A text the caller replaced in the map (to tamper with it) is taken as given.
  const buffers = new Map<string, { view: Uint8Array; buffer: Uint8Array }>()
  const locked = new Set<string>()
  const add = (location: string, bytes: Uint8Array) => {
    const current = files.get(location) ?? new Uint8Array(0)
    let held = buffers.get(location)
    if (held === undefined || held.view !== current) held = { view: current, buffer: current }
    const length = current.length + bytes.length
    let buffer = held.buffer
    if (buffer.length < length) {
      buffer = new Uint8Array(Math.max(length, 2 * buffer.length, 4_096))
      buffer.set(current, 0)
    }
    buffer.set(bytes, current.length)
    const view = buffer.subarray(0, length)
    buffers.set(location, { view, buffer })
    files.set(location, view)
  }
  const appender = (location: string): Appender => ({
    append: (text) => Effect.sync(() => add(location, encoder.encode(text)))
  })
  return {
    files,
    service: {
      create: (location, text) =>
        Effect.suspend(() => {
          if (files.has(location)) return Effect.fail(new JournalExistsError({ location }))
          add(location, encoder.encode(text))
          return Effect.succeed(appender(location))
        }),
      read: (location) =>
        Effect.suspend(() => {
          const content = files.get(location)
          return content === undefined ? Effect.fail(new JournalNotFoundError({ location })) : Effect.succeed(content.slice())
        }),
      reopen: (location, length) =>
        Effect.suspend(() => {
          const content = files.get(location)
          if (content === undefined) return Effect.fail(new JournalNotFoundError({ location }))
          files.set(location, content.slice(0, length))
          return Effect.succeed(appender(location))
        }),
      lock: (location) =>
        Effect.acquireRelease(
          Effect.suspend(() => {
            if (locked.has(location)) return Effect.fail(new JournalLockedError({ location, holder: "another run in this process" }))
            locked.add(location)
            return Effect.void
          }),
          () => Effect.sync(() => locked.delete(location))
        )
    }
  }
}

/** In-memory journals. */
export const layerMemory = (files?: Map<string, Uint8Array>): Layer.Layer<JobJournal> =>
  Layer.succeed(JobJournal, makeMemory(files).service)
