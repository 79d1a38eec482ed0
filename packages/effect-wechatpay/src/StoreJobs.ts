/**
 * Store jobs that lose nothing: the bulk jobs of `BulkStores` with a journal, resume after
 * a crash, sync of a stock to a desired store set, and undo.
 *
 * - **Journal.** `disassociateAll`, `associateAll` (and the bundle variants) read their whole
 *   input, write a journal (the job, its options, its unique ids and their digest), then run
 *   the `BulkStores` job, recording each call before it is sent and each outcome after it
 *   settles, each write flushed before the job goes on. A crash at any instant loses at most
 *   the knowledge of the calls in flight.
 * - **Resume.** `resume(journal)` finishes a job from its journal alone: stores that succeeded
 *   or failed are not sent again; stores of calls that were in flight, and stores a run left
 *   unresolved, are settled by the stock's listing (without one — a bundle, or `verify: false` —
 *   they are sent again); stores never sent are sent.
 *   The report accounts for every unique store of the input once. A journal whose job
 *   ended only gives its report back.
 * - **Sync.** `syncStores(desired, stock)` lists the stock, plans (associate what is missing,
 *   disassociate what is not desired), refuses a plan that removes more than `maxRemovals`
 *   stores (default 1,000), or that leaves the stock none of its stores, unless `maxRemovals` allows it, and
 *   applies the plan with both jobs. `planSync` only plans.
 * - **Undo.** `undo(source)` puts back what a job changed: the stores of its `succeeded`
 *   list, the other way, on the job's own stock (taken from its report or journal).
 *
 * The journal lives in the `JobJournal` service: `JobJournal.layerFile` (files),
 * `JobJournal.layerNodeFile` (the same files, appended by a writer thread on Node) or
 * `JobJournal.layerMemory` (tests).
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type * as BulkStores from "./BulkStores.js"
import type * as BulkEngine from "./internal/BulkEngine.js"
import * as Durable from "./internal/bulk/Durable.js"
import * as Journaled from "./internal/bulk/Journaled.js"
import type { StoreIds } from "./internal/bulk/Ids.js"
import type { FailedStore } from "./internal/bulk/Settle.js"
import * as Sync from "./internal/bulk/Sync.js"
import * as Undo from "./internal/bulk/Undo.js"
import type { JobJournal, JournalError } from "./JobJournal.js"
import type { ProductCouponStores } from "./ProductCouponStores.js"
import type { ConfigurationError } from "./WechatPayError.js"

export { SyncGuardError, SyncStoppedError, UndoSourceError } from "./internal/bulk/Errors.js"
export type { FailedStore }

/** What a durable job is: set by the job, kept in its journal, carried by its report. */
export interface JobInfo {
  readonly operation: "disassociate" | "associate" | "sync"
  readonly productCouponId: string
  /** The stock; absent for a bundle job, which names `stockBundleId` instead. */
  readonly stockId?: string | undefined
  readonly stockBundleId?: string | undefined
  readonly brandId: string
  /** Unique per job (kept across its resumes). */
  readonly id: string
  /** When the job first started, and when this run of it ended (ISO 8601). */
  readonly startedAt: string
  readonly endedAt: string
  /** Where its journal is, when it has one. */
  readonly journal?: string | undefined
  /** Runs of the job so far: 1, plus one per resume. */
  readonly runs: number
  /** The job this one undoes. */
  readonly undoes?: string | undefined
}

/** A job's report with what the job was. */
export type JobReport = { readonly job: JobInfo } & BulkEngine.Report

/** What a sync found and would do. */
export interface SyncPlan {
  /** The desired ids as given: counted, de-duplicated; ids that cannot be sent are `invalid` and left out. */
  readonly desired: {
    readonly input: number
    readonly unique: number
    readonly duplicates: number
    readonly invalid: ReadonlyArray<FailedStore>
  }
  /** Stores the stock's listing showed. */
  readonly current: number
  /** Stores both desired and listed: nothing to do. */
  readonly unchanged: number
  /** Desired and not listed: to associate. */
  readonly toAssociate: ReadonlyArray<string>
  /** Listed and not desired: to disassociate. */
  readonly toDisassociate: ReadonlyArray<string>
  /** HTTP attempts of the listing's pages. */
  readonly listingRequests: number
}

/** A sync: its plan, and (unless a dry run) both jobs' reports, associate first. */
export interface SyncReport {
  readonly job: JobInfo
  readonly plan: SyncPlan
  readonly dryRun: boolean
  readonly associate?: BulkEngine.Report | undefined
  readonly disassociate?: BulkEngine.Report | undefined
}

/** What `resume` and `undo` give back: the report of the kind of job the journal or report holds. */
export type AnyReport = JobReport | SyncReport

/** `BulkStores.Options`, the journal's location, and the snapshot. */
export interface Options extends BulkStores.Options {
  readonly journal: string
  /**
   * Walk the stock's listing once before the first call and record which stores of the input are
   * in the state asked for already (`report.alreadyDone`): they are sent all the same, and an undo
   * leaves them alone. Without it, an undo reverses every store of `succeeded`, including one that
   * was in that state before the job (WeChat Pay's answer for such a store is not documented; the
   * sandbox answers success). Costs one listing call per 200 stores of the *stock*, whatever the
   * job's size: 150 for a 30,000-store stock, next to one call for a job of 200 stores. Default `false`.
   */
  readonly snapshot?: boolean | undefined
}

/** `BulkStores.BundleOptions` and the journal's location. */
export interface BundleOptions extends BulkStores.BundleOptions {
  readonly journal: string
}

