/**
 * A bulk job as every job command runs it: the input checked before anything
 * is sent, progress while it runs, then the summary, why it stopped (WeChat
 * Pay's words and what they mean), the first failed and unresolved stores,
 * and a report that is always written somewhere and named.
 */
import { Effect, type Layer, Schedule } from "effect"
import { BulkDisassociation, ProductCouponStores, type WechatPayError } from "effect-wechatpay"
import * as Explain from "./Explain.js"
import * as Io from "./Io.js"
import * as Monitor from "./Monitor.js"
import * as Operation from "./Operation.js"
import * as Output from "./Output.js"
import * as Report from "./Report.js"
import * as StoreFile from "./StoreFile.js"

/** What the job is and how it reports. */
export interface Spec extends Explain.JobIds {
  readonly operation: Report.JobHeader["operation"]
  readonly concurrency: number
  /** The client's rate limit (requests a second), named when the job waits on it. */
  readonly rate: number | undefined
  /** `--report`, or undefined for the default file. */
  readonly report: string | undefined
  /** `--json`: the report on stdout instead of the table (which goes to stderr with the progress). */
  readonly json: boolean
  /** Whether to write a report file at all (the demo's loopback job does not). */
  readonly keepReport: boolean
  /** The library's stock check before the job: on unless false (`--no-preflight`). */
  readonly preflight?: boolean | undefined
  /** The library's settling of unresolved stores by listing after the job: on unless false (`--no-verify`). */
  readonly verify?: boolean | undefined
}

/** The service a job runs against, built over a monitor that follows its calls. */
export type ServiceLayer = (
  monitor: Monitor.Monitor
) => Layer.Layer<ProductCouponStores.ProductCouponStores, WechatPayError.ConfigurationError | WechatPayError.KeyFormatError>

/** A finished job: its report and where the report went. */
export interface Finished {
  readonly report: Report.JobReport
  readonly kept: Report.Kept | undefined
}

/** Exit code for a finished job: 0 only when every store succeeded, nothing cut the job short and the report is where asked. */
export const exitCode = ({ kept, report }: Finished): number =>
  report.summary.succeeded === report.summary.unique && report.stoppedBy === undefined && kept?.misplaced !== true ? 0 : 2

/** How often the progress line is redrawn between settled chunks (to show a wait). */
const TICK = { tty: "250 millis", plain: "1 second" } as const

/**
 * Runs a job to its end and prints what happened. Gives the finished job, or one
 * line when it could not start (configuration).
 */
export const run = (
  spec: Spec,
  io: Io.Io,
  service: ServiceLayer,
  ids: BulkDisassociation.StoreIds<StoreFile.StoreFileError>,
  total: number | undefined
): Effect.Effect<Finished | string> =>
  Effect.gen(function*() {
    const monitor = Monitor.make()
    // With --json, standard output carries the report alone; people read stderr.
    const human = spec.json ? io.err : io.out
    const bar = Output.progress(human, { total, activity: monitor.activity, rate: spec.rate })
    const startedAt = new Date()
    const result = yield* Effect.scoped(Effect.gen(function*() {
      const tick = human.isTTY ? TICK.tty : TICK.plain
      // The first tick after one interval: a job that cannot start draws no bar.
      yield* Effect.forkScoped(Effect.delay(Effect.repeat(Effect.sync(bar.tick), Schedule.spaced(tick)), tick))
      const common = {
        productCouponId: spec.productCouponId,
        brandId: spec.brandId,
        concurrency: spec.concurrency,
        preflight: spec.preflight !== false,
        verify: spec.verify !== false,
        onProgress: bar.onProgress,
        stopWhen: io.stop,
        abortWhen: io.abort
      }
      const job = spec.stockBundleId !== undefined
        ? Operation.bundleJob[spec.operation](ids, { ...common, stockBundleId: spec.stockBundleId })
        : Operation.bulkJob[spec.operation](ids, { ...common, stockId: spec.stockId ?? "" })
      return yield* job.pipe(
        Effect.provide(monitor.service(service(monitor))),
        Effect.provideService(ProductCouponStores.AttemptObserver, monitor.observer),
        // The input was checked before the job, but a file can still change or fail under it:
        // the calls already made are reported, and the report says the input broke off.
        Effect.catchTag("StoreSourceError", (e) => Effect.succeed(e.report))
      )
    })).pipe(Effect.ensuring(Effect.sync(bar.finish)), Effect.either)
    if (result._tag === "Left") {
      const e = result.left
      // The flags were checked already; a RequestValidationError is the library's own guard.
      if (e._tag === "RequestValidationError") return e.message
      if (e._tag === "ConfigurationError" || e._tag === "KeyFormatError") return `configuration: ${e.message}`
      // Anything else is the stock check before the job: it refused the stock, or the query was refused.
      return Output.oneLine(`the stock check before the job refused it: ${Explain.callFailure(e, spec)}`)
    }
    const report: Report.JobReport = {
      job: {
        operation: spec.operation,
        productCouponId: spec.productCouponId,
        ...(spec.stockBundleId !== undefined ? { stockBundleId: spec.stockBundleId } : { stockId: spec.stockId }),
        brandId: spec.brandId,
        id: Report.jobId(),
        startedAt: startedAt.toISOString(),
        endedAt: new Date().toISOString()
      },
      ...result.right
    }
    if (spec.json) io.out.write(JSON.stringify(report, null, 2) + "\n")
    const kept = spec.keepReport ? yield* Report.keep({ asked: spec.report, report, io }) : undefined
    human.write(Output.summaryTable(report.summary, monitor.callsSent()))
    if (report.stoppedBy !== undefined) {
      human.write(`stopped by ${report.stoppedBy.code}: ${Output.oneLine(report.stoppedBy.message)}\n`)
      const means = Explain.stopReason(report.stoppedBy, spec)
      if (means !== undefined) human.write(`  ${means}\n`)
    }
    human.write(Output.checksLines(report))
    human.write(Output.anomalyLine(report.anomalies))
    human.write(Output.storeLists(report, kept?.path === undefined ? undefined : "the report"))
    if (kept?.path !== undefined && !kept.misplaced) human.write(`report written to ${kept.path}\n`)
    return { report, kept }
  })

