/**
 * The job commands, `disassociate` and `associate`: the same flags, checks, dry run,
 * progress, report, signals and exit codes; they differ only in the operation
 * (which library job runs, see Operation.ts) and the words of their help.
 */
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Either, Layer, type Option } from "effect"
import * as Path from "node:path"
import * as NodeFs from "node:fs"
import { ProductCoupon, ProductCouponStores } from "effect-wechatpay"
import * as Environment from "./Environment.js"
import * as InputCheck from "./InputCheck.js"
import * as Io from "./Io.js"
import * as Job from "./Job.js"
import * as Operation from "./Operation.js"
import * as Output from "./Output.js"
import * as Program from "./Program.js"
import * as Report from "./Report.js"
import * as StoreFile from "./StoreFile.js"

/** WeChat Pay's documented limit for this endpoint, requests a second. */
export const DOCUMENTED_RATE = ProductCouponStores.DEFAULT_RATE_LIMIT.limit

export const DEFAULT_CONCURRENCY = 4

/** The lists of a report that `--select` may take. */
const REPORT_LISTS: ReadonlyArray<StoreFile.ReportList> = ["failed", "unresolved", "succeeded"]

export interface Args {
  readonly productCouponId: string
  /** The stock, or (`stockBundleId`) the bundle whose every stock the job changes: exactly one. */
  readonly stockId?: string | undefined
  readonly stockBundleId?: string | undefined
  readonly brandId: string
  readonly stores: string
  readonly report: string | undefined
  readonly dryRun: boolean
  readonly concurrency: number
  readonly rate: number
  /** Run (and report) a job of zero ids instead of refusing empty input. */
  readonly allowEmpty?: boolean | undefined
  /** The library's stock check before anything is sent: on unless false (`--no-preflight`). */
  readonly preflight?: boolean | undefined
  /** Settle unresolved stores by walking the stock's listing once after the job: on unless false (`--no-verify`). */
  readonly verify?: boolean | undefined
  /** The report on stdout instead of the summary table. */
  readonly json?: boolean | undefined
  /** The lists to take when `stores` is a report (default: failed and unresolved). */
  readonly select?: ReadonlyArray<StoreFile.ReportList> | undefined
  /**
   * Journal the job there (the library's `StoreJobs` job, which `resume` finishes after a crash);
   * undefined runs the `BulkStores` job alone. The command line journals unless `--no-journal`.
   */
  readonly journal?: string | undefined
  /** With a journal, walk the stock's listing before the first call (see `--snapshot`): off unless true. */
  readonly snapshot?: boolean | undefined
}

/**
 * What a dry run whose input holds invalid ids exits with: the job's own code when stores fail,
 * since the job would fail every one of them whatever WeChat Pay answers for the rest.
 */
export const DRY_RUN_INVALID = 2

