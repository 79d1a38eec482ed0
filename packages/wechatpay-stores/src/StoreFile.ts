/**
 * Store ids from a file or standard input: a text file with one id a line, a
 * CSV with a `store_id` column, a JSON array of strings or of
 * `{ "store_id": … }`, or a report the CLI wrote (its `failed` and
 * `unresolved` stores, or the lists selected). The format is told from the
 * first non-blank line, so standard input works the same as a file. What a
 * pass skipped or trimmed is counted ({@link Input.notes}), never dropped
 * without a word.
 *
 * The input is opened once. A regular file is read again from its descriptor
 * for each pass (memory stays flat), and a pass that finds other bytes than the
 * first (the file changed after it was checked) fails; anything else (a pipe, a FIFO, a device,
 * standard input) can be read only once, so the first pass copies it to a
 * private spool file that later passes read. Lines are split on bytes and
 * bounded before a string is built, and decoded as strict UTF-8.
 */
import { Effect, Stream } from "effect"
import type { Scope } from "effect"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Readable } from "node:stream"
import * as Bounds from "./input/Bounds.js"
import { StoreFileError } from "./input/Bounds.js"
import * as FileProblem from "./input/FileProblem.js"
import { parse, type Pull, type ReadOptions } from "./input/IdParser.js"
import { EMPTY, type InputNotes } from "./input/Notes.js"

export { MAX_ID_LENGTH, MAX_JSON_BYTES, MAX_LINE_BYTES, StoreFileError } from "./input/Bounds.js"
export { parseCsvRecord } from "./input/Csv.js"
export { idsFromJson } from "./input/Json.js"
export { DEFAULT_SELECT, describe as describeNotes, EMPTY as NO_NOTES } from "./input/Notes.js"
export type { Format, InputNotes, ReportList, ReportNotes, Tally } from "./input/Notes.js"
export type { ReadOptions } from "./input/IdParser.js"

const READ_SIZE = 64 * 1024

/** The input as errors name it, and why `cause` stopped `operation`. */
const problem = (source: string, cause: unknown, operation: FileProblem.Operation = FileProblem.Read) =>
  new StoreFileError({ source, reason: FileProblem.describe(cause, operation) })

const spoolProblem = (source: string, cause: unknown) => problem(source, cause, FileProblem.spool(Os.tmpdir()))

/**
 * Opens `path` in the thread pool. An open() still pending on interruption is
 * abandoned (its descriptor closed when it arrives), so a stop is not held up.
 */
const openRaw = (
  source: string,
  path: string,
  flags: number,
  mode?: number,
  operation: FileProblem.Operation = FileProblem.Read
): Effect.Effect<number, StoreFileError> =>
  Effect.async<number, StoreFileError>((resume) => {
    let abandoned = false
    Fs.open(path, flags, mode, (e, fd) => {
      if (abandoned) {
        if (e === null) Fs.close(fd, () => {})
      } else resume(e === null ? Effect.succeed(fd) : Effect.fail(problem(source, e, operation)))
    })
    return Effect.sync(() => void (abandoned = true))
  })

/** {@link openRaw}, closed when the scope closes. */
const openFd = (
  source: string,
  path: string,
  flags: number,
  mode?: number,
  operation?: FileProblem.Operation
): Effect.Effect<number, StoreFileError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.tap(restore(openRaw(source, path, flags, mode, operation)), (fd) => Effect.addFinalizer(() => Effect.sync(() => Fs.close(fd, () => {}))))
  )

/**
 * Reads from `fd` at `position` (a regular file, read again per pass: whole blocks of READ_SIZE until
 * its end, so that every pass cuts it into the same blocks) or where it is (a device).
 */
const fdPull = (source: string, fd: number, positional: boolean): Pull => {
  const buffer = Buffer.allocUnsafe(READ_SIZE)
  let position = 0
  // No canceler: an interrupted read is left to finish in the thread pool, its bytes unused.
  return Effect.async<Uint8Array | undefined, StoreFileError>((resume) => {
    const fill = (filled: number) =>
      Fs.read(fd, buffer, filled, READ_SIZE - filled, positional ? position : null, (e, n) => {
        if (e !== null) return resume(Effect.fail(problem(source, e)))
        position += n
        const total = filled + n
        if (positional && n > 0 && total < READ_SIZE) return fill(total)
        resume(Effect.succeed(total === 0 ? undefined : buffer.subarray(0, total)))
      })
    fill(0)
  })
}

