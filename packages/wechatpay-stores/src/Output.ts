/**
 * What the CLI prints and where: the sinks (standard output and error, and how a
 * write fails), lines made safe to print, the closing summary table and the first
 * failed and unresolved stores. The progress line while a job runs is Progress.ts.
 */
import { Effect } from "effect"
import * as Fs from "node:fs"
import type { BulkDisassociation, BulkStores } from "effect-wechatpay"

/** Where output goes; the tests pass their own. */
export interface Sink {
  readonly isTTY: boolean
  /** The terminal's width, when it is one and says so. */
  readonly columns?: (() => number | undefined) | undefined
  /** Never throws: once the output has failed, writes are dropped. */
  readonly write: (text: string) => void
  /**
   * Waits (boundedly) until what was written has reached the OS, then gives
   * why this output failed ("EPIPE", "ENOSPC", …), or undefined when it works.
   * Absent for outputs that cannot fail.
   */
  readonly failure?: Effect.Effect<string | undefined> | undefined
  /**
   * Writes `text` and waits, however long its reader takes, until it has reached the OS; gives
   * why this output failed ("EPIPE", …), or undefined when it works. For output that is the
   * command's product (`list`), so that a failed output is known before more is fetched.
   * Absent for outputs that cannot fail.
   */
  readonly writeWaiting?: ((text: string) => Effect.Effect<string | undefined>) | undefined
  /**
   * Whether this output was closed when the process started (`>&-`): Node then opens /dev/null
   * in its place, so writes succeed and go nowhere. Absent for outputs that cannot be.
   */
  readonly closed?: (() => boolean) | undefined
}

/** How long to wait for a reader that is not reading before calling the output failed. */
export const FLUSH_WAIT_MILLIS = 2_000

/** Why a write failed: the errno code when there is one. */
const errorCode = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string"
    ? e.code
    : e instanceof Error
    ? e.message
    : String(e)

/**
 * A sink over a process stream that survives its reader going away (`| head`,
 * EPIPE), a full disk (`> /dev/full`, ENOSPC) or a hung-up terminal (EIO): the
 * job must go on and its report be written, so a failed output only stops printing.
 */
export const streamSink = (stream: NodeJS.WritableStream & { readonly isTTY?: boolean }, fd?: number): Sink => {
  let failed: string | undefined
  let guarded = false
  const fail = (e: unknown) => {
    failed ??= errorCode(e)
  }
  // Installed on first use, not at import: importing this module must not change the process.
  const guard = () => {
    if (guarded) return
    guarded = true
    // Without a listener, an EPIPE or ENOSPC on stdout is an uncaught exception.
    stream.on("error", fail)
  }
  return {
    isTTY: stream.isTTY === true,
    columns: () => {
      const columns = (stream as { readonly columns?: unknown }).columns
      return typeof columns === "number" && columns > 0 ? columns : undefined
    },
    write: (text) => {
      guard()
      if (failed !== undefined) return
      try {
        stream.write(text, (e) => e == null ? undefined : fail(e))
      } catch (e) {
        fail(e)
      }
    },
    failure: Effect.async<string | undefined>((resume) => {
      guard()
      if (failed !== undefined) return resume(Effect.succeed(failed))
      const timer = setTimeout(() => resume(Effect.succeed(failed ?? "not being read")), FLUSH_WAIT_MILLIS)
      // The callback of an empty write runs once everything before it was handed to the OS.
      try {
        stream.write("", (e) => {
          clearTimeout(timer)
          if (e != null) fail(e)
          resume(Effect.succeed(failed))
        })
      } catch (e) {
        clearTimeout(timer)
        fail(e)
        resume(Effect.succeed(failed))
      }
      return Effect.sync(() => clearTimeout(timer))
    }),
    ...(fd === undefined ? {} : { closed: () => closedAtStart(fd) }),
    writeWaiting: (text) =>
      Effect.async<string | undefined>((resume) => {
        guard()
        if (failed !== undefined) return resume(Effect.succeed(failed))
        try {
          stream.write(text, (e) => {
            if (e != null) fail(e)
            resume(Effect.succeed(failed))
          })
        } catch (e) {
          fail(e)
          resume(Effect.succeed(failed))
        }
      })
  }
}