/** The job itself; exported for the tests, which pass their own transport. */
export const runJob = (
  operation: Operation.Operation,
  args: Args,
  io: Io.Io,
  http: Layer.Layer<HttpClient.HttpClient>
): Effect.Effect<number> =>
  Effect.gen(function*() {
    const refused = yield* preconditions(io, {
      report: args.report,
      journal: args.dryRun ? undefined : args.journal,
      protect: inputProtected(args.stores)
    })
    if (refused !== undefined) return refused
    const options = { rateLimit: { limit: args.rate } }
    const service = serviceAt(args.rate, http)
    if (args.dryRun) {
      // Building the layer checks every variable and parses the keys; nothing is sent.
      const configured = yield* Layer.build(ProductCouponStores.layerConfig(options).pipe(Layer.provide(http))).pipe(Effect.scoped, Effect.either)
      if (configured._tag === "Left") return Io.fail(io, `configuration: ${configured.left.message}`)
      const checked = yield* Effect.scoped(InputCheck.checkInput(args.stores, io, {
        rereadable: false,
        allowEmpty: args.allowEmpty === true,
        select: args.select,
        notesTo: args.json === true ? io.err : io.out
      }))
      if (typeof checked === "number") return checked
      const p = checked.plan
      const plan = {
        input: p.input,
        unique: p.unique,
        duplicates: p.duplicates,
        invalid: p.invalid,
        calls: p.calls,
        maxStoresPerCall: Operation.MAX_CHUNK,
        rate: args.rate,
        notes: checked.notes
      }
      // The job would fail every invalid id (INVALID_STORE_ID) and exit 2: the dry run says so, and exits so.
      const invalid = p.invalid.length === 0
        ? undefined
        : `job would fail the ${Output.plural(p.invalid.length, "invalid id")} (INVALID_STORE_ID, exit ${DRY_RUN_INVALID}): ` +
          `fix or remove ${p.invalid.length === 1 ? "it" : "them"} in ${checked.input.source}`
      if (args.json === true) {
        io.out.write(JSON.stringify({ dryRun: plan }, null, 2) + "\n")
        if (invalid !== undefined) io.err.write(`dry run: the ${invalid}\n`)
        return invalid === undefined ? 0 : DRY_RUN_INVALID
      }
      io.out.write(
        `dry run: ${Output.plural(p.input, "id")}, ${Output.fmt(p.unique)} unique, ${Output.plural(p.duplicates, "duplicate")}, ` +
          `${Output.fmt(p.invalid.length)} invalid; would make ${Output.plural(p.calls, "call")} of at most ` +
          `${Operation.MAX_CHUNK} stores at up to ${args.rate}/s. Nothing was sent.${invalid === undefined ? "" : ` The ${invalid}.`}\n`
      )
      for (const bad of p.invalid.slice(0, 20)) io.out.write(`  invalid: ${Output.quoted(bad.storeId)}: ${Output.oneLine(bad.message)}\n`)
      if (p.invalid.length > 20) io.out.write(`  …and ${Output.fmt(p.invalid.length - 20)} more invalid\n`)
      return invalid === undefined ? 0 : DRY_RUN_INVALID
    }
    // Read and check the whole input before sending anything: a malformed line 20,000 must not
    // stop a job half-way with no report. The job then reads the input again: a regular file
    // from its descriptor, anything else from the spool the check wrote.
    return yield* Effect.scoped(Effect.gen(function*() {
      const checked = yield* InputCheck.checkInput(args.stores, io, {
        rereadable: true,
        allowEmpty: args.allowEmpty === true,
        select: args.select,
        notesTo: args.json === true ? io.err : io.out
      })
      if (typeof checked === "number") return checked
      if (checked.plan.input === 0) {
        (args.json === true ? io.err : io.out).write(`no store ids in ${checked.input.source}; nothing to send (--allow-empty)\n`)
      }
      const finished = yield* Job.run(
        {
          operation,
          productCouponId: args.productCouponId,
          stockId: args.stockId,
          stockBundleId: args.stockBundleId,
          brandId: args.brandId,
          concurrency: args.concurrency,
          rate: args.rate,
          report: args.report,
          json: args.json === true,
          keepReport: true,
          preflight: args.preflight !== false,
          verify: args.verify !== false,
          journal: args.journal,
          snapshot: args.snapshot === true
        },
        io,
        service,
        checked.input.ids,
        checked.plan.unique
      )
      return typeof finished === "string" ? Io.fail(io, finished) : Job.exitCode(finished)
    }))
  })

/**
 * What every job command checks before it reads or sends anything: the configuration, that the report can
 * be written, and that the journal's path is free (a new job never writes over another job's journal).
 * Gives the exit code when the command may not run.
 */
export const preconditions = (
  io: Io.Io,
  paths: {
    readonly report?: string | undefined
    readonly journal?: string | undefined
    /** Files the report must not replace besides the journal: the input, the journal resumed, the source undone. */
    readonly protect?: ReadonlyArray<Report.Protected> | undefined
  }
): Effect.Effect<number | undefined> =>
  Effect.gen(function*() {
    const missing = yield* Environment.problem
    if (missing !== undefined) return Io.fail(io, `configuration: ${missing}`)
    // The journal's path, progress, the summary and where the report went are printed there: a job run blind.
    const closed = Io.closedOutput(io, "redirect it to a file (> job.log), or to /dev/null to discard it")
    if (closed !== undefined) return Io.fail(io, closed)
    if (paths.report !== undefined) {
      const journal = paths.journal === undefined ? [] : [{ path: paths.journal, what: "the job's journal (--journal)" }]
      const writable = yield* Effect.either(Report.checkReportPath(paths.report, [...journal, ...(paths.protect ?? [])]))
      if (writable._tag === "Left") return Io.fail(io, writable.left)
    }
    if (paths.journal !== undefined) {
      // The file a command works from, or its lock: never the new journal (whose message would say to resume it).
      for (const p of paths.protect ?? []) {
        for (const [path, what] of [[p.path, p.what], [`${p.path}.lock`, `the lock file of ${p.what}`]] as const) {
          if (yield* Effect.promise(() => Report.sameFile(paths.journal!, path))) {
            return Io.fail(io, `--journal ${paths.journal} is ${what}: give --journal the path of a new file`)
          }
        }
      }
      const free = yield* Effect.either(Report.checkJournalPath(paths.journal))
      if (free._tag === "Left") return Io.fail(io, free.left)
    }
    return undefined
  })

