/**
 * `wechatpay-stores undo REPORT_OR_JOURNAL`: puts back what a job changed. The stores of its
 * `succeeded` list are changed the other way (a disassociate's re-associated, an associate's
 * disassociated, both parts of a sync), on the job's own stock, taken from the report or
 * journal. The undo is a job of its own: journaled, with progress, summary, report and the
 * job's exit codes.
 */
import * as Args from "@effect/cli/Args"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Layer } from "effect"
import * as Path from "node:path"
import { StoreJobs } from "effect-wechatpay"
import * as Io from "../Io.js"
import * as Job from "../Job.js"
import * as JobCommand from "../JobCommand.js"
import * as JournalFile from "../JournalFile.js"
import * as Output from "../Output.js"
import * as Program from "../Program.js"

export interface UndoArgs {
  /** A report a job wrote, or its journal. */
  readonly source: string
  readonly report: string | undefined
  /** Journal the undo there; undefined: no journal. */
  readonly journal: string | undefined
  readonly concurrency: number
  readonly rate: number
  readonly json: boolean
  /** Walk the stock's listing before the undo's first call (see `--snapshot`). */
  readonly snapshot?: boolean | undefined
}

/** The undo itself; exported for the tests, which pass their own transport. */
export const undo = (args: UndoArgs, io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const refused = yield* JobCommand.preconditions(io, {
      report: args.report,
      journal: args.journal,
      protect: [{ path: args.source, what: "the report or journal being undone" }]
    })
    if (refused !== undefined) return refused
    // Absolute, as a job's journal is: the advice to undo it again, and the undo's journal, name it from any directory.
    const sourcePath = Path.resolve(Io.workingDirectory(io), args.source)
    const source = yield* Effect.either(JournalFile.sourceOf(sourcePath))
    if (source._tag === "Left") return Io.fail(io, source.left)
    const human = args.json ? io.err : io.out
    const what = "report" in source.right ? "report" : "journal"
    human.write(`undoing the job of the ${what} ${args.source}\n`)
    const { result } = yield* Job.execute(args, io, JobCommand.serviceAt(args.rate, http), undefined, (hooks) =>
      StoreJobs.undo(source.right, { concurrency: args.concurrency, journal: args.journal, snapshot: args.snapshot === true, ...hooks }), args.journal !== undefined, args.journal)
    if (result._tag === "Left") {
      const e = result.left
      // A journal whose first write was cut short: its job sent nothing, so there is nothing to undo.
      if (e._tag === "JournalCorruptError" && e.neverStarted) {
        return Io.fail(io, `${args.source} is the journal of a job that never started (its first write was never completed): there is nothing to undo; nothing was sent`)
      }
      // Not a journal from its first line: most likely not the file meant (a store list, some other JSON).
      if (e._tag === "JournalCorruptError" && e.line <= 1) {
        return Io.fail(io, `${args.source} is neither a report nor a journal that wechatpay-stores wrote (${Output.oneLine(e.reason)}); nothing was sent`)
      }
      const ids = "report" in source.right
        ? JournalFile.idsIn((source.right.report as { readonly job?: unknown }).job)
        : yield* JournalFile.journalIds(args.source)
      return Io.fail(io, yield* Job.failureOf(result.left, ids, args.journal))
    }
    const kept = yield* Job.publish(result.right, { ...args, keepReport: true, undone: sourcePath }, io, undefined)
    return Job.exitCode({ report: result.right, kept })
  })

export const command = Program.command(
  "undo",
  {
    source: Args.text({ name: "REPORT_OR_JOURNAL" }).pipe(
      Args.withDescription("The report a job, sync or undo wrote, or its journal (a job cut short is undone as far as it went).")
    ),
    report: JobCommand.reportFlag("the undo job's: job (with undoes: the undone job's id), summary and lists"),
    ...JobCommand.journalFlags,
    concurrency: JobCommand.concurrencyFlag,
    ...JobCommand.rateFlags,
    json: JobCommand.jsonFlag,
    snapshot: JobCommand.snapshotFlag
  },
  (a) =>
    Effect.gen(function*() {
      yield* JobCommand.checkRate(a)
      const { http, io } = yield* Program.CliContext
      const journal = yield* JobCommand.journalOf(a, io)
      return yield* undo({
        source: a.source,
        report: a.report._tag === "Some" ? a.report.value : undefined,
        journal,
        concurrency: a.concurrency,
        rate: a.rate,
        json: a.json,
        snapshot: a.snapshot
      }, io, http)
    })
).pipe(Program.withHelp(
  "Puts back what a job changed: the stores its report lists as succeeded are changed the other way (a disassociate's " +
    "stores re-associated, an associate's disassociated, both parts of a sync), on the job's own stock or bundle, " +
    "which the report or journal names. Stores the job's snapshot (--snapshot) found done already (alreadyDone) were not " +
    "changed by it and are left alone; a job run without one has every succeeded store changed back, with a warning. Given a journal, or a report whose journal is still where the " +
    "report says, the stores the journal recorded as succeeded, and those whose calls may have been applied, are undone (a job " +
    "cut short, as far as it went), and the journal records the undo: `resume` of it is then refused. The undo keeps a journal of its own (see --journal) and writes a report whose job " +
    "names the undone job (undoes). Credentials come from the WECHATPAY_* variables.\n\n" +
    "Exit codes: 0 every store was put back; 2 some failed or are unresolved, or the undo was cut short; 1 it could not " +
    "run (not a report or journal of a job, flags, configuration, the stock check: nothing was sent).",
  [
    "wechatpay-stores undo wechatpay-stores-report-2026-01-05T10-00-00-000Z-4242.json",
    "wechatpay-stores undo job.jsonl --report undo-report.json"
  ]
))
