/**
 * A journal read back: its records replayed into the last known state of every store (the records
 * are Journal.ts). Everything after the last newline is a write the crash cut short (it was never
 * acknowledged, so nothing relied on it): it is dropped, with a warning. Anything else that is not
 * a record of this job, in the order a job writes them, is corruption, a typed error.
 */
import { Either, ParseResult, Schema } from "effect"
import { JournalCorruptError } from "../../JobJournal.js"
import * as ProductCoupon from "../../ProductCoupon.js"
import { checkJobIds } from "./Ids.js"
import {
  Header,
  IN_FLIGHT,
  newPart,
  NOT_SENT,
  type Operation,
  type PartState,
  type Replayed,
  SUCCEEDED,
  SUCCEEDED_BY_LISTING,
  type Undone
} from "./Journal.js"
import type { Anomaly } from "./Settle.js"

const isStringArray = (u: unknown): u is ReadonlyArray<string> => Array.isArray(u) && u.every((x) => typeof x === "string")
const isObjectArray = (u: unknown): u is ReadonlyArray<Record<string, unknown>> =>
  Array.isArray(u) && u.every((x) => typeof x === "object" && x !== null)

const decodeHeader = Schema.decodeUnknownEither(Header)

/** The ids a record names: by position in its part (`from`, `count`), or given as `stores`. */
const idsOf = (
  r: Record<string, unknown>,
  p: PartState,
  count: number
): Either.Either<ReadonlyArray<string> | undefined, string> => {
  if (!("from" in r) && !("count" in r)) return Either.right(undefined)
  const { from } = r
  const n = r.count
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(n) || (from as number) < 0 || (n as number) < 1) {
    return Either.left("a position that is not a range of ids")
  }
  const end = (from as number) + (n as number)
  // The ids are written with the header, before any call: a range past them names stores this job does not have.
  if (p.ids.length < count || end > count) return Either.left(`ids ${from} to ${end - 1}, which the journal does not hold`)
  return Either.right(p.ids.slice(from as number, end))
}

/**
 * What makes a well-formed header unusable: parts that are not its operation's (a sync's two, associate then
 * disassociate; a job's one, its own direction), a target that is not one stock or one bundle (a sync's is a
 * stock), an id that cannot be sent, or options no run could use. Such a journal was not written by a job.
 */
const headerProblem = (h: Header): string | undefined => {
  const directions = h.operation === "sync" ? ["associate", "disassociate"] : [h.operation]
  if (h.parts.length !== directions.length || h.parts.some((p, i) => p.direction !== directions[i])) {
    return `its parts (${h.parts.map((p) => p.direction).join(", ") || "none"}) are not those of a ${h.operation} job`
  }
  const t = h.target
  if ((t.stockId === undefined) === (t.stockBundleId === undefined)) return "it names neither one stock nor one stock bundle"
  if (h.operation === "sync" && t.stockId === undefined) return "a sync of a stock bundle"
  // As a job checks its own ids before it sends anything.
  const ids = checkJobIds([
    ["productCouponId", t.productCouponId, true],
    t.stockId !== undefined ? ["stockId", t.stockId, true] : ["stockBundleId", t.stockBundleId, true],
    ["brandId", t.brandId, false]
  ])
  if (Either.isLeft(ids)) return `its ${ids.left.field} ${ids.left.reason}`
  const { chunkSize, concurrency } = h.options
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > ProductCoupon.MAX_STORES) return `chunkSize ${chunkSize}`
  if (!Number.isInteger(concurrency) || concurrency < 1) return `concurrency ${concurrency}`
  return undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const isPartReport = (u: unknown): boolean =>
  isRecord(u) && isRecord(u.summary) && isStringArray(u.succeeded) && isObjectArray(u.failed) && isObjectArray(u.unresolved)

/** Whether a finished record's report has what a report of this job's kind has (it is given back as it is). */
const isReport = (u: unknown, operation: Operation): boolean =>
  isRecord(u) && isRecord(u.job) &&
  (operation === "sync"
    ? isRecord(u.plan) && isPartReport(u.associate) && isPartReport(u.disassociate)
    : isPartReport(u))