/**
 * The input file as a file the report must not replace. Standard input is one when the shell redirected a
 * file into it (`--stores - < ids.txt`): `/dev/stdin` names that file.
 */
export const inputProtected = (stores: string): ReadonlyArray<Report.Protected> =>
  stores !== "-"
    ? [{ path: stores, what: "the job's input (--stores)" }]
    : stdinIsFile()
    ? [{ path: "/dev/stdin", what: "the job's input (--stores -, redirected from that file)" }]
    : []

const stdinIsFile = (): boolean => {
  try {
    return NodeFs.fstatSync(0).isFile()
  } catch {
    return false
  }
}

/** The service a job runs against: the `WECHATPAY_*` configuration at `rate` requests a second, sending through a transport the monitor watches (for the progress line). */
export const serviceAt = (rate: number, http: Layer.Layer<HttpClient.HttpClient>): Job.ServiceLayer => (monitor) =>
  ProductCouponStores.layerConfig({ rateLimit: { limit: rate } }).pipe(Layer.provide(monitor.http(http)))

/** `--report FILE`: where the JSON report goes (`holds`: what it holds). */
export const reportFlag = (holds: string) =>
  Program.file("report").pipe(
    Options.withDescription(
      `Where to write the JSON report (${holds}). ` +
        "Default: wechatpay-stores-report-<time>-<pid>.json in the working directory."
    ),
    Options.optional
  )

/** `--concurrency N`. */
export const concurrencyFlag = Program.wholeNumber("concurrency", { min: 1, what: "a whole number ≥ 1", fallback: DEFAULT_CONCURRENCY }).pipe(
  Options.withDescription(`Calls in flight at once. Default: ${DEFAULT_CONCURRENCY}.`)
)

/** `--rate N` and `--allow-over-limit`. */
export const rateFlags = {
  rate: Program.wholeNumber("rate", { min: 1, what: "a whole number of requests a second ≥ 1", fallback: DOCUMENTED_RATE }).pipe(
    Options.withDescription(
      `Requests a second, retries included. Default: ${DOCUMENTED_RATE}, WeChat Pay's documented limit; ` +
        `above it needs --allow-over-limit.`
    )
  ),
  allowOverLimit: Options.boolean("allow-over-limit").pipe(Options.withDescription(
    `Allow --rate above the documented ${DOCUMENTED_RATE}/s (WeChat Pay answers the excess with 429, which is retried).`
  ))
}

/** A `--rate` above the documented limit needs `--allow-over-limit`. */
export const checkRate = (a: { readonly rate: number; readonly allowOverLimit: boolean }): Effect.Effect<void, Program.UsageError> =>
  a.rate > DOCUMENTED_RATE && !a.allowOverLimit
    ? Effect.fail(
      new Program.UsageError({
        message: `--rate ${a.rate} is above WeChat Pay's documented limit of ${DOCUMENTED_RATE} requests a second; ` +
          `pass --allow-over-limit to send that fast anyway`
      })
    )
    : Effect.void

/** `--json`. */
export const jsonFlag = Options.boolean("json").pipe(Options.withDescription(
  "Print the report as JSON on standard output instead of the table (progress and the table go to stderr)."
))

/** A coupon, stock or brand id flag, checked as the library checks it (path segments must be safe in a URL). */
export const idFlag = (name: string, inPath: boolean) =>
  Program.text(name, "ID").pipe(
    Options.mapEffect((value) => {
      const problem = ProductCoupon.idProblem(value) ?? (inPath ? ProductCoupon.pathSegmentProblem(value) : undefined)
      return problem === undefined ? Effect.succeed(value) : Effect.fail(Program.invalid(`--${name} ${problem}`))
    })
  )

/** The flags every command about one stock takes: the coupon, the stock and the brand. */
export const stockFlags = {
  productCouponId: idFlag("product-coupon-id", true).pipe(Options.withDescription("The product coupon (商品券) the stock belongs to.")),
  brandId: idFlag("brand-id", false).pipe(Options.withDescription("The brand the stock and its stores belong to."))
}

