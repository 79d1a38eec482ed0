/**
 * `npm run bench` (`-- --json` for JSON): per-call latency of four clients
 * against the loopback sandbox in a separate process, bulk throughput with the
 * rate limit off and at 20/s, and the CLI's peak memory on a 1,000,000-id dry run.
 * Per call and in bulk it also records CPU time (this process and the sandbox's), since
 * with both on one machine's cores the bulk ratio follows the CPU each spends per call.
 * A transport phase splits what the HTTP layers cost apart from crypto.
 * Options: `--quick` (fewer rounds, for a smoke run), `--only=percall,transport,bulk,rate,memory`,
 * `--clients=floor-undici,platform,library-undici` (the per-call clients to run; the first is the floor
 * ratios are taken against), for a shorter same-hour A/B of two builds.
 * `--only=jobs` runs issue #15's journal overhead and resume figures (bench/jobs-core.ts, also
 * `npm run bench:jobs`); being long (a quarter of an hour), it runs only when named.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, ManagedRuntime } from "effect"
import * as Undici from "undici"
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as BulkDisassociation from "../packages/effect-wechatpay/src/BulkDisassociation.js"
import * as Ids from "../packages/effect-wechatpay/src/internal/bulk/Ids.js"
import { FakeWechatPay, SandboxSettings, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"
import { type Client, F, floor, library, makeClient, PER_CALL_KINDS, platformOnly, type Transport } from "./clients.js"
import {
  allSucceeded,
  type ClientProcess,
  interleave,
  machine,
  median,
  quantile,
  round,
  spawnClient,
  spawnSandbox,
  spawnStaticServer,
  timeCalls
} from "./harness.js"
import * as Jobs from "./jobs-core.js"
import { disassociatePath } from "./paths.js"
import type { RoundResult } from "./percall-worker.js"
import type { Ready, Stats } from "./sandbox-process.js"

const args = process.argv.slice(2)
const json = args.includes("--json")
const quick = args.includes("--quick")
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",")
const wants = (phase: string) => only === undefined || only.includes(phase)
const chosen = args.find((a) => a.startsWith("--clients="))?.slice(10).split(",")
const unknownKinds = chosen?.filter((kind) => !(PER_CALL_KINDS as ReadonlyArray<string>).includes(kind)) ?? []
if (unknownKinds.length > 0) throw new Error(`--clients: unknown ${unknownKinds.join(", ")}; known: ${PER_CALL_KINDS.join(", ")}`)
const perCallKinds = chosen === undefined
  ? PER_CALL_KINDS
  : PER_CALL_KINDS.filter((kind) => chosen.includes(kind))
const log = (line: string) => process.stderr.write(`${line}\n`)
const root = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => FakeWechatPay.storeId(from + i))
/** Stores of no brand in the job: the sandbox answers 200 with them in failed_store_list. Used for warm-up. */
const warmIds = ids(200_000, 200)

// ---------------------------------------------------------------------------
// 1. Per call: the same 200-store request, one call at a time, clients interleaved in rounds.

interface PerCall {
  readonly client: string
  readonly calls: number
  readonly medianMs: number
  readonly p99Ms: number
  readonly meanMs: number
  readonly ratioToFloor: number
  /** This process's CPU time per call (user + system, all threads: GC and libuv included). */
  readonly clientCpuMs: number
  /** Of which its main thread's (NaN where Linux's schedstat is missing): the rest is V8's and libuv's threads. */
  readonly mainCpuMs: number
}

/** Both per-call tables: warm-up calls per client, rounds, and calls per client per round. */
const PER_CALL = quick ? { warm: 100, rounds: 4, perRound: 100 } : { warm: 400, rounds: 12, perRound: 250 }

