/**
 * Durable jobs: a journal written before anything is sent, every call recorded around it,
 * and one way to run a job from its journal's state, whether the job has just started
 * (nothing recorded) or is resumed after a crash. A job has one part (a direction and its
 * ids); a sync has two, run in order.
 */
import { Clock, Effect, Either } from "effect"
import { JobJournal, type JournalError, type JournalIoError, JournalMismatchError, JournalUndoneError } from "../../JobJournal.js"
import { MerchantConfig } from "../../MerchantConfig.js"
import * as ProductCoupon from "../../ProductCoupon.js"
import { ProductCouponStores, type Service } from "../../ProductCouponStores.js"
import type { AnyReport, JobInfo, JobReport, SyncPlan, SyncReport } from "../../StoreJobs.js"
import { ConfigurationError, type HasBehaviour } from "../../WechatPayError.js"
import * as BulkEngine from "../BulkEngine.js"
import { wholeNumber } from "../Options.js"
import * as BundleJob from "./BundleJob.js"
import * as Journal from "./Journal.js"
import * as Loaded from "./JournalLoad.js"
import { makeWriter, recorderFor, type Writer } from "./JournalWriter.js"
import { CallRecorder, JOURNAL_FAILED } from "./Recorder.js"
import { merge, notStarted } from "./PartOutcomes.js"
import { snapshotFields } from "./Snapshot.js"
import type { StoreListAnswer } from "./Settle.js"
import * as StockJob from "./StockJob.js"
import * as Stop from "./Stop.js"

/** The stock or bundle a durable job works on. */
export type Target =
  | { readonly _tag: "stock"; readonly productCouponId: string; readonly stockId: string; readonly brandId: string }
  | { readonly _tag: "bundle"; readonly productCouponId: string; readonly stockBundleId: string; readonly brandId: string }

/** How a run goes: the engine's options a caller may set for this run. */
export interface RunOptions {
  readonly concurrency?: number | undefined
  readonly onProgress?: BulkEngine.JobOptions["onProgress"]
  readonly stopWhen?: Effect.Effect<void> | undefined
  readonly abortWhen?: Effect.Effect<void> | undefined
}

/** A job about to start: everything its header holds, and its parts' ids. */
export interface Start {
  readonly operation: Journal.Operation
  readonly target: Target
  readonly parts: ReadonlyArray<{ readonly direction: Journal.Direction; readonly ids: ReadonlyArray<string> }>
  readonly input: { readonly count: number; readonly unique: number; readonly digest: string }
  readonly options: Journal.Header["options"]
  readonly preflight: BulkEngine.PreflightReport
  readonly plan?: Omit<SyncPlan, "toAssociate" | "toDisassociate"> | undefined
  readonly undoes?: string | undefined
  /**
   * The undone job's journal, when the undo was taken from one (its lock held by the caller): once the undo's
   * own journal is created and before its first call, the undo records itself there, and so does every resume
   * of the undo, in case a crash or a failed write came between the two.
   */
  readonly undoesJournal?: string | undefined
  /** The listing walked before the first call, and per part the stores it showed done already. */
  readonly snapshot: BulkEngine.SnapshotReport
  readonly already?: ReadonlyArray<ReadonlyArray<string>> | undefined
}

const nowIso = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

const stockDirection = (d: Journal.Direction): StockJob.Direction =>
  d === "associate" ? StockJob.associating : StockJob.disassociating
const bundleDirection = (d: Journal.Direction): BundleJob.Direction =>
  d === "associate" ? BundleJob.associating : BundleJob.disassociating

/** Everything a run needs. */
interface Context {
  readonly location: string | undefined
  readonly header: Journal.Header
  readonly parts: ReadonlyArray<Journal.PartState>
  readonly runs: number
  readonly writer: Writer
  readonly service: Service
  readonly run: RunOptions
}

