/**
 * The sandbox in its own process, so its CPU (verifying requests, signing
 * answers) does not run on the measured client's event loop. Started by
 * bench/run.ts with `fork`; argv[2] is JSON `SandboxProcessOptions`. Sends one
 * `ready` message (URLs and the client half of the keys), then answers `stats`
 * and `clearLog` messages until killed.
 */
import { Effect, Exit, Redacted, Scope } from "effect"
import { FakeWechatPay, SandboxServer, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"

export interface SandboxProcessOptions {
  readonly stores: number
  readonly rateLimit: number | false
  /** Keep the store ids of every store call, for the `stores` message (bench/jobs-core.ts). */
  readonly recordStores?: boolean | undefined
  /** Answer every request this many ms after processing it (the fake's `slow` fault), as a network would. */
  readonly latencyMillis?: number | undefined
}

/** What the client side needs: URLs and throw-away loopback keys (never real ones). */
export interface Ready {
  readonly _tag: "ready"
  readonly baseUrl: string
  readonly backupBaseUrl: string
  readonly mchid: string
  readonly merchantSerialNo: string
  readonly merchantPrivateKeyPem: string
  readonly wechatpayPublicKeyId: string
  readonly wechatpayPublicKeyPem: string
}

export interface Stats {
  readonly _tag: "stats"
  readonly requests: number
  readonly byStatus: Record<string, number>
  /** For each 429: its position since the last clearLog and the arrival gaps (ms) to the 21 before it. */
  readonly rejected: ReadonlyArray<{ readonly index: number; readonly gaps: ReadonlyArray<number> }>
  /** This process's CPU time so far (user + system, µs), read before the log is tallied. */
  readonly cpuMicros: number
}

const options: SandboxProcessOptions = JSON.parse(process.argv[2] ?? "{}")

const main = Effect.gen(function*() {
  const keys = yield* TestKeys.generate()
  const fake = FakeWechatPay.makeWith(keys, {
    seed: FakeWechatPay.generate({ stores: options.stores }),
    rateLimit: options.rateLimit,
    ...(options.latencyMillis === undefined || options.latencyMillis <= 0
      ? {}
      : { faults: { rates: { slow: 1 }, slowMillis: options.latencyMillis } })
  })
  const scope = yield* Scope.make()
  const server = yield* SandboxServer.make(fake).pipe(Scope.extend(scope))
  // The log keeps every body; the benchmark reads counts from it and clears it between phases.
  let requests = 0
  const byStatus: Record<string, number> = {}
  const arrivals: Array<number> = []
  const rejected: Array<{ index: number; gaps: Array<number> }> = []
  const storesSeen: Array<string> = []
  const tally = () => {
    for (const e of fake.log) {
      if (options.recordStores === true && (e.operation === "disassociateStores" || e.operation === "associateStores")) {
        for (const s of (JSON.parse(e.bodyText) as { store_list: Array<{ store_id: string }> }).store_list) storesSeen.push(s.store_id)
      }
      arrivals.push(e.atMillis)
      if (e.status === 429 && rejected.length < 20) {
        const n = arrivals.length - 1
        rejected.push({ index: n, gaps: arrivals.slice(Math.max(0, n - 21), n).map((t) => e.atMillis - t) })
      }
      requests++
      const k = String(e.status ?? "reset")
      byStatus[k] = (byStatus[k] ?? 0) + 1
    }
    Effect.runSync(fake.clearLog)
  }
  setInterval(tally, 1000).unref()
  process.on("message", (m: { readonly op: string }) => {
    if (m.op === "stats") {
      const cpu = process.cpuUsage()
      tally()
      const stats: Stats = { _tag: "stats", requests, byStatus: { ...byStatus }, rejected, cpuMicros: cpu.user + cpu.system }
      process.send?.(stats)
    } else if (m.op === "stores") {
      // The store ids of the store calls received since the last `stores` message, then forgotten.
      tally()
      process.send?.({ _tag: "stores", stores: storesSeen.splice(0) })
    } else if (m.op === "clearLog") {
      tally()
      requests = 0
      arrivals.length = 0
      rejected.length = 0
      for (const k of Object.keys(byStatus)) delete byStatus[k]
      process.send?.({ _tag: "cleared" })
    }
  })
  process.on("disconnect", () => {
    void Effect.runPromise(Scope.close(scope, Exit.void)).then(() => process.exit(0))
  })
  const ready: Ready = {
    _tag: "ready",
    baseUrl: server.baseUrl,
    backupBaseUrl: server.backupBaseUrl,
    mchid: keys.mchid,
    merchantSerialNo: keys.merchantSerialNo,
    merchantPrivateKeyPem: Redacted.value(keys.merchantPrivateKeyPem),
    wechatpayPublicKeyId: keys.wechatpayPublicKeyId,
    wechatpayPublicKeyPem: keys.wechatpayPublicKeyPem
  }
  process.send?.(ready)
})

Effect.runPromise(main).catch((e: unknown) => {
  process.stderr.write(`sandbox-process: ${String(e)}\n`)
  process.exit(1)
})
