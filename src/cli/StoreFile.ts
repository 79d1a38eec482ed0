/**
 * Store ids from a file or standard input: a text file with one id a line, a
 * CSV with a `store_id` column, or a JSON array of strings or of
 * `{ "store_id": … }`. The format is told from the first non-blank line, so
 * standard input works the same as a file.
 *
 * The input is opened once. A regular file is read again from its descriptor
 * for each pass (memory stays flat); anything else (a pipe, a FIFO, a device,
 * standard input) can be read only once, so the first pass copies it to a
 * private spool file that later passes read. Lines are split on bytes and
 * bounded before a string is built, and decoded as strict UTF-8.
 */
import { Chunk, Data, Effect, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Readable } from "node:stream"

/** A text or CSV line (a CSV record, with its quoted line breaks) is at most this many bytes. */
export const MAX_LINE_BYTES = 64 * 1024
/** A store id is at most this many characters (WeChat Pay's are a dozen or so). */
export const MAX_ID_LENGTH = 256
/** A JSON document is parsed whole, so it is bounded: at most this many bytes. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024

const READ_SIZE = 64 * 1024

/** The input could not be read or is not one of the formats. */
export class StoreFileError extends Data.TaggedError("StoreFileError")<{
  readonly source: string
  readonly line?: number | undefined
  readonly reason: string
}> {
  override get message(): string {
    return `${this.source}${this.line === undefined ? "" : `:${this.line}`}: ${this.reason}`
  }
}

/** Splits one CSV record (RFC 4180 quoting); `undefined` while a quoted field is still open. */
export const parseCsvRecord = (text: string): Array<string> | undefined => {
  const fields: Array<string> = []
  let field = ""
  let quoted = false
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (quoted) {
      if (c === "\"") {
        if (text[i + 1] === "\"") {
          field += "\""
          i += 2
          continue
        }
        quoted = false
      } else field += c
    } else if (c === "\"" && field === "") quoted = true
    else if (c === ",") {
      fields.push(field)
      field = ""
    } else field += c
    i++
  }
  if (quoted) return undefined
  fields.push(field)
  return fields
}

/**
 * Whether a quoted field is still open after `text`, which continues a record whose
 * quoted field was open (as {@link parseCsvRecord} reads it). Scanning only the new
 * line keeps a long multi-line record linear, where re-parsing it per line was quadratic.
 */
const csvStillQuoted = (text: string): boolean => {
  let quoted = true
  let fieldLength = 1 // the line break that joined this line to the open field
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (quoted) {
      if (c === 0x22) {
        if (text.charCodeAt(i + 1) === 0x22) {
          i++
          fieldLength++
          continue
        }
        quoted = false
      } else fieldLength++
    } else if (c === 0x22 && fieldLength === 0) quoted = true
    else if (c === 0x2c) fieldLength = 0
    else fieldLength++
  }
  return quoted
}

type Mode =
  | { readonly _tag: "Undecided" }
  | { readonly _tag: "Text" }
  | { readonly _tag: "Csv"; readonly column: number; readonly width: number }
  | { readonly _tag: "Json" }

const tooLongId = (length: number) => `a store id of ${length} characters; store ids are at most ${MAX_ID_LENGTH}`

/** Ids from a JSON document: an array of strings or of objects with a string `store_id`. */
export const idsFromJson = (source: string, text: string): Array<string> | StoreFileError => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return new StoreFileError({ source, reason: `not valid JSON (${e instanceof Error ? e.message : "parse error"})` })
  }
  if (!Array.isArray(json)) return new StoreFileError({ source, reason: "JSON input must be an array" })
  const out: Array<string> = new Array(json.length)
  for (let i = 0; i < json.length; i++) {
    const item: unknown = json[i]
    const id = typeof item === "string"
      ? item
      : typeof item === "object" && item !== null && typeof (item as { store_id?: unknown }).store_id === "string"
      ? (item as { store_id: string }).store_id
      : undefined
    if (id === undefined) {
      return new StoreFileError({ source, reason: `element ${i} is neither a string nor an object with a string store_id` })
    }
    if (id.length > MAX_ID_LENGTH) return new StoreFileError({ source, reason: `element ${i}: ${tooLongId(id.length)}` })
    out[i] = id
  }
  return out
}