/** The stock or bundle a journal's header names. */
export const targetOf = (header: Journal.Header): Target =>
  header.target.stockBundleId !== undefined
    ? { _tag: "bundle", productCouponId: header.target.productCouponId, stockBundleId: header.target.stockBundleId, brandId: header.target.brandId }
    : { _tag: "stock", productCouponId: header.target.productCouponId, stockId: header.target.stockId ?? "", brandId: header.target.brandId }

/**
 * Runs one part to its end from its recorded state: never-sent stores are sent, in-flight ones are
 * settled by the listing (or sent again when there is none), recorded outcomes stand.
 */
const runPart = (ctx: Context, index: number): Effect.Effect<BulkEngine.Report, ConfigurationError> =>
  Effect.gen(function*() {
    const { header, service } = ctx
    const state = ctx.parts[index]!
    const direction = header.parts[index]!.direction
    const target = targetOf(header)
    const canList = target._tag === "stock" && header.options.verify
    // A part with nothing recorded yet (a job just started) sends every id.
    const fresh = state.stores.size === 0
    const toSend: Array<string> = fresh ? state.ids : []
    const inFlight: Array<string> = []
    if (!fresh) {
      for (const id of state.ids) {
        const s = state.stores.get(id)
        if (s === undefined || s._tag === "NotSent") toSend.push(id)
        else if (s._tag === "InFlight") {
          if (canList) inFlight.push(id)
          else toSend.push(id)
        } else if (s._tag === "Unresolved" && !canList) {
          // An earlier run's unknown (a call aborted in flight, an answer lost): with a listing the verification
          // below settles it, as it does an in-flight store's; without one it is sent again, as they are.
          toSend.push(id)
        }
      }
    }
    const job = target._tag === "stock"
      ? StockJob.engineJob(service, target, stockDirection(direction))
      : BundleJob.engineJob(service, target, bundleDirection(direction))
    const engineOptions = {
      concurrency: ctx.run.concurrency ?? header.options.concurrency,
      chunkSize: header.options.chunkSize,
      onProgress: ctx.run.onProgress,
      stopWhen: ctx.run.stopWhen,
      abortWhen: ctx.run.abortWhen,
      distinct: true
    }
    // A fresh part sends its ids as the journal holds them, so its calls can name them by position.
    const recorder = recorderFor(ctx.writer, header.job, index, fresh ? state.ids : undefined)
    const engine = yield* BulkEngine.run<StoreListAnswer, HasBehaviour, never, never>(toSend, job, engineOptions).pipe(
      Effect.provideService(CallRecorder, recorder),
      Effect.catchTag("StoreSourceError", (e) => Effect.succeed(e.report))
    )
    // The last calls' outcomes were queued, not awaited: on disk before anything reads the record.
    yield* Effect.ignore(ctx.writer.barrier)
    // An outcome that could not be written after the last call: the job's record is incomplete, as a stop says.
    const lost = ctx.writer.failure()
    const ran: BulkEngine.Report = lost === undefined || engine.stoppedBy !== undefined ? engine : {
      ...engine,
      stoppedBy: { tag: "JournalError", code: JOURNAL_FAILED, message: `the journal could not be written: ${lost.message}` }
    }
    const { failed, listed, succeeded, unresolved } = fresh
      ? { succeeded: ran.succeeded, failed: ran.failed, unresolved: ran.unresolved, listed: [] }
      : merge(state, ran, inFlight)
    const retries = { ...state.retries }
    for (const [tag, n] of Object.entries(ran.summary.retries)) retries[tag] = (retries[tag] ?? 0) + n
    const isWholeInput = header.operation !== "sync" && index === 0
    const report: BulkEngine.Report = {
      summary: {
        input: isWholeInput ? header.input.count : state.ids.length,
        unique: state.ids.length,
        duplicates: isWholeInput ? header.input.count - state.ids.length : 0,
        succeeded: succeeded.length,
        failed: failed.length,
        unresolved: unresolved.length,
        chunks: state.chunks + ran.summary.chunks,
        requests: state.requests + ran.summary.requests,
        retries,
        settledByListing: listed.length,
        resent: 0,
        ...(header.snapshot === undefined ? {} : { alreadyDone: state.already.size })
      },
      succeeded,
      failed,
      unresolved,
      anomalies: [...state.anomalies, ...ran.anomalies],
      ...(ran.stoppedBy === undefined ? {} : { stoppedBy: ran.stoppedBy }),
      preflight: header.preflight as BulkEngine.PreflightReport,
      verification: StockJob.noVerification("not-needed"),
      settledByListing: listed,
      ...snapshotFields(header, state)
    }
    if (target._tag === "bundle") {
      return BundleJob.withChecks({ ...target, preflight: header.options.preflight, verify: header.options.verify }, report)
    }
    const stockOptions = {
      ...target,
      verify: header.options.verify,
      concurrency: engineOptions.concurrency,
      chunkSize: engineOptions.chunkSize,
      stopWhen: ctx.run.stopWhen,
      abortWhen: ctx.run.abortWhen
    }
    const verified = yield* StockJob.verify(
      service,
      target,
      stockDirection(direction),
      job,
      stockOptions,
      report
    ).pipe(Effect.provideService(CallRecorder, recorder))
    if (verified.verification?.status !== "done") return verified
    // The verification lists what it settled; the stores earlier runs' listings settled stay listed too.
    const all = [...listed, ...(verified.settledByListing ?? [])]
    return { ...verified, summary: { ...verified.summary, settledByListing: all.length }, settledByListing: all }
  })

