/**
 * One pass over the input's bytes, turned into store ids a read at a time.
 * Lines are split on bytes (LF, CR or CRLF) and bounded before a string is
 * built; the format is told from the first non-blank line: JSON when it starts
 * with `[` or `{`, CSV when it is a header with a `store_id` column (in any case),
 * else one id a line, whose first line must not read as a column's name.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import { MAX_ID_LENGTH, MAX_JSON_BYTES, MAX_LINE_BYTES, StoreFileError, tooLongId } from "./Bounds.js"
import { csvStillQuoted, parseCsvRecord, rowId, tooLongRecord, UNTERMINATED } from "./Csv.js"
import { readJson, selectNeedsReport } from "./Json.js"
import { type InputNotes, NotesBuilder, type ReportList } from "./Notes.js"

/** One pass over the input's bytes: `undefined` at the end. */
export type Pull = Effect.Effect<Uint8Array | undefined, StoreFileError>

/** How to read the input. */
export interface ReadOptions {
  /** The lists to take when the input is a report the CLI wrote; refused for any other input. */
  readonly select?: ReadonlyArray<ReportList> | undefined
}

type Mode =
  | { readonly _tag: "Undecided" }
  | { readonly _tag: "Text" }
  | { readonly _tag: "Csv"; readonly column: number }
  | { readonly _tag: "Json" }

/**
 * Whether the first line of a list of ids reads as the name of their column (`id`, `Store ID`,
 * `门店ID`) rather than an id. WeChat Pay generates store ids, which are never these words.
 */
const looksLikeColumnName = (line: string): boolean =>
  /^(store[\s_-]*ids?|stores?|ids?|门店(id|编号|号)?)$/i.test(line)

const LF = 0x0a
const CR = 0x0d
const NOT_UTF8 = "not valid UTF-8; convert the file to UTF-8 (from GBK, say: iconv -f GB18030 -t UTF-8 FILE > stores.txt)"

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
  readonly notes = new NotesBuilder()
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

  constructor(private readonly source: string, private readonly select: ReadonlyArray<ReportList> | undefined) {}

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
    if (this.pending !== "") return this.fail(UNTERMINATED, this.pendingStart)
    if (this.mode._tag === "Json") {
      const read = readJson(this.source, this.json.join("\n"), this.select)
      if (read instanceof StoreFileError) this.failure = read
      else {
        this.notes.format = read.report === undefined ? "json" : "report"
        this.notes.report = read.report
        for (const id of read.ids) out.push(id)
      }
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
        return this.pending === ""
          ? this.fail(`line longer than ${MAX_LINE_BYTES / 1024} KiB: not a list of store ids (one a line, a CSV with a store_id column, or JSON)`)
          : this.fail(tooLongRecord(MAX_LINE_BYTES), this.pendingStart)
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
      return this.fail(NOT_UTF8)
    }
    const lineNo = this.lineNo
    if (this.mode._tag === "Undecided") {
      const head = line.trim()
      if (head === "") return this.notes.blank.add(lineNo)
      // A JSON object is JSON too: a report, or refused as JSON rather than sent as a store id.
      if (head.startsWith("[") || head.startsWith("{")) {
        this.mode = { _tag: "Json" }
      } else {
        const header = parseCsvRecord(line)
        const column = header?.map((h) => h.trim().toLowerCase()).indexOf("store_id") ?? -1
        if (header !== undefined && column >= 0) {
          if (this.select !== undefined) return this.fail(selectNeedsReport("a CSV"))
          this.notes.format = "csv"
          this.mode = { _tag: "Csv", column }
          return
        }
        if (header !== undefined && header.length > 1) {
          return this.fail("CSV input needs a store_id column in its header; name the column of store ids store_id")
        }
        // A column's name above a list of ids would be sent as a store id, and fail.
        const name = header?.[0]?.trim()
        // A header split by ";" or a tab (a spreadsheet's export in some locales) reads as one field here.
        const split = name?.split(/[;\t|]/).map((part) => part.trim())
        if (split !== undefined && split.length > 1 && split.some((part) => part.toLowerCase() === "store_id" || looksLikeColumnName(part))) {
          return this.fail(
            `the first line ${JSON.stringify(name)} looks like a header whose columns are not separated by commas: ` +
              "save the CSV comma-separated, with a store_id column"
          )
        }
        if (name !== undefined && looksLikeColumnName(name)) {
          return this.fail(
            `the first line ${JSON.stringify(name)} looks like a column name, not a store id: ` +
              "name the column store_id (a CSV header), or remove the line"
          )
        }
        if (this.select !== undefined) return this.fail(selectNeedsReport("a list of ids, one a line"))
        this.notes.format = "text"
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
        if (id === "") return this.notes.blank.add(lineNo)
        if (id.length > MAX_ID_LENGTH) return this.fail(tooLongId(id.length))
        if (id.length !== line.length) this.notes.trimmed.add(lineNo)
        out.push(id)
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
        const refused = rowId(record, this.mode.column, this.pendingStart, this.notes, out)
        if (refused !== undefined) this.fail(refused, this.pendingStart)
        return
      }
    }
  }
}

/**
 * Ids from one pass of `pull`, handed on a read at a time. `onEnd` is given
 * what the pass skipped and normalised when it has read the whole input.
 */
export const parse = (
  source: string,
  pull: Pull,
  options: ReadOptions = {},
  onEnd: (notes: InputNotes) => void = () => {}
): Stream.Stream<string, StoreFileError> =>
  Stream.suspend(() => {
    const parser = new IdParser(source, options.select)
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
          if (parser.failure === undefined) onEnd(parser.notes.result())
        } else parser.push(bytes, out)
        return Chunk.unsafeFromArray(out)
      })
    }))
  })
