/**
 * What the CLI prints: a progress bar on a terminal, plain progress lines
 * otherwise, and a closing summary table.
 */
import { Effect } from "effect"
import type { BulkDisassociation } from "../index.js"

/** Where output goes; the tests pass their own. */
export interface Sink {
  readonly isTTY: boolean
  /** Never throws: once the output has failed, writes are dropped. */
  readonly write: (text: string) => void
  /**
   * Waits (boundedly) until what was written has reached the OS, then gives
   * why this output failed ("EPIPE", "ENOSPC", …), or undefined when it works.
   * Absent for outputs that cannot fail.
   */
  readonly failure?: Effect.Effect<string | undefined> | undefined
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
export const streamSink = (stream: NodeJS.WritableStream & { readonly isTTY?: boolean }): Sink => {
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
    })
  }
}

export const stdout: Sink = streamSink(process.stdout)

export const stderr: Sink = streamSink(process.stderr)

/** A message on one line: a multi-line or control-character message must not break the output. */
export const oneLine = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").replace(/\s{2,}/g, " ").trim()

/**
 * One line about answers that contradicted themselves or the request, or "" when there were none:
 * their stores are unresolved, and an operator should know why before re-running them.
 */
export const anomalyLine = (anomalies: ReadonlyArray<BulkDisassociation.Anomaly>): string => {
  if (anomalies.length === 0) return ""
  const first = anomalies[0]!
  const stores = anomalies.reduce((n, a) => n + a.stores.length, 0)
  return `warning: ${fmt(anomalies.length)} ${anomalies.length === 1 ? "answer" : "answers"} from WeChat Pay contradicted ` +
    `${anomalies.length === 1 ? "itself" : "themselves"} or the request (${fmt(stores)} ${stores === 1 ? "store" : "stores"} left unresolved); ` +
    `first: ${oneLine(first.reason)}${first.requestId === undefined ? "" : ` (Request-ID ${oneLine(first.requestId)})`}; ` +
    `the report's "anomalies" lists them all\n`
}

/** Numbers as the CLI prints them: 12,345. */
export const fmt = (n: number): string => n.toLocaleString("en-US")

/**
 * A progress reporter for `total` stores (when known). On a terminal it redraws
 * one bar; otherwise it prints a line roughly every 10% (at most one a second
 * when the total is unknown), so logs stay short.
 */
export const progress = (sink: Sink, total: number | undefined, now: () => number = Date.now) => {
  let lastDecile = -1
  let lastLine = 0
  const onProgress = (event: BulkDisassociation.ProgressEvent): Effect.Effect<void> =>
    Effect.sync(() => {
      if (event._tag === "Stopped") {
        if (sink.isTTY) sink.write("\n")
        // Only the code here: the message is printed once, in the closing "stopped by" line.
        sink.write(`stopping (${event.code}): no further calls are sent; calls in flight finish\n`)
        return
      }
      const pct = total !== undefined && total > 0 ? Math.min(100, Math.floor((event.done / total) * 100)) : undefined
      const counts = `${fmt(event.done)}${total === undefined ? "" : `/${fmt(total)}`} stores · ${fmt(event.succeeded)} ok · ${
        fmt(event.failed)
      } failed · ${fmt(event.unresolved)} unresolved · ${fmt(event.requests)} requests`
      if (sink.isTTY) {
        const width = 30
        const filled = pct === undefined ? 0 : Math.round((pct / 100) * width)
        sink.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${pct ?? "?"}% ${counts}\x1b[K`)
        return
      }
      // Without a total, at most one line a second.
      const decile = pct === undefined ? Math.floor(now() / 1000) : Math.floor(pct / 10)
      if (decile !== lastDecile && (pct !== undefined || now() - lastLine >= 1000)) {
        lastDecile = decile
        lastLine = now()
        sink.write(`progress: ${pct === undefined ? "" : `${pct}% `}${counts}\n`)
      }
    })
  const finish = () => {
    if (sink.isTTY) sink.write("\n")
  }
  return { onProgress, finish }
}
/** The closing table. */
export const summaryTable = (summary: BulkDisassociation.Summary): string => {
  const rows: Array<[string, number]> = [
    ["input ids", summary.input],
    ["unique stores", summary.unique],
    ["duplicates", summary.duplicates],
    ["succeeded", summary.succeeded],
    ["failed", summary.failed],
    ["unresolved", summary.unresolved],
    ["calls (chunks)", summary.chunks],
    ["HTTP requests", summary.requests]
  ]
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