const infoOf = (ctx: Context, endedAt: string): JobInfo => {
  const t = ctx.header.target
  return {
    operation: ctx.header.operation,
    productCouponId: t.productCouponId,
    ...(t.stockBundleId !== undefined ? { stockBundleId: t.stockBundleId } : { stockId: t.stockId }),
    brandId: t.brandId,
    id: ctx.header.job,
    startedAt: ctx.header.createdAt,
    endedAt,
    ...(ctx.location === undefined ? {} : { journal: ctx.location }),
    runs: ctx.runs,
    ...(ctx.header.undoes === undefined ? {} : { undoes: ctx.header.undoes })
  }
}

/**
 * Whether a part's end means the next part must not be started: the caller stopped or aborted the job, or its
 * journal failed (the job stops; a sync associates first so that its removals never run after a cut-short part).
 */
const endsTheJob = (report: BulkEngine.Report): boolean =>
  report.stoppedBy?.tag === BulkEngine.STOPPED_BY_CALLER || report.stoppedBy?.tag === BulkEngine.ABORTED_BY_CALLER ||
  report.stoppedBy?.code === JOURNAL_FAILED

/** Runs every part of a job from its journal's state and records the run's report. */
const continueJob = (ctx: Context): Effect.Effect<AnyReport, JournalIoError | ConfigurationError> =>
  Effect.gen(function*() {
    yield* ctx.writer.write(Journal.line({ t: "run", job: ctx.header.job, run: ctx.runs, at: yield* nowIso }))
    let report: AnyReport
    if (ctx.header.operation === "sync") {
      const first = yield* runPart(ctx, 0)
      const second = endsTheJob(first) ? notStarted(ctx.header, ctx.parts[1]!, first.stoppedBy!) : yield* runPart(ctx, 1)
      const plan = ctx.header.plan as Omit<SyncPlan, "toAssociate" | "toDisassociate">
      const sync: SyncReport = {
        job: infoOf(ctx, yield* nowIso),
        plan: { ...plan, toAssociate: ctx.parts[0]!.ids, toDisassociate: ctx.parts[1]!.ids },
        dryRun: false,
        associate: first,
        disassociate: second
      }
      report = sync
    } else {
      const part = yield* runPart(ctx, 0)
      const job: JobReport = { job: infoOf(ctx, yield* nowIso), ...part }
      report = job
    }
    // The outcomes are recorded already; should this last write fail, a resume rebuilds the report from them.
    yield* ctx.writer.write(Journal.line({ t: "finished", job: ctx.header.job, run: ctx.runs, report })).pipe(
      Effect.catchAll((e) => Effect.logWarning(`the journal could not record the job's end: ${e.message}`))
    )
    return report
  })