const perCall = async (): Promise<{
  readonly rows: ReadonlyArray<PerCall>
  readonly rounds: number
  readonly perRound: number
  readonly sandboxCpuMsPerRequest: number
}> => {
  const sandbox = await spawnSandbox({ stores: 1_000, rateLimit: false })
  const s = sandbox.ready
  const request = ids(0, 200)
  // The first is the floor every ratio is taken against: the fastest honest client.
  const clients: Array<Client> = []
  for (const kind of perCallKinds) clients.push(await makeClient(kind, s))
  const { perRound, rounds, warm } = PER_CALL
  for (const c of clients) {
    for (let i = 0; i < warm; i++) await c.call(i % 2 === 0 ? request : warmIds)
  }
  await sandbox.clearLog()
  const before = await sandbox.stats()
  const { cpuMicros, mainCpuMicros, samples } = await interleave(
    clients.length,
    rounds,
    (j) => timeCalls(() => clients[j]!.call(request), perRound, allSucceeded(clients[j]!.name)),
    (r) => log(`  per-call round ${r + 1}/${rounds}`)
  )
  const after = await sandbox.stats()
  for (const c of clients) await c.close()
  await sandbox.stop()
  const sandboxCpuMsPerRequest = sandboxCpuPerRequest(before, after, rounds * perRound * clients.length)
  return { rows: perCallRows(clients.map((c) => c.name), samples, cpuMicros, mainCpuMicros), rounds, perRound, sandboxCpuMsPerRequest }
}

/** The sandbox's CPU per request over a phase, after checking it answered every request with 200. */
const sandboxCpuPerRequest = (before: Stats, after: Stats, expected: number): number => {
  if (after.requests !== expected || after.byStatus["200"] !== after.requests) {
    throw new Error(`sandbox saw ${JSON.stringify(after)}`)
  }
  return round((after.cpuMicros - before.cpuMicros) / 1000 / after.requests, 3)
}

/** Median, p99, mean, ratio to the first (the floor) and CPU per call, from each client's samples. */
const perCallRows = (
  names: ReadonlyArray<string>,
  samples: ReadonlyArray<ReadonlyArray<number>>,
  cpuMicros: ReadonlyArray<number>,
  mainCpuMicros: ReadonlyArray<number>
): ReadonlyArray<PerCall> => {
  const floorMedian = median(samples[0]!)
  return names.map((name, j) => {
    const sorted = [...samples[j]!].sort((a, b) => a - b)
    const med = quantile(sorted, 0.5)
    return {
      client: name,
      calls: sorted.length,
      medianMs: round(med, 3),
      p99Ms: round(quantile(sorted, 0.99), 3),
      meanMs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 3),
      ratioToFloor: round(med / floorMedian, 3),
      clientCpuMs: round(cpuMicros[j]! / 1000 / sorted.length, 3),
      mainCpuMs: round(mainCpuMicros[j]! / 1000 / sorted.length, 3)
    }
  })
}

/**
 * The same comparison with each client in a process of its own (bench/percall-worker.ts),
 * rounds still interleaved: in one shared process every client also pays for the others'
 * garbage and for JIT feedback shared through common code (undici, the Effect runtime).
 */
const perCallIsolated = async () => {
  const sandbox = await spawnSandbox({ stores: 1_000, rateLimit: false })
  const workers: Array<ClientProcess> = []
  for (const kind of perCallKinds) workers.push(await spawnClient(kind, sandbox.ready))
  const { perRound, rounds, warm } = PER_CALL
  // One process works at a time, the others wait on IPC.
  for (const w of workers) await w.ask("warm", warm)
  await sandbox.clearLog()
  const before = await sandbox.stats()
  const names = workers.map(() => "")
  const { cpuMicros, mainCpuMicros, samples } = await interleave(
    workers.length,
    rounds,
    async (j) => {
      const result = await workers[j]!.ask<RoundResult>("round", perRound)
      names[j] = result.name
      return result
    },
    (r) => log(`  isolated per-call round ${r + 1}/${rounds}`)
  )
  const after = await sandbox.stats()
  for (const w of workers) {
    await w.ask("close")
    w.stop()
  }
  await sandbox.stop()
  const sandboxCpuMsPerRequest = sandboxCpuPerRequest(before, after, rounds * perRound * workers.length)
  return { rows: perCallRows(names, samples, cpuMicros, mainCpuMicros), rounds, perRound, sandboxCpuMsPerRequest }
}