/**
 * Whether descriptor `fd` was closed when the process started. Node then opens /dev/null in its
 * place for reading and writing, where a shell's `> /dev/null` opens it for writing only. Read
 * from /proc, so Linux only; elsewhere, or when anything cannot be read, false.
 */
export const closedAtStart = (fd: number): boolean => {
  try {
    const flags = /^flags:\s*([0-7]+)$/m.exec(Fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))
    if (flags === null || (Number.parseInt(flags[1]!, 8) & 3) !== 2) return false
    const opened = Fs.fstatSync(fd)
    return opened.isCharacterDevice() && opened.rdev === Fs.statSync("/dev/null").rdev
  } catch {
    return false
  }
}

export const stdout: Sink = streamSink(process.stdout, 1)

export const stderr: Sink = streamSink(process.stderr, 2)

/** A message on one line: a multi-line or control-character message must not break the output. */
export const oneLine = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").replace(/\s{2,}/g, " ").trim()

/**
 * A value quoted as JSON, with the characters a terminal shows as nothing (C1 controls, zero-width and
 * direction marks, line separators) written as \uXXXX too: a bad id is shown as it is, not as the good one
 * it looks like.
 */
export const quoted = (text: string): string =>
  JSON.stringify(text).replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** ANSI escape sequences (colours, cursor moves), as @effect/cli's help is written. */
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g

/** The text without its ANSI escape sequences, for output that is not a terminal. */
export const stripAnsi = (text: string): string => text.replace(ANSI, "")

/** Numbers as the CLI prints them: 12,345. */
export const fmt = (n: number): string => n.toLocaleString("en-US")

/** "1 request", "2 requests", "1,000 stores". */
export const plural = (n: number, one: string, many = `${one}s`): string => `${fmt(n)} ${n === 1 ? one : many}`

/**
 * One line about answers that contradicted themselves or the request, or "" when there were none:
 * their stores are unresolved, and an operator should know why before re-running them.
 */
export const anomalyLine = (anomalies: ReadonlyArray<BulkDisassociation.Anomaly>): string => {
  if (anomalies.length === 0) return ""
  const first = anomalies[0]!
  const stores = anomalies.reduce((n, a) => n + a.stores.length, 0)
  return `warning: ${plural(anomalies.length, "answer")} from WeChat Pay contradicted ` +
    `${anomalies.length === 1 ? "itself" : "themselves"} or the request (${plural(stores, "store")} left unresolved); ` +
    `first: ${oneLine(first.reason)}${first.requestId === undefined ? "" : ` (Request-ID ${oneLine(first.requestId)})`}; ` +
    `the report's "anomalies" lists them all\n`
}

/** What reached WeChat Pay: the calls that change stores, and the checks around them (stock queries, listing pages). */
export interface Sent {
  readonly calls: number
  readonly checks: number
}

/**
 * The closing table. `sent` is what reached WeChat Pay: a job that stopped early settles its
 * remaining chunks without sending them, and those are not calls. "HTTP requests" are the
 * calls' attempts, so the checks have a row of their own.
 */
