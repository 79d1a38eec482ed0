/**
 * `wechatpay-stores list`: every store associated with a stock (查询批次关联门店列表),
 * following the listing's cursor page by page (each page one rate-limited, retried,
 * verified call), one id a line on stdout, or into a file as text, CSV or JSON.
 * A file is written to a temporary file beside it and renamed only once the whole
 * listing is in: a listing that fails part-way never leaves a partial file.
 * On standard output each page is written before the next is fetched: when the reader
 * goes away (`list | head -1`, EPIPE) no further page is asked for, and the command
 * exits quietly with 141, as a Unix tool killed by SIGPIPE does in a shell.
 */
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Layer, Stream } from "effect"
import { ProductCouponStores } from "effect-wechatpay"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Call from "../Call.js"
import * as Io from "../Io.js"
import * as JournalFile from "../JournalFile.js"
import * as JobCommand from "../JobCommand.js"
import * as Output from "../Output.js"
import * as Program from "../Program.js"
import * as WriteProblem from "../WriteProblem.js"

export interface Args {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  /** The file to write, or undefined for standard output. */
  readonly output: string | undefined
}

/** How the ids are written: one a line, a CSV with a `store_id` header, or a JSON array of strings. */
export type Format = "lines" | "csv" | "json"

/** The format a file's extension asks for (anything but .csv and .json: one id a line). */
export const formatOf = (path: string): Format => {
  const ext = Path.extname(path).toLowerCase()
  return ext === ".csv" ? "csv" : ext === ".json" ? "json" : "lines"
}

