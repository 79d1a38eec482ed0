// The CLI's test set-up: a loopback sandbox with its WECHATPAY_* settings written to a temporary
// directory; the CLI run in-process (`run(argv, io)`, output captured) or as a real process
// (`node --conditions=wechatpay-source --import tsx packages/wechatpay-stores/src/main.ts`, output collected, killed when the scope closes); and the
// report it writes.
import { assert } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { Readable } from "node:stream"
import * as Url from "node:url"
import type * as CliReport from "../../packages/wechatpay-stores/src/Report.js"
import type * as CliIo from "../../packages/wechatpay-stores/src/Io.js"
import { run } from "../../packages/wechatpay-stores/src/main.js"
import { type FakeWechatPay, SandboxSettings } from "../../packages/effect-wechatpay/src/testing/index.js"
import { parse } from "./JournalRecords.js"
import { keys } from "./Keys.js"
import * as Sandbox from "./Sandbox.js"

export const ROOT = Path.resolve(import.meta.dirname, "../..")
export const MAIN = Path.join(ROOT, "packages/wechatpay-stores/src/main.ts")
/** tsx named by URL, so a child started in another working directory still finds it. */
export const TSX = Url.pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

/**
 * `disassociate` for the sandbox's fixture coupon, stock and brand; `--stores` and the rest follow.
 * `--no-snapshot` says outright what the default is (no listing walk before the first call), so that the
 * requests a test counts are the job's own whatever the default (the snapshot has its tests in cli-undo).
 */
export const job: ReadonlyArray<string> = [
  "disassociate",
  "--product-coupon-id",
  Sandbox.F.productCouponId,
  "--stock-id",
  Sandbox.F.stockId,
  "--brand-id",
  Sandbox.F.brandId,
  "--no-snapshot"
]

/** The environment without any WECHATPAY_* the developer may have set. */
export const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("WECHATPAY_")) env[k] = v
  return env
}

/** A fresh directory under the system's temporary directory, removed with everything in it when the scope closes. */
export const tempDir = (prefix: string) =>
  Effect.acquireRelease(
    Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), prefix))),
    (d) => Effect.promise(() => Fs.rm(d, { recursive: true, force: true }))
  )

// ---------------------------------------------------------------------------
// In-process

/** An `io` for `run` whose output is kept, and read back with `out()` and `err()`. */
export interface Captured {
  readonly io: CliIo.Io
  readonly out: () => string
  readonly err: () => string
}

export const capture = (
  options: {
    readonly tty?: boolean
    /** The terminal's width when `tty` (unset: the CLI's default). */
    readonly columns?: number
    readonly stdin?: Readable
    readonly stop?: Effect.Effect<void>
    /** Where a report without --report goes (the sandbox's directory under `sandbox().cli`). */
    readonly cwd?: string
  } = {}
): Captured => {
  let out = ""
  let err = ""
  return {
    io: {
      out: { isTTY: options.tty ?? false, columns: () => options.columns, write: (t) => void (out += t) },
      err: { isTTY: false, write: (t) => void (err += t) },
      stdin: options.stdin ?? Readable.from([]),
      stop: options.stop,
      cwd: options.cwd
    },
    out: () => out,
    err: () => err
  }
}

/** What to change in the settings' variables for one run. */
export interface EnvChange {
  readonly without?: ReadonlyArray<string>
  readonly extra?: Record<string, string>
}

/** Runs the CLI in-process with these WECHATPAY_* variables (a ConfigProvider, no process.env), minus `without`, plus `extra`. */
export const runWith = (
  env: Readonly<Record<string, string>>,
  argv: ReadonlyArray<string>,
  c: Captured,
  change: EnvChange = {}
) => {
  const vars = new Map(Object.entries({ ...env, ...change.extra }))
  for (const name of change.without ?? []) vars.delete(name)
  return run(argv, c.io).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(vars)))
}

/**
 * A fresh loopback sandbox (shared keys), a temporary directory named after `prefix`, the
 * sandbox's WECHATPAY_* settings (key files under it), helpers to make files and FIFOs there,
 * and the CLI run in-process against it.
 */
export const sandbox = (prefix: string, options: Omit<FakeWechatPay.Options, "keys"> = {}) =>
  Effect.gen(function*() {
    const { fake, server } = yield* Sandbox.serve(options)
    const dir = yield* tempDir(prefix)
    const settings = yield* SandboxSettings.write(keys, server, Path.join(dir, "keys"))
    const file = (name: string, content: string | Uint8Array) =>
      Effect.promise(() => Fs.writeFile(Path.join(dir, name), content)).pipe(Effect.as(Path.join(dir, name)))
    const fifo = (name: string) =>
      Effect.sync(() => {
        const path = Path.join(dir, name)
        const made = ChildProcess.spawnSync("mkfifo", [path])
        assert.strictEqual(made.status, 0, String(made.stderr))
        return path
      })
    // A report written without --report lands in the test's directory, not the repository.
    const cli = (argv: ReadonlyArray<string>, c: Captured, change?: EnvChange) =>
      runWith(settings.env, argv, c.io.cwd === undefined ? { ...c, io: { ...c.io, cwd: dir } } : c, change)
    return { fake, server, dir, env: settings.env, file, fifo, cli }
  })

