/**
 * Undo: the stores a job changed (its `succeeded` list), changed back, on the job's own stock or
 * bundle, as a durable job of its own. A job's undo is the other direction; a sync's undo is a
 * sync of two parts, each the other's stores.
 */
import { Effect, Either, Schema, type Scope } from "effect"
import { JobJournal, type JournalError } from "../../JobJournal.js"
import { ProductCouponStores } from "../../ProductCouponStores.js"
import type { AnyReport, UndoOptions, UndoSource } from "../../StoreJobs.js"
import { ConfigurationError, type RequestValidationError } from "../../WechatPayError.js"
import type * as BulkEngine from "../BulkEngine.js"
import * as ProductCoupon from "../../ProductCoupon.js"
import { wholeNumber } from "../Options.js"
import * as BundleJob from "./BundleJob.js"
import * as Durable from "./Durable.js"
import * as Snapshot from "./Snapshot.js"
import { UndoSourceError } from "./Errors.js"
import { checkJobIds } from "./Ids.js"
import * as Journal from "./Journal.js"
import * as Loaded from "./JournalLoad.js"
import * as StockJob from "./StockJob.js"
import * as Stop from "./Stop.js"

export { UndoSourceError }

/** What an undo fails with. */
export type UndoError =
  | UndoSourceError
  | JournalError
  | ConfigurationError
  | RequestValidationError
  | StockJob.PreflightFailure
  | BulkEngine.JobSourceError

/** The job to undo: what it was, on what, and what it changed. */
interface Done {
  readonly id: string
  readonly operation: Journal.Operation
  readonly target: Durable.Target
  /** The stores each direction changed. */
  readonly associated: ReadonlyArray<string>
  readonly disassociated: ReadonlyArray<string>
  /** Stores the job's snapshot found in the state asked for already: it did not change them. */
  readonly unchanged: ReadonlySet<string>
  /** Whether the job listed its stock before its first call (a sync's plan always does). */
  readonly snapshot: boolean
  /** The job's journal, when the undo was taken from one (its lock is held until the undo ends). */
  readonly journal: string | undefined
}

const JobShape = Schema.Struct({
  operation: Schema.Literal("associate", "disassociate", "sync"),
  productCouponId: Schema.String,
  stockId: Schema.optional(Schema.String),
  stockBundleId: Schema.optional(Schema.String),
  brandId: Schema.String,
  id: Schema.String
})
const Succeeded = Schema.Struct({
  succeeded: Schema.Array(Schema.String),
  alreadyDone: Schema.optional(Schema.Array(Schema.String))
})
const JobReportShape = Schema.Struct({
  job: JobShape,
  succeeded: Schema.Array(Schema.String),
  alreadyDone: Schema.optional(Schema.Array(Schema.String)),
  snapshot: Schema.optional(Schema.Struct({ status: Schema.String }))
})
const SyncReportShape = Schema.Struct({
  job: JobShape,
  dryRun: Schema.Boolean,
  associate: Succeeded,
  disassociate: Succeeded
})
/** What a report says of its journal, and of stores whose calls may have been applied. */
const Unresolved = Schema.Struct({ unresolved: Schema.Array(Schema.Unknown) })
const JournalNamed = Schema.Struct({ job: Schema.Struct({ id: Schema.String, journal: Schema.String }) })

const sameTarget = (a: Durable.Target, b: Durable.Target): boolean =>
  a._tag === b._tag && a.productCouponId === b.productCouponId && a.brandId === b.brandId &&
  (a._tag === "stock" ? a.stockId === (b as typeof a).stockId : a.stockBundleId === (b as typeof a).stockBundleId)

/** Stores a report leaves unresolved: their calls may have been applied, and only the job's journal says which. */
const unresolvedIn = (report: unknown): number => {
  const count = (part: unknown) => Either.match(Schema.decodeUnknownEither(Unresolved)(part), { onLeft: () => 0, onRight: (p) => p.unresolved.length })
  const r = report as { readonly associate?: unknown; readonly disassociate?: unknown }
  return "plan" in (report as object) ? count(r.associate) + count(r.disassociate) : count(report)
}