/** A CSV field, quoted when it must be. */
const csvField = (value: string): string => /[",\r\n]/.test(value) ? `"${value.replaceAll("\"", "\"\"")}"` : value

/** The text for a page of ids, in `format`; `first` tells whether any id came before. */
const encode = (format: Format, ids: ReadonlyArray<string>, first: boolean): string => {
  switch (format) {
    case "lines":
      return ids.map((id) => `${id}\n`).join("")
    case "csv":
      return ids.map((id) => `${csvField(id)}\n`).join("")
    case "json":
      return ids.map((id, i) => `${first && i === 0 ? "" : ",\n"}  ${JSON.stringify(id)}`).join("")
  }
}

const HEAD: Readonly<Record<Format, string>> = { lines: "", csv: "store_id\n", json: "[\n" }
const TAIL = (format: Format, count: number): string => format === "json" ? (count === 0 ? "]\n" : "\n]\n") : ""

/** Why writing the file failed, and what to do about it. */
const why = (e: unknown): string => WriteProblem.describe(e, "--output")

/** Standard output failed while the ids were written to it: why ("EPIPE", "ENOSPC", …). */
class OutputFailed {
  constructor(readonly code: string) {}
}


/** Where the ids go while the listing runs, and what makes them final. */
interface Writer {
  readonly write: (text: string) => Effect.Effect<void, string | OutputFailed>
  /** The listing is complete: make the output what the file says it is. */
  readonly commit: Effect.Effect<void, string | OutputFailed>
  /** The listing failed: leave nothing that looks complete. */
  readonly discard: Effect.Effect<void>
}

/** Standard output: each write waits until the OS has taken it, so a reader that went away is known before the next page. */
const stdoutWriter = (io: Io.Io): Writer => {
  const sink = io.out
  return {
    write: (text) =>
      sink.writeWaiting === undefined
        ? Effect.sync(() => sink.write(text))
        : Effect.flatMap(sink.writeWaiting(text), (failed) => failed === undefined ? Effect.void : Effect.fail(new OutputFailed(failed))),
    commit: Effect.flatMap(Io.failureOf(sink), (failed) => failed === undefined ? Effect.void : Effect.fail(new OutputFailed(failed))),
    discard: Effect.void
  }
}

/** What of a job's record `path` holds, if anything: a journal, a journal's lock file, or a report the CLI wrote. */
const recordAt = async (path: string, exists: boolean): Promise<string | undefined> => {
  if (await JournalFile.isJournalLock(path)) return "a journal's lock file"
  if (!exists) return undefined
  if (await JournalFile.isJournal(path)) return "a job's journal"
  // A report starts as the CLI writes it: its job first.
  const head = await Fs.open(path, "r").then(
    (h) => h.read(Buffer.alloc(256), 0, 256, 0).then(({ buffer, bytesRead }) => buffer.toString("utf8", 0, bytesRead)).finally(() => h.close()),
    () => ""
  )
  return /^\{\s*"job"\s*:\s*\{/.test(head) ? "a job's report" : undefined
}

/**
 * A file written to a temporary file in the same directory (so the rename is atomic), flushed
 * and renamed over `path` on commit, removed on discard. `path` must be a regular file or new.
 */
const fileWriter = (path: string): Effect.Effect<Writer, string> =>
  Effect.gen(function*() {
    const stat = yield* Effect.promise(() => Fs.stat(path).catch(() => undefined))
    if (stat?.isDirectory() === true) return yield* Effect.fail(`--output ${path} is a directory; name a file in it`)
    if (stat !== undefined && !stat.isFile()) {
      return yield* Effect.fail(`--output ${path} is not a regular file; leave --output out to print the ids on standard output`)
    }
    // The record of a job is never replaced by a listing: its journal, the journal's lock, its report.
    const record = yield* Effect.promise(() => recordAt(path, stat !== undefined))
    if (record !== undefined) {
      const harm = stat === undefined ? "a listing there would keep every run of the journal out" : "the listing would replace it"
      return yield* Effect.fail(`--output ${path} is ${record}: ${harm}; give --output another path`)
    }
    // A symbolic link keeps pointing where it did: the file it names is replaced, not the link.
    const target = stat === undefined ? Path.resolve(path) : yield* Effect.promise(() => Fs.realpath(path))
    const temp = Path.join(Path.dirname(target), `.${Path.basename(target)}.${process.pid}.${Date.now()}.tmp`)
    const handle = yield* Effect.tryPromise({ try: () => Fs.open(temp, "wx"), catch: (e) => `cannot write ${path}: ${why(e)}` })
    let closed = false
    const close = Effect.promise(async () => {
      if (closed) return
      closed = true
      await handle.close().catch(() => undefined)
    })
    return {
      write: (text) => Effect.tryPromise({ try: () => handle.writeFile(text), catch: (e) => `cannot write ${path}: ${why(e)}` }),
      commit: Effect.tryPromise({
        try: async () => {
          // The file replaced keeps its permissions (a 0600 list stays private).
          if (stat !== undefined) await handle.chmod(stat.mode & 0o7777)
          await handle.sync()
          closed = true
          await handle.close()
          await Fs.rename(temp, target)
        },
        catch: (e) => `cannot write ${path}: ${why(e)}`
      }),
      discard: Effect.zipRight(close, Effect.promise(() => Fs.rm(temp, { force: true }).catch(() => undefined)))
    } satisfies Writer
  })

/** Standard output failed during the listing (see {@link Io.outputFailed}). */
const outputFailed = (io: Io.Io, code: string, read: string): number => Io.outputFailed(io, code, ` ${read}; the listing was abandoned`)

/** What the first Ctrl-C during a listing exits with. */
export const STOPPED = 130

/** The command itself; exported for the tests. */
export const list = (args: Args, io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  Effect.scoped(Effect.gen(function*() {
    const closed = args.output === undefined ? Io.closedOutput(io, "pass --output FILE, or redirect it to a file or a pipe") : undefined
    if (closed !== undefined) return Io.fail(io, closed)
    const format: Format = args.output === undefined ? "lines" : formatOf(args.output)
    const opened = args.output === undefined ? Effect.succeed(stdoutWriter(io)) : fileWriter(args.output)
    const writer = yield* Effect.either(opened)
    if (writer._tag === "Left") return Io.fail(io, writer.left)
    const out = writer.right
    // Whatever ends the command before the commit (a failure, a stop, an interruption) removes the temporary file.
    let committed = false
    yield* Effect.addFinalizer(() => committed ? Effect.void : out.discard)
    let count = 0
    let pages = 0
    let writeFailure: string | undefined
    let outputFailure: string | undefined
    const walk = (service: ProductCouponStores.Service) => {
      const page: ProductCouponStores.Service["listAssociatedStores"] = (input) =>
        Effect.tap(service.listAssociatedStores(input), () => Effect.sync(() => void pages++))
      const ids = ProductCouponStores.associatedStoresOf(page)({
        productCouponId: args.productCouponId,
        stockId: args.stockId,
        brandId: args.brandId
      })
      return Effect.zipRight(
        out.write(HEAD[format]),
        Stream.runForEachChunk(ids, (chunk) => {
          const text = encode(format, [...chunk], count === 0)
          return Effect.map(out.write(text), () => void (count += chunk.length))
        })
      ).pipe(
        // A write that fails ends the walk (no further page is fetched); it is said as the output's problem, not WeChat Pay's.
        Effect.catchIf((e): e is string => typeof e === "string", (e) => Effect.sync(() => void (writeFailure = e))),
        Effect.catchIf((e): e is OutputFailed => e instanceof OutputFailed, (e) => Effect.sync(() => void (outputFailure = e.code))),
        Effect.as("listed" as const),
        Effect.raceFirst(Effect.as(io.stop ?? Effect.never, "stopped" as const))
      )
    }
    const result = yield* Call.withService(http, args, walk)
    const where = args.output === undefined ? "" : `; ${args.output} was not written`
    const read = `after ${Output.plural(count, "store id")} (${Output.plural(pages, "page")})`
    if (result._tag === "Left") {
      const printed = args.output === undefined && count > 0 ? `; the ${Output.plural(count, "id")} printed are incomplete` : ""
      return Io.fail(io, `listing stock ${args.stockId} failed ${read}: ${result.message}${where}${printed}`)
    }
    if (writeFailure !== undefined) return Io.fail(io, `${writeFailure} ${read}; the listing was abandoned${args.output === undefined ? "" : ` and ${args.output} was not written`}`)
    if (outputFailure !== undefined) return outputFailed(io, outputFailure, read)
    if (result.value === "stopped") {
      io.err.write(`wechatpay-stores: stopped ${read}${where}\n`)
      return STOPPED
    }
    const finished = yield* Effect.either(Effect.zipRight(out.write(TAIL(format, count)), out.commit))
    if (finished._tag === "Left") {
      const e = finished.left
      if (e instanceof OutputFailed) return outputFailed(io, e.code, read)
      return Io.fail(io, `${e}${args.output === undefined ? "" : `; ${args.output} was not written`}`)
    }
    committed = true
    io.err.write(
      `${Output.plural(count, "store")} associated with stock ${args.stockId} (${Output.plural(pages, "page")})` +
        `${args.output === undefined ? "" : `, written to ${args.output}`}\n`
    )
    return 0
  }))

export const command = Program.command(
  "list",
  {
    productCouponId: JobCommand.stockFlags.productCouponId,
    stockId: JobCommand.idFlag("stock-id", true).pipe(Options.withDescription("The stock (批次) whose associated stores to list.")),
    brandId: JobCommand.stockFlags.brandId,
    output: Program.file("output").pipe(
      Options.withDescription(
        "Write the ids to FILE instead of standard output: FILE.csv a CSV with a store_id header, FILE.json a JSON " +
          "array of strings, any other name one id a line. Written to a temporary file and renamed when the listing " +
          "is complete, so a listing that fails never leaves a partial FILE. Default: standard output, one id a line."
      ),
      Options.optional
    )
  },
  (a) =>
    Effect.flatMap(Program.CliContext, ({ http, io }) =>
      list({
        productCouponId: a.productCouponId,
        stockId: a.stockId,
        brandId: a.brandId,
        output: a.output._tag === "Some" ? a.output.value : undefined
      }, io, http))
).pipe(Program.withHelp(
  "Lists every store associated with a stock (查询批次关联门店列表), following the listing page by page " +
    `(${ProductCouponStores.DEFAULT_RATE_LIMIT.limit} requests a second at most, each page retried as the library retries). ` +
    "The ids go to standard output one a line, or to --output; the count goes to standard error.\n\n" +
    "Exit codes: 0 the whole listing was read; 1 it could not be (configuration, or a page failed: the message says how many " +
    "ids were read; --output is then not written, and ids already printed on standard output are incomplete); 130 stopped by Ctrl-C; " +
    "141, with nothing printed, when standard output's reader went away (list … | head): no further page is fetched.",
  [
    `wechatpay-stores list --product-coupon-id 200000001 --stock-id 123456789 --brand-id 120344 > stores.txt`,
    `wechatpay-stores list … --output stores.csv`,
    `wechatpay-stores list … --output stores.json`
  ]
))