// ---------------------------------------------------------------------------
// 1b. Transport: the same POST against a server that answers at once with no crypto, so only the
// HTTP layers differ. Each step adds one layer: undici alone, then undici inside one Effect run,
// then reading the body the way @effect/platform-node's response does, then @effect/platform's
// HttpClient itself (as the library uses it: its tracer off, the body read with `arrayBuffer`).

const transport = async () => {
  const server = await spawnStaticServer()
  const path = disassociatePath("x", "y")
  const body = JSON.stringify({ brand_id: F.brandId, store_list: ids(0, 200).map((store_id) => ({ store_id })) })
  const bodyBytes = new TextEncoder().encode(body)
  const headers = { accept: "application/json", "content-type": "application/json", authorization: `WECHATPAY2-SHA256-RSA2048 ${"x".repeat(480)}` }
  const pool = new Undici.Pool(server.baseUrl)
  const send = () => pool.request({ path, method: "POST", headers, body })
  const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const lean = ManagedRuntime.make(UndiciHttpClient.layer)
  /** The POST through the HttpClient of `via` (its span off, as the library has it); the body's length. */
  const postWith = async (via: ManagedRuntime.ManagedRuntime<HttpClient.HttpClient, never>) => {
    const http = HttpClient.withTracerDisabledWhen(await via.runPromise(HttpClient.HttpClient), () => true)
    return (withBody: (request: HttpClientRequest.HttpClientRequest) => HttpClientRequest.HttpClientRequest) =>
      via.runPromise(
        Effect.flatMap(
          http.execute(withBody(HttpClientRequest.post(server.baseUrl + path).pipe(HttpClientRequest.setHeaders(headers)))),
          (res) => Effect.map(res.arrayBuffer, (b) => b.byteLength)
        )
      )
  }
  const platformPost = await postWith(runtime)
  const leanPost = await postWith(lean)
  const rows: ReadonlyArray<{ readonly name: string; readonly call: () => Promise<number> }> = [
    { name: "undici Pool.request", call: async () => (await (await send()).body.arrayBuffer()).byteLength },
    {
      name: "the same inside one Effect (runPromise)",
      call: () =>
        runtime.runPromise(
          Effect.flatMap(Effect.promise(send), (res) => Effect.map(Effect.promise(() => res.body.arrayBuffer()), (b) => b.byteLength))
        )
    },
    {
      name: "… body via Effect.cached + runSync",
      call: () =>
        runtime.runPromise(
          Effect.flatMap(Effect.promise(send), (res) =>
            Effect.map(
              Effect.runSync(Effect.cached(Effect.promise(() => res.body.arrayBuffer()))),
              (b) => b.byteLength
            ))
        )
    },
    {
      name: "@effect/platform HttpClient (layerUndici)",
      call: () => platformPost(HttpClientRequest.bodyText(body, "application/json"))
    },
    {
      name: "… the body as bytes (bodyUint8Array), as the library sends it",
      call: () => platformPost(HttpClientRequest.bodyUint8Array(bodyBytes, "application/json"))
    },
    {
      name: "effect-wechatpay/undici UndiciHttpClient (bytes body)",
      call: () => leanPost(HttpClientRequest.bodyUint8Array(bodyBytes, "application/json"))
    }
  ]
  const rounds = quick ? 3 : 8
  const perRound = quick ? 200 : 1000
  for (const r of rows) for (let i = 0; i < 300; i++) await r.call()
  const { cpuMicros, samples } = await interleave(rows.length, rounds, (j) =>
    timeCalls(rows[j]!.call, perRound, (n) => {
      if (n < 1000) throw new Error(`${rows[j]!.name}: short body`)
    }))
  await pool.close()
  await runtime.dispose()
  await lean.dispose()
  server.stop()
  return rows.map((r, j) => ({
    client: r.name,
    calls: samples[j]!.length,
    medianMicros: Math.round(median(samples[j]!) * 1000),
    cpuMicros: Math.round(cpuMicros[j]! / samples[j]!.length)
  }))
}