const targetOf = (job: typeof JobShape.Type): Either.Either<Durable.Target, UndoSourceError> =>
  job.stockBundleId !== undefined && job.stockId === undefined
    ? Either.right({ _tag: "bundle", productCouponId: job.productCouponId, stockBundleId: job.stockBundleId, brandId: job.brandId })
    : job.stockId !== undefined && job.stockBundleId === undefined
    ? Either.right({ _tag: "stock", productCouponId: job.productCouponId, stockId: job.stockId, brandId: job.brandId })
    : Either.left(new UndoSourceError({ reason: "the report's job names neither one stock nor one stock bundle" }))

const fromReport = (report: unknown): Effect.Effect<Done, UndoSourceError> =>
  Effect.gen(function*() {
    const job = Schema.decodeUnknownEither(Schema.Struct({ job: JobShape }))(report)
    if (Either.isLeft(job)) {
      return yield* new UndoSourceError({
        reason: "not a report of a job (no job with its operation, coupon, stock and brand): only a report written by a job can be undone"
      })
    }
    const target = yield* targetOf(job.right.job)
    if (job.right.job.operation === "sync") {
      if ((report as { readonly dryRun?: unknown }).dryRun === true) return yield* new UndoSourceError({ reason: "a dry run changed nothing" })
      const sync = Schema.decodeUnknownEither(SyncReportShape)(report)
      if (Either.isLeft(sync)) return yield* new UndoSourceError({ reason: "a sync report without its two parts' lists" })
      return {
        id: sync.right.job.id,
        operation: "sync",
        target,
        associated: sync.right.associate.succeeded,
        disassociated: sync.right.disassociate.succeeded,
        unchanged: new Set([...(sync.right.associate.alreadyDone ?? []), ...(sync.right.disassociate.alreadyDone ?? [])]),
        snapshot: true,
        journal: undefined
      }
    }
    const plain = Schema.decodeUnknownEither(JobReportShape)(report)
    if (Either.isLeft(plain)) return yield* new UndoSourceError({ reason: "a job report without its succeeded list" })
    const { id, operation } = plain.right.job
    return {
      id,
      operation,
      target,
      associated: operation === "associate" ? plain.right.succeeded : [],
      disassociated: operation === "disassociate" ? plain.right.succeeded : [],
      unchanged: new Set(plain.right.alreadyDone ?? []),
      snapshot: plain.right.snapshot?.status === "done",
      journal: undefined
    }
  })

/** The job id in a journal's first line, if it has one. */
const jobOf = (content: Uint8Array): string | undefined => {
  const end = content.indexOf(0x0a)
  try {
    const header: unknown = JSON.parse(new TextDecoder().decode(content.subarray(0, end === -1 ? content.length : end)))
    const job = typeof header === "object" && header !== null ? (header as { readonly job?: unknown }).job : undefined
    return typeof job === "string" ? job : undefined
  } catch {
    return undefined
  }
}

/**
 * A report's job, taken from the journal the report names when it is still there: the journal holds every
 * run (a report may be of an earlier one), the stores whose calls may have been applied (a report leaves
 * them unresolved), and its lock keeps a resume of the job from running meanwhile. A report whose stock
 * differs from its journal's was edited, and is refused. Without its journal, the report alone.
 */
