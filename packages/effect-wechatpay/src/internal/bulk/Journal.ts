/**
 * The journal's records, and the state they are read back into. One JSON object a line; every
 * record names its job. The header says what the job is, the `ids` records hold its
 * unique store ids once (one list per part: a job has one, a sync two), and then, in the
 * order they happened, each run's start, each call before it is sent, each call's outcome,
 * what the listing settled, and each run's final report. A call of consecutive ids of its part
 * names them by position (`from`, `count`) rather than again by value, and so does its outcome
 * when every one of them succeeded (or none was sent): a job's stores are written once.
 *
 * Reading them back is JournalReplay.ts.
 */
import { Effect, Schema } from "effect"
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
export const IN_FLIGHT: StoreState = { _tag: "InFlight" }
export const NOT_SENT: StoreState = { _tag: "NotSent" }
/** A store the job's own call took to the state asked for. */
export const SUCCEEDED: StoreState = { _tag: "Succeeded", byListing: false }
export const SUCCEEDED_BY_LISTING: StoreState = { _tag: "Succeeded", byListing: true }

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

export const newPart = (): PartState => ({ ids: [], already: new Set(), stores: new Map(), chunks: 0, requests: 0, retries: {}, anomalies: [] })

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

/** Whether a report (a job's, or a sync's two) ended without being cut short. */
export const isComplete = (report: unknown): boolean => {
  if (typeof report !== "object" || report === null) return false
  const r = report as { stoppedBy?: unknown; associate?: Report; disassociate?: Report; dryRun?: boolean }
  if ("plan" in r) return r.associate?.stoppedBy === undefined && r.disassociate?.stoppedBy === undefined
  return r.stoppedBy === undefined
}

export type { PreflightReport }