// ---------------------------------------------------------------------------
// 2. Bulk, rate limit off: 100,000 stores in 500 calls at concurrency 4, library vs the floor running the same chunks.

const BULK_STORES = 100_000
const CONCURRENCY = 4

/** The bench's bulk job: the sandbox's coupon and stock, the same concurrency everywhere. */
const bulkJob = (storeIds: ReadonlyArray<string>) =>
  BulkDisassociation.disassociateAll(storeIds, {
    productCouponId: F.productCouponId,
    stockId: F.stockId,
    brandId: F.brandId,
    concurrency: CONCURRENCY
  })

const floorBulk = async (client: Client, storeIds: ReadonlyArray<string>): Promise<number> => {
  const { chunks } = Effect.runSync(Ids.plan(storeIds))
  let next = 0
  let succeeded = 0
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!
      const n = await client.call(chunk)
      succeeded += n
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return succeeded
}

type BulkClient = "floor" | "platform" | "library"

interface BulkRun {
  readonly which: BulkClient
  readonly client: string
  readonly transport: Transport
  readonly seconds: number
  readonly storesPerSecond: number
  /** CPU time per call (user + system) of this process and of the sandbox's, during the job. */
  readonly clientCpuMsPerCall: number
  readonly sandboxCpuMsPerCall: number
  /** Both processes' CPU time over wall time × cores: near 1, the job is bound by the machine's CPU. */
  readonly cpuBusy: number
}

/** A bulk contender and its timed job, which resolves with how many stores succeeded. */
const bulkClient = async (
  which: BulkClient,
  transport: Transport,
  ready: Ready,
  storeIds: ReadonlyArray<string>
): Promise<{ readonly client: Client; readonly job: () => Promise<number> }> => {
  if (which === "library") {
    const c = await library(ready, undefined, transport)
    return { client: c, job: async () => (await c.runtime.runPromise(bulkJob(storeIds))).summary.succeeded }
  }
  // The reference row runs the floor's job driver too, its requests sent through @effect/platform.
  // The floor has no lean variant: undici's own request API is already the leanest.
  const c = which === "floor"
    ? floor(ready, transport === "fetch" ? "fetch" : "undici")
    : await platformOnly(ready, false, transport === "lean" ? "lean" : "undici")
  return { client: c, job: () => floorBulk(c, storeIds) }
}

const bulkOnce = async (which: BulkClient, transport: Transport): Promise<BulkRun> => {
  const sandbox = await spawnSandbox({ stores: BULK_STORES, rateLimit: false })
  const { client, job } = await bulkClient(which, transport, sandbox.ready, ids(0, BULK_STORES))
  for (let i = 0; i < 100; i++) await client.call(warmIds)
  // Sandbox CPU is read over IPC just before and after the timed job, outside its timing.
  const before = await sandbox.stats()
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const succeeded = await job()
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  const after = await sandbox.stats()
  await client.close()
  if (succeeded !== BULK_STORES) throw new Error(`${client.name} bulk: ${succeeded} of ${BULK_STORES} succeeded`)
  const clientCpuMicros = cpu.user + cpu.system
  const sandboxCpuMicros = after.cpuMicros - before.cpuMicros
  await sandbox.stop()
  const calls = BULK_STORES / 200
  return {
    which,
    client: client.name,
    transport,
    seconds: round(seconds, 3),
    storesPerSecond: Math.round(BULK_STORES / seconds),
    clientCpuMsPerCall: round(clientCpuMicros / 1000 / calls, 3),
    sandboxCpuMsPerCall: round(sandboxCpuMicros / 1000 / calls, 3),
    cpuBusy: round((clientCpuMicros + sandboxCpuMicros) / 1e6 / (seconds * Os.cpus().length), 3)
  }
}