/** Why a later pass of a regular file stopped: its bytes are no longer those the first pass read. */
const CHANGED =
  "changed while it was being read (its content is no longer what was checked before the job; nothing of the changed " +
  "part was sent): leave the file as it is while a job reads it, or give the job a copy"

/**
 * The passes over a regular file, read again from its descriptor: each must read the bytes the first
 * whole pass read (the up-front check), or a file rewritten or cut short between the two would have the
 * job send ids nobody checked, a torn line among them, and count the others as never given. Every block
 * is compared (by digest) before the parser sees it, so nothing of a changed block is sent.
 */
const checkedPasses = (source: string, fd: number): () => Pull => {
  let reference: ReadonlyArray<string> | undefined
  return () => {
    const seen: Array<string> = []
    const against = reference
    const read = fdPull(source, fd, true)
    return Effect.flatMap(read, (bytes) => {
      const digest = bytes === undefined ? "" : Crypto.createHash("sha1").update(bytes).digest("base64")
      if (against !== undefined && against[seen.length] !== digest) return Effect.fail(new StoreFileError({ source, reason: CHANGED }))
      seen.push(digest)
      if (bytes === undefined && against === undefined) reference = seen
      return Effect.succeed(bytes)
    })
  }
}

/** Reads a stream (standard input, a FIFO); it is destroyed when the scope closes. */
const readablePull = (source: string, input: Readable): Effect.Effect<Pull, never, Scope.Scope> =>
  Effect.map(Effect.addFinalizer(() => Effect.sync(() => input.destroy())), () => {
    const iterator = input[Symbol.asyncIterator]()
    return Effect.map(
      Effect.tryPromise({
        try: () => iterator.next(),
        catch: (e) => problem(source, e)
      }),
      (r): Uint8Array | undefined =>
        r.done === true ? undefined : typeof r.value === "string" ? Buffer.from(r.value, "utf8") : r.value as Uint8Array
    )
  })

/** A private file (0600 in a 0700 directory) for a one-pass input; removed when the scope closes. */
const spoolFile = (source: string): Effect.Effect<number, StoreFileError, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => Fs.promises.mkdtemp(Path.join(Os.tmpdir(), "wechatpay-stores-")),
        catch: (e) => spoolProblem(source, e)
      }),
      (dir) => Effect.promise(() => Fs.promises.rm(dir, { recursive: true, force: true }).catch(() => undefined))
    )
    const C = Fs.constants
    return yield* openFd(source, Path.join(dir, "stores"), C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600, FileProblem.spool(Os.tmpdir()))
  })

const writeAll = (source: string, fd: number, bytes: Uint8Array): Effect.Effect<void, StoreFileError> =>
  Effect.async<void, StoreFileError>((resume) => {
    const loop = (offset: number) =>
      Fs.write(fd, bytes, offset, bytes.length - offset, null, (e, n) => {
        if (e !== null) resume(Effect.fail(spoolProblem(source, e)))
        else if (offset + n < bytes.length) loop(offset + n)
        else resume(Effect.void)
      })
    loop(0)
  })

/** An input opened once; `ids` reads it from the start, as often as `rereadable` allows. */
export interface Input {
  /** The name errors give it: the path, or `<stdin>`. */
  readonly source: string
  readonly ids: Stream.Stream<string, StoreFileError>
  /**
   * What the last pass of `ids` read to its end skipped and normalised (blank
   * lines, CSV rows with an empty store_id, trimmed ids; the lists taken from a
   * report), with the first line of each; {@link NO_NOTES} before a pass has ended.
   * Print them with {@link describeNotes}.
   */
  readonly notes: Effect.Effect<InputNotes>
}

/** How to open the input: {@link ReadOptions} and whether it will be read more than once. */
export interface OpenOptions extends ReadOptions {
  readonly rereadable: boolean
  /** The most a one-pass input read more than once may copy to its spool. Default {@link Bounds.MAX_SPOOL_BYTES}. */
  readonly maxSpoolBytes?: number | undefined
}

/** Why a one-pass input stopped being copied to its spool. */
const tooBigToSpool = (max: number) =>
  `is over ${max >= 1024 * 1024 ? `${(max / (1024 * 1024)).toLocaleString("en-US")} MiB` : Bounds.plural(max, "byte")}, the most a pipe or device is copied to ${Os.tmpdir()} to be read ` +
  "again; it was not read further: give the list as a file (read in place), or split it"

/** Why a path that names a socket cannot be read. */
const SOCKET = "is a socket, which cannot be opened by name; send its data to standard input instead: … | wechatpay-stores … --stores -"

/** Why `path`, already known to exist, is a directory. */
const DIRECTORY = "is a directory, not a file; give the path of the file of store ids inside it (EISDIR)"

