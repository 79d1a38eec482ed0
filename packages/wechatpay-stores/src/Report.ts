/**
 * The record of a job, and never losing it: the report's `job` header, the
 * checks before a job that the report can be written, the atomic write, and
 * where it goes when `--report` was not given or cannot be written.
 */
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { StoreJobs } from "effect-wechatpay"
import * as Io from "./Io.js"
import * as JournalFile from "./JournalFile.js"
import * as WriteProblem from "./WriteProblem.js"

/**
 * What a report says about the job it records (`job`, before the lists): the library's
 * `StoreJobs.JobInfo` (operation, coupon, stock or bundle, brand, a job id, start and end,
 * the journal and the runs), which a journaled job writes itself and the CLI fills in for a
 * job run without a journal.
 */
export type JobHeader = StoreJobs.JobInfo

/** A job's report as the CLI writes it: the job, then the library's report unchanged. */
export type JobReport = StoreJobs.JobReport

/** A sync's report: the job, the plan, and both parts' reports. */
export type SyncReport = StoreJobs.SyncReport

/** What `resume` and `undo` write: the report of the kind of job they finished. */
export type AnyReport = StoreJobs.AnyReport

/** Whether a report is a sync's (it has a plan and two parts). */
export const isSync = (report: AnyReport): report is SyncReport => "plan" in report

/** A fresh job id. */
export const jobId = (): string => randomUUID()

/** One line for a report path that cannot be written: what its errno means, and what to do. */
const reportFailure = (path: string, cause: unknown): string =>
  `cannot write the report to ${path}: ${cause instanceof Error ? WriteProblem.describe(cause, "--report") : "not writable"}`

/** A file the report must never replace (the job's journal, its input), and what it is, for the message. */
export interface Protected {
  readonly path: string
  readonly what: string
}

/** Whether the two paths name one file: the same inode when both exist, else the same absolute path. */
export const sameFile = async (a: string, b: string): Promise<boolean> => {
  const [sa, sb] = await Promise.all([Fs.stat(a).catch(() => undefined), Fs.stat(b).catch(() => undefined)])
  return sa !== undefined && sb !== undefined ? sa.dev === sb.dev && sa.ino === sb.ino : Path.resolve(a) === Path.resolve(b)
}

/** A failure of the checks that is already the line to print. */
class Refused {
  constructor(readonly line: string) {}
}

/**
 * Checks, before anything is sent, that the report can be written: finding out
 * after a 30,000-store job that the directory does not exist loses the lists.
 * A regular file is replaced by a rename, so its directory must be writable too.
 * The report never replaces a journal (any job's, or one in `protect`) nor the job's input:
 * that would lose the record of the work done.
 */
