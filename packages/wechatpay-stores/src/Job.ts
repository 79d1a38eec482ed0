/**
 * A bulk job as every job command runs it: the input checked before anything
 * is sent, progress while it runs, then the summary, why it stopped (WeChat
 * Pay's words and what they mean), the first failed and unresolved stores,
 * and a report that is always written somewhere and named. The same printing
 * serves `resume`, `sync` and `undo`, whose reports may be a sync's (a plan and
 * two parts).
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, type Either, Layer, Logger, LogLevel, Schedule } from "effect"
import * as Fs from "node:fs"
import {
  BulkDisassociation,
  type BulkStores,
  JobJournal,
  type MerchantConfig,
  ProductCouponStores,
  type StoreJobs,
  type WechatPayError
} from "effect-wechatpay"
import * as Explain from "./Explain.js"
import * as Io from "./Io.js"
import * as Monitor from "./Monitor.js"
import * as NextStep from "./NextStep.js"
import * as Operation from "./Operation.js"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import * as Report from "./Report.js"
import * as StoreFile from "./StoreFile.js"

/** How a run prints and keeps its report: a job, a resume, a sync or an undo. */
export interface Printing {
  /** The client's rate limit (requests a second), named when the job waits on it. */
  readonly rate: number | undefined
  /** `--report`, or undefined for the default file. */
  readonly report: string | undefined
  /** `--json`: the report on stdout instead of the table (which goes to stderr with the progress). */
  readonly json: boolean
  /** Whether to write a report file at all (the demo's loopback job does not). */
  readonly keepReport: boolean
  /** For an undo: the report or journal it was given, which the advice after it names (undefined: not known). */
  readonly undone?: string | undefined
}

/** What the job is and how it reports. */
export interface Spec extends Explain.JobIds, Printing {
  readonly operation: Operation.Operation
  readonly concurrency: number
  /** The library's stock check before the job: on unless false (`--no-preflight`). */
  readonly preflight?: boolean | undefined
  /** The library's settling of unresolved stores by listing after the job: on unless false (`--no-verify`). */
  readonly verify?: boolean | undefined
  /** Journal the job there (the library's `StoreJobs` job, which `resume` can finish); undefined: the `BulkStores` job alone. */
  readonly journal?: string | undefined
  /** A journaled stock job's listing walk before its first call (stores found done are left alone by an undo): on unless false. */
  readonly snapshot?: boolean | undefined
}

/** The service a job runs against, built over a monitor that follows its calls, and the merchant it signs as. */
export type ServiceLayer = (
  monitor: Monitor.Monitor
) => Layer.Layer<
  ProductCouponStores.ProductCouponStores | MerchantConfig.MerchantConfig,
  WechatPayError.ConfigurationError | WechatPayError.KeyFormatError
>

/** Journals as files, where the durable jobs keep them. */
export const journalLayer: Layer.Layer<JobJournal.JobJournal> = JobJournal.layerNodeFile.pipe(Layer.provide(NodeFileSystem.layer))

/**
 * The same files for a job that writes no journal (a dry run, `--no-journal`; an undo may still read
 * one): no writer thread is started for it.
 */
export const readingJournalLayer: Layer.Layer<JobJournal.JobJournal> = JobJournal.layerFile.pipe(Layer.provide(NodeFileSystem.layer))

/** A finished job: its report and where the report went. */
export interface Finished<R extends Report.AnyReport = Report.JobReport> {
  readonly report: R
  readonly kept: Report.Kept | undefined
}

/** Whether a job's report (or a sync's part) says every store succeeded and nothing cut it short; an absent part did nothing. */
const complete = (report: BulkStores.Report | undefined): boolean =>
  report === undefined || (report.summary.succeeded === report.summary.unique && report.stoppedBy === undefined)

/**
 * Exit code for a finished job: 0 only when every store succeeded (both parts, for a sync, and
 * no desired id left out as invalid), nothing cut the job short and the report is where asked.
 */