const LF = 0x0a
const CR = 0x0d

/** What the first bytes say about the encoding: a UTF-8 BOM to skip, or a refusal. */
const byteOrderMark = (head: Uint8Array): number | string => {
  const [a, b, c, d] = head
  if (a === 0xef && b === 0xbb && c === 0xbf) return 3
  const utf32 = (a === 0xff && b === 0xfe && c === 0 && d === 0) || (a === 0 && b === 0 && c === 0xfe && d === 0xff)
  const utf16 = (a === 0xff && b === 0xfe) || (a === 0xfe && b === 0xff)
  if (!utf32 && !utf16) return 0
  const encoding = utf32 ? "UTF-32" : "UTF-16"
  return `the input is ${encoding} (it starts with a ${encoding} byte-order mark), not UTF-8; convert it: iconv -f ${encoding} -t UTF-8 FILE > stores.txt`
}

/**
 * Turns the input's bytes into ids, one chunk of bytes at a time. It never
 * throws: the first problem is kept in `failure`, after the ids read before it.
 */
class IdParser {
  failure: StoreFileError | undefined = undefined
  private head: Uint8Array | undefined = new Uint8Array(0) // the first bytes, until the BOM check
  private parts: Array<Uint8Array> = [] // the current line so far
  private partBytes = 0
  private jsonLike = false // the current (undecided) line starts with [ or {
  private blank = true // no non-blank byte yet on the current line
  private lineNo = 1
  private skipLf = false // the last chunk ended in CR: a LF next is the same line break
  private mode: Mode = { _tag: "Undecided" }
  private pending = "" // a CSV record whose quoted field spans lines
  private pendingStart = 0
  private pendingBytes = 0
  private readonly json: Array<string> = []
  private jsonBytes = 0
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

  constructor(private readonly source: string) {}

  /** `line`: the current line unless given; `null` for the input as a whole. */
  private fail(reason: string, line: number | null = this.lineNo): void {
    this.failure ??= new StoreFileError({ source: this.source, line: line ?? undefined, reason })
  }

  push(bytes: Uint8Array, out: Array<string>): void {
    if (this.failure !== undefined) return
    if (this.head !== undefined) {
      // Wait for four bytes, so a BOM split over reads is still seen.
      const head: Uint8Array = Buffer.concat([this.head, bytes])
      if (head.length < 4) {
        this.head = head
        return
      }
      this.head = undefined
      this.start(head, out)
    } else this.feed(bytes, out)
  }

  end(out: Array<string>): void {
    if (this.head !== undefined) {
      const head = this.head
      this.head = undefined
      this.start(head, out)
    }
    if (this.failure !== undefined) return
    if (this.parts.length > 0) this.line(Buffer.concat(this.parts), out)
    if (this.failure !== undefined) return
    if (this.pending !== "") return this.fail("unterminated quoted field", this.pendingStart)
    if (this.mode._tag === "Json") {
      const ids = idsFromJson(this.source, this.json.join("\n"))
      if (ids instanceof StoreFileError) this.failure = ids
      else for (const id of ids) out.push(id)
    }
  }

  private start(head: Uint8Array, out: Array<string>): void {
    const bom = byteOrderMark(head)
    if (typeof bom === "string") return this.fail(bom, null)
    this.feed(head.subarray(bom), out)
  }

