/**
 * Ids from a JSON document: an array of strings or of objects with a string
 * `store_id` (or `storeId`, as a report's lists hold them), or a report the CLI
 * wrote, whose `failed` and `unresolved` stores (or the lists selected) are taken.
 */
import { MAX_ID_LENGTH, StoreFileError, tooLongId } from "./Bounds.js"
import { DEFAULT_SELECT, type ReportList, type ReportNotes } from "./Notes.js"

/** The ids of a JSON document, and which lists were taken when it was a report. */
export interface JsonIds {
  readonly ids: ReadonlyArray<string>
  readonly report: ReportNotes | undefined
}

const LISTS: ReadonlyArray<ReportList> = ["succeeded", "failed", "unresolved"]

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

/** A string, or an object's string `store_id` or `storeId`. */
const idOf = (item: unknown): string | undefined => {
  if (typeof item === "string") return item
  if (!isRecord(item)) return undefined
  const id = typeof item["store_id"] === "string" ? item["store_id"] : item["storeId"]
  return typeof id === "string" ? id : undefined
}

/** The ids of `items`, `where(i)` naming an element in an error. */
const idsOf = (
  source: string,
  items: ReadonlyArray<unknown>,
  where: (i: number) => string,
  out: Array<string>
): StoreFileError | undefined => {
  for (let i = 0; i < items.length; i++) {
    const id = idOf(items[i])
    if (id === undefined) {
      return new StoreFileError({ source, reason: `${where(i)} is neither a string nor an object with a string store_id (or storeId)` })
    }
    if (id.length > MAX_ID_LENGTH) return new StoreFileError({ source, reason: `${where(i)}: ${tooLongId(id.length)}` })
    out.push(id)
  }
  return undefined
}

const notAReport =
  "JSON input must be an array of store ids, or a report the CLI wrote (an object with summary, succeeded, failed and unresolved)"

/** The selected lists of a report, in the report's own order. */
const fromReport = (
  source: string,
  json: Readonly<Record<string, unknown>>,
  select: ReadonlyArray<ReportList>
): JsonIds | StoreFileError => {
  const missing = LISTS.filter((l) => !Array.isArray(json[l]))
  if (!isRecord(json["summary"]) || missing.length > 0) {
    const what = !isRecord(json["summary"]) ? "summary" : `${missing.join(", ")} list${missing.length === 1 ? "" : "s"}`
    return new StoreFileError({ source, reason: `a report must hold ${what}; give a report the CLI wrote, unchanged, or a JSON array of store ids` })
  }
  const lists = json as Readonly<Record<ReportList, ReadonlyArray<unknown>>>
  const ids: Array<string> = []
  for (const list of LISTS) {
    if (!select.includes(list)) continue
    const failure = idsOf(source, lists[list], (i) => `the report's ${list}[${i}]`, ids)
    if (failure !== undefined) return failure
  }
  return {
    ids,
    report: {
      selected: LISTS.filter((l) => select.includes(l)),
      lists: { succeeded: lists.succeeded.length, failed: lists.failed.length, unresolved: lists.unresolved.length }
    }
  }
}

/**
 * The ids of a JSON document. `select`: the lists to take from a report
 * (`failed` and `unresolved` when not given); given for anything but a report,
 * it is refused, since it would otherwise be ignored without a word.
 */
export const readJson = (
  source: string,
  text: string,
  select: ReadonlyArray<ReportList> | undefined
): JsonIds | StoreFileError => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return new StoreFileError({ source, reason: `not valid JSON (${e instanceof Error ? e.message : "parse error"})` })
  }
  if (isRecord(json)) {
    // A sync's report holds two jobs' reports, which went opposite ways: one of them is an input.
    if ("plan" in json && (isRecord(json["associate"]) || isRecord(json["disassociate"]))) {
      return new StoreFileError({
        source,
        reason: "a sync's report holds two parts that went opposite ways, so it is not one job's input; " +
          "pass one part, e.g. jq .disassociate REPORT > part.json, with the command of that part"
      })
    }
    if (!("summary" in json) && !LISTS.some((l) => l in json)) return new StoreFileError({ source, reason: notAReport })
    return fromReport(source, json, select ?? DEFAULT_SELECT)
  }
  if (!Array.isArray(json)) return new StoreFileError({ source, reason: notAReport })
  if (select !== undefined) return new StoreFileError({ source, reason: selectNeedsReport("a JSON array of ids") })
  const ids: Array<string> = []
  const failure = idsOf(source, json, (i) => `element ${i}`, ids)
  return failure ?? { ids, report: undefined }
}

/** Why a selection of lists cannot apply to an input of `what`. */
export const selectNeedsReport = (what: string) =>
  `selecting lists (--select) needs a report the CLI wrote as input, and this input is ${what}; leave out --select or give the report`

/** Ids from a JSON document: an array of strings or of objects with a string `store_id`, or a report. */
export const idsFromJson = (
  source: string,
  text: string,
  select?: ReadonlyArray<ReportList>
): Array<string> | StoreFileError => {
  const read = readJson(source, text, select)
  return read instanceof StoreFileError ? read : [...read.ids]
}