export const checkReportPath = (path: string, protect: ReadonlyArray<Protected> = []) =>
  Effect.tryPromise({
    try: async () => {
      if (path === "") throw new Refused("--report needs a file path")
      // A link to a file not there yet is judged by where it points: the job may create that file (its journal).
      const where = await linkTarget(path)
      for (const p of protect) {
        for (const [protectedPath, what] of [[p.path, p.what], [`${p.path}.lock`, `the lock file of ${p.what}`]] as const) {
          if (await sameFile(path, protectedPath) || (where !== undefined && await sameFile(where, protectedPath))) {
            throw new Refused(`--report ${path} is ${what}: the report would replace it; give --report another path`)
          }
        }
      }
      for (const candidate of where === undefined ? [path] : [path, where]) {
        if (await JournalFile.isJournalLock(candidate)) {
          throw new Refused(`--report ${path} is a journal's lock file: the report would replace it; give --report another path`)
        }
      }
      const stat = await Fs.stat(path).catch(() => undefined)
      if (stat?.isDirectory() === true) throw Object.assign(new Error("is a directory"), { code: "EISDIR" })
      if (stat !== undefined) await Fs.access(path, Fs.constants.W_OK)
      if (stat?.isFile() === true && await JournalFile.isJournal(path)) {
        throw new Refused(`${path} is a job's journal: the report would replace it; give --report another path`)
      }
      if (stat === undefined || stat.isFile()) {
        const real = stat === undefined ? Path.resolve(path) : await Fs.realpath(path)
        const parent = await Fs.stat(Path.dirname(real))
        if (!parent.isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" })
        await Fs.access(Path.dirname(real), Fs.constants.W_OK)
      }
    },
    catch: (cause) => cause instanceof Refused ? cause.line : reportFailure(path, cause)
  })

/** Where a symbolic link at `path` points when that is not there yet (a dangling link); `undefined` otherwise. */
const linkTarget = async (path: string): Promise<string | undefined> => {
  let current = path
  // A chain of links, followed as the kernel would (it gives up after 40).
  for (let hops = 0; hops < 40; hops++) {
    const info = await Fs.lstat(current).catch(() => undefined)
    if (info === undefined || !info.isSymbolicLink()) return current === path ? undefined : current
    const next = await Fs.readlink(current).catch(() => undefined)
    if (next === undefined) return undefined
    current = Path.resolve(Path.dirname(current), next)
  }
  return undefined
}

/** A promise whose rejection is kept as it is (an errno error). */
const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, unknown> => Effect.tryPromise({ try: f, catch: (e) => e })

/** How long opening a device or pipe given as `--report` may take (a FIFO with no reader never opens). */
const OPEN_WAIT = "5 seconds"

/**
 * Writes the report. A regular file (or a new one) is written to a temporary
 * file in the same directory, flushed, then renamed over the target, so a
 * failure half-way never leaves a truncated report where a good one was. A
 * device or pipe (`/dev/stdout`, `>(gzip > r.gz)`) cannot be renamed over and
 * is written directly.
 */
export const writeReport = (path: string, text: string): Effect.Effect<void, string> =>
  Effect.gen(function*() {
    const stat = yield* Effect.promise(() => Fs.stat(path).catch(() => undefined))
    if (stat !== undefined && !stat.isFile()) {
      // A FIFO with no reader would hold a thread-pool thread in open() for good, and with it the process's exit:
      // asked first without blocking (ENXIO: nobody reads it).
      if (stat.isFIFO()) {
        const probe = yield* attempt(() => Fs.open(path, Fs.constants.O_WRONLY | Fs.constants.O_NONBLOCK)).pipe(
          Effect.mapError((e) => (e as { code?: unknown }).code === "ENXIO" ? new Error("nothing is reading it") : e)
        )
        yield* Effect.promise(() => probe.close().catch(() => undefined))
      }
      const handle = yield* attempt(() => Fs.open(path, "w")).pipe(
        Effect.timeoutFail({ duration: OPEN_WAIT, onTimeout: () => new Error("nothing is reading it") })
      )
      return yield* attempt(() => handle.writeFile(text)).pipe(
        Effect.ensuring(Effect.promise(() => handle.close().catch(() => undefined)))
      )
    }
    // A symbolic link keeps pointing where it did: the file it names is replaced, not the link.
    const target = stat === undefined ? Path.resolve(path) : yield* attempt(() => Fs.realpath(path))
    // Checked again as it is written: a link checked while it pointed at nothing may point at a journal now.
    if (stat !== undefined && (yield* Effect.promise(() => JournalFile.isJournal(target)))) {
      return yield* Effect.fail(new Error(`${target} is a job's journal`))
    }
    const temp = Path.join(Path.dirname(target), `.${Path.basename(target)}.${process.pid}.${Date.now()}.tmp`)
    yield* attempt(async () => {
      const handle = await Fs.open(temp, "wx")
      try {
        await handle.writeFile(text)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await Fs.rename(temp, target)
    }).pipe(Effect.tapError(() => Effect.promise(() => Fs.rm(temp, { force: true }).catch(() => undefined))))
  }).pipe(Effect.mapError((cause) => reportFailure(path, cause)))

/** A file name no other run uses: `wechatpay-stores-report-<time>-<pid>.json`. */
export const defaultName = (now: Date = new Date()): string =>
  `wechatpay-stores-report-${now.toISOString().replace(/[:.]/g, "-")}-${process.pid}.json`

/** The journal a job writes when no --journal is given: `wechatpay-stores-journal-<time>-<pid>.jsonl`. */
export const defaultJournalName = (now: Date = new Date()): string =>
  `wechatpay-stores-journal-${now.toISOString().replace(/[:.]/g, "-")}-${process.pid}.jsonl`

/** The one line for a journal location already taken: a new job never writes over another's record. */
export const journalExists = (path: string): string =>
  `a journal already exists at ${path}: resume it with \`wechatpay-stores resume ${path}\`, or pass another --journal`

/** Why a new job cannot have its journal at a path that exists: only a journal is to be resumed. */
const journalTaken = (
  path: string,
  found: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean; readonly size: number }
): string =>
  found.isDirectory()
    ? `${path} is a directory: pass the path of a file to create as --journal`
    : !found.isFile() && !found.isSymbolicLink()
    ? `${path} is not a regular file (a device, a FIFO or a socket): pass the path of a file to create as --journal`
    : found.isFile() && found.size === 0
    ? `the journal ${path} is empty: the job that made it stopped before it recorded anything, and nothing was sent; ` +
      "delete it, or pass another --journal"
    : journalExists(path)

/**
 * Checks, before the input is read and anything is sent, that a new job's journal location is
 * free (the library checks it again when it creates the journal, exclusively) and that its
 * directory can be written.
 */
export const checkJournalPath = (path: string): Effect.Effect<void, string> =>
  Effect.flatMap(
    Effect.promise(() => Fs.lstat(path).catch(() => undefined)),
    (found) =>
      found !== undefined
        ? Effect.flatMap(
          // Resuming is the advice only for a journal: a file of another kind (the store list given twice, say) is not one.
          Effect.promise(() => found.isFile() && found.size > 0 ? JournalFile.isJournal(path) : Promise.resolve(true)),
          (journal) =>
            Effect.fail(
              journal ? journalTaken(path, found) : `${path} exists and is not a journal: pass the path of a new file as --journal`
            )
        )
        : Effect.tryPromise({
        try: () => Fs.access(Path.dirname(Path.resolve(path)), Fs.constants.W_OK),
        catch: (cause) => `cannot create the journal ${path}: ${WriteProblem.describe(cause, "--journal")}`
      })
  )

/**
 * Writes `text` under `name` in the first of `dirs` that takes it. Gives the path,
 * or the reason each failed.
 */
const writeFirst = (dirs: ReadonlyArray<string>, name: string, text: string) =>
  Effect.gen(function*() {
    const reasons: Array<string> = []
    for (const dir of dirs) {
      const path = Path.join(dir, name)
      const written = yield* Effect.either(writeReport(path, text))
      if (written._tag === "Right") return { path, reasons }
      reasons.push(written.left)
    }
    return { path: undefined, reasons }
  })

/** Where the report went. */
export interface Kept {
  /** The file, or undefined when none could be written (the report was printed on stderr instead). */
  readonly path: string | undefined
  /** Not where `--report` asked (a fallback file, or nowhere): the exit code says something went wrong. */
  readonly misplaced: boolean
}

/**
 * Writes the report after a job, and never loses it. With `--report`, there (or, when
 * that fails, to a fallback file in the working directory, else the temporary directory,
 * which stderr names); without it, to `wechatpay-stores-report-<time>-<pid>.json` in the
 * working directory (else the temporary directory), so an operator never has to run a job
 * again to learn what it did. When no file can be written, the report is printed on stderr.
 * Output that fails never ends the job; when standard output failed, stderr says where
 * the report is, since the summary was not seen.
 */
export const keep = (options: {
  readonly asked: string | undefined
  readonly report: AnyReport
  readonly io: Io.Io
}): Effect.Effect<Kept> =>
  Effect.gen(function*() {
    const { asked, io } = options
    const text = JSON.stringify(options.report, null, 2) + "\n"
    const outFailed = yield* Io.failureOf(io.out)
    const cwd = Io.workingDirectory(io)
    const name = defaultName()
    const written = asked === undefined
      ? yield* writeFirst([cwd], name, text)
      : yield* Effect.map(Effect.either(writeReport(asked, text)), (r) =>
        r._tag === "Right" ? { path: asked, reasons: [] } : { path: undefined, reasons: [r.left] })
    if (written.path !== undefined) {
      if (outFailed !== undefined) {
        yield* Io.notice(io, `standard output failed (${outFailed}); the report is in ${written.path}`)
      }
      return { path: written.path, misplaced: false }
    }
    // Not where it should be: a fallback file (the working directory, when --report failed, then the temporary one).
    const why = written.reasons.join("; ")
    const fallback = yield* writeFirst(asked === undefined ? [Os.tmpdir()] : [cwd, Os.tmpdir()], name, text)
    if (fallback.path !== undefined) {
      yield* Io.notice(io, `${why}; the report was written to ${fallback.path} instead`)
      return { path: fallback.path, misplaced: asked !== undefined }
    }
    // Nowhere to write it: print it rather than lose the record of what was changed.
    yield* Io.notice(io, `${why}; nor to a fallback file (${fallback.reasons.join("; ")}); the report follows`)
    const sink = yield* Io.workingSink(io.err, io.out)
    sink.write(text)
    return { path: undefined, misplaced: true }
  })