/** Starts a job: its journal created with the header and the ids, then run from an empty state. */
export const start = (
  spec: Start,
  location: string | undefined,
  run: RunOptions
): Effect.Effect<AnyReport, JournalError | ConfigurationError, JobJournal | ProductCouponStores> =>
  Effect.gen(function*() {
    const service = yield* ProductCouponStores
    const store = yield* JobJournal
    // Held from before the ids are digested: a file journal starts its writer meanwhile (see `JobJournal`).
    if (location !== undefined) yield* store.lock(location)
    const job = globalThis.crypto.randomUUID()
    const merchant = yield* merchantId
    const parts = yield* Effect.forEach(spec.parts, (p) =>
      Effect.map(Journal.digest(p.ids), (digest) => ({ direction: p.direction, count: p.ids.length, digest })))
    const t = spec.target
    const sealed = yield* Journal.seal({
      t: "header",
      format: Journal.FORMAT,
      version: Journal.VERSION,
      job,
      operation: spec.operation,
      target: t._tag === "stock"
        ? { productCouponId: t.productCouponId, stockId: t.stockId, brandId: t.brandId }
        : { productCouponId: t.productCouponId, stockBundleId: t.stockBundleId, brandId: t.brandId },
      options: spec.options,
      input: spec.input,
      parts,
      preflight: spec.preflight,
      ...(spec.plan === undefined ? {} : { plan: spec.plan }),
      ...(spec.undoes === undefined ? {} : { undoes: spec.undoes }),
      ...(spec.undoesJournal === undefined ? {} : { undoesJournal: spec.undoesJournal }),
      snapshot: spec.snapshot,
      ...(merchant === undefined ? {} : { mchid: merchant }),
      createdAt: yield* nowIso
    })
    const header = sealed.header
    const opening = Journal.opening(sealed, spec.parts.map((p) => p.ids), spec.already)
    const states: Array<Journal.PartState> = spec.parts.map((p, i) => ({
      ids: [...p.ids],
      already: new Set(spec.already?.[i] ?? []),
      stores: new Map(),
      chunks: 0,
      requests: 0,
      retries: {},
      anomalies: []
    }))
    // A job run without a journal (a sync or an undo asked for none) records nothing.
    const appender = location === undefined
      ? { append: () => Effect.void }
      : yield* store.create(location, opening)
    const writer = yield* makeWriter(appender)
    if (spec.undoes !== undefined && spec.undoesJournal !== undefined) {
      yield* Loaded.markUndone(spec.undoesJournal, spec.undoes, { by: job, journal: location }, false)
    }
    return yield* continueJob({ location, header, parts: states, runs: 1, writer, service, run })
  }).pipe(Effect.scoped)

/**
 * A journal's location: a string, and given when `required` (a durable job that silently wrote none
 * would leave its caller believing the job could be resumed).
 */
export const checkJournal = (location: unknown, required: boolean): Either.Either<void, ConfigurationError> =>
  (location === undefined && !required) || (typeof location === "string" && location !== "")
    ? Either.void
    : Either.left(new ConfigurationError({ variable: "journal", reason: "must be the journal's location (a non-empty string)" }))

/** Options as the engine checks them, checked before anything is read or written. */
export const checkRun = (run: RunOptions) => wholeNumber("concurrency", run.concurrency, 4, Number.MAX_SAFE_INTEGER)