/**
 * Library vs floor over the same transport, alternating who goes first; over
 * undici also the reference (the floor's code through @effect/platform's
 * HttpClient). Medians per client over five runs: single runs on this machine swing by
 * a third, moving all clients at once, so pairs of runs say little.
 */
const bulk = async () => {
  const runs: Array<BulkRun> = []
  const repeats = quick ? 1 : 5
  // "lean": the library and the reference over this package's UndiciHttpClient, against the same undici floor.
  const pairs: ReadonlyArray<Transport> = ["undici", "lean", "fetch"]
  for (let r = 0; r < repeats; r++) {
    for (const transport of pairs) {
      const order = r % 2 === 0 ? (["floor", "platform", "library"] as const) : (["library", "platform", "floor"] as const)
      for (const which of order) {
        if (which === "platform" && transport === "fetch") continue
        const run = await bulkOnce(which, transport)
        runs.push(run)
        log(`  bulk ${run.client}: ${run.seconds} s, ${run.storesPerSecond} stores/s`)
      }
    }
  }
  const med = (which: BulkClient, transport: Transport, of: (r: BulkRun) => number = (r) => r.storesPerSecond) =>
    median(runs.filter((r) => r.which === which && r.transport === transport).map(of))
  // Both processes share the machine's cores; when they are kept busy, stores/s follow the
  // inverse of the CPU both spend per call, so the CPU ratio predicts the measured one.
  const cpuPerCall = (which: BulkClient, transport: Transport) =>
    med(which, transport, (r) => r.clientCpuMsPerCall + r.sandboxCpuMsPerCall)
  const byTransport = pairs.map((transport) => {
    const floorRate = med("floor", transport)
    const libraryRate = med("library", transport)
    const platformRate = transport === "fetch" ? undefined : med("platform", transport)
    const floorCpu = cpuPerCall("floor", transport)
    return {
      transport,
      floorStoresPerSecond: floorRate,
      libraryStoresPerSecond: libraryRate,
      ratio: round(libraryRate / floorRate, 3),
      cpuRatio: round(floorCpu / cpuPerCall("library", transport), 3),
      ...(platformRate === undefined ? {} : {
        platformOnlyStoresPerSecond: platformRate,
        platformOnlyRatio: round(platformRate / floorRate, 3),
        platformOnlyCpuRatio: round(floorCpu / cpuPerCall("platform", transport), 3)
      })
    }
  })
  return { runs, repeats, byTransport }
}

// ---------------------------------------------------------------------------
// 3. Bulk at 20/s: the sandbox limits to 20/s, the library keeps its default 20/s limiter.

const rateLimited = async () => {
  const sandbox = await spawnSandbox({ stores: BULK_STORES, rateLimit: 20 })
  const c = await library(sandbox.ready, {}, "undici")
  const storeIds = ids(0, BULK_STORES)
  // Warm both processes up (JIT, connections) with a job of foreign stores through the same
  // limiter, so the measured job continues its sliding window.
  await c.runtime.runPromise(bulkJob(ids(200_000, 40 * 200)))
  await sandbox.clearLog()
  const t0 = performance.now()
  const report = await c.runtime.runPromise(bulkJob(storeIds))
  const seconds = (performance.now() - t0) / 1000
  const stats = await sandbox.stats()
  await c.close()
  await sandbox.stop()
  const ideal = report.summary.chunks / 20
  return {
    calls: report.summary.chunks,
    requests: report.summary.requests,
    succeeded: report.summary.succeeded,
    seconds: round(seconds, 3),
    idealSeconds: ideal,
    ratioToIdeal: round(seconds / ideal, 4),
    received429: stats.byStatus["429"] ?? 0,
    rejected: stats.rejected
  }
}