  private feed(chunk: Uint8Array, out: Array<string>): void {
    const n = chunk.length
    let pos = 0
    if (this.skipLf) {
      this.skipLf = false
      if (n > 0 && chunk[0] === LF) pos = 1
    }
    // A NUL is no part of any text id: it is UTF-16 without a BOM, or not a text file at all.
    const nul = chunk.indexOf(0, pos)
    // The next LF and CR, found once each: searching again per line would be quadratic.
    let lf = -2
    let cr = -2
    while (pos < n && this.failure === undefined) {
      if (lf !== -1 && lf < pos) lf = chunk.indexOf(LF, pos)
      if (cr !== -1 && cr < pos) cr = chunk.indexOf(CR, pos)
      const eol = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
      const end = eol === -1 ? n : eol
      if (nul !== -1 && nul < end) {
        return this.fail("contains a NUL byte: not a text file (UTF-16 without a byte-order mark?); store ids need UTF-8 text")
      }
      if (this.blank && this.mode._tag === "Undecided") {
        for (let i = pos; i < end; i++) {
          const b = chunk[i]!
          if (b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0c) continue
          this.blank = false
          this.jsonLike = b === 0x5b || b === 0x7b // [ or {
          break
        }
      }
      // The bound holds before any string is built: a 600 MiB line or /dev/zero ends here.
      const bytes = this.pendingBytes + this.partBytes + (end - pos)
      if (this.mode._tag === "Json" || this.jsonLike) {
        if (this.jsonBytes + bytes > MAX_JSON_BYTES) {
          return this.fail(`JSON input larger than ${MAX_JSON_BYTES / 1024 / 1024} MiB; give the ids one a line instead (no size limit)`)
        }
      } else if (bytes > MAX_LINE_BYTES) {
        return this.fail(
          this.pending === ""
            ? `line longer than ${MAX_LINE_BYTES / 1024} KiB: not a list of store ids (one a line, a CSV with a store_id column, or JSON)`
            : `CSV record longer than ${MAX_LINE_BYTES / 1024} KiB (an unterminated quoted field?)`,
          this.pending === "" ? this.lineNo : this.pendingStart
        )
      }
      if (eol === -1) {
        // Copied: the reader reuses its buffer for the next chunk.
        this.parts.push(Uint8Array.prototype.slice.call(chunk, pos, end))
        this.partBytes += end - pos
        return
      }
      const line = this.parts.length === 0 ? chunk.subarray(pos, end) : Buffer.concat([...this.parts, chunk.subarray(pos, end)])
      this.parts = []
      this.partBytes = 0
      this.line(line, out)
      this.blank = true
      this.jsonLike = false
      this.lineNo++
      pos = eol + 1
      if (chunk[eol] === CR) {
        if (pos === n) this.skipLf = true
        else if (chunk[pos] === LF) pos++
      }
    }
  }

  private line(bytes: Uint8Array, out: Array<string>): void {
    let line: string
    try {
      line = this.decoder.decode(bytes)
    } catch {
      // Replacing bad bytes with U+FFFD would send ids nobody wrote.
      return this.fail("not valid UTF-8; convert the file to UTF-8 (from GBK, say: iconv -f GB18030 -t UTF-8 FILE > stores.txt)")
    }
    const lineNo = this.lineNo
    if (this.mode._tag === "Undecided") {
      const head = line.trim()
      if (head === "") return
      // A JSON object is JSON too: refuse it as JSON rather than send its text as a store id.
      if (head.startsWith("[") || head.startsWith("{")) {
        this.mode = { _tag: "Json" }
      } else {
        const header = parseCsvRecord(line)
        const column = header?.map((h) => h.trim()).indexOf("store_id") ?? -1
        if (header !== undefined && column >= 0) {
          this.mode = { _tag: "Csv", column, width: header.length }
          return
        }
        if (header !== undefined && header.length > 1) return this.fail("CSV input needs a store_id column in its header")
        this.mode = { _tag: "Text" }
      }
    }
    switch (this.mode._tag) {
      case "Json":
        this.json.push(line)
        this.jsonBytes += bytes.length + 1
        return
      case "Text": {
        const id = line.trim()
        if (id.length > MAX_ID_LENGTH) return this.fail(tooLongId(id.length))
        if (id !== "") out.push(id)
        return
      }
      case "Csv": {
        if (this.pending === "") this.pendingStart = lineNo
        const text = this.pending === "" ? line : `${this.pending}\n${line}`
        const record = this.pending !== "" && csvStillQuoted(line) ? undefined : parseCsvRecord(text)
        if (record === undefined) {
          // Counted with the next lines' bytes against the record bound.
          this.pending = text
          this.pendingBytes += bytes.length + 1
          return
        }
        this.pending = ""
        this.pendingBytes = 0
        if (record.length === 1 && record[0]!.trim() === "") return
        const id = record[this.mode.column]?.trim()
        if (id === undefined) return this.fail(`row has ${record.length} fields, no store_id`, this.pendingStart)
        if (id.length > MAX_ID_LENGTH) return this.fail(tooLongId(id.length), this.pendingStart)
        if (id !== "") out.push(id)
        return
      }
    }
  }
}

