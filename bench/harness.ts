/** Pieces shared by bench/run.ts and bench/soak.ts: the sandbox child process and statistics. */
import { fork, type ChildProcess } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { Ready, SandboxProcessOptions, Stats } from "./sandbox-process.js"

const here = Path.dirname(fileURLToPath(import.meta.url))

export interface SandboxProcess {
  readonly ready: Ready
  readonly stats: () => Promise<Stats>
  readonly clearLog: () => Promise<void>
  /** The store ids of store calls received since the last call (only with `recordStores`). */
  readonly stores: () => Promise<ReadonlyArray<string>>
  readonly stop: () => Promise<void>
}

/**
 * Sends `message` to a forked child and resolves with its first reply tagged `tag`;
 * rejects if the child exits first.
 */
const ask = <A>(child: ChildProcess, label: string, message: object, tag: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const onExit = (code: number | null) => {
      child.off("message", onMessage)
      reject(new Error(`${label} exited with ${code}`))
    }
    const onMessage = (m: { readonly _tag: string }) => {
      if (m._tag !== tag) return
      child.off("message", onMessage)
      child.off("exit", onExit)
      resolve(m as A)
    }
    child.on("message", onMessage)
    child.once("exit", onExit)
    child.send(message)
  })

/** Forks bench/sandbox-process.ts and waits for its `ready` message. */
export const spawnSandbox = (options: SandboxProcessOptions): Promise<SandboxProcess> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = fork(Path.join(here, "sandbox-process.ts"), [JSON.stringify(options)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const request = <A>(op: string, tag: string) => ask<A>(child, "sandbox process", { op }, tag)
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`sandbox process exited with ${code}`)))
    child.once("message", (m: Ready) => {
      if (m._tag !== "ready") return reject(new Error("unexpected first message from the sandbox process"))
      resolve({
        ready: m,
        stats: () => request<Stats>("stats", "stats"),
        clearLog: () => request<unknown>("clearLog", "cleared").then(() => undefined),
        stores: () => request<{ readonly stores: ReadonlyArray<string> }>("stores", "stores").then((m) => m.stores),
        stop: () =>
          new Promise<void>((res) => {
            child.removeAllListeners("exit")
            child.once("exit", () => res())
            child.kill("SIGTERM")
          })
      })
    })
  })

/** The q-quantile (0..1) of sorted numbers, nearest-rank. */
export const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]!
}

export const median = (xs: ReadonlyArray<number>): number => quantile([...xs].sort((a, b) => a - b), 0.5)

/** Where the figures were measured. */
export const machine = () => ({
  date: new Date().toISOString(),
  node: process.version,
  cpu: Os.cpus()[0]?.model ?? "unknown",
  cpus: Os.cpus().length,
  memoryGiB: Math.round(Os.totalmem() / 2 ** 30),
  loadAverage: Os.loadavg().map((x) => Math.round(x * 100) / 100)
})

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits

/** Forks bench/static-server.ts (a no-crypto fixed answer) and resolves with its base URL and a stop. */
export const spawnStaticServer = (): Promise<{ readonly baseUrl: string; readonly stop: () => void }> =>
  new Promise((resolve, reject) => {
    const child = fork(Path.join(here, "static-server.ts"), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    child.once("error", reject)
    child.once("message", (m: { readonly port: number }) =>
      resolve({ baseUrl: `http://127.0.0.1:${m.port}`, stop: () => child.kill("SIGTERM") }))
  })

/** A forked per-call client process (bench/percall-worker.ts): ask it to warm up, run a round, close. */
export interface ClientProcess {
  readonly ask: <A>(op: "warm" | "round" | "close", calls?: number) => Promise<A>
  readonly stop: () => void
}

export const spawnClient = (kind: string, ready: Ready): Promise<ClientProcess> =>
  new Promise((resolve, reject) => {
    // BENCH_CLIENT_NODE_FLAGS (space-separated) goes to each client process: a V8 flag under test, say.
    const flags = (process.env["BENCH_CLIENT_NODE_FLAGS"] ?? "").split(" ").filter((flag) => flag !== "")
    const child = fork(Path.join(here, "percall-worker.ts"), [JSON.stringify({ kind, ready })], {
      execArgv: ["--import", "tsx", ...flags],
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const label = `client process ${kind}`
    child.once("error", reject)
    child.once("exit", (code) => reject(new Error(`${label} exited with ${code}`)))
    child.once("message", () => {
      const tags = { warm: "warm", round: "round", close: "closed" } as const
      resolve({
        ask: <A>(op: "warm" | "round" | "close", calls = 0) => ask<A>(child, label, { op, calls }, tags[op]),
        stop: () => {
          child.removeAllListeners("exit")
          child.kill("SIGTERM")
        }
      })
    })
  })

/**
 * The CPU time of the thread that calls it (µs), from Linux's `/proc/thread-self/schedstat` (ns);
 * NaN elsewhere. Node 20 has no `threadCpuUsage`, and `cpuUsage` counts every thread: V8's
 * collector and compiler threads, whose share is what tells allocation's cost apart.
 */
export const threadCpuMicros = (): number => {
  try {
    return Number(Fs.readFileSync("/proc/thread-self/schedstat", "latin1").split(" ")[0]) / 1000
  } catch {
    return Number.NaN
  }
}

/** What one client's round measured: each call's time (ms), the process's CPU and the main thread's (µs). */
export interface Timed {
  readonly samples: Array<number>
  readonly cpuMicros: number
  readonly mainCpuMicros: number
}

/**
 * Runs `n` sequential calls, timing each (ms) and the process's and this thread's CPU over all
 * of them (µs); `check` throws on a wrong answer.
 */
export const timeCalls = async <A>(
  call: () => Promise<A>,
  n: number,
  check: (answer: A) => void
): Promise<Timed> => {
  const samples: Array<number> = []
  const cpu0 = process.cpuUsage()
  const main0 = threadCpuMicros()
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const answer = await call()
    samples.push(performance.now() - t0)
    check(answer)
  }
  const main = threadCpuMicros() - main0
  const cpu = process.cpuUsage(cpu0)
  return { samples, cpuMicros: cpu.user + cpu.system, mainCpuMicros: main }
}

/**
 * Rounds over `count` contenders, the one going first rotated every round so none always
 * follows the same one; collects each contender's samples and CPU.
 */
export const interleave = async (
  count: number,
  rounds: number,
  runRound: (j: number) => Promise<{ readonly samples: ReadonlyArray<number>; readonly cpuMicros: number; readonly mainCpuMicros?: number }>,
  onRound: (r: number) => void = () => {}
): Promise<{ readonly samples: Array<Array<number>>; readonly cpuMicros: Array<number>; readonly mainCpuMicros: Array<number> }> => {
  const samples = Array.from({ length: count }, () => [] as Array<number>)
  const cpuMicros = Array.from({ length: count }, () => 0)
  const mainCpuMicros = Array.from({ length: count }, () => 0)
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < count; k++) {
      const j = (k + r) % count
      const result = await runRound(j)
      for (const x of result.samples) samples[j]!.push(x)
      cpuMicros[j]! += result.cpuMicros
      mainCpuMicros[j]! += result.mainCpuMicros ?? Number.NaN
    }
    onRound(r)
  }
  return { samples, cpuMicros, mainCpuMicros }
}

/** Every per-call request carries 200 stores of the job, and all of them must succeed. */
export const allSucceeded = (client: string) => (n: number): void => {
  if (n !== 200) throw new Error(`${client}: ${n} of 200 stores succeeded`)
}
