/**
 * `wechatpay-stores resume JOURNAL`: finishes the job (or sync, or undo) a journal records,
 * after a crash, a kill or a power cut: stores with an outcome are not sent again, stores of
 * calls that were in flight are settled by the stock's listing, stores never sent are sent.
 * A journal whose job ended gives its report back and sends nothing. The summary, progress,
 * report and exit codes are a job's.
 */
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Layer, Option } from "effect"
import * as Path from "node:path"
import { StoreJobs } from "effect-wechatpay"
import * as Io from "../Io.js"
import * as Job from "../Job.js"
import * as JobCommand from "../JobCommand.js"
import * as JournalFile from "../JournalFile.js"
import * as Program from "../Program.js"

export interface ResumeArgs {
  readonly journal: string
  readonly report: string | undefined
  /** Calls in flight; undefined: the job's own (from its journal). */
  readonly concurrency: number | undefined
  readonly rate: number
  readonly json: boolean
  /** The coupon, stock, bundle or brand the operator expects the journal's job to be of: any other is refused. */
  readonly expect?: StoreJobs.ResumeOptions["expect"]
}

/** The resume itself; exported for the tests, which pass their own transport. */
export const resume = (args: ResumeArgs, io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const refused = yield* JobCommand.preconditions(io, {
      report: args.report,
      protect: [{ path: args.journal, what: "the journal being resumed" }]
    })
    if (refused !== undefined) return refused
    const human = args.json ? io.err : io.out
    human.write(`resuming the job of ${args.journal}\n`)
    const { result } = yield* Job.execute(
      args,
      io,
      JobCommand.serviceAt(args.rate, http),
      undefined,
      (hooks) =>
        StoreJobs.resume(args.journal, {
          ...hooks,
          ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
          ...(args.expect === undefined ? {} : { expect: args.expect })
        })
    )
    if (result._tag === "Left") {
      const e = result.left
      // A report given for its journal: say what can be done with a report.
      if (e._tag === "JournalCorruptError" && e.line <= 1) {
        const source = yield* Effect.either(JournalFile.sourceOf(args.journal))
        if (source._tag === "Right" && "report" in source.right) {
          const journal = (source.right.report as { readonly job?: { readonly journal?: unknown } }).job?.journal
          return Io.fail(
            io,
            `${args.journal} is a report, not a journal: ` +
              (typeof journal === "string" ? `its job's journal is ${journal} (wechatpay-stores resume ${journal})` : "its job kept no journal") +
              `; to run its failed and unresolved stores again, pass the report as --stores; to undo its job: wechatpay-stores undo ${args.journal}`
          )
        }
      }
      return Io.fail(io, Job.failure(e, yield* JournalFile.journalIds(args.journal)))
    }
    const report = result.right
    human.write(
      `job ${report.job.id} (${report.job.operation}), run ${report.job.runs}, started ${report.job.startedAt}\n`
    )
    // The summary counts the whole job's calls (every run), as its report does. The advice after an undo
    // that did not put every store back names what it undid, which only its journal's header keeps.
    const undone = report.job.undoes === undefined ? undefined : yield* JournalFile.undoneJournalOf(args.journal)
    const kept = yield* Job.publish(report, { ...args, keepReport: true, undone }, io, undefined)
    return Job.exitCode({ report, kept })
  })

const expectFlag = (name: string, inPath: boolean, what: string) =>
  JobCommand.idFlag(name, inPath).pipe(
    Options.withDescription(`Refuse the journal (nothing is sent) unless its job is of this ${what}.`),
    Options.optional
  )

export const command = Program.command(
  "resume",
  {
    journal: Args.text({ name: "JOURNAL" }).pipe(Args.withDescription("The journal a job wrote (it printed its path before its first call).")),
    report: JobCommand.reportFlag("the whole job: job, summary, succeeded, failed, unresolved; for a sync, plan and both parts"),
    concurrency: Program.count("concurrency", { min: 1, what: "a whole number ≥ 1" }).pipe(
      Options.withDescription("Calls in flight at once. Default: the job's own (kept in its journal)."),
      Options.optional
    ),
    ...JobCommand.rateFlags,
    json: JobCommand.jsonFlag,
    // Optional checks: the journal is refused, before anything is sent, unless its job names these.
    productCouponId: expectFlag("product-coupon-id", true, "product coupon"),
    stockId: expectFlag("stock-id", true, "stock"),
    stockBundleId: expectFlag("stock-bundle-id", true, "stock bundle"),
    brandId: expectFlag("brand-id", false, "brand")
  },
  (a) =>
    Effect.gen(function*() {
      yield* JobCommand.checkRate(a)
      const { http, io } = yield* Program.CliContext
      return yield* resume({
        // Absolute, as a job's own journal is: the advice printed names it from any directory.
        journal: Path.resolve(Io.workingDirectory(io), a.journal),
        report: a.report._tag === "Some" ? a.report.value : undefined,
        concurrency: a.concurrency._tag === "Some" ? a.concurrency.value : undefined,
        rate: a.rate,
        json: a.json,
        expect: {
          productCouponId: Option.getOrUndefined(a.productCouponId),
          stockId: Option.getOrUndefined(a.stockId),
          stockBundleId: Option.getOrUndefined(a.stockBundleId),
          brandId: Option.getOrUndefined(a.brandId)
        }
      }, io, http)
    })
).pipe(Program.withHelp(
  "Finishes a job from its journal after a crash, a kill or a power cut: stores that succeeded or failed are not sent " +
    "again, stores whose call was in flight (or left unresolved) are settled by the stock's listing (a bundle has none, " +
    "nor a job run with --no-verify: they are sent again), stores never sent are sent. The report accounts for every store of the job once. A journal whose job ended " +
    "writes its report again and sends nothing. The journal names the stock, the stores and the checks; the " +
    "WECHATPAY_* variables give the credentials.\n\n" +
    "Exit codes: 0 every store succeeded; 2 some failed or are unresolved, or the job was cut short again; 1 it could not " +
    "run (no journal there, a journal that cannot be trusted, flags, configuration: nothing was sent).",
  [
    "wechatpay-stores resume wechatpay-stores-journal-2026-01-05T10-00-00-000Z-4242.jsonl",
    "wechatpay-stores resume job.jsonl --report job-report.json --rate 10",
    "wechatpay-stores resume job.jsonl --product-coupon-id 1000000013 --stock-id 1000000013001 --brand-id 120344"
  ]
))
