/**
 * `wechatpay-stores sync`: makes a stock's stores exactly the list in --stores. The stock's
 * listing is walked once, the plan made (associate what is missing, disassociate what is not
 * desired), a plan that would remove more than --max-removals stores (default 1,000), or
 * leave the stock none of its stores (an empty or wrong list), refused; then both jobs run, associate first, as
 * one journaled job that `resume` finishes after a crash.
 */
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Layer } from "effect"
import { StoreJobs } from "effect-wechatpay"
import * as InputCheck from "../InputCheck.js"
import * as Io from "../Io.js"
import * as Job from "../Job.js"
import * as JobCommand from "../JobCommand.js"
import * as NextStep from "../NextStep.js"
import * as Output from "../Output.js"
import * as Program from "../Program.js"

/** The most stores a sync removes unless --max-removals says otherwise (the library's default). */
export const DEFAULT_MAX_REMOVALS = 1_000

export interface SyncArgs {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  /** The desired store ids (a file, or - for standard input), in any input format of the jobs. */
  readonly stores: string
  readonly report: string | undefined
  readonly dryRun: boolean
  readonly maxRemovals: number | undefined
  /** Journal the sync there; undefined: no journal. */
  readonly journal: string | undefined
  readonly concurrency: number
  readonly rate: number
  readonly json: boolean
  readonly preflight: boolean
  readonly verify: boolean
}

/** What a sync's failure before it changed anything blames: its plan's listing walk or its stock query. */
const CHECK = "the stock's listing (for the plan) or the stock check before the sync"

/** A signal while the listing was walked for the plan: nothing changed, exit 130 as for a job stopped before it sent. */
const stopped = (io: Io.Io, e: StoreJobs.SyncStoppedError): number => {
  io.err.write(
    `wechatpay-stores: ${e.by === "stop" ? "stopped" : "aborted"} while walking the stock's listing for the plan ` +
      `(${Output.plural(e.listingRequests, "listing request")} sent): nothing was changed, and no journal was written; ` +
      "run the sync again to apply it\n"
  )
  return InputCheck.STOPPED_READING
}

/** The sync itself; exported for the tests, which pass their own transport. */
export const sync = (args: SyncArgs, io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const refused = yield* JobCommand.preconditions(io, {
      report: args.report,
      journal: args.dryRun ? undefined : args.journal,
      protect: JobCommand.inputProtected(args.stores)
    })
    if (refused !== undefined) return refused
    const human = args.json ? io.err : io.out
    const stock = { productCouponId: args.productCouponId, stockId: args.stockId, brandId: args.brandId }
    return yield* Effect.scoped(Effect.gen(function*() {
      // An empty list is not refused here: the library's guard says what it would do to the stock.
      const checked = yield* InputCheck.checkInput(args.stores, io, { rereadable: true, allowEmpty: true, notesTo: human })
      if (typeof checked === "number") return checked
      const service = JobCommand.serviceAt(args.rate, http)
      if (args.dryRun) {
        const { result } = yield* Job.execute(
          args,
          io,
          service,
          undefined,
          (hooks) => StoreJobs.planSync(checked.input.ids, { ...stock, stopWhen: hooks.stopWhen, abortWhen: hooks.abortWhen }),
          false
        )
        if (result._tag === "Left") {
          return result.left._tag === "SyncStoppedError" ? stopped(io, result.left) : Io.fail(io, Job.failure(result.left, stock, CHECK))
        }
        const plan = result.right
        if (args.json) io.out.write(JSON.stringify({ dryRun: true, plan }, null, 2) + "\n")
        human.write(Job.planLines(plan))
        const guarded = yield* Effect.either(StoreJobs.checkPlan(plan, args.maxRemovals))
        if (guarded._tag === "Left") return Io.fail(io, Job.failure(guarded.left, stock, CHECK))
        human.write(`dry run: the listing was walked (${Output.plural(plan.listingRequests, "request")}); nothing was changed\n`)
        // The sync would leave them out and exit 2: the dry run says so, and exits so.
        const invalid = plan.desired.invalid.length
        if (invalid === 0) return 0
        human.write(NextStep.invalidDesiredStep(invalid, NextStep.idFlags(stock)))
        return 2
      }
      const { result } = yield* Job.execute(args, io, service, undefined, (hooks) =>
        StoreJobs.syncStores(checked.input.ids, {
          ...stock,
          concurrency: args.concurrency,
          preflight: args.preflight,
          verify: args.verify,
          maxRemovals: args.maxRemovals,
          journal: args.journal,
          ...hooks
        }), args.journal !== undefined, args.journal)
      if (result._tag === "Left") {
        return result.left._tag === "SyncStoppedError"
          ? stopped(io, result.left)
          : Io.fail(io, yield* Job.failureOf(result.left, stock, args.journal, CHECK))
      }
      const kept = yield* Job.publish(result.right, { ...args, keepReport: true }, io, undefined)
      return Job.exitCode({ report: result.right, kept })
    }))
  })

