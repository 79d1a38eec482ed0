/**
 * The progress line a running job draws: on a terminal one line redrawn in place, fitted to its
 * width, otherwise plain lines now and then; both say when the job waits and on what.
 */
import { Effect } from "effect"
import type { BulkDisassociation } from "effect-wechatpay"
import { fmt, plural, type Sink } from "./Output.js"

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