// ---------------------------------------------------------------------------
// A real process

export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** When it exited (Date.now()). */
  readonly at: number
}

export interface Spawned {
  readonly child: ChildProcess.ChildProcess
  /** Its working directory. */
  readonly cwd: string
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves when the process has exited and its output pipes closed. */
  readonly exited: Effect.Effect<Exited>
}

export interface SpawnOptions {
  readonly env: Record<string, string>
  /** The working directory: a fresh temporary one unless given (a report without --report lands there). */
  readonly cwd?: string
  /** Standard input: nothing (the default), or a pipe the test writes to. */
  readonly stdin?: ChildProcess.StdioNull | ChildProcess.StdioPipe
  /** Standard output: piped and collected (the default), or this descriptor. */
  readonly stdout?: number
  /** Its own process group, which the finalizer kills whole (so an npm's children go too). */
  readonly detached?: boolean
}

/** Spawns `command`; the scope's finalizer SIGKILLs what is left. */
export const spawn = (command: string, args: ReadonlyArray<string>, options: SpawnOptions) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<Exited>()
    const cwd = options.cwd ?? (yield* tempDir("wechatpay-cli-cwd-"))
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        ChildProcess.spawn(command, [...args], {
          env: options.env,
          cwd,
          detached: options.detached === true,
          stdio: [options.stdin ?? "ignore", options.stdout ?? "pipe", "pipe"]
        })
      ),
      (child) =>
        Effect.sync(() => {
          try {
            if (options.detached === true && child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
            else child.kill("SIGKILL")
          } catch {
            // Already gone.
          }
        })
    )
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => void (stdout += d.toString("utf8")))
    child.stderr?.on("data", (d: Buffer) => void (stderr += d.toString("utf8")))
    child.on("close", (code, signal) => Effect.runSync(Deferred.succeed(done, { code, signal, at: Date.now() })))
    return { child, cwd, stdout: () => stdout, stderr: () => stderr, exited: Deferred.await(done) } satisfies Spawned
  })

/** The node arguments that run the CLI with `args`: `--import tsx src/cli/main.ts …`. */
export const nodeArgs = (args: ReadonlyArray<string>): ReadonlyArray<string> => ["--conditions=wechatpay-source", "--import", TSX, MAIN, ...args]

/** The CLI itself as a process: `node --conditions=wechatpay-source --import tsx packages/wechatpay-stores/src/main.ts …`. */
export const spawnCli = (args: ReadonlyArray<string>, options: SpawnOptions) => spawn(process.execPath, nodeArgs(args), options)

/** Waits for the exit, failing the test when it takes longer than `seconds`. */
export const exitWithin = (p: Spawned, seconds: number) =>
  p.exited.pipe(
    Effect.timeoutFail({
      duration: `${seconds} seconds`,
      onTimeout: () => new Error(`still running after ${seconds} s: ${p.stdout()} / ${p.stderr()}`)
    }),
    Effect.orDie
  )

/** Waits (at most 45 s: the child compiles with tsx on a busy machine) until `ready()`; dies if the process exits first. */
export const waitUntil = (p: Spawned, ready: () => boolean, what: string) =>
  Effect.gen(function*() {
    while (!ready()) {
      if (p.child.exitCode !== null) return yield* Effect.dieMessage(`${what}: the process exited (${p.child.exitCode}): ${p.stderr()}`)
      yield* Effect.sleep("20 millis")
    }
  }).pipe(
    Effect.timeoutFail({ duration: "45 seconds", onTimeout: () => new Error(`${what}: ${p.stdout()} / ${p.stderr()}`) }),
    Effect.orDie
  )

/** {@link waitUntil} `read()` (the process's stdout or stderr so far) matches `pattern`. */
export const waitFor = (p: Spawned, read: () => string, pattern: RegExp, what: string) =>
  waitUntil(p, () => pattern.test(read()), what)

// ---------------------------------------------------------------------------
// The report

/** A report as the CLI writes it: its own type, so a test reads every field it has. */
export type Report = CliReport.JobReport

/** The report file at `path`, parsed. */
export const readReport = (path: string) =>
  Effect.promise(() => Fs.readFile(path, "utf8")).pipe(Effect.map((t) => JSON.parse(t) as Report))

/** Any report a job, sync, resume or undo writes (a sync's has a plan and two parts). */
export type AnyReport = CliReport.AnyReport

/** A sync's report. */
export type SyncReport = CliReport.SyncReport

/** Any report file at `path`, parsed. */
export const readAnyReport = (path: string) =>
  Effect.promise(() => Fs.readFile(path, "utf8")).pipe(Effect.map((t) => JSON.parse(t) as AnyReport))

/** A journal's records (one JSON object a line; a torn last line left out). */
export const journalRecords = (path: string) =>
  Effect.promise(() => Fs.readFile(path, "utf8")).pipe(
    Effect.map((t) => parse(t) as Array<Record<string, unknown> & { readonly t: string }>)
  )

/** The journals written to `dir` under the default name. */
export const defaultJournals = (dir: string) =>
  Effect.promise(() => Fs.readdir(dir)).pipe(
    Effect.map((names) => names.filter((n) => /^wechatpay-stores-journal-.+-\d+\.jsonl$/.test(n)).map((n) => Path.join(dir, n)))
  )