/** What a job's --stock-id or --stock-bundle-id names: one stock, or a bundle (the job then changes every stock of it). */
export const target = (stock: Either.Either<string, string>): { readonly stockId?: string; readonly stockBundleId?: string } =>
  Either.isRight(stock) ? { stockBundleId: stock.right } : { stockId: stock.left }

/**
 * A check that is on unless `--no-<name>` is given (`--<name>` is accepted too and changes nothing).
 * @effect/cli's negation gives the flag's default as `!ifPresent`, so the option is spelled from its
 * `--no-` side: present means off, absent means on.
 */
const onByDefault = (name: string, description: string): Options.Options<boolean> =>
  Options.boolean(`no-${name}`, { ifPresent: false, negationNames: [name] }).pipe(Options.withDescription(description))

/** `--journal FILE` and `--no-journal`: where a job records its calls, or that it records none. */
export const journalFlags = {
  journal: Program.file("journal").pipe(
    Options.withDescription(
      "Where to write the job's journal: every call before it is sent and every outcome after it settles, " +
        "flushed as the job goes, so that `wechatpay-stores resume FILE` finishes the job after a crash. It must not exist. " +
        "Default: wechatpay-stores-journal-<time>-<pid>.jsonl in the working directory, printed once it is created, before the first call."
    ),
    Options.optional
  ),
  noJournal: Options.boolean("no-journal").pipe(Options.withDescription(
    "Keep no journal: the job's record is in memory only, and a crash loses what it did (its report is still written when it ends)."
  ))
}

/**
 * Where a command's job keeps its journal: `--journal`, else a default file in the working
 * directory; undefined with `--no-journal`. Both given is a usage error.
 */
export const journalOf = (
  a: { readonly journal: Option.Option<string>; readonly noJournal: boolean },
  io: Io.Io
): Effect.Effect<string | undefined, Program.UsageError> => {
  if (a.noJournal && a.journal._tag === "Some") {
    return Effect.fail(new Program.UsageError({ message: "--journal and --no-journal cannot both be given; pass one of them" }))
  }
  if (a.noJournal) return Effect.succeed(undefined)
  // Absolute, so that the resume and undo advice printed and kept in the report works from any directory.
  return Effect.succeed(Path.resolve(Io.workingDirectory(io), a.journal._tag === "Some" ? a.journal.value : Report.defaultJournalName()))
}

/** `--snapshot`: a journaled stock job's listing walk before its first call, off by default. */
export const snapshotFlag = Options.boolean("snapshot", { negationNames: ["no-snapshot"] }).pipe(Options.withDescription(
  "With a journal: walk the stock's listing once before the first call and record the stores already in the state " +
    "asked for (the report's alreadyDone); they are sent all the same, and `wechatpay-stores undo` leaves them as " +
    "they were. It costs one request per 200 stores of the stock, whatever the job's size. Default: off (an undo " +
    "then reverses every succeeded store); --no-snapshot is accepted and changes nothing. A bundle has no listing."
))

/** The library's checks around a job, each on unless `--no-…` (`--preflight`/`--verify` are accepted and change nothing). */
export const checkFlags = {
  preflight: onByDefault("preflight",
    "Query the stock first (one request) and send nothing when its store_scope is not SPECIFIC, it is STOPPED or " +
      "DEACTIVATED, or its available period is over; a query that gets no usable answer does not block the job " +
      "(the report says it was skipped). Default: on; --no-preflight turns it off."),
  verify: onByDefault("verify",
    "When stores end unresolved (and the job was not stopped), walk the stock's listing once: a store it shows done " +
      "is settled as succeeded (summary.settledByListing), any other is sent once more. Default: on; --no-verify turns it off.")
}