/** What a durable job fails with before it has a report: the `BulkStores` job's errors, or the journal's. */
export type JobError = BulkStores.JobError | JournalError

/**
 * `BulkStores.disassociateAll`, journaled. Reads the whole input first (its ids are stored in
 * the journal); fails with `JournalExistsError` when the location holds a journal already.
 */
export const disassociateAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options
): Effect.Effect<JobReport, JobError, R | ProductCouponStores | JobJournal> => Journaled.startStock(ids, options, "disassociate")

/** `BulkStores.associateAll`, journaled: as {@link disassociateAll}, the other way. */
export const associateAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: Options
): Effect.Effect<JobReport, JobError, R | ProductCouponStores | JobJournal> => Journaled.startStock(ids, options, "associate")

/** `BulkStores.disassociateBundleAll`, journaled. */
export const disassociateBundleAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: BundleOptions
): Effect.Effect<JobReport, BulkStores.BundleJobError | JournalError, R | ProductCouponStores | JobJournal> =>
  Journaled.startBundle(ids, options, "disassociate")

/** `BulkStores.associateBundleAll`, journaled. */
export const associateBundleAll = <E = never, R = never>(
  ids: StoreIds<E, R>,
  options: BundleOptions
): Effect.Effect<JobReport, BulkStores.BundleJobError | JournalError, R | ProductCouponStores | JobJournal> =>
  Journaled.startBundle(ids, options, "associate")

/** How a resumed job runs; its stock, chunk size and checks come from the journal. */
export interface ResumeOptions extends Omit<BulkEngine.JobOptions, "chunkSize"> {
  /**
   * What the caller believes the journal is for: any field that differs fails the resume with
   * `JournalMismatchError` before anything is sent.
   */
  readonly expect?: {
    readonly operation?: JobInfo["operation"] | undefined
    readonly productCouponId?: string | undefined
    readonly stockId?: string | undefined
    readonly stockBundleId?: string | undefined
    readonly brandId?: string | undefined
    readonly id?: string | undefined
  } | undefined
}

/**
 * Finishes the job a journal records (a job or a sync), appending to the same journal. A
 * journal whose job ended (not cut short) gives its report back and sends nothing. A torn
 * last line is dropped with a warning; anything else wrong is a typed `JournalError`.
 */
export const resume = (
  journal: string,
  options: ResumeOptions = {}
): Effect.Effect<AnyReport, JournalError | BulkStores.JobError, ProductCouponStores | JobJournal> => Durable.resume(journal, options)

/** A sync's stock and options: a stock job's, and the guard. */
export interface SyncOptions extends BulkStores.Options {
  /**
   * The most stores the plan may disassociate; default 1,000. A plan that leaves the stock none of
   * its stores (an empty desired set, or one holding none of the stores listed) is refused unless
   * this is given and covers every store the stock has.
   */
  readonly maxRemovals?: number | undefined
  /** Plan only: the listing is walked, nothing else is sent. */
  readonly dryRun?: boolean | undefined
  /** Journal the sync there (resume finishes both jobs). */
  readonly journal?: string | undefined
}

/** What a sync fails with: a job's errors, the journal's, the guard, or a stop before its plan was made. */
export type SyncError = BulkStores.JobError | JournalError | Sync.SyncGuardError | Sync.SyncStoppedError | Sync.ListingError

/** The plan of a sync: the stock's listing walked once, nothing else sent. `stopWhen`/`abortWhen` end the walk. */
export const planSync = <E = never, R = never>(
  desired: StoreIds<E, R>,
  options: Pick<SyncOptions, "productCouponId" | "stockId" | "brandId" | "stopWhen" | "abortWhen">
): Effect.Effect<SyncPlan, BulkStores.JobError | Sync.ListingError | Sync.SyncStoppedError, R | ProductCouponStores> =>
  Sync.plan(desired, options)

/**
 * Whether `syncStores` would apply a plan (from `planSync`) with this `maxRemovals`, or the
 * `SyncGuardError` it would refuse it with: for a dry run that shows the plan and the refusal.
 */
export const checkPlan = (
  plan: SyncPlan,
  maxRemovals?: number | undefined
): Effect.Effect<void, Sync.SyncGuardError | ConfigurationError> => Sync.checkPlan(plan, maxRemovals)

/** Makes the stock's associated stores exactly the desired set (see the module's description). */
export const syncStores = <E = never, R = never>(
  desired: StoreIds<E, R>,
  options: SyncOptions
): Effect.Effect<SyncReport, SyncError, R | ProductCouponStores | JobJournal> => Sync.sync(desired, options)

/** Where an undo takes the job from: a journal, or a report (`JobReport` or `SyncReport`, e.g. parsed JSON). */
export type UndoSource = { readonly journal: string } | { readonly report: unknown }

/** How the undo job runs (its stock comes from the source); `journal` journals the undo itself, `snapshot` as for a job. */
export interface UndoOptions extends BulkEngine.JobOptions {
  readonly preflight?: boolean | undefined
  readonly verify?: boolean | undefined
  readonly journal?: string | undefined
  readonly snapshot?: boolean | undefined
}

/**
 * Undoes a job: re-associates the stores a disassociate job took out, disassociates the stores
 * an associate job put in (its `succeeded` list, less the stores its snapshot found done already,
 * `alreadyDone`), both for a sync. The stock comes from the report or journal, never from the caller.
 */
export const undo = (
  source: UndoSource,
  options: UndoOptions = {}
): Effect.Effect<AnyReport, Undo.UndoError, ProductCouponStores | JobJournal> => Undo.undo(source, options)