/**
 * Reads a journal: its header, every store's last known state per part, the runs so far, the
 * last run's report. Fails with `JournalCorruptError` on anything that is not a record of this
 * job (a torn last write excepted).
 */
export const replay = (location: string, content: Uint8Array): Either.Either<Replayed, JournalCorruptError> => {
  const corrupt = (lineNo: number, reason: string, neverStarted = false) =>
    Either.left(new JournalCorruptError({ location, line: lineNo, reason, neverStarted }))
  const end = content.lastIndexOf(0x0a) + 1
  const torn = content.length - end
  const text = new TextDecoder("utf-8", { fatal: false }).decode(content.subarray(0, end))
  const lines = text.split("\n")
  lines.pop()
  if (lines.length === 0) {
    return corrupt(0, torn > 0
      ? "its first record was never completed: the job never started, and nothing was sent"
      : "it is empty: the job stopped before it recorded anything, and nothing was sent", true)
  }
  let first: unknown
  try {
    first = JSON.parse(lines[0]!)
  } catch {
    return corrupt(1, "the first line is not JSON: this is not a journal")
  }
  const header = decodeHeader(first)
  if (Either.isLeft(header)) {
    return corrupt(1, `not a journal header: ${ParseResult.TreeFormatter.formatErrorSync(header.left).split("\n")[0]}`)
  }
  const h = header.right
  const inconsistent = headerProblem(h)
  if (inconsistent !== undefined) return corrupt(1, `a header that contradicts itself: ${inconsistent}`)
  const parts = h.parts.map(newPart)
  // Which run recorded each store's call still awaiting its outcome: a call is recorded once a run, and each
  // outcome follows its own call in the same run. A line duplicated, dropped or moved breaks that order
  // (checked from version 3, the format this version writes).
  const pending = h.parts.map(() => new Map<string, number>())
  const ordered = h.version >= 3
  // The first line out of order; reported once the ids are known good (a changed id says more).
  let disorder: { readonly line: number; readonly reason: string } | undefined = undefined
  let runs = 0
  let lastReport: unknown = undefined
  let undone: Undone | undefined = undefined
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1
    let r: Record<string, unknown>
    try {
      const parsed: unknown = JSON.parse(lines[i]!)
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return corrupt(n, "not a record")
      r = parsed as Record<string, unknown>
    } catch {
      return corrupt(n, "not JSON (only the last line may be cut short)")
    }
    if (r.job !== h.job) return corrupt(n, `a record of another job (${JSON.stringify(r.job)}, this journal is ${h.job})`)
    if (r.t === "run") {
      runs++
      // Each run writes its number, one more than the runs before it.
      if (ordered && r.run !== runs) disorder ??= { line: n, reason: `run ${JSON.stringify(r.run)} where the runs before it make it run ${runs}` }
      continue
    }
    if (r.t === "undone") {
      if (typeof r.by !== "string" || (r.journal !== undefined && typeof r.journal !== "string")) {
        return corrupt(n, "an undone record without the undo's job id")
      }
      undone = { by: r.by, journal: r.journal as string | undefined }
      continue
    }
    if (r.t === "finished") {
      if (!isReport(r.report, h.operation)) return corrupt(n, "a finished record whose report is not this job's report")
      lastReport = r.report
      continue
    }
    const p = typeof r.part === "number" ? parts[r.part] : undefined
    if (p === undefined) return corrupt(n, `no part ${JSON.stringify(r.part)} in this job`)
    const byPosition = r.t === "call" || r.t === "outcome" ? idsOf(r, p, h.parts[r.part as number]!.count) : undefined
    if (byPosition !== undefined && Either.isLeft(byPosition)) return corrupt(n, `a ${r.t} of ${byPosition.left}`)
    const range = byPosition === undefined ? undefined : byPosition.right
    switch (r.t) {
      case "ids": {
        if (!isStringArray(r.ids)) return corrupt(n, "ids that are not strings")
        for (const id of r.ids) p.ids.push(id)
        break
      }
      case "call": {
        const stores = range ?? r.stores
        if (!isStringArray(stores)) return corrupt(n, "a call whose stores are not strings")
        const inFlight = pending[r.part as number]!
        for (const id of stores) {
          if (ordered && inFlight.get(id) === runs) disorder ??= { line: n, reason: `a call of store ${JSON.stringify(id)} recorded twice in one run` }
          inFlight.set(id, runs)
          p.stores.set(id, IN_FLIGHT)
        }
        break
      }
      case "outcome": {
        if (range !== undefined && ("succeeded" in r || "failed" in r || "unresolved" in r)) {
          return corrupt(n, "an outcome both by position and by lists")
        }
        // By position: every store of the call succeeded, or (not sent) none was sent.
        const { failed, succeeded, unresolved } = range === undefined ? r : { succeeded: range, failed: [], unresolved: [] }
        if (!isStringArray(succeeded) || !isObjectArray(failed) || !isObjectArray(unresolved)) {
          return corrupt(n, "an outcome whose lists are malformed")
        }
        if (ordered) {
          const inFlight = pending[r.part as number]!
          for (const id of [...succeeded, ...failed.map((f) => String(f.storeId)), ...unresolved.map((u) => String(u.storeId))]) {
            if (inFlight.get(id) !== runs) disorder ??= { line: n, reason: `an outcome of store ${JSON.stringify(id)} whose call this run did not record` }
            inFlight.delete(id)
          }
        }
        if (r.sent === false) {
          for (const id of [...succeeded, ...failed.map((f) => String(f.storeId)), ...unresolved.map((u) => String(u.storeId))]) {
            p.stores.set(id, NOT_SENT)
          }
          break
        }
        p.chunks++
        for (const id of succeeded) p.stores.set(id, SUCCEEDED)
        for (const f of failed) {
          p.stores.set(String(f.storeId), {
            _tag: "Failed",
            store: { storeId: String(f.storeId), code: String(f.code), message: String(f.message) }
          })
        }
        for (const u of unresolved) {
          p.stores.set(String(u.storeId), {
            _tag: "Unresolved",
            store: {
              storeId: String(u.storeId),
              reason: String(u.reason),
              ...(typeof u.requestId === "string" ? { requestId: u.requestId } : {})
            }
          })
        }
        if (isObjectArray(r.anomalies)) for (const a of r.anomalies) p.anomalies.push(a as unknown as Anomaly)
        if (typeof r.requests === "number") p.requests += r.requests
        if (typeof r.retries === "object" && r.retries !== null) {
          for (const [tag, k] of Object.entries(r.retries as Record<string, unknown>)) {
            if (typeof k === "number") p.retries[tag] = (p.retries[tag] ?? 0) + k
          }
        }
        break
      }
      case "already": {
        if (!isStringArray(r.stores)) return corrupt(n, "already-done stores that are not strings")
        for (const id of r.stores) p.already.add(id)
        break
      }
      case "listed": {
        if (!isStringArray(r.stores)) return corrupt(n, "listed stores that are not strings")
        for (const id of r.stores) p.stores.set(id, SUCCEEDED_BY_LISTING)
        break
      }
      default:
        return corrupt(n, `an unknown record ${JSON.stringify(r.t)}`)
    }
  }
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.ids.length !== h.parts[i]!.count) {
      // No run began: the ids are written with the header, before anything is sent, so their write was cut short.
      const never = runs === 0 ? ": the journal's first write was never completed, the job never started, and nothing was sent" : ""
      return corrupt(0, `part ${i} holds ${parts[i]!.ids.length} ids where the header says ${h.parts[i]!.count}${never}`, runs === 0)
    }
  }
  return Either.right({ header: h, parts, runs, lastReport, length: end, torn, undone, disorder })
}