// ---------------------------------------------------------------------------
// 4. Memory: the CLI's peak RSS on a 1,000,000-id --dry-run, measured from outside by /usr/bin/time -v.

const memory = async () => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "wechatpay-bench-"))
  const file = Path.join(dir, "stores.txt")
  const fd = Fs.openSync(file, "w")
  const n = 1_000_000
  for (let i = 0; i < n; i += 10_000) Fs.writeSync(fd, ids(i, 10_000).join("\n") + "\n")
  Fs.closeSync(fd)
  const keys = await Effect.runPromise(TestKeys.generate())
  const settings = await Effect.runPromise(
    SandboxSettings.write(keys, { baseUrl: "http://127.0.0.1:9", backupBaseUrl: "http://127.0.0.1:9" }, dir)
  )
  const run = (label: string, command: ReadonlyArray<string>) => {
    const out = spawnSync("/usr/bin/time", ["-v", ...command, "disassociate", "--dry-run", "--product-coupon-id", F.productCouponId,
      "--stock-id", F.stockId, "--brand-id", F.brandId, "--stores", file], {
      cwd: root,
      env: { ...process.env, ...settings.env },
      encoding: "utf8"
    })
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(out.stderr)
    const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/.exec(out.stderr)
    if (out.status !== 0 || rss === null) throw new Error(`${label}: exit ${out.status}\n${out.stdout}\n${out.stderr}`)
    return { how: label, peakRssMB: round(Number(rss[1]) / 1024, 1), wall: wall?.[1] ?? "?", stdout: out.stdout.trim() }
  }
  const results = [run("node --import tsx packages/wechatpay-stores/src/main.ts", ["node", "--conditions=wechatpay-source", "--import", "tsx", "packages/wechatpay-stores/src/main.ts"])]
  // The built CLI, as users run it: both workspace packages built from the current sources (the
  // CLI's dist imports the library's dist through the workspace link).
  const build = spawnSync("npm", ["run", "build"], { cwd: root, encoding: "utf8" })
  if (build.status === 0) {
    results.push(run("node packages/wechatpay-stores/dist/main.js (built from the current sources)", ["node", Path.join(root, "packages", "wechatpay-stores", "dist", "main.js")]))
  }
  else log(`  (could not build the CLI: ${build.stdout}${build.stderr})`)
  Fs.rmSync(dir, { recursive: true, force: true })
  return { ids: n, runs: results }
}

// ---------------------------------------------------------------------------