export const exitCode = ({ kept, report }: Finished<Report.AnyReport>): number =>
  (Report.isSync(report)
      ? complete(report.associate) && complete(report.disassociate) && NextStep.invalidDesired(report) === 0
      : complete(report)) &&
    kept?.misplaced !== true
    ? 0
    : 2

/** How often the progress line is redrawn between settled chunks (to show a wait). */
const TICK = { tty: "250 millis", plain: "1 second" } as const

/**
 * What the library logs while a job runs (a torn journal line ignored, an answer that contradicted
 * itself), as the CLI says things: one line on stderr, `wechatpay-stores: warning: …`.
 */
export const logger = (io: Io.Io): Logger.Logger<unknown, void> =>
  Logger.make(({ logLevel, message }) => {
    const text = Output.oneLine((Array.isArray(message) ? message : [message]).map(String).join(" "))
    const level = LogLevel.greaterThanEqual(logLevel, LogLevel.Error) ? "error: " : LogLevel.greaterThanEqual(logLevel, LogLevel.Warning) ? "warning: " : ""
    io.err.write(`wechatpay-stores: ${level}${text}\n`)
  })

/** What a job is given to report its progress and to hear a stop. */
export interface Hooks {
  readonly onProgress: (event: BulkStores.ProgressEvent) => Effect.Effect<void>
  readonly stopWhen: Effect.Effect<void> | undefined
  readonly abortWhen: Effect.Effect<void> | undefined
}

/** A job ran: what it gave (or failed with), and what reached WeChat Pay. */
export interface Executed<A, E> {
  readonly result: Either.Either<A, E | WechatPayError.ConfigurationError | WechatPayError.KeyFormatError>
  readonly sent: Output.Sent
}

/**
 * The journal files, with `onCreated` told of each journal the library creates: it does so once the job
 * was not refused (the stock check, a sync's guard, an undo's source), before its first call.
 */
const announcing = (
  journals: Layer.Layer<JobJournal.JobJournal>,
  onCreated: (location: string) => void
): Layer.Layer<JobJournal.JobJournal> =>
  Layer.effect(
    JobJournal.JobJournal,
    Effect.map(JobJournal.JobJournal, (service) => ({
      ...service,
      create: (location: string, text: string) =>
        Effect.tap(service.create(location, text), () => Effect.sync(() => onCreated(location)))
    }))
  ).pipe(Layer.provide(journals))

/**
 * Runs a library job with the progress line, over a service the monitor follows and the
 * journal files (`writesJournal: false` when the job writes none). Nothing is printed but progress
 * and, once the library has created it, the path of the journal `announce` names (with how to resume it):
 * a job refused before then never names a journal it did not write.
 */
export const execute = <A, E>(
  printing: Pick<Printing, "json" | "rate">,
  io: Io.Io,
  service: ServiceLayer,
  total: number | undefined,
  job: (hooks: Hooks) => Effect.Effect<A, E, ProductCouponStores.ProductCouponStores | JobJournal.JobJournal>,
  writesJournal = true,
  announce?: string | undefined
): Effect.Effect<Executed<A, E>> =>
  Effect.gen(function*() {
    const monitor = Monitor.make()
    // With --json, standard output carries the report alone; people read stderr.
    const human = printing.json ? io.err : io.out
    const bar = Progress.progress(human, { total, activity: monitor.activity, rate: printing.rate })
    const journals = writesJournal ? journalLayer : readingJournalLayer
    const result = yield* Effect.scoped(Effect.gen(function*() {
      const tick = human.isTTY ? TICK.tty : TICK.plain
      // The first tick after one interval: a job that cannot start draws no bar.
      yield* Effect.forkScoped(Effect.delay(Effect.repeat(Effect.sync(bar.tick), Schedule.spaced(tick)), tick))
      return yield* job({ onProgress: bar.onProgress, stopWhen: io.stop, abortWhen: io.abort }).pipe(
        Effect.provide(Layer.mergeAll(
          monitor.service(service(monitor)),
          announce === undefined
            ? journals
            : announcing(journals, (location) => location === announce ? bar.note(journalLine(location)) : undefined),
          Logger.replace(Logger.defaultLogger, logger(io))
        )),
        Effect.provideService(ProductCouponStores.AttemptObserver, monitor.observer)
      )
    })).pipe(Effect.ensuring(Effect.sync(bar.finish)), Effect.either)
    return { result, sent: { calls: monitor.callsSent(), checks: monitor.checksSent() } }
  })

