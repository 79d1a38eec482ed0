/**
 * The journal's records and how a journal is read back. One JSON object a line; every
 * record names its job. The header says what the job is, the `ids` records hold its
 * unique store ids once (one list per part: a job has one, a sync two), and then, in the
 * order they happened, each run's start, each call before it is sent, each call's outcome,
 * what the listing settled, and each run's final report. A call of consecutive ids of its part
 * names them by position (`from`, `count`) rather than again by value, and so does its outcome
 * when every one of them succeeded (or none was sent): a job's stores are written once.
 *
 * Reading replays the records into the last known state of every store. Everything after
 * the last newline is a write the crash cut short (it was never acknowledged, so nothing
 * relied on it): it is dropped, with a warning. Anything else that is not a record is
 * corruption, a typed error.
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import { JournalCorruptError } from "../../JobJournal.js"
import * as ProductCoupon from "../../ProductCoupon.js"
import { checkJobIds } from "./Ids.js"
import type { PreflightReport, Report } from "../BulkEngine.js"
import type { Anomaly, FailedStore, UnresolvedStore } from "./Settle.js"

export const FORMAT = "effect-wechatpay/journal"
/**
 * Version 2 added calls and outcomes by position; version 3 seals the header with a checksum of its
 * own text (`check`). Journals of versions 1 (ids by value) and 2 still read.
 */
export const VERSION = 3

/** Ids a single `ids` record holds: keeps a line, and a torn write, short. */
export const IDS_PER_RECORD = 10_000

export type Direction = "associate" | "disassociate"
export type Operation = "associate" | "disassociate" | "sync"

const Target = Schema.Struct({
  productCouponId: Schema.String,
  stockId: Schema.optional(Schema.String),
  stockBundleId: Schema.optional(Schema.String),
  brandId: Schema.String
})
export type Target = typeof Target.Type

const Part = Schema.Struct({
  direction: Schema.Literal("associate", "disassociate"),
  count: Schema.Number,
  digest: Schema.String
})
export type Part = typeof Part.Type

/** The first line: what the job is, so that resume needs nothing else. */
export const Header = Schema.Struct({
  t: Schema.Literal("header"),
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(1, 2, VERSION),
  job: Schema.String,
  operation: Schema.Literal("associate", "disassociate", "sync"),
  target: Target,
  options: Schema.Struct({
    chunkSize: Schema.Number,
    concurrency: Schema.Number,
    preflight: Schema.Boolean,
    verify: Schema.Boolean
  }),
  /** The input as given: its size, its unique ids, a digest of them (SHA-256 of the ids, one a line). */
  input: Schema.Struct({ count: Schema.Number, unique: Schema.Number, digest: Schema.String }),
  parts: Schema.Array(Part),
  preflight: Schema.Unknown,
  /** A sync's plan, without its id lists (they are the parts). */
  plan: Schema.optional(Schema.Unknown),
  /** The job this one undoes. */
  undoes: Schema.optional(Schema.String),
  /** That job's journal, when the undo was taken from one: the undo (and a resume of it) records itself there. */
  undoesJournal: Schema.optional(Schema.String),
  /** The listing walked before the first call; its stores already done are the `already` records. */
  snapshot: Schema.optional(Schema.Unknown),
  /**
   * The merchant the job's calls were signed as (when its `MerchantConfig` was in reach): a resume signed as
   * another would have every call refused, and its stores recorded as failed for good.
   */
  mchid: Schema.optional(Schema.String),
  createdAt: Schema.String,
  /**
   * SHA-256 of the header's line as written without this field (version 3 on): the header says where a
   * resume sends, and nothing else in the journal vouches for it (the ids' digest is in it).
   */
  check: Schema.optional(Schema.String)
})
export type Header = typeof Header.Type

/** The state a store was last known in. */
export type StoreState =
  | { readonly _tag: "InFlight" }
  | { readonly _tag: "NotSent" }
  | { readonly _tag: "Succeeded"; readonly byListing: boolean }
  | { readonly _tag: "Failed"; readonly store: FailedStore }
  | { readonly _tag: "Unresolved"; readonly store: UnresolvedStore }

// The states without a store of their own, shared: a part holds one per store, and there are 100,000s.
const IN_FLIGHT: StoreState = { _tag: "InFlight" }
const NOT_SENT: StoreState = { _tag: "NotSent" }
/** A store the job's own call took to the state asked for. */
export const SUCCEEDED: StoreState = { _tag: "Succeeded", byListing: false }
const SUCCEEDED_BY_LISTING: StoreState = { _tag: "Succeeded", byListing: true }

/** What a part's records say so far. */
export interface PartState {
  readonly ids: Array<string>
  /** Stores the snapshot showed in the state asked for before the first call. */
  readonly already: Set<string>
  readonly stores: Map<string, StoreState>
  /** Calls that went out (their outcome recorded with `sent: true`). */
  chunks: number
  requests: number
  readonly retries: Record<string, number>
  readonly anomalies: Array<Anomaly>
}

