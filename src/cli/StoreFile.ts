/**
 * Store ids from a file or standard input, streamed line by line: a text file
 * with one id a line, a CSV with a `store_id` column, or a JSON array of
 * strings or of `{ "store_id": … }`. The format is told from the first
 * non-blank line, so standard input works the same as a file.
 */
import { Data, Effect, Stream } from "effect"
import * as Fs from "node:fs"
import * as Readline from "node:readline"
import type { Readable } from "node:stream"

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

const BOM = "\uFEFF"

type Mode =
  | { readonly _tag: "Undecided" }
  | { readonly _tag: "Text" }
  | { readonly _tag: "Csv"; readonly column: number; readonly width: number }
  | { readonly _tag: "Json" }

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
    if (typeof item === "string") out[i] = item
    else if (typeof item === "object" && item !== null && typeof (item as { store_id?: unknown }).store_id === "string") {
      out[i] = (item as { store_id: string }).store_id
    } else {
      return new StoreFileError({ source, reason: `element ${i} is neither a string nor an object with a string store_id` })
    }
  }
  return out
}

/** Ids are handed on in batches: one stream element per id cost ~14 µs and ~200 MB of garbage at 1,000,000 ids. */
const BATCH = 1024

async function* readIds(source: string, input: Readable): AsyncGenerator<ReadonlyArray<string>, void, undefined> {
  const lines = Readline.createInterface({ input, crlfDelay: Infinity })
  let batch: Array<string> = []
  let mode: Mode = { _tag: "Undecided" }
  let lineNo = 0
  let pending = "" // a CSV record whose quoted field spans lines
  let pendingStart = 0
  const json: Array<string> = []
  for await (const raw of lines) {
    lineNo++
    const line = lineNo === 1 && raw.startsWith(BOM) ? raw.slice(1) : raw
    if (mode._tag === "Undecided") {
      const head = line.trim()
      if (head === "") continue
      // A JSON object is JSON too: refuse it as JSON rather than send its text as a store id.
      if (head.startsWith("[") || head.startsWith("{")) {
        mode = { _tag: "Json" }
      } else {
        const header = parseCsvRecord(line)
        const column = header?.map((h) => h.trim()).indexOf("store_id") ?? -1
        if (header !== undefined && column >= 0) {
          mode = { _tag: "Csv", column, width: header.length }
          continue
        }
        if (header !== undefined && header.length > 1) {
          throw new StoreFileError({ source, line: lineNo, reason: "CSV input needs a store_id column in its header" })
        }
        mode = { _tag: "Text" }
      }
    }
    switch (mode._tag) {
      case "Json":
        json.push(line)
        break
      case "Text": {
        const id = line.trim()
        if (id !== "") batch.push(id)
        break
      }
      case "Csv": {
        if (pending === "") pendingStart = lineNo
        const record = parseCsvRecord(pending === "" ? line : `${pending}\n${line}`)
        if (record === undefined) {
          pending = pending === "" ? line : `${pending}\n${line}`
          continue
        }
        pending = ""
        if (record.length === 1 && record[0]!.trim() === "") continue
        const id = record[mode.column]
        if (id === undefined) {
          throw new StoreFileError({ source, line: pendingStart, reason: `row has ${record.length} fields, no store_id` })
        }
        if (id.trim() !== "") batch.push(id.trim())
        break
      }
    }
    if (batch.length >= BATCH) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
  if (pending !== "") throw new StoreFileError({ source, line: pendingStart, reason: "unterminated quoted field" })
  if (mode._tag === "Json") {
    const ids = idsFromJson(source, json.join("\n"))
    if (ids instanceof StoreFileError) throw ids
    for (let i = 0; i < ids.length; i += BATCH) yield ids.slice(i, i + BATCH)
  }
}

/** Ids from `path`, or standard input for `-`. */
export const stream = (path: string, stdin: Readable = process.stdin): Stream.Stream<string, StoreFileError> => {
  const source = path === "-" ? "<stdin>" : path
  return Stream.unwrapScoped(
    Effect.gen(function*() {
      const input = path === "-"
        ? stdin
        : yield* Effect.acquireRelease(
          Effect.async<Fs.ReadStream, StoreFileError>((resume) => {
            const s = Fs.createReadStream(path, { encoding: "utf8" })
            s.once("open", () => resume(Effect.succeed(s)))
            s.once("error", (e) =>
              resume(Effect.fail(new StoreFileError({ source, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? e.message}` }))))
          }),
          (s) => Effect.sync(() => s.destroy())
        )
      return Stream.fromAsyncIterable(readIds(source, input), (e) =>
        e instanceof StoreFileError ? e : new StoreFileError({ source, reason: e instanceof Error ? e.message : "read failed" })).pipe(
          Stream.flattenIterables
        )
    })
  )
}
