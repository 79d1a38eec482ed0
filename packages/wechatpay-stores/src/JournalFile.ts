/**
 * The files `resume` and `undo` are given, looked at before the library reads them: whether a
 * file is a report (one JSON object with `job`) or else a journal, and the stock a journal's
 * header names (for the advice of a failure before the library has a report).
 */
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import type { StoreJobs } from "effect-wechatpay"
import type * as Explain from "./Explain.js"

/** The most a journal's first line (its header) is read for, to name the stock in advice. */
const HEADER_BYTES = 64 * 1024

/** The first line of `text` as a JSON object; undefined when it is not one. */
const headerIn = (text: string): Record<string, unknown> | undefined => {
  try {
    const end = text.indexOf("\n")
    const header: unknown = JSON.parse(end < 0 ? text : text.slice(0, end))
    return typeof header === "object" && header !== null && !Array.isArray(header) ? header as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** A journal's header (its first line) as parsed JSON; undefined when the file holds no such line. */
const readHeader = async (path: string): Promise<Record<string, unknown> | undefined> => {
  try {
    // Opened, a FIFO with no writer would wait forever: only a regular file can be a journal.
    if (!(await Fs.stat(path)).isFile()) return undefined
    const handle = await Fs.open(path, "r")
    try {
      const buffer = Buffer.alloc(HEADER_BYTES)
      const { bytesRead } = await handle.read(buffer, 0, HEADER_BYTES, 0)
      return headerIn(buffer.subarray(0, bytesRead).toString("utf8"))
    } finally {
      await handle.close()
    }
  } catch {
    return undefined
  }
}

/** Whether a parsed first line is a journal's header. */
const isJournalHeader = (header: Record<string, unknown> | undefined): boolean =>
  header?.["t"] === "header" && header["format"] === "effect-wechatpay/journal"

/** Whether the file starts with a journal's header: a file no report may replace. */
export const isJournal = async (path: string): Promise<boolean> => isJournalHeader(await readHeader(path))

/**
 * Whether `path` is a journal's lock path (`<journal>.lock` beside a journal), whether or not a run holds it:
 * a file written there makes every later run of that journal refuse, as if one did.
 */
export const isJournalLock = async (path: string): Promise<boolean> =>
  path.endsWith(".lock") && await isJournal(path.slice(0, -".lock".length))

/**
 * The stock a journal is for, read from its header, for the advice of a failure before the
 * library has a report; undefined when it cannot be read (the library then says why).
 */
export const journalIds = (path: string): Effect.Effect<Explain.JobIds | undefined> =>
  Effect.promise(async () => idsIn((await readHeader(path))?.["target"]))

/**
 * The journal of the job an undo's journal says it undid (its header's `undoesJournal`): what to undo again
 * when the undo did not put every store back. Undefined when it names none (an undo taken from a report alone).
 */
export const undoneJournalOf = (path: string): Effect.Effect<string | undefined> =>
  Effect.promise(async () => {
    const undone = (await readHeader(path))?.["undoesJournal"]
    return typeof undone === "string" ? undone : undefined
  })

/** The coupon, stock or bundle and brand a journal's `target` or a report's `job` names; undefined without them. */
export const idsIn = (named: unknown): Explain.JobIds | undefined => {
  const t = named as Record<string, unknown> | undefined
  if (typeof t?.["productCouponId"] !== "string" || typeof t["brandId"] !== "string") return undefined
  return {
    productCouponId: t["productCouponId"],
    brandId: t["brandId"],
    ...(typeof t["stockId"] === "string" ? { stockId: t["stockId"] } : {}),
    ...(typeof t["stockBundleId"] === "string" ? { stockBundleId: t["stockBundleId"] } : {})
  }
}

/** Why a file cannot be read: the errno code when there is one. */
const reason = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : String(cause)

/**
 * What an undo takes its job from: a report (a JSON object with `job`), or else a journal
 * (JSON lines, which do not parse as one object). Gives one line when the file cannot be read.
 */
export const sourceOf = (path: string): Effect.Effect<StoreJobs.UndoSource, string> =>
  Effect.gen(function*() {
    const advice = "pass the report or the journal of the job to undo (a job prints both paths); nothing was sent"
    // Read whole, a FIFO would never start and a device never end: only a regular file is a report or a journal.
    const kind = yield* Effect.tryPromise({
      try: () => Fs.stat(path),
      catch: (e) => `cannot read ${path}: ${reason(e)}; ${advice}`
    }).pipe(Effect.map((info) => info.isFile() ? undefined : info.isDirectory() ? "a directory" : info.isFIFO() ? "a FIFO" : "a device or socket"))
    if (kind !== undefined) return yield* Effect.fail(`${path} is ${kind}, not a file: ${advice}`)
    const text = yield* Effect.tryPromise({
      try: () => Fs.readFile(path, "utf8"),
      catch: (e) =>
        `cannot read ${path}: ${reason(e)}; pass the report or the journal of the job to undo (a job prints both paths); nothing was sent`
    })
    if (text.trimStart().startsWith("{")) {
      try {
        const parsed: unknown = JSON.parse(text)
        if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && "job" in parsed) return { report: parsed }
      } catch {
        // Not one JSON object: a journal's lines, or something the library will say is not a journal.
      }
    }
    if (text.trim() === "") return yield* Effect.fail(`${path} is empty: there is no job in it to undo; nothing was sent`)
    // Anything else that does not start as a journal (a list of store ids, some other JSON) is not the file meant.
    if (!isJournalHeader(headerIn(text))) {
      return yield* Effect.fail(
        `${path} is neither a report nor a journal that wechatpay-stores wrote; ` +
          "pass the report or the journal of the job to undo (a job prints both paths); nothing was sent"
      )
    }
    return { journal: path }
  })