/** A job command (`disassociate`, `associate`): its flags, help and handler. */
export const make = <const Name extends Operation.Operation>(operation: Name) => Program.command(
  operation,
  {
    productCouponId: stockFlags.productCouponId,
    stock: Options.orElseEither(
      idFlag("stock-id", true).pipe(
        Options.withDescription(`The stock (批次) to ${Operation.words[operation].verbPhrase}; its store_scope must be SPECIFIC.`)
      ),
      idFlag("stock-bundle-id", true).pipe(
        Options.withDescription(
          "A stock bundle (批次组), instead of --stock-id: the job changes every stock of the bundle at once. " +
            "There is no stock check before it and no listing after it (WeChat Pay has neither for a bundle)."
        )
      )
    ),
    brandId: idFlag("brand-id", false).pipe(Options.withDescription("The brand the stores belong to.")),
    stores: Program.file("stores").pipe(Options.withDescription(
      "The store ids: one a line, a CSV with a store_id column, or a JSON array of ids or of {\"store_id\": …}, in UTF-8; " +
        "- (or /dev/stdin, a FIFO, <(…)) for standard input; or a report this CLI wrote (see --select)."
    )),
    report: reportFlag("job, summary, succeeded, failed, unresolved, anomalies"),
    dryRun: Options.boolean("dry-run").pipe(Options.withDescription(
      "Check the configuration and every id, print the plan, send nothing. Exits 2 when an id is invalid, as the job would."
    )),
    concurrency: concurrencyFlag,
    ...rateFlags,
    select: Program.text("select", "LISTS").pipe(
      Options.mapEffect((value) => {
        const lists = value.split(",").map((list) => list.trim())
        const bad = lists.find((list) => !(REPORT_LISTS as ReadonlyArray<string>).includes(list))
        return bad === undefined
          ? Effect.succeed(lists as ReadonlyArray<StoreFile.ReportList>)
          : Effect.fail(Program.invalid(`--select takes ${REPORT_LISTS.join(", ")} (comma-separated), got "${bad}"`))
      }),
      Options.withDescription(
        "When --stores is a report this CLI wrote: which of its lists to take, comma-separated. " +
          `Default: ${StoreFile.DEFAULT_SELECT.join(",")} (the stores that still need doing).`
      ),
      Options.optional
    ),
    ...checkFlags,
    snapshot: snapshotFlag,
    allowEmpty: Options.boolean("allow-empty").pipe(Options.withDescription("Run (and report) a job of zero ids instead of refusing empty input.")),
    ...journalFlags,
    json: jsonFlag
  },
  (a) =>
    Effect.gen(function*() {
      yield* checkRate(a)
      const { http, io } = yield* Program.CliContext
      const journal = yield* journalOf(a, io)
      if (a.snapshot && a.noJournal && !a.dryRun) {
        // Only a journaled job takes one: asked for and silently skipped, the undo would not be what was asked.
        return yield* new Program.UsageError({ message: "--snapshot needs the job's journal; drop --no-journal" })
      }
      return yield* runJob(operation, {
        productCouponId: a.productCouponId,
        ...target(a.stock),
        brandId: a.brandId,
        stores: a.stores,
        report: a.report._tag === "Some" ? a.report.value : undefined,
        dryRun: a.dryRun,
        concurrency: a.concurrency,
        rate: a.rate,
        allowEmpty: a.allowEmpty,
        preflight: a.preflight,
        verify: a.verify,
        json: a.json,
        select: a.select._tag === "Some" ? a.select.value : undefined,
        journal: a.dryRun ? undefined : journal,
        snapshot: a.snapshot
      }, io, http)
    })
).pipe(Program.withHelp(
  `${Operation.words[operation].does}, 200 a call, and reports every store as succeeded, ` +
    "failed or unresolved. Credentials come from the WECHATPAY_* variables.\n\n" +
    "The job keeps a journal (see --journal) and prints where: after a crash, a kill or a power cut, " +
      "`wechatpay-stores resume JOURNAL` finishes it without sending any store twice, and " +
      "`wechatpay-stores undo REPORT` puts back what it changed.\n\n" +
      "Exit codes: 0 every store succeeded; 2 some failed or are unresolved, or the job was cut short; 1 it could not run " +
      "(flags, configuration, input, a journal already at --journal, or a stock the preflight refused: nothing was sent). " +
      "A --dry-run exits as the job would for what it can know without sending: 2 when an id is invalid (the job would " +
      "fail it), else 0.",
  [
    `wechatpay-stores ${operation} --product-coupon-id 200000001 --stock-id 123456789 --brand-id 120344 --stores stores.csv`,
    `wechatpay-stores ${operation} … --stores stores.txt --dry-run`,
    `wechatpay-stores ${operation} … --stores last-report.json   (again, for its failed and unresolved stores)`,
    `wechatpay-stores ${operation} … --stores stores.csv --journal job.jsonl   (then, after a crash: wechatpay-stores resume job.jsonl)`
  ]
))
