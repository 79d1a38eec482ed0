/**
 * The rows of a CSV input after its header, through csv-parse's streaming
 * parser. Lines arrive already split, bounded and checked as UTF-8, each ending
 * in a LF; a quoted field may span lines, and the parser bounds such a record
 * (`max_record_size`), so a quote that never closes ends at 64 KiB, not at the
 * end of a 600 MiB input.
 *
 * Every line from the first row on is given to the parser, blank ones too, so
 * a record's line is known without asking the parser: the next record starts
 * one line after the last one ended, plus the line breaks inside its fields.
 */
import { Parser } from "csv-parse"
import { parse as parseSync } from "csv-parse/sync"
import { Effect } from "effect"
import { MAX_ID_LENGTH, MAX_LINE_BYTES, plural, StoreFileError, tooLongId } from "./Bounds.js"
import type { NotesBuilder } from "./Notes.js"

const OPTIONS = {
  // The lines were split (CR, LF or CRLF) and bounded before they got here; each ends in one LF.
  record_delimiter: "\n",
  // Only the store_id column matters: a short or long row elsewhere is no reason to refuse a file,
  // and a quote inside an unquoted field (`5" screen`) is taken as it is. A quote left in a store id
  // makes it an invalid id, which the dry run lists.
  relax_column_count: true,
  relax_quotes: true,
  // The bound on a record spanning lines; counted by the parser, in bytes of the field being read.
  max_record_size: MAX_LINE_BYTES,
  // Blank lines come through as records of one empty field: counted, and they keep the line count.
  skip_empty_lines: false
} as const

/**
 * The fields of a header line, or `undefined` if it is not one CSV record
 * (a quoted field left open, say): then the input is not CSV.
 */
export const headerFields = (line: string): ReadonlyArray<string> | undefined => {
  try {
    const records: ReadonlyArray<ReadonlyArray<string>> = parseSync(line, OPTIONS)
    return records.length === 1 ? records[0] : undefined
  } catch {
    return undefined
  }
}

const lineBreaks = (field: string): number => {
  let n = 0
  for (let i = field.indexOf("\n"); i !== -1; i = field.indexOf("\n", i + 1)) n++
  return n
}

/** The CSV parser's error, as one line saying what to do. */
const csvProblem = (e: unknown): string => {
  const code = typeof e === "object" && e !== null && "code" in e ? (e as { readonly code: unknown }).code : undefined
  switch (code) {
    case "CSV_MAX_RECORD_SIZE":
      return `CSV record longer than ${MAX_LINE_BYTES / 1024} KiB (an unterminated quoted field?); close the quote or remove it`
    case "CSV_QUOTE_NOT_CLOSED":
      return "unterminated quoted field: a \" opens a field that is never closed; close the quote or remove it"
    default:
      return `not valid CSV (${e instanceof Error ? e.message.replace(/\s+/g, " ") : String(e)}); fix the line or give the ids one a line`
  }
}

/** The ids of the rows after the header; `failure` is the first problem, after the ids read before it. */
export class CsvRows {
  failure: StoreFileError | undefined = undefined
  private readonly parser = new Parser(OPTIONS)
  private out: Array<string> = []

  /**
   * `column`: the store_id column's index; `line`: the line of the first row
   * (after the header); `notes`: where skipped and trimmed rows are counted.
   */
  constructor(
    private readonly source: string,
    private readonly column: number,
    private line: number,
    private readonly notes: NotesBuilder
  ) {
    // Errors are taken from the write and end callbacks; without a listener, the event would throw.
    this.parser.on("error", () => {})
  }

  /** Parses `bytes` (whole lines, each ending in LF), adding the ids of the rows they complete to `out`. */
  write(bytes: Uint8Array, out: Array<string>): Effect.Effect<void> {
    return this.step(out, (done) => this.parser.write(bytes, done))
  }

  /**
   * The end of the input: the last row, or an unterminated quoted field. With
   * `quiet` (the input broke off), an unterminated field is not a problem of its own.
   */
  end(out: Array<string>, options: { readonly quiet: boolean } = { quiet: false }): Effect.Effect<void> {
    return this.step(out, (done) => this.parser.end(done), options.quiet)
  }

  private step(out: Array<string>, start: (done: (e?: Error | null) => void) => void, quiet = false): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.failure !== undefined) return resume(Effect.void)
      this.out = out
      start((e) => {
        // Rows parsed before a problem come first; the problem is then the next record's, which starts at `line`.
        this.drain()
        if (e !== undefined && e !== null && !quiet) this.fail(csvProblem(e), this.line)
        resume(Effect.void)
      })
      // Records wait in the parser's readable side; taking them lets a write that filled it finish.
      this.drain()
    })
  }

  private fail(reason: string, line: number): void {
    // The parser is not destroyed: a write waiting for its records to be taken still calls back.
    this.failure ??= new StoreFileError({ source: this.source, line, reason })
  }

  private drain(): void {
    let record: Array<string> | null
    while ((record = this.parser.read() as Array<string> | null) !== null) this.row(record)
  }

  private row(fields: ReadonlyArray<string>): void {
    const line = this.line
    let breaks = 0
    for (const field of fields) if (field.includes("\n")) breaks += lineBreaks(field)
    this.line += 1 + breaks
    if (this.failure !== undefined) return
    if (fields.length === 1 && fields[0]!.trim() === "") return this.notes.blank.add(line)
    const raw = fields[this.column]
    if (raw === undefined) {
      return this.fail(
        `row has ${plural(fields.length, "field")}, no store_id (column ${this.column + 1}); fill in its store_id or remove the row`,
        line
      )
    }
    const id = raw.trim()
    if (id === "") return this.notes.emptyStoreId.add(line)
    if (id.length !== raw.length) this.notes.trimmed.add(line)
    if (id.length > MAX_ID_LENGTH) return this.fail(tooLongId(id.length), line)
    this.out.push(id)
  }
}