const main = async () => {
  const m = machine()
  log(`bench on ${m.cpu} × ${m.cpus}, ${m.memoryGiB} GiB, Node ${m.node}, load ${m.loadAverage.join(" ")}`)
  const result: Record<string, unknown> = { machine: m }
  if (wants("percall")) {
    log("per-call latency (200-store request, sequential, keep-alive, sandbox in its own process)…")
    result["perCall"] = await perCall()
    log("per-call latency again, each client in a process of its own…")
    result["perCallIsolated"] = await perCallIsolated()
  }
  if (wants("transport")) {
    log("transport only (same POST, a server answering at once with no crypto)…")
    result["transport"] = await transport()
  }
  if (wants("bulk")) {
    log(`bulk ${BULK_STORES} stores, rate limit off, concurrency ${CONCURRENCY}…`)
    result["bulk"] = await bulk()
  }
  if (wants("rate")) {
    log(`bulk ${BULK_STORES} stores at 20/s (sandbox limit 20/s, library default limiter)…`)
    result["rateLimited"] = await rateLimited()
  }
  if (wants("memory")) {
    log("CLI peak RSS, --dry-run over 1,000,000 ids…")
    result["memory"] = await memory()
  }
  if (only?.includes("jobs") === true) {
    log("store jobs (#15): journal overhead and resume…")
    result["jobs"] = await Jobs.run(Jobs.optionsFrom(args, log))
  }
  result["loadAverageAfter"] = Os.loadavg().map((x) => round(x))
  if (json) {
    process.stdout.write(JSON.stringify(result, null, 2) + "\n")
    return
  }
  const out = (line: string) => process.stdout.write(`${line}\n`)
  out(`machine: ${m.cpu} × ${m.cpus}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.date}, load before ${m.loadAverage.join(" ")}`)
  const perCallTables = [
    ["per call, all clients in this process", result["perCall"]],
    ["per call, each client in a process of its own", result["perCallIsolated"]]
  ] as const
  for (const [title, table] of perCallTables) {
    const pc = table as Awaited<ReturnType<typeof perCall>> | undefined
    if (pc === undefined) continue
    out(`\n${title} (${pc.rounds} rounds × ${pc.perRound} calls per client; sandbox CPU ${pc.sandboxCpuMsPerRequest} ms a request):`)
    out(`${"client".padEnd(36)}${"median ms".padStart(11)}${"p99 ms".padStart(10)}${"× floor".padStart(10)}${"CPU ms".padStart(9)}${"main".padStart(8)}`)
    for (const r of pc.rows) {
      out(`${r.client.padEnd(36)}${r.medianMs.toFixed(3).padStart(11)}${r.p99Ms.toFixed(3).padStart(10)}${r.ratioToFloor.toFixed(3).padStart(10)}${r.clientCpuMs.toFixed(3).padStart(9)}${r.mainCpuMs.toFixed(3).padStart(8)}`)
    }
  }
  const tr = result["transport"] as Awaited<ReturnType<typeof transport>> | undefined
  if (tr !== undefined) {
    out("\ntransport only, no crypto (each row adds one layer to the one above):")
    out(`${"layer".padEnd(44)}${"median µs".padStart(11)}${"CPU µs".padStart(9)}`)
    for (const r of tr) out(`${r.client.padEnd(44)}${String(r.medianMicros).padStart(11)}${String(r.cpuMicros).padStart(9)}`)
  }
  const b = result["bulk"] as Awaited<ReturnType<typeof bulk>> | undefined
  if (b !== undefined) {
    out("")
    for (const t of b.byTransport) {
      const reference = t.platformOnlyStoresPerSecond === undefined
        ? ""
        : `; reference, the floor's code through @effect/platform: ${t.platformOnlyStoresPerSecond} stores/s, ratio ${t.platformOnlyRatio} (CPU ratio ${t.platformOnlyCpuRatio})`
      out(`bulk over ${t.transport}, rate limit off: floor ${t.floorStoresPerSecond} stores/s, library ${t.libraryStoresPerSecond} stores/s, ratio ${t.ratio} (CPU ratio ${t.cpuRatio})${reference} (medians of ${b.repeats} runs each)`)
    }
    for (const r of b.runs) {
      out(`  ${r.client} over ${r.transport}: ${r.seconds} s; CPU a call ${r.clientCpuMsPerCall} ms client + ${r.sandboxCpuMsPerCall} ms sandbox; cores busy ${r.cpuBusy}`)
    }
  }
  const rl = result["rateLimited"] as Awaited<ReturnType<typeof rateLimited>> | undefined
  if (rl !== undefined) {
    out(`bulk at 20/s: ${rl.calls} calls (${rl.requests} requests) in ${rl.seconds} s vs ideal ${rl.idealSeconds} s = ${rl.ratioToIdeal}×, 429 received: ${rl.received429}`)
  }
  const jobs = result["jobs"] as Jobs.JobsResult | undefined
  if (jobs !== undefined) out(`\n${Jobs.describe(jobs)}`)
  const mem = result["memory"] as Awaited<ReturnType<typeof memory>> | undefined
  if (mem !== undefined) {
    for (const r of mem.runs) out(`CLI --dry-run over ${mem.ids} ids (${r.how}): peak RSS ${r.peakRssMB} MB, wall ${r.wall}`)
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
})