/** A journal read back. */
export interface Replayed {
  readonly header: Header
  readonly parts: ReadonlyArray<PartState>
  /** Runs so far (the first run is 1). */
  readonly runs: number
  /** The report of the last run that ended, if any. */
  readonly lastReport: unknown
  /** Bytes up to the last complete line: where the next run appends. */
  readonly length: number
  /** Bytes dropped after the last newline (a write the crash cut short). */
  readonly torn: number
  /** The undo that put this job's stores back, once one started (it records itself here first). */
  readonly undone: Undone | undefined
  /** The first record out of the order a job writes (a line duplicated, dropped or moved), if any. */
  readonly disorder?: { readonly line: number; readonly reason: string } | undefined
}

/** An undo's record in the journal of the job it undoes. */
export interface Undone {
  /** The undo's own job id. */
  readonly by: string
  /** The undo's journal, when it keeps one. */
  readonly journal: string | undefined
}

const newPart = (): PartState => ({ ids: [], already: new Set(), stores: new Map(), chunks: 0, requests: 0, retries: {}, anomalies: [] })

/** Digests already taken, by array: a one-part job's input and its part are the same array. */
const digests = new WeakMap<ReadonlyArray<string>, string>()

/** SHA-256 of the ids, one a line, as hex: WebCrypto, so it runs wherever the library does. */
export const digest = (ids: ReadonlyArray<string>): Effect.Effect<string> =>
  Effect.suspend(() => {
    const known = digests.get(ids)
    if (known !== undefined) return Effect.succeed(known)
    return Effect.promise(async () => {
      const bytes = new TextEncoder().encode(ids.join("\n"))
      const hash = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", bytes))
      let hex = ""
      for (const b of hash) hex += b.toString(16).padStart(2, "0")
      const found = `sha256:${hex}`
      digests.set(ids, found)
      return found
    })
  })

/** A record as a line. */
export const line = (record: object): string => JSON.stringify(record) + "\n"

/** The end of a sealed header's line, after its text without the check: `,"check":"sha256:…"}`. */
const checkSuffix = (check: string) => `,"check":${JSON.stringify(check)}}`

/** A header (without `check`) sealed: with its check, and its line as the journal starts with it. */
export const seal = (header: Header): Effect.Effect<{ readonly header: Header; readonly line: string }> => {
  const text = JSON.stringify(header)
  return Effect.map(digest([text]), (check) => ({ header: { ...header, check }, line: text.slice(0, -1) + checkSuffix(check) + "\n" }))
}

/**
 * Why the header on the first line of a journal is not as its job wrote it, or undefined when it is (or
 * predates the seal, version 1 or 2, or is no header at all: reading it says what it is).
 */
export const unsealed = (first: string): Effect.Effect<string | undefined> => {
  let h: unknown
  try {
    h = JSON.parse(first)
  } catch {
    return Effect.succeed(undefined)
  }
  if (typeof h !== "object" || h === null || (h as { version?: unknown }).version !== VERSION) return Effect.succeed(undefined)
  const check = (h as { check?: unknown }).check
  const changed = "its header was changed after the job wrote it (it does not match its checksum): a resume would act on " +
    "what it says now; put back the journal's first line as it was, or run the job again"
  if (typeof check !== "string" || !first.endsWith(checkSuffix(check))) return Effect.succeed(changed)
  const text = first.slice(0, first.length - checkSuffix(check).length) + "}"
  return Effect.map(digest([text]), (found) => found === check ? undefined : changed)
}

/** The sealed header's line and the ids records, as the journal starts. */
export const opening = (
  sealed: { readonly header: Header; readonly line: string },
  parts: ReadonlyArray<ReadonlyArray<string>>,
  already: ReadonlyArray<ReadonlyArray<string>> = []
): string => {
  const header = sealed.header
  let text = sealed.line
  parts.forEach((ids, part) => {
    for (let i = 0; i < ids.length; i += IDS_PER_RECORD) {
      text += line({ t: "ids", job: header.job, part, ids: ids.slice(i, i + IDS_PER_RECORD) })
    }
    const done = already[part] ?? []
    for (let i = 0; i < done.length; i += IDS_PER_RECORD) {
      text += line({ t: "already", job: header.job, part, stores: done.slice(i, i + IDS_PER_RECORD) })
    }
  })
  return text
}

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

/** Whether a report (a job's, or a sync's two) ended without being cut short. */
export const isComplete = (report: unknown): boolean => {
  if (typeof report !== "object" || report === null) return false
  const r = report as { stoppedBy?: unknown; associate?: Report; disassociate?: Report; dryRun?: boolean }
  if ("plan" in r) return r.associate?.stoppedBy === undefined && r.disassociate?.stoppedBy === undefined
  return r.stoppedBy === undefined
}

export type { PreflightReport }