/**
 * Opens `path` (or `stdin` for `-`) once. With `rereadable`, a one-pass input
 * (pipe, FIFO, device, standard input) is copied to a spool file as the first
 * pass reads it, and later passes read the spool. Every step can be
 * interrupted, so racing the open and the reading against a stop signal ends
 * them at once, even on a FIFO with no writer or an endless device.
 * `select`: the lists to take from a report the CLI wrote (by default its
 * `failed` and `unresolved` stores); any other input is refused when it is given.
 */
export const open = (
  path: string,
  stdin: Readable | undefined,
  options: OpenOptions
): Effect.Effect<Input, StoreFileError, Scope.Scope> =>
  Effect.gen(function*() {
    const source = path === "-" ? "<stdin>" : path
    let notes: InputNotes = EMPTY
    const read = { select: options.select }
    const passes = (pull: Pull) => parse(source, pull, read, (n) => void (notes = n))
    const input = (ids: Stream.Stream<string, StoreFileError>): Input => ({ source, ids, notes: Effect.sync(() => notes) })
    let once: Pull
    if (path === "-") once = yield* readablePull(source, stdin ?? process.stdin)
    else {
      const stat = yield* Effect.tryPromise({
        try: () => Fs.promises.stat(path),
        catch: (e) => problem(source, e)
      })
      if (stat.isDirectory()) return yield* new StoreFileError({ source, reason: DIRECTORY })
      if (stat.isSocket()) {
        // A socket cannot be opened by path (ENXIO), but standard input is often one (a child
        // process's "pipe" is a socketpair): /dev/stdin and /dev/fd/N name a descriptor we hold.
        const fd = path === "/dev/stdin" ? 0 : Number(/^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(path)?.[1] ?? Number.NaN)
        if (Number.isNaN(fd)) return yield* new StoreFileError({ source, reason: SOCKET })
        once = yield* readablePull(source, fd === 0 ? stdin ?? process.stdin : new Net.Socket({ fd, readable: true, writable: false }))
      } else if (stat.isFIFO()) {
        // A blocking open() of a FIFO waits for a writer in the thread pool, where nothing can
        // cancel it. O_NONBLOCK returns at once; the socket then waits for data and EOF in the
        // event loop, and is destroyed on a stop.
        // The socket owns the descriptor from here: destroying it (when the scope closes) closes it.
        once = yield* Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(
            restore(openRaw(source, path, Fs.constants.O_RDONLY | Fs.constants.O_NONBLOCK)),
            (fd) => readablePull(source, new Net.Socket({ fd, readable: true, writable: false }))
          )
        )
      } else {
        const fd = yield* openFd(source, path, Fs.constants.O_RDONLY)
        // Told apart on the opened descriptor: what was checked is what is read.
        const isFile = yield* Effect.async<boolean, StoreFileError>((resume) =>
          Fs.fstat(fd, (e, s) => resume(e === null ? Effect.succeed(s.isFile()) : Effect.fail(problem(source, e))))
        )
        if (isFile) {
          const pass = checkedPasses(source, fd)
          return input(Stream.suspend(() => passes(pass())))
        }
        once = fdPull(source, fd, false)
      }
    }
    const spool = options.rereadable ? yield* spoolFile(source) : undefined
    const maxSpool = options.maxSpoolBytes ?? Bounds.MAX_SPOOL_BYTES
    let spooled = 0
    let state: "unread" | "reading" | "read" = "unread"
    return input(Stream.suspend(() => {
      if (state === "unread") {
        state = "reading"
        const pull = spool === undefined
          ? once
          : Effect.tap(once, (bytes) => {
            if (bytes === undefined) return Effect.sync(() => void (state = "read"))
            spooled += bytes.length
            return spooled > maxSpool ? Effect.fail(new StoreFileError({ source, reason: tooBigToSpool(maxSpool) })) : writeAll(source, spool, bytes)
          })
        return passes(pull)
      }
      if (state === "read" && spool !== undefined) return passes(fdPull(source, spool, true))
      return Stream.fail(
        new StoreFileError({ source, reason: "can be read only once (a pipe or device), and that read did not finish; give a file to read it again" })
      )
    }))
  })

/** Ids from `path`, or standard input for `-`, in one pass. */
export const stream = (path: string, stdin?: Readable, options: ReadOptions = {}): Stream.Stream<string, StoreFileError> =>
  Stream.unwrapScoped(Effect.map(open(path, stdin, { ...options, rereadable: false }), (input) => input.ids))