/** One line for a store-id source that could not be read or checked. */
const inputFailure = (
  e: StoreFile.StoreFileError | BulkDisassociation.SourceError | WechatPayError.ConfigurationError
): string => e._tag === "StoreSourceError" ? `cannot read the store ids: ${String(e.cause)}` : e.message

/** What the first Ctrl-C while the input is read exits with (nothing was sent). */
export const STOPPED_READING = 130

/**
 * Opens the input once and checks every id, racing the first Ctrl-C (`io.stop`):
 * an endless input or a FIFO nobody writes must not outlast it. Gives the
 * input and its plan, or the exit code when no job may run.
 */
export const checkInput = (
  stores: string,
  io: Io.Io,
  options: {
    readonly rereadable: boolean
    readonly allowEmpty: boolean
    /** The lists to take when the input is a report (default: failed and unresolved). */
    readonly select?: ReadonlyArray<StoreFile.ReportList> | undefined
    /** Where the input notes go (skipped and normalised rows, the lists taken from a report). */
    readonly notesTo?: Output.Sink | undefined
  }
) =>
  Effect.gen(function*() {
    const opened = StoreFile.open(
      stores,
      io.stdin,
      options.select === undefined ? { rereadable: options.rereadable } : { rereadable: options.rereadable, select: options.select }
    )
    const checked = yield* opened.pipe(
      Effect.flatMap((input) => Effect.map(BulkDisassociation.dryRun(input.ids), (plan) => ({ input, plan }))),
      Effect.either,
      Effect.raceFirst(Effect.as(io.stop ?? Effect.never, "stopped" as const))
    )
    if (checked === "stopped") {
      io.err.write("wechatpay-stores: stopped while reading the store ids; nothing was sent\n")
      return STOPPED_READING
    }
    if (checked._tag === "Left") return Io.fail(io, inputFailure(checked.left))
    // An empty list is most likely the wrong file or a pipe that broke: exit 0 would say "all done".
    if (checked.right.plan.input === 0 && !options.allowEmpty) {
      return Io.fail(io, `${checked.right.input.source}: no store ids in the input; pass --allow-empty to run an empty job anyway`)
    }
    // Nothing skipped or normalised goes unsaid (the check read the whole input, so the notes are complete).
    const notes = yield* checked.right.input.notes
    const sink = options.notesTo ?? io.out
    for (const line of StoreFile.describeNotes(notes)) sink.write(`${checked.right.input.source}: ${line}\n`)
    return { ...checked.right, notes }
  })