/** The options a job's header records, defaults filled in. */
export const optionsOf = (options: {
  readonly chunkSize?: number | undefined
  readonly concurrency?: number | undefined
  readonly preflight?: boolean | undefined
  readonly verify?: boolean | undefined
}): Journal.Header["options"] => ({
  chunkSize: options.chunkSize ?? ProductCoupon.MAX_STORES,
  concurrency: options.concurrency ?? 4,
  preflight: options.preflight !== false,
  verify: options.verify !== false
})

/** The merchant this run's calls are signed as, when its `MerchantConfig` is in the context. */
const merchantId: Effect.Effect<string | undefined> = Effect.map(
  Effect.serviceOption(MerchantConfig),
  (config) => config._tag === "Some" ? config.value.mchid : undefined
)

/**
 * A journal's job is finished, or undone, as the merchant it ran as: signed as another, every call would be
 * refused (SIGN_ERROR) and its stores recorded as failed, which no later resume sends again.
 */
export const sameMerchant = (location: string, header: Journal.Header): Effect.Effect<void, JournalMismatchError> =>
  Effect.flatMap(merchantId, (current) =>
    header.mchid === undefined || current === undefined || current === header.mchid
      ? Effect.void
      : Effect.fail(new JournalMismatchError({ location, field: "mchid", expected: current, found: header.mchid })))

/** Resumes the job of a journal (see `StoreJobs.resume`). */
export const resume = (
  location: string,
  options: RunOptions & {
    readonly expect?: Partial<Record<"operation" | "productCouponId" | "stockId" | "stockBundleId" | "brandId" | "id", string | undefined>> | undefined
  }
): Effect.Effect<AnyReport, JournalError | ConfigurationError, ProductCouponStores | JobJournal> =>
  Stop.once(options, (options) =>
    Effect.gen(function*() {
      yield* checkRun(options)
      yield* checkJournal(location, true)
      const expect: unknown = options.expect
      if (
        expect !== undefined &&
        (typeof expect !== "object" || expect === null ||
          Object.values(expect).some((v) => v !== undefined && typeof v !== "string"))
      ) {
        return yield* new ConfigurationError({
          variable: "expect",
          reason: "must be an object of strings (operation, productCouponId, stockId, stockBundleId, brandId, id)"
        })
      }
      const store = yield* JobJournal
      // Held from before the journal is read to its last write: a second run would send the same stores.
      yield* store.lock(location)
      const replayed = yield* Loaded.load(location)
      const h = replayed.header
      const found: Record<string, string | undefined> = {
        operation: h.operation,
        productCouponId: h.target.productCouponId,
        stockId: h.target.stockId,
        stockBundleId: h.target.stockBundleId,
        brandId: h.target.brandId,
        id: h.job
      }
      for (const [field, expected] of Object.entries(options.expect ?? {})) {
        if (expected !== undefined && found[field] !== expected) {
          return yield* new JournalMismatchError({ location, field, expected, found: found[field] ?? "(none)" })
        }
      }
      yield* sameMerchant(location, h)
      if (replayed.undone !== undefined) {
        const { by, journal } = replayed.undone
        return yield* new JournalUndoneError({ location, by, ...(journal === undefined ? {} : { journal }) })
      }
      if (replayed.lastReport !== undefined && Journal.isComplete(replayed.lastReport)) {
        // The job ended: its report, as it was recorded.
        return replayed.lastReport as AnyReport
      }
      // An undo's first run may have been cut short between creating its own journal and its record in the job's.
      yield* Loaded.recordResumedUndo(h, location)
      const service = yield* ProductCouponStores
      const appender = yield* store.reopen(location, replayed.length)
      const writer = yield* makeWriter(appender)
      return yield* continueJob({
        location,
        header: h,
        parts: replayed.parts as Array<Journal.PartState>,
        runs: replayed.runs + 1,
        writer,
        service,
        run: options
      })
    })).pipe(Effect.scoped, Effect.withSpan("StoreJobs.resume"))