/** One pass over the input's bytes: `undefined` at the end. */
type Pull = Effect.Effect<Uint8Array | undefined, StoreFileError>

const code = (e: unknown): string =>
  (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.message : "failed")

/** Ids from one pass of `pull`, handed on a read at a time. */
const parse = (source: string, pull: Pull): Stream.Stream<string, StoreFileError> =>
  Stream.suspend(() => {
    const parser = new IdParser(source)
    let ended = false
    return Stream.repeatEffectChunkOption(Effect.suspend(() => {
      // The ids read before a problem go first; the problem ends the stream on the next pull.
      if (parser.failure !== undefined) return Effect.fail(Option.some(parser.failure))
      if (ended) return Effect.fail(Option.none())
      return Effect.map(Effect.mapError(pull, Option.some), (bytes) => {
        const out: Array<string> = []
        if (bytes === undefined) {
          ended = true
          parser.end(out)
        } else parser.push(bytes, out)
        return Chunk.unsafeFromArray(out)
      })
    }))
  })

/**
 * Opens `path` in the thread pool. An open() still pending on interruption is
 * abandoned (its descriptor closed when it arrives), so a stop is not held up.
 */
const openRaw = (source: string, path: string, flags: number, mode?: number): Effect.Effect<number, StoreFileError> =>
  Effect.async<number, StoreFileError>((resume) => {
    let abandoned = false
    Fs.open(path, flags, mode, (e, fd) => {
      if (abandoned) {
        if (e === null) Fs.close(fd, () => {})
      } else resume(e === null ? Effect.succeed(fd) : Effect.fail(new StoreFileError({ source, reason: `cannot read: ${code(e)}` })))
    })
    return Effect.sync(() => void (abandoned = true))
  })

/** {@link openRaw}, closed when the scope closes. */
const openFd = (source: string, path: string, flags: number, mode?: number): Effect.Effect<number, StoreFileError, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.tap(restore(openRaw(source, path, flags, mode)), (fd) => Effect.addFinalizer(() => Effect.sync(() => Fs.close(fd, () => {}))))
  )

/** Reads from `fd` at `position` (a regular file, read again per pass) or where it is (a device). */
const fdPull = (source: string, fd: number, positional: boolean): Pull => {
  const buffer = Buffer.allocUnsafe(READ_SIZE)
  let position = 0
  // No canceler: an interrupted read is left to finish in the thread pool, its bytes unused.
  return Effect.async<Uint8Array | undefined, StoreFileError>((resume) => {
    Fs.read(fd, buffer, 0, READ_SIZE, positional ? position : null, (e, n) => {
      if (e !== null) return resume(Effect.fail(new StoreFileError({ source, reason: `cannot read: ${code(e)}` })))
      position += n
      resume(Effect.succeed(n === 0 ? undefined : buffer.subarray(0, n)))
    })
  })
}

