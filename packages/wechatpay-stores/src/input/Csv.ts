/**
 * CSV records (RFC 4180 quoting), read a line at a time. A quoted field may
 * span lines; the reader joins them with a LF and bounds the record.
 *
 * Hand-written rather than csv-parse: in the 1,000,000-id dry run csv-parse
 * cost far more than the 10% issue #13 allows (docs/benchmarks.md, "Issue #13:
 * CSV input"). test/cli-input-formats.test.ts checks that this reads every
 * well-formed CSV as csv-parse does, ids, skipped rows and line numbers alike.
 * Outside RFC 4180 it is lenient the way spreadsheets are: a quote inside an
 * unquoted field is a character (`5" screen`), and text after a closing quote
 * is kept. A store_id with a quote left in it (`"1000"00001"`, a quote not doubled) is refused with
 * its line: a store id has no quotes, and a misquoted row is not to be sent as something else.
 */
import { MAX_ID_LENGTH, plural, tooLongId } from "./Bounds.js"
import type { NotesBuilder } from "./Notes.js"

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
export const csvStillQuoted = (text: string): boolean => {
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

/** Why a CSV record that never closes its quote is refused. */
export const UNTERMINATED = "unterminated quoted field: a \" opens a field that is never closed; close the quote or remove it"

/** Why a store_id with a quote in it is refused. */
export const STRAY_QUOTE =
  "store_id holds a \" character, which no store id has (a field misquoted, or a quote left over): fix this row"

/** Why a CSV record spanning lines past the bound is refused. */
export const tooLongRecord = (bytes: number) =>
  `CSV record longer than ${bytes / 1024} KiB (an unterminated quoted field?); close the quote or remove it`

/**
 * The store id of a record that starts on `line`, added to `out`; a blank row,
 * an empty store_id or a trimmed id is counted in `notes`. Gives why the row is
 * refused, if it is.
 */
export const rowId = (
  fields: ReadonlyArray<string>,
  column: number,
  line: number,
  notes: NotesBuilder,
  out: Array<string>
): string | undefined => {
  if (fields.length === 1 && fields[0]!.trim() === "") return void notes.blank.add(line)
  const raw = fields[column]
  if (raw === undefined) {
    return `row has ${plural(fields.length, "field")}, no store_id (column ${column + 1}); fill in its store_id or remove the row`
  }
  const id = raw.trim()
  if (id === "") return void notes.emptyStoreId.add(line)
  if (id.length > MAX_ID_LENGTH) return tooLongId(id.length)
  if (id.includes("\"")) return STRAY_QUOTE
  if (id.length !== raw.length) notes.trimmed.add(line)
  out.push(id)
  return undefined
}
