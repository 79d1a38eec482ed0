/**
 * What the CLI prints: a progress bar on a terminal (one line, fitted to its
 * width, redrawn in place), plain progress lines otherwise, a closing summary
 * table and the first failed and unresolved stores.
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

/** What the calls of a running job are doing (counted by `Monitor`). */
export interface Activity {
  /** Calls started and not yet ended. */
  readonly inFlight: number
  /** Calls with an attempt on the wire (or being answered). */
  readonly onWire: number
  /** Calls waiting to send an attempt again after a failed one. */
  readonly backingOff: number
  /** Calls waiting for the client's rate limit to let their first attempt go. */
  readonly waitingForPermit: number
  /** Why the latest retry was needed, e.g. "429 rate limited". */
  readonly lastRetry: string | undefined
}

/**
 * Why a job that seems idle is waiting, or what is being retried; "" when nothing is worth saying.
 * Nothing on the wire and a call backing off: the job waits on a retry back-off; nothing on the
 * wire and a call not yet sent: it waits on the rate limit.
 */
export const activityStatus = (a: Activity, rate: number | undefined): string => {
  if (a.inFlight === 0) return ""
  const why = a.lastRetry ?? "a failed attempt"
  if (a.onWire === 0 && a.backingOff > 0) return `waiting: retry back-off after ${why}`
  if (a.onWire === 0 && a.waitingForPermit > 0) return `waiting: rate limit${rate === undefined ? "" : ` of ${rate}/s`}`
  if (a.backingOff > 0) return `${plural(a.backingOff, "call")} retrying after ${why}`
  return ""
}

export interface ProgressOptions {
  /** Unique stores, when known. */
  readonly total: number | undefined
  /** What the calls are doing now; without it, only settled chunks are shown. */
  readonly activity?: (() => Activity) | undefined
  /** The client's rate limit, named when the job waits on it. */
  readonly rate?: number | undefined
  readonly now?: (() => number) | undefined
}

/** The width a progress line uses when the terminal does not say. */
export const DEFAULT_COLUMNS = 80

type Settled = Extract<BulkDisassociation.ProgressEvent, { readonly _tag: "ChunkSettled" }>

/**
 * A progress reporter. On a terminal it redraws one line fitted to the terminal's
 * width (shorter than it, so it never wraps), with why the job waits when it does;
 * otherwise it prints a line roughly every 10% (at most one a second when the total
 * is unknown, and one every 10 s while the job waits), so logs stay short.
 * After a stopping error or a stop the count no longer moves towards 100%: the
 * stores settled as "not sent" are not progress, and the line says the job is stopping.
 */