/** Reads a stream (standard input, a FIFO); it is destroyed when the scope closes. */
const readablePull = (source: string, input: Readable): Effect.Effect<Pull, never, Scope.Scope> =>
  Effect.map(Effect.addFinalizer(() => Effect.sync(() => input.destroy())), () => {
    const iterator = input[Symbol.asyncIterator]()
    return Effect.map(
      Effect.tryPromise({
        try: () => iterator.next(),
        catch: (e) => new StoreFileError({ source, reason: `cannot read: ${code(e)}` })
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
        catch: (e) => new StoreFileError({ source, reason: `cannot spool the input to ${Os.tmpdir()}: ${code(e)}` })
      }),
      (dir) => Effect.promise(() => Fs.promises.rm(dir, { recursive: true, force: true }).catch(() => undefined))
    )
    const C = Fs.constants
    return yield* openFd(source, Path.join(dir, "stores"), C.O_RDWR | C.O_CREAT | C.O_EXCL, 0o600)
  })

const writeAll = (source: string, fd: number, bytes: Uint8Array): Effect.Effect<void, StoreFileError> =>
  Effect.async<void, StoreFileError>((resume) => {
    const loop = (offset: number) =>
      Fs.write(fd, bytes, offset, bytes.length - offset, null, (e, n) => {
        if (e !== null) resume(Effect.fail(new StoreFileError({ source, reason: `cannot spool the input to ${Os.tmpdir()}: ${code(e)}` })))
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
}

/**
 * Opens `path` (or `stdin` for `-`) once. With `rereadable`, a one-pass input
 * (pipe, FIFO, device, standard input) is copied to a spool file as the first
 * pass reads it, and later passes read the spool. Every step can be
 * interrupted, so racing the open and the reading against a stop signal ends
 * them at once, even on a FIFO with no writer or an endless device.
 */
export const open = (
  path: string,
  stdin: Readable | undefined,
  options: { readonly rereadable: boolean }
): Effect.Effect<Input, StoreFileError, Scope.Scope> =>
  Effect.gen(function*() {
    const source = path === "-" ? "<stdin>" : path
    let once: Pull
    if (path === "-") once = yield* readablePull(source, stdin ?? process.stdin)
    else {
      const stat = yield* Effect.tryPromise({
        try: () => Fs.promises.stat(path),
        catch: (e) => new StoreFileError({ source, reason: `cannot read: ${code(e)}` })
      })
      if (stat.isDirectory()) return yield* new StoreFileError({ source, reason: "cannot read: EISDIR (a directory, not a file)" })
      if (stat.isSocket()) {
        // A socket cannot be opened by path (ENXIO), but standard input is often one (a child
        // process's "pipe" is a socketpair): /dev/stdin and /dev/fd/N name a descriptor we hold.
        const fd = path === "/dev/stdin" ? 0 : Number(/^\/(?:dev|proc\/self)\/fd\/(\d+)$/.exec(path)?.[1] ?? Number.NaN)
        if (Number.isNaN(fd)) return yield* new StoreFileError({ source, reason: "cannot read: a socket" })
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
          Fs.fstat(fd, (e, s) =>
            resume(e === null ? Effect.succeed(s.isFile()) : Effect.fail(new StoreFileError({ source, reason: `cannot read: ${code(e)}` }))))
        )
        if (isFile) return { source, ids: Stream.suspend(() => parse(source, fdPull(source, fd, true))) }
        once = fdPull(source, fd, false)
      }
    }
    const spool = options.rereadable ? yield* spoolFile(source) : undefined
    let state: "unread" | "reading" | "read" = "unread"
    const ids = Stream.suspend(() => {
      if (state === "unread") {
        state = "reading"
        const pull = spool === undefined
          ? once
          : Effect.tap(once, (bytes) => bytes === undefined ? Effect.sync(() => void (state = "read")) : writeAll(source, spool, bytes))
        return parse(source, pull)
      }
      if (state === "read" && spool !== undefined) return parse(source, fdPull(source, spool, true))
      return Stream.fail(new StoreFileError({ source, reason: "can be read only once (a pipe or device), and that read did not finish" }))
    })
    return { source, ids }
  })

/** Ids from `path`, or standard input for `-`, in one pass. */
export const stream = (path: string, stdin?: Readable): Stream.Stream<string, StoreFileError> =>
  Stream.unwrapScoped(Effect.map(open(path, stdin, { rereadable: false }), (input) => input.ids))
