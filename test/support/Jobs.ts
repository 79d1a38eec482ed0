// Durable store jobs under test: journals that crash on cue (the write blocks forever, or tears then blocks,
// as a `kill -9` would leave them), journals read back line by line without the library's reader, and the
// checks every resumed job must pass.
import { assert } from "@effect/vitest"
import { Deferred, Effect, Fiber, Logger } from "effect"
import { JobJournal, StoreJobs } from "../../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../../packages/effect-wechatpay/src/testing/index.js"
import { storesOf } from "./Bulk.js"
import { expand } from "./JournalRecords.js"
import { keys } from "./Keys.js"

export { keys }

const encoder = new TextEncoder()

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

/** A journal service over a memory map whose writes stop on cue; `create` is write 1, each `append` one more. */
export interface Crashing {
  readonly service: JobJournal.Service
  /** Done when a write blocked (the crash point was reached). */
  readonly blocked: Deferred.Deferred<void>
  /** Writes that completed. */
  readonly writes: () => number
}

/**
 * Lets `limit` writes through, then the next one hangs forever (nothing written), or, with `tear`, writes the
 * first `tear(bytes)` bytes of it and hangs (a torn write). `limit = Infinity` only counts.
 */
export const crashing = (
  files: Map<string, Uint8Array>,
  limit: number,
  tear?: (bytes: Uint8Array) => number
): Effect.Effect<Crashing> =>
  Effect.map(Deferred.make<void>(), (blocked) => {
    const inner = JobJournal.makeMemory(files).service
    let writes = 0
    let crashed = false
    const gate = <A, E, R>(location: string, text: string, write: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.suspend(() => {
        if (writes < limit) {
          writes++
          return write
        }
        // The process is gone: only the first write past the limit may leave bytes behind.
        if (crashed) return Effect.never
        crashed = true
        if (tear !== undefined) {
          const bytes = encoder.encode(text)
          const cut = tear(bytes)
          files.set(location, concat(files.get(location) ?? new Uint8Array(0), bytes.subarray(0, cut)))
        }
        return Effect.zipRight(Deferred.succeed(blocked, undefined), Effect.never)
      })
    const wrap = (location: string, appender: JobJournal.Appender): JobJournal.Appender => ({
      append: (text) => gate(location, text, appender.append(text))
    })
    return {
      blocked,
      writes: () => writes,
      service: {
        create: (location, text) => gate(location, text, Effect.map(inner.create(location, text), (a) => wrap(location, a))),
        read: inner.read,
        reopen: (location, length) => Effect.map(inner.reopen(location, length), (a) => wrap(location, a)),
        lock: inner.lock
      }
    }
  })

/** `inner` with each appender it creates or reopens passed through `wrap` (`create`'s own write is left alone). */
export const wrapAppends = (
  inner: JobJournal.Service,
  wrap: (location: string, appender: JobJournal.Appender) => JobJournal.Appender
): JobJournal.Service => ({
  ...inner,
  create: (location, text) => Effect.map(inner.create(location, text), (a) => wrap(location, a)),
  reopen: (location, length) => Effect.map(inner.reopen(location, length), (a) => wrap(location, a))
})

/** A journal service whose appends (not its `create`) fail after `k` of them went through, as a full disk would. */
export const failingAfter = (files: Map<string, Uint8Array>, k: number, failures = Number.POSITIVE_INFINITY) => {
  const inner = JobJournal.makeMemory(files).service
  let appends = 0
  let failed = 0
  const wrap = (location: string, appender: JobJournal.Appender): JobJournal.Appender => ({
    append: (text) =>
      Effect.suspend(() => {
        if (appends < k || failed >= failures) {
          appends++
          return appender.append(text)
        }
        failed++
        return Effect.fail(new JobJournal.JournalIoError({ location, operation: "append", reason: "ENOSPC: no space left on device" }))
      })
  })
  return { service: wrapAppends(inner, wrap), failures: () => failed, appends: () => appends }
}

/**
 * A journal's complete lines as records (the bytes after the last newline are a torn write), calls and
 * outcomes written by position spelled out.
 */
export const records = (bytes: Uint8Array | undefined): Array<Record<string, any>> => {
  if (bytes === undefined) return []
  const end = bytes.lastIndexOf(0x0a)
  if (end < 0) return []
  return expand(new TextDecoder().decode(bytes.subarray(0, end)).split("\n").map((l, i) => {
    try {
      return JSON.parse(l) as Record<string, any>
    } catch (e) {
      throw new Error(`line ${i + 1} of ${bytes.length} bytes (end ${end}): ${String(e)}: ${l.slice(0, 80)}…${l.slice(-80)}`)
    }
  }))
}

/** What a journal's records say: stores called, stores with a recorded outcome, per outcome. */
export const recorded = (recs: ReadonlyArray<Record<string, any>>) => {
  const called = new Set<string>()
  const succeeded = new Set<string>()
  const failed = new Set<string>()
  for (const r of recs) {
    if (r.t === "call") for (const id of r.stores as Array<string>) called.add(id)
    if (r.t === "outcome" && r.sent === true) {
      for (const id of r.succeeded as Array<string>) succeeded.add(id)
      for (const f of r.failed as Array<{ storeId: string }>) failed.add(f.storeId)
    }
    if (r.t === "listed") for (const id of r.stores as Array<string>) succeeded.add(id)
  }
  return { called, succeeded, failed, settled: new Set([...succeeded, ...failed]) }
}

const STORE_CALLS = new Set(["associateStores", "disassociateStores", "associateStockBundleStores", "disassociateStockBundleStores"])

/** The store calls of the fake's log from entry `from` on, with their stores. */
export const storeCallsFrom = (fake: FakeWechatPay.Service, from: number) =>
  fake.log.slice(from).filter((e) => e.operation !== undefined && STORE_CALLS.has(e.operation)).map((e) => ({
    operation: e.operation!,
    stores: storesOf(e)
  }))

/**
 * Runs `job` until its journal blocks (or it ends), lets it run `settle` more turns (calls in flight may land at
 * the fake), then interrupts it: a crash. Gives whether the job ended by itself.
 */
export const crashRun = <A, E, R>(job: Effect.Effect<A, E, R>, crash: Crashing, settle: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(job)
    const ended = yield* Effect.raceFirst(Effect.as(Deferred.await(crash.blocked), false), Effect.as(Fiber.await(fiber), true))
    for (let i = 0; i < settle; i++) yield* Effect.yieldNow()
    yield* Fiber.interrupt(fiber)
    return ended
  })

/** Runs `effect` and collects the warnings it logs. */
export const withWarnings = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const warnings: Array<string> = []
    const logger = Logger.make(({ logLevel, message }) => {
      if (logLevel._tag === "Warning") {
        warnings.push(Array.isArray(message) ? message.join(" ") : String(message))
      }
    })
    const a = yield* Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger))
    return [a, warnings] as const
  })

/** A job report's three lists as sets of store ids. */
export const outcomes = (report: StoreJobs.JobReport | NonNullable<StoreJobs.SyncReport["associate"]>) => ({
  succeeded: new Set(report.succeeded),
  failed: new Set(report.failed.map((f) => f.storeId)),
  unresolved: new Set(report.unresolved.map((u) => u.storeId))
})

/** `a` and `b` hold the same ids. */
export const assertSameSet = (a: Iterable<string>, b: Iterable<string>, what?: string) =>
  assert.deepStrictEqual([...new Set(a)].sort(), [...new Set(b)].sort(), what)

export const F = FakeWechatPay.Fixture
export const s = FakeWechatPay.storeId
export const other = FakeWechatPay.otherBrandStoreId
export const range = (from: number, to: number): Array<string> => Array.from({ length: to - from }, (_, i) => s(from + i))
