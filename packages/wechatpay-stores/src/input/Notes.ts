/**
 * What a pass over the input left out or changed, so that nothing is skipped or
 * normalised without a word: blank lines, CSV rows with an empty `store_id`,
 * ids with surrounding spaces trimmed; and, for a report given as input, which
 * of its lists were taken.
 */
import { plural } from "./Bounds.js"

/** How many times something happened, and the first line (1-based) it happened on. */
export interface Tally {
  readonly count: number
  /** `undefined` when `count` is 0. */
  readonly firstLine: number | undefined
}

/** A list of a report the CLI wrote. */
export type ReportList = "succeeded" | "failed" | "unresolved"

/** The lists taken from a report when none are selected: the stores that still need doing. */
export const DEFAULT_SELECT: ReadonlyArray<ReportList> = ["failed", "unresolved"]

/** A report given as input: the lists taken, and how many stores each of its lists holds. */
export interface ReportNotes {
  readonly selected: ReadonlyArray<ReportList>
  readonly lists: { readonly [K in ReportList]: number }
}

/** How the input was read: one id a line, CSV, a JSON array, or a report the CLI wrote. */
export type Format = "text" | "csv" | "json" | "report"

/** What one pass over the input skipped or normalised. */
export interface InputNotes {
  /** `undefined` when the input held nothing but blank lines. */
  readonly format: Format | undefined
  readonly skipped: {
    /** Blank (or whitespace-only) lines and CSV rows. */
    readonly blank: Tally
    /** CSV rows whose `store_id` field is empty (or only spaces). */
    readonly emptyStoreId: Tally
  }
  readonly normalised: {
    /** Ids read with spaces (or tabs) around them, which were removed. */
    readonly trimmed: Tally
  }
  /** Set when the input was a report: which lists were taken. */
  readonly report: ReportNotes | undefined
}

const none: Tally = { count: 0, firstLine: undefined }

/** Nothing skipped, nothing normalised. */
export const EMPTY: InputNotes = {
  format: undefined,
  skipped: { blank: none, emptyStoreId: none },
  normalised: { trimmed: none },
  report: undefined
}

class Counter {
  count = 0
  firstLine: number | undefined = undefined
  add(line: number): void {
    if (this.count++ === 0) this.firstLine = line
  }
  get tally(): Tally {
    return { count: this.count, firstLine: this.firstLine }
  }
}

/** Counted during a pass; {@link NotesBuilder.result} when it ends. */
export class NotesBuilder {
  format: Format | undefined = undefined
  report: ReportNotes | undefined = undefined
  readonly blank = new Counter()
  readonly emptyStoreId = new Counter()
  readonly trimmed = new Counter()

  result(): InputNotes {
    return {
      format: this.format,
      skipped: { blank: this.blank.tally, emptyStoreId: this.emptyStoreId.tally },
      normalised: { trimmed: this.trimmed.tally },
      report: this.report
    }
  }
}

const first = (t: Tally) => t.firstLine === undefined ? "" : t.count === 1 ? ` (line ${t.firstLine})` : ` (first: line ${t.firstLine})`

/**
 * The notes as lines for a person, one per kind, nothing when nothing was
 * skipped or changed: `3 rows with an empty store_id skipped (first: line 4)`.
 */
export const describe = (notes: InputNotes): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const { blank, emptyStoreId } = notes.skipped
  const { trimmed } = notes.normalised
  if (notes.report !== undefined) {
    const { lists, selected } = notes.report
    const count = (l: ReportList) => `${lists[l].toLocaleString("en-US")} ${l}`
    const taken = selected.reduce((n, l) => n + lists[l], 0)
    const left = (["succeeded", "failed", "unresolved"] as const).filter((l) => !selected.includes(l) && lists[l] > 0)
    lines.push(
      `taken from the report: ${selected.length === 0 ? "no list" : `${selected.map(count).join(" and ")} (${plural(taken, "store")})`}` +
        (left.length === 0 ? "" : `; left out: ${left.map(count).join(" and ")} (--select chooses the lists)`)
    )
  }
  if (emptyStoreId.count > 0) lines.push(`${plural(emptyStoreId.count, "row")} with an empty store_id skipped${first(emptyStoreId)}`)
  if (blank.count > 0) lines.push(`${plural(blank.count, notes.format === "csv" ? "blank row" : "blank line")} skipped${first(blank)}`)
  if (trimmed.count > 0) lines.push(`${plural(trimmed.count, "id")} with surrounding spaces trimmed${first(trimmed)}`)
  return lines
}