/** The `job` of a report the CLI writes for a job that kept no journal (or never started one). */
export const header = (spec: Spec, startedAt: Date): Report.JobHeader => ({
  operation: spec.operation,
  productCouponId: spec.productCouponId,
  ...(spec.stockBundleId !== undefined ? { stockBundleId: spec.stockBundleId } : { stockId: spec.stockId }),
  brandId: spec.brandId,
  id: Report.jobId(),
  startedAt: startedAt.toISOString(),
  endedAt: new Date().toISOString(),
  runs: 1
})

/** The line a journaled run prints once its journal is created: where it is, and how to finish the job after a crash. */
export const journalLine = (path: string): string => `journal: ${path} (resume with: wechatpay-stores resume ${path})\n`

/**
 * Runs a job to its end and prints what happened. Gives the finished job, or one
 * line when it could not start (configuration, the journal, the stock check).
 */
export const run = (
  spec: Spec,
  io: Io.Io,
  service: ServiceLayer,
  ids: BulkDisassociation.StoreIds<StoreFile.StoreFileError>,
  total: number | undefined
): Effect.Effect<Finished | string> =>
  Effect.gen(function*() {
    const startedAt = new Date()
    const { result, sent } = yield* execute(spec, io, service, total, (hooks) => {
      const common = {
        productCouponId: spec.productCouponId,
        brandId: spec.brandId,
        concurrency: spec.concurrency,
        preflight: spec.preflight !== false,
        verify: spec.verify !== false,
        ...hooks
      }
      const journal = spec.journal
      const job: Effect.Effect<
        Report.JobReport,
        StoreJobs.JobError,
        ProductCouponStores.ProductCouponStores | JobJournal.JobJournal
      > = journal !== undefined
        ? spec.stockBundleId !== undefined
          ? Operation.durableBundleJob[spec.operation](ids, { ...common, stockBundleId: spec.stockBundleId, journal })
          : Operation.durableJob[spec.operation](ids, { ...common, stockId: spec.stockId ?? "", journal, snapshot: spec.snapshot === true })
        : Effect.map(
          spec.stockBundleId !== undefined
            ? Operation.bundleJob[spec.operation](ids, { ...common, stockBundleId: spec.stockBundleId })
            : Operation.bulkJob[spec.operation](ids, { ...common, stockId: spec.stockId ?? "" }),
          (report) => ({ job: header(spec, startedAt), ...report })
        )
      // The input was checked before the job, but a file can still change or fail under it:
      // the calls already made are reported, and the report says the input broke off. (A
      // journaled job reads its whole input before its journal is created: it then has none.)
      return Effect.catchTag(job, "StoreSourceError", (e) => Effect.succeed({ job: header(spec, startedAt), ...e.report }))
    }, spec.journal !== undefined, spec.journal)
    if (result._tag === "Left") return yield* failureOf(result.left, spec, spec.journal)
    const kept = yield* publish(result.right, spec, io, sent)
    return { report: result.right, kept }
  })

/** Anything a job, a resume, a sync or an undo fails with before it has a report. */
export interface Failure {
  readonly _tag: string
}

/**
 * One line for a job that could not run, saying what to do. `ids` name the stock in
 * the advice (unknown for a resume whose journal could not be read).
 */