export const progress = (sink: Sink, options: ProgressOptions) => {
  const { activity, rate, total } = options
  const now = options.now ?? Date.now
  let last: Settled | undefined
  let stop: { readonly code: string; readonly unresolvedBefore: number } | undefined
  let drawn = ""
  let lastDecile = -1
  let lastLine = 0

  const counts = () => {
    const succeeded = last?.succeeded ?? 0
    const failed = last?.failed ?? 0
    // After a stop, the stores settled unresolved are (mostly) the ones never sent: not progress.
    const unresolved = stop === undefined ? last?.unresolved ?? 0 : stop.unresolvedBefore
    const done = succeeded + failed + unresolved
    const pct = total === undefined ? undefined : total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100))
    return { succeeded, failed, unresolved, done, pct, requests: last?.requests ?? 0 }
  }

  const status = (): string => {
    const a = activity?.()
    if (stop !== undefined) {
      const verb = stop.code === "ABORTED" ? "aborted" : "stopping"
      return a === undefined || a.inFlight === 0
        ? `${verb} (${stop.code})`
        : `${verb} (${stop.code}): ${plural(a.inFlight, "call")} in flight`
    }
    return a === undefined ? "" : activityStatus(a, rate)
  }

  /** The terminal line: the bar, then as many counts as fit, the status last. */
  const barLine = (): string => {
    const width = Math.max(20, (sink.columns?.() ?? DEFAULT_COLUMNS) - 1)
    const c = counts()
    const head = `${c.pct === undefined ? "?" : c.pct}% ${fmt(c.done)}${total === undefined ? "" : `/${fmt(total)}`} stores`
    const fields: Array<{ readonly text: string; readonly rank: number }> = [
      { text: `${fmt(c.succeeded)} ok`, rank: 2 },
      { text: `${fmt(c.failed)} failed`, rank: c.failed > 0 ? 0 : 4 },
      { text: `${fmt(c.unresolved)} unresolved`, rank: c.unresolved > 0 ? 1 : 5 },
      { text: plural(c.requests, "request"), rank: 3 }
    ]
    let tail = status()
    const minBar = 12
    const length = (parts: ReadonlyArray<string>) => parts.reduce((n, p) => n + p.length + 3, head.length) + (tail === "" ? 0 : tail.length + 3)
    if (length([]) > width) tail = tail.slice(0, Math.max(0, width - head.length - 4)) + "…"
    const chosen = new Set<number>()
    for (const i of fields.map((_, i) => i).sort((a, b) => fields[a]!.rank - fields[b]!.rank)) {
      const candidate = [...chosen, i].map((j) => fields[j]!.text)
      if (length(candidate) + minBar + 1 <= width) chosen.add(i)
    }
    const parts = [head, ...fields.filter((_, i) => chosen.has(i)).map((f) => f.text), ...(tail === "" ? [] : [tail])]
    const text = parts.join(" · ")
    const room = width - text.length - 3
    if (room < 5) return text.slice(0, width)
    const barWidth = Math.min(30, room)
    const filled = c.pct === undefined ? 0 : Math.round((c.pct / 100) * barWidth)
    return `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${text}`
  }

  const plainLine = (): string => {
    const c = counts()
    const extra = status()
    return `progress: ${c.pct === undefined ? "" : `${c.pct}% `}${fmt(c.done)}${total === undefined ? "" : `/${fmt(total)}`} stores · ${
      fmt(c.succeeded)
    } ok · ${fmt(c.failed)} failed · ${fmt(c.unresolved)} unresolved · ${plural(c.requests, "request")}${extra === "" ? "" : ` · ${extra}`}\n`
  }

  const draw = (force: boolean) => {
    const line = barLine()
    if (!force && line === drawn) return
    drawn = line
    sink.write(`\r${line}\x1b[K`)
  }

  const onProgress = (event: BulkDisassociation.ProgressEvent): Effect.Effect<void> =>
    Effect.sync(() => {
      if (event._tag === "Stopped") {
        const first = stop === undefined
        // A later stop (the input breaking after a stop) changes nothing; an abort after a stop does.
        if (!first && event.code !== "ABORTED") return
        stop = { code: event.code, unresolvedBefore: stop?.unresolvedBefore ?? last?.unresolved ?? 0 }
        const says = event.code === "ABORTED"
          ? "aborting: calls in flight are abandoned (their stores are reported unresolved); nothing more is sent"
          : "no further calls are sent; calls in flight finish"
        // Only the code here: the message is printed once, in the closing "stopped by" line.
        const line = `${event.code === "ABORTED" ? "aborting" : "stopping"} (${event.code}): ${says}\n`
        if (sink.isTTY) {
          sink.write(`\r\x1b[K${line}`)
          draw(true)
        } else sink.write(line)
        return
      }
      last = event
      if (sink.isTTY) return draw(false)
      // Once stopped, the chunks settling are mostly ones never sent: no more progress lines.
      if (stop !== undefined) return
      const { pct } = counts()
      // Without a total, at most one line a second.
      const decile = pct === undefined ? Math.floor(now() / 1000) : Math.floor(pct / 10)
      if (decile !== lastDecile && (pct !== undefined || now() - lastLine >= 1000)) {
        lastDecile = decile
        lastLine = now()
        sink.write(plainLine())
      }
    })

  /** Called on a timer: shows a wait (or its end) that no settled chunk would. */
  const tick = (): void => {
    if (sink.isTTY) return draw(false)
    if (stop === undefined && status().startsWith("waiting") && now() - lastLine >= 10_000) {
      lastLine = now()
      sink.write(plainLine())
    }
  }

  /** A line of its own while the job runs (its journal's path, once created): on a terminal, above the bar, redrawn below it. */
  const note = (line: string): void => {
    if (sink.isTTY && drawn !== "") {
      sink.write(`\r\x1b[K${line}`)
      draw(true)
    } else sink.write(line)
  }

  const finish = () => {
    // Nothing drawn (the job could not start, or had nothing to do): no bar to end.
    if (!sink.isTTY || drawn === "") return
    draw(true)
    sink.write("\n")
  }
  return { onProgress, tick, note, finish }
}