export const command = Program.command(
  "sync",
  {
    productCouponId: JobCommand.stockFlags.productCouponId,
    stockId: JobCommand.idFlag("stock-id", true).pipe(
      Options.withDescription("The stock (批次) whose stores become exactly --stores; its store_scope must be SPECIFIC.")
    ),
    brandId: JobCommand.stockFlags.brandId,
    stores: Program.file("stores").pipe(Options.withDescription(
      "The desired store ids: one a line, a CSV with a store_id column, or a JSON array of ids or of {\"store_id\": …}, " +
        "in UTF-8; - for standard input. Stores of the stock not in it are disassociated; stores in it not in the stock associated."
    )),
    report: JobCommand.reportFlag("job, plan, dryRun, and the associate and disassociate parts' reports"),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription(
      "Walk the stock's listing and print the plan (counts, and the first stores each way); change nothing. " +
        "Exits 1 when --max-removals would refuse the plan, 2 when a desired id is invalid (the sync would leave it out)."
    )),
    maxRemovals: Program.count("max-removals", { min: 0, what: "a whole number ≥ 0" }).pipe(
      Options.withDescription(
        `The most stores the sync may disassociate. Default: ${Output.fmt(DEFAULT_MAX_REMOVALS)}. A --stores list that ` +
          "would remove every store of the stock (an empty list, or one holding none of its stores) is refused unless " +
          "this is given and covers them all."
      ),
      Options.optional
    ),
    ...JobCommand.journalFlags,
    concurrency: JobCommand.concurrencyFlag,
    ...JobCommand.rateFlags,
    json: JobCommand.jsonFlag,
    ...JobCommand.checkFlags
  },
  (a) =>
    Effect.gen(function*() {
      yield* JobCommand.checkRate(a)
      const { http, io } = yield* Program.CliContext
      const journal = yield* JobCommand.journalOf(a, io)
      return yield* sync({
        productCouponId: a.productCouponId,
        stockId: a.stockId,
        brandId: a.brandId,
        stores: a.stores,
        report: a.report._tag === "Some" ? a.report.value : undefined,
        dryRun: a.dryRun,
        maxRemovals: a.maxRemovals._tag === "Some" ? a.maxRemovals.value : undefined,
        journal: a.dryRun ? undefined : journal,
        concurrency: a.concurrency,
        rate: a.rate,
        json: a.json,
        preflight: a.preflight,
        verify: a.verify
      }, io, http)
    })
).pipe(Program.withHelp(
  "Makes a product-coupon stock's stores exactly the list in --stores: walks the stock's listing once, associates the " +
    "stores missing from it and disassociates the stores not in the list (associate first), and reports both parts. " +
    `A plan that would remove more than --max-removals stores (default ${Output.fmt(DEFAULT_MAX_REMOVALS)}), or every ` +
    "store of the stock (an empty list, or one holding none of its stores), is refused before anything but the listing is sent. The sync keeps a journal " +
    "(see --journal): `wechatpay-stores resume JOURNAL` finishes it after a crash, `wechatpay-stores undo REPORT` puts " +
    "the stock back. Credentials come from the WECHATPAY_* variables.\n\n" +
    "Exit codes: 0 both parts succeeded for every store (or a dry run of such a plan); 2 some failed or are unresolved, " +
    "a desired id is invalid (the stock cannot hold it), or the sync was cut short; 1 it could not run (flags, configuration, input, the --max-removals guard, the stock check: nothing was changed).",
  [
    "wechatpay-stores sync --product-coupon-id 200000001 --stock-id 123456789 --brand-id 120344 --stores desired.csv --dry-run",
    "wechatpay-stores sync --product-coupon-id 200000001 --stock-id 123456789 --brand-id 120344 --stores desired.csv",
    "wechatpay-stores sync … --stores desired.csv --max-removals 5000   (the plan removes up to 5,000 stores)"
  ]
))