export const summaryTable = (summary: BulkDisassociation.Summary, sent?: Sent): string => {
  const rows: Array<[string, number]> = [
    ["input ids", summary.input],
    ["unique stores", summary.unique],
    ["duplicates", summary.duplicates],
    ["succeeded", summary.succeeded],
    ["failed", summary.failed],
    ["unresolved", summary.unresolved],
    // Only a run that watched its calls knows how many reached WeChat Pay: a report's chunks include
    // those settled unsent after a stop, so a resume, a sync's part or an undo shows its requests alone.
    ...(sent === undefined ? [] : [["calls sent", sent.calls] as [string, number]]),
    ["HTTP requests", summary.requests],
    ...(sent === undefined || sent.checks === 0 ? [] : [["checks sent", sent.checks] as [string, number]])
  ]
  if (summary.settledByListing !== undefined && summary.settledByListing > 0) rows.splice(6, 0, ["settled by listing", summary.settledByListing])
  // Found done by a journaled job's listing before its first call: sent all the same, left alone by an undo.
  if (summary.alreadyDone !== undefined && summary.alreadyDone > 0) rows.splice(3, 0, ["already done before", summary.alreadyDone])
  for (const [reason, n] of Object.entries(summary.retries)) rows.push([`retries: ${reason}`, n])
  const labelWidth = Math.max(...rows.map(([l]) => l.length))
  const valueWidth = Math.max(...rows.map(([, v]) => fmt(v).length))
  const line = `+${"-".repeat(labelWidth + 2)}+${"-".repeat(valueWidth + 2)}+`
  return [
    line,
    ...rows.map(([l, v]) => `| ${l.padEnd(labelWidth)} | ${fmt(v).padStart(valueWidth)} |`),
    line
  ].join("\n") + "\n"
}

/**
 * What the checks around a job did, when it is worth a line: a stock check that was skipped
 * (the job ran unchecked) and a settling by listing that settled, re-sent, or could not run.
 */
export const checksLines = (report: Pick<BulkStores.Report, "preflight" | "verification" | "stoppedBy">): string => {
  const lines: Array<string> = []
  const p = report.preflight
  if (p !== undefined && p.status === "skipped") {
    lines.push(`stock check skipped: ${oneLine("reason" in p && typeof p.reason === "string" ? p.reason : "no usable answer")}; the job ran unchecked`)
  }
  const v = report.verification
  if (v !== undefined && v.status === "done") {
    lines.push(`listing checked: ${plural(v.settled, "unresolved store")} settled by it, ${fmt(v.resent)} sent once more`)
  } else if (v !== undefined && v.status === "skipped" && report.stoppedBy !== undefined) {
    // The stop's message is printed once, on its own "stopped by" line.
    lines.push(`listing not checked (skipped: the job stopped, ${oneLine(report.stoppedBy.code)}); unresolved stores stay unresolved`)
  } else if (v !== undefined && (v.status === "skipped" || v.status === "failed")) {
    lines.push(`listing not checked (${v.status}${v.reason === undefined ? "" : `: ${oneLine(v.reason)}`}); unresolved stores stay unresolved`)
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n"
}

/** How many failed and how many unresolved stores are printed after a job. */
export const LISTED_STORES = 5

/** English for the store-level answers WeChat Pay documents in Chinese. */
const STORE_MESSAGES: Readonly<Record<string, string>> = {
  "门店ID非法或不属于当前品牌": "not a valid store id, or not a store of this brand",
  "门店未关联该批次": "the store is not associated with this stock"
}

/**
 * The first failed and unresolved stores with their code and message (and how many more),
 * so a run ending "failed | 3" says which and why without opening the report.
 */
export const storeLists = (
  report: Pick<BulkDisassociation.Report, "failed" | "unresolved">,
  where: string | undefined,
  limit: number = LISTED_STORES
): string => {
  const more = (n: number) => n > limit ? [`  …and ${fmt(n - limit)} more${where === undefined ? "" : ` in ${where}`}`] : []
  const lines: Array<string> = []
  if (report.failed.length > 0) {
    lines.push(`failed: ${plural(report.failed.length, "store")}`)
    for (const f of report.failed.slice(0, limit)) {
      const english = STORE_MESSAGES[f.message]
      lines.push(`  ${oneLine(f.storeId)}  ${oneLine(f.code)}: ${oneLine(f.message)}${english === undefined ? "" : ` (${english})`}`)
    }
    lines.push(...more(report.failed.length))
  }
  if (report.unresolved.length > 0) {
    lines.push(`unresolved: ${plural(report.unresolved.length, "store")}`)
    for (const u of report.unresolved.slice(0, limit)) {
      lines.push(`  ${oneLine(u.storeId)}  ${oneLine(u.reason)}${u.requestId === undefined ? "" : ` (Request-ID ${oneLine(u.requestId)})`}`)
    }
    lines.push(...more(report.unresolved.length))
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n"
}