export const failure = (failed: Failure, ids: Explain.JobIds | undefined, check = "the stock check before the job"): string => {
  const e = failed as Failure & { readonly message: string; readonly location?: unknown; readonly cause?: unknown }
  const location = e.location === undefined ? "?" : String(e.location)
  switch (e._tag) {
    case "StoreSourceError":
      return `cannot read the store ids: ${String(e.cause)}`
    // The flags were checked already; a RequestValidationError is the library's own guard.
    case "RequestValidationError":
      return e.message
    case "ConfigurationError":
    case "KeyFormatError":
      return `configuration: ${e.message}`
    case "JournalExistsError":
      return Report.journalExists(location)
    case "JournalNotFoundError":
      return `no journal at ${location}: check the path (a job prints its journal's path before its first call); nothing was sent`
    case "JournalCorruptError":
      // A journal whose job never started: there is nothing to finish.
      if (failed instanceof JobJournal.JournalCorruptError && failed.neverStarted) {
        return Output.oneLine(`${e.message}; delete it and run the job again`)
      }
      return Output.oneLine(
        `${e.message}; nothing was sent. Check that this is the journal a job printed; if it is, its report ` +
          `(when the job wrote one) lists the stores still to do`
      )
    case "JournalLockedError":
      return Output.oneLine(`${e.message}; nothing was sent`)
    case "JournalMismatchError":
      if (failed instanceof JobJournal.JournalMismatchError && failed.field === "mchid") {
        return Output.oneLine(
          `${e.message}: its job ran as merchant ${failed.found}; nothing was sent. Run it with that merchant's WECHATPAY_* configuration`
        )
      }
      return Output.oneLine(`${e.message}; nothing was sent. Check the journal's path and the ids given with it`)
    case "JournalUndoneError":
      return Output.oneLine(`${e.message}; nothing was sent. To change those stores again, run a new job`)
    case "JournalIoError":
      return Output.oneLine(`${e.message}; nothing more was sent. Check the path, its permissions and the free space`)
    case "SyncGuardError":
      return guardLine(failed as unknown as StoreJobs.SyncGuardError)
    case "UndoSourceError":
      return Output.oneLine(`${e.message}; pass a report or a journal that wechatpay-stores wrote`)
    default:
      // Anything else is the stock check before the job (or a sync's listing): it refused the stock, or the query was refused.
      return Output.oneLine(
        `${check} refused it: ${
          Explain.callFailure(e as WechatPayError.WechatPayError, ids ?? { productCouponId: "?", brandId: "?" })
        }`
      )
  }
}

/**
 * {@link failure}, and when the run's journal was never created (refused before its first
 * record, so its path was never printed), that there is nothing to resume.
 */
export const failureOf = (
  failed: Failure,
  ids: Explain.JobIds | undefined,
  journal: string | undefined,
  check?: string
): Effect.Effect<string> =>
  Effect.sync(() => {
    const line = failure(failed, ids, check)
    return journal === undefined || Fs.existsSync(journal) ? line : `${line}; no journal was written, so there is nothing to resume`
  })

/** A sync's guard, in the flags' words. */
export const guardLine = (e: StoreJobs.SyncGuardError): string =>
  e.reason === "empty-desired"
    ? `the desired list is empty: that would remove all ${Output.plural(e.removals, "store")}; ` +
      `pass --max-removals ${e.removals} to do it anyway`
    : e.reason === "removes-all"
    ? `the desired list holds none of the stock's ${Output.plural(e.current, "store")}: that would remove every one of them; ` +
      `check --stores, or pass --max-removals ${e.removals} to do it anyway`
    : `the plan would remove ${Output.plural(e.removals, "store")}, more than --max-removals ${Output.fmt(e.maxRemovals)}: ` +
      `check --stores, or pass --max-removals ${e.removals} to allow it`

/** A sync's plan in one line, and the first ids of each side. */
export const planLines = (plan: StoreJobs.SyncPlan, limit: number = Output.LISTED_STORES): string => {
  const d = plan.desired
  const lines = [
    `plan: ${Output.fmt(d.input)} desired (${Output.fmt(d.unique)} unique), ${Output.fmt(plan.current)} listed, ` +
    `${Output.fmt(plan.toAssociate.length)} to associate, ${Output.fmt(plan.toDisassociate.length)} to disassociate, ` +
    `${Output.fmt(plan.unchanged)} unchanged`
  ]
  if (d.invalid.length > 0) {
    lines.push(`  ${Output.plural(d.invalid.length, "desired id")} cannot be sent and ${d.invalid.length === 1 ? "was" : "were"} left out:`)
    for (const bad of d.invalid.slice(0, limit)) lines.push(`    ${Output.quoted(bad.storeId)}: ${Output.oneLine(bad.message)}`)
  }
  for (const [name, ids] of [["to associate", plan.toAssociate], ["to disassociate", plan.toDisassociate]] as const) {
    if (ids.length === 0) continue
    lines.push(`  ${name}: ${ids.slice(0, limit).map(Output.oneLine).join(", ")}${ids.length > limit ? `, …and ${Output.fmt(ids.length - limit)} more` : ""}`)
  }
  return lines.join("\n") + "\n"
}