const fromReportOrJournal = (report: unknown): Effect.Effect<Done, UndoSourceError | JournalError, JobJournal | Scope.Scope> =>
  Effect.gen(function*() {
    const byReport = yield* fromReport(report)
    const named = Schema.decodeUnknownEither(JournalNamed)(report)
    const alone = (why: string, journal: string | undefined) =>
      Effect.gen(function*() {
        const unresolved = unresolvedIn(report)
        yield* Effect.logWarning(
          `${why}: the undo is taken from the report alone` +
            (unresolved > 0 ? `, which leaves its ${unresolved} unresolved store(s) as they are (their calls may have been applied)` : "") +
            (journal === undefined
              ? ""
              : `; the job's journal cannot record the undo, so should it still exist elsewhere, do not resume it: that would redo what this undo puts back`)
        )
        return byReport
      })
    if (Either.isLeft(named)) return unresolvedIn(report) > 0 ? yield* alone("the report names no journal", undefined) : byReport
    const location = named.right.job.journal
    const store = yield* JobJournal
    const found = yield* Effect.either(store.read(location))
    if (Either.isLeft(found)) {
      if (found.left._tag === "JournalNotFoundError") return yield* alone(`the report's journal ${location} is gone`, location)
      return yield* found.left
    }
    // Looked at before it is locked: a journal of another job (the path used again) is not this job's to mark.
    const holds = jobOf(found.right)
    if (holds !== byReport.id) {
      return yield* alone(`the report's journal ${location} now holds ${holds === undefined ? "no journal" : `another job (${holds})`}`, location)
    }
    const done = yield* fromJournal(location)
    if (done.operation !== byReport.operation || !sameTarget(done.target, byReport.target)) {
      return yield* new UndoSourceError({
        reason: `the report does not match its journal ${location} (the job's operation, coupon, stock or brand differ): ` +
          "the report was edited; undo the journal itself"
      })
    }
    return done
  })

/**
 * From a journal: what its records say succeeded so far, and what may have (a job cut short is undone as far as it
 * may have gone). Its lock is held until the undo ends: a job still running (or a resume of it) would go on
 * changing the stores the undo puts back.
 */
const fromJournal = (location: string): Effect.Effect<Done, JournalError, JobJournal | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* JobJournal
    yield* store.lock(location)
    const replayed = yield* Loaded.load(location)
    const h = replayed.header
    // Put back as the merchant that changed them: signed as another, every call would be refused.
    yield* Durable.sameMerchant(location, h)
    const lists = { associate: [] as Array<string>, disassociate: [] as Array<string> }
    replayed.parts.forEach((part, i) => {
      const list = lists[h.parts[i]!.direction]
      for (const id of part.ids) {
        // A call in flight at a crash, or sent without a usable answer, may have been applied: its stores are put
        // back too (had it not been applied, they are still in the state the undo restores, as the undo assumes of
        // every store of the job).
        const tag = part.stores.get(id)?._tag
        if (tag === "Succeeded" || tag === "InFlight" || tag === "Unresolved") list.push(id)
      }
    })
    if (replayed.undone !== undefined) {
      const { by, journal } = replayed.undone
      yield* Effect.logWarning(
        `the job of ${location} was undone already by job ${by}${journal === undefined ? "" : ` (journal ${journal})`}; undoing it ` +
          "again changes back its stores once more, including any that a later job changed on purpose" +
          (journal === undefined ? "" : `; to finish that undo instead, resume ${journal}`)
      )
    }
    const target = Durable.targetOf(h)
    const unchanged = new Set(replayed.parts.flatMap((part) => [...part.already]))
    return {
      id: h.job,
      operation: h.operation,
      target,
      associated: lists.associate,
      disassociated: lists.disassociate,
      unchanged,
      snapshot: h.operation === "sync" || (h.snapshot as { readonly status?: unknown } | undefined)?.status === "done",
      // The undo records itself there before its first call: a resume of this job would redo what the undo puts back.
      journal: location
    }
  })

/** Whether two locations name one file, as far as their text tells (relative ones against the working directory). */
const samePath = (a: string, b: string): boolean => {
  const cwd = (globalThis as { process?: { cwd?: () => string } }).process?.cwd?.() ?? ""
  const normal = (p: string) => {
    const parts: Array<string> = []
    for (const part of (p.startsWith("/") ? p : `${cwd}/${p}`).split("/")) {
      if (part === "" || part === ".") continue
      if (part === "..") parts.pop()
      else parts.push(part)
    }
    return parts.join("/")
  }
  return normal(a) === normal(b)
}

