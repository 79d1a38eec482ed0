/**
 * What the CLI prints: a progress bar on a terminal, plain progress lines
 * otherwise, and a closing summary table.
 */
import { Effect } from "effect"
import type { ProgressEvent, Summary } from "../BulkDisassociation.js"

/** Where output goes; the tests pass their own. */
export interface Sink {
  readonly isTTY: boolean
  readonly write: (text: string) => void
}

export const stdout: Sink = {
  isTTY: process.stdout.isTTY === true,
  write: (text) => void process.stdout.write(text)
}

export const stderr: Sink = {
  isTTY: process.stderr.isTTY === true,
  write: (text) => void process.stderr.write(text)
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
  const onProgress = (event: ProgressEvent): Effect.Effect<void> =>
    Effect.sync(() => {
      if (event._tag === "Stopped") {
        if (sink.isTTY) sink.write("\n")
        sink.write(`stopped: ${event.code}: ${event.message}; no further calls are sent\n`)
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
export const summaryTable = (summary: Summary): string => {
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