/** Whether a report's job kept a journal (its `job` names one). */
const journaled = (ids: Explain.JobIds): boolean => typeof (ids as { readonly journal?: unknown }).journal === "string"

/** What one job (or a sync's part) did: the table, why it stopped, the checks, the anomalies, the first stores. */
const partLines = (
  human: Output.Sink,
  report: BulkStores.Report,
  ids: Explain.JobIds,
  sent: Output.Sent | undefined,
  where: string | undefined
) => {
  human.write(Output.summaryTable(report.summary, sent))
  if (report.stoppedBy !== undefined) {
    human.write(`stopped by ${report.stoppedBy.code}: ${Output.oneLine(report.stoppedBy.message)}\n`)
    const means = Explain.stopReason(report.stoppedBy, { ...ids, journaled: journaled(ids) })
    if (means !== undefined) human.write(`  ${means}\n`)
  }
  human.write(Output.checksLines(report))
  human.write(Output.anomalyLine(report.anomalies))
  human.write(Output.storeLists(report, where))
}

/**
 * Prints a finished run's report (`--json`: on stdout), writes it (unless `keepReport` is
 * off), then its summary: a job's table and lists, or a sync's plan and both parts.
 * `sent` counts a job's calls and checks that reached WeChat Pay (undefined: the report's own count of calls).
 */
export const publish = (
  report: Report.AnyReport,
  printing: Printing,
  io: Io.Io,
  sent: Output.Sent | undefined
): Effect.Effect<Report.Kept | undefined> =>
  Effect.gen(function*() {
    const human = printing.json ? io.err : io.out
    if (printing.json) io.out.write(JSON.stringify(report, null, 2) + "\n")
    const kept = printing.keepReport ? yield* Report.keep({ asked: printing.report, report, io }) : undefined
    const where = kept?.path === undefined ? undefined : "the report"
    if (Report.isSync(report)) {
      // An undo of a sync planned nothing: it puts back each part of the sync it undoes.
      human.write(
        report.job.undoes === undefined ? planLines(report.plan) : `undo of the sync ${report.job.undoes}: ` +
          `${Output.fmt(report.plan.toAssociate.length)} to associate again, ${Output.fmt(report.plan.toDisassociate.length)} to disassociate again\n`
      )
      if (report.dryRun) human.write("dry run: nothing was changed\n")
      for (const [name, part] of [["associate", report.associate], ["disassociate", report.disassociate]] as const) {
        if (part === undefined) continue
        human.write(`${name}:\n`)
        partLines(human, part, report.job, undefined, where)
      }
    } else {
      if (report.job.undoes !== undefined) {
        human.write(`undo of the job ${report.job.undoes}: ${Output.fmt(report.summary.unique)} to ${report.job.operation} again\n`)
      }
      partLines(human, report, report.job, sent, where)
    }
    if (kept?.path !== undefined && !kept.misplaced) human.write(`report written to ${kept.path}\n`)
    // A journaled job cut short is finished from its journal, not by running its stores again.
    const parts = Report.isSync(report) ? [report.associate, report.disassociate] : [report]
    if (report.job.journal !== undefined && parts.some((p) => p?.stoppedBy !== undefined)) {
      human.write(`to finish the job: wechatpay-stores resume ${report.job.journal}\n`)
    }
    human.write(NextStep.line(report, kept?.path, printing.undone))
    return kept
  })