/** Undoes the job of a report or journal (see `StoreJobs.undo`). */
export const undo = (
  source: UndoSource,
  options: UndoOptions
): Effect.Effect<AnyReport, UndoError, ProductCouponStores | JobJournal> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      // Checked before the job's journal is touched: a refusal after its mark would leave it unresumable for nothing.
      yield* Durable.checkRun(options)
      yield* wholeNumber("chunkSize", options.chunkSize, ProductCoupon.MAX_STORES, ProductCoupon.MAX_STORES)
      yield* Durable.checkJournal(options.journal, false)
      const done = yield* (
        typeof source !== "object" || source === null
          ? new UndoSourceError({ reason: "the source must be { journal: location } or { report: a job's report }" })
          : "journal" in source
          ? typeof source.journal === "string" && source.journal !== ""
            ? fromJournal(source.journal)
            : new UndoSourceError({ reason: "the journal must be given as its location (a non-empty string)" })
          : fromReportOrJournal(source.report)
      )
      // The job's journal is locked for the undo: its own journal there would wait on that lock forever.
      if (options.journal !== undefined && done.journal !== undefined && samePath(options.journal, done.journal)) {
        return yield* new ConfigurationError({
          variable: "journal",
          reason: `the undo's journal must be another file than the journal of the job it undoes (${done.journal})`
        })
      }
      const t = done.target
      if (t._tag === "stock" && !done.snapshot) {
        yield* Effect.logWarning(
          "the job took no snapshot of the stock (snapshot: true, or --snapshot), so this undo changes back every store of its " +
            "succeeded list, including any that was already in the state the job asked for before it ran"
        )
      }
      // The ids came from a file: checked as a job's own ids are, before anything is sent.
      yield* checkJobIds([
        ["productCouponId", t.productCouponId, true],
        [t._tag === "stock" ? "stockId" : "stockBundleId", t._tag === "stock" ? t.stockId : t.stockBundleId, true],
        ["brandId", t.brandId, false]
      ])
      const service = yield* ProductCouponStores
      const preflight: BulkEngine.PreflightReport = options.preflight === false
        ? { status: "off" }
        : t._tag === "bundle"
        ? { status: "skipped", reason: BundleJob.NO_BUNDLE_QUERY, requests: 0 }
        : yield* StockJob.preflight(service, t)
      // Associated stores are taken out, disassociated ones put back. A report is JSON anyone may have edited: each
      // store once per part (a part's ids must be unique, as a job's are), the copies counted as the input's duplicates.
      const unique = (ids: ReadonlyArray<string>) => [...new Set(ids)]
      // Stores the job found done already are left alone below: not the undo's input, nor its duplicates.
      const given = [...done.associated, ...done.disassociated].filter((id) => !done.unchanged.has(id)).length
      const parts: Array<{ direction: Journal.Direction; ids: ReadonlyArray<string> }> = done.operation === "sync"
        ? [{ direction: "associate", ids: unique(done.disassociated) }, { direction: "disassociate", ids: unique(done.associated) }]
        : done.operation === "associate"
        ? [{ direction: "disassociate", ids: unique(done.associated) }]
        : [{ direction: "associate", ids: unique(done.disassociated) }]
      // What the job found done already, it did not change: those stores are left alone.
      const changed = parts.map((p) => ({ ...p, ids: p.ids.filter((id) => !done.unchanged.has(id)) }))
      // The undo's own snapshot when asked for, so that an undo of the undo is exact too.
      const snapshot = t._tag === "bundle"
        ? { report: { status: "skipped", reason: Snapshot.NO_BUNDLE_SNAPSHOT, requests: 0 } as const, already: [] }
        : options.snapshot !== true
        ? { report: { status: "off", requests: 0 } as const, already: [] }
        : yield* Snapshot.snapshotOf(service, t, changed, options)
      const all = changed.flatMap((p) => p.ids)
      const operation: Journal.Operation = done.operation === "sync" ? "sync" : parts[0]!.direction
      return yield* Durable.start({
        operation,
        target: t,
        parts: changed,
        snapshot: snapshot.report,
        already: snapshot.already,
        input: { count: given, unique: all.length, digest: yield* Journal.digest(all) },
        options: Durable.optionsOf(options),
        preflight,
        ...(operation === "sync"
          ? {
            plan: {
              desired: { input: 0, unique: 0, duplicates: 0, invalid: [] },
              current: 0,
              unchanged: 0,
              listingRequests: 0
            }
          }
          : {}),
        undoes: done.id,
        undoesJournal: done.journal
      }, options.journal, options)
    }).pipe(Effect.scoped)).pipe(Effect.withSpan("StoreJobs.undo"))
