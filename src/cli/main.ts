#!/usr/bin/env node
/**
 * `wechatpay-stores`: bulk disassociation from the command line, a sandbox to
 * try it against, and the `demo` that `npm start` runs.
 *
 * Exit codes: 0 every unique store succeeded (demo: ran and checked out),
 * 2 the job ran but some stores failed or are unresolved, it was stopped, or
 * its report had to go to a fallback file; 1 it could not run; 130 the
 * sandbox was stopped, or a third stop signal quit without a report.
 * Standard output or error failing (a closed pipe, a full disk) changes none
 * of these: the job goes on and its report is still written.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { Cause, Deferred, Effect, Exit } from "effect"
import { readFileSync } from "node:fs"
import * as Path from "node:path"
import { parseArgs } from "node:util"
import { ProductCoupon, ProductCouponStores } from "../index.js"
import * as Commands from "./Commands.js"
import * as Output from "./Output.js"

const USAGE = `usage:
  wechatpay-stores disassociate --product-coupon-id ID --stock-id ID --brand-id ID --stores FILE
                                [--report FILE] [--dry-run] [--concurrency N] [--rate N] [--allow-empty]
      FILE: one id a line, a CSV with a store_id column, a JSON array of strings or of
      {"store_id": …}, or - for standard input (a pipe or FIFO works too), in UTF-8. Input
      without ids is refused unless --allow-empty. Credentials come from the WECHATPAY_* variables.
  wechatpay-stores sandbox [--port P] [--backup-port P] [--stores N] [--faults fault=rate,…]
                           [--seed S] [--rate N] [--dir DIR]
  wechatpay-stores demo       (what npm start runs: the sandbox and a bulk job, in one process)
`

/** The flags each command takes. */
const FLAGS: Readonly<Record<string, ReadonlyArray<string>>> = {
  disassociate: ["product-coupon-id", "stock-id", "brand-id", "stores", "report", "dry-run", "concurrency", "rate", "allow-empty"],
  sandbox: ["port", "backup-port", "stores", "faults", "seed", "rate", "dir"],
  demo: []
}

/** A problem with how the command was called: exit 1 with one line. */
class UsageError {
  readonly _tag = "UsageError"
  constructor(readonly message: string) {}
}

const positiveInt = (flag: string, value: string | undefined, fallback: number): number | UsageError => {
  if (value === undefined) return fallback
  const n = Number(value)
  return Number.isInteger(n) && n > 0 ? n : new UsageError(`--${flag} must be a positive whole number, got "${value}"`)
}

const nonNegativeInt = (flag: string, value: string | undefined, fallback: number): number | UsageError => {
  if (value === undefined) return fallback
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 ? n : new UsageError(`--${flag} must be a whole number ≥ 0, got "${value}"`)
}

const parse = (argv: ReadonlyArray<string>) => {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        "product-coupon-id": { type: "string" },
        "stock-id": { type: "string" },
        "brand-id": { type: "string" },
        stores: { type: "string" },
        report: { type: "string" },
        "dry-run": { type: "boolean" },
        "allow-empty": { type: "boolean" },
        concurrency: { type: "string" },
        rate: { type: "string" },
        port: { type: "string" },
        "backup-port": { type: "string" },
        faults: { type: "string" },
        seed: { type: "string" },
        dir: { type: "string" },
        help: { type: "boolean", short: "h" }
      }
    })
  } catch (e) {
    return new UsageError(e instanceof Error ? e.message : "bad arguments")
  }
}

/** Parses `rateLimit=0.2,systemError=0.05` into fault rates. */
export const parseFaults = (text: string | undefined): Commands.FaultRates | UsageError => {
  const rates: Record<string, number> = {}
  if (text === undefined || text.trim() === "") return rates
  for (const part of text.split(",")) {
    const [name, value] = part.split("=")
    const rate = Number(value)
    if (name === undefined || !Commands.isFault(name.trim()) || !(rate >= 0 && rate <= 1)) {
      return new UsageError(
        `--faults takes fault=rate pairs with rates in [0, 1]; faults: ${Commands.faultNames().join(", ")}`
      )
    }
    rates[name.trim()] = rate
  }
  return rates
}

const idFlag = (flag: string, value: string | undefined, path: boolean): string | UsageError => {
  if (value === undefined) return new UsageError(`--${flag} is required`)
  const problem = ProductCoupon.idProblem(value) ?? (path ? ProductCoupon.pathSegmentProblem(value) : undefined)
  return problem === undefined ? value : new UsageError(`--${flag} ${problem}`)
}

/** Runs one command line; resolves to the exit code. Exported for the tests. */
export const run = (
  argv: ReadonlyArray<string>,
  io: Commands.Io = Commands.processIo
): Effect.Effect<number> =>
  Effect.gen(function*() {
    const args = parse(argv)
    if (args instanceof UsageError) return usage(io, args.message)
    const [command, ...rest] = args.positionals
    if (args.values.help === true) {
      io.out.write(USAGE)
      return 0
    }
    if (command === undefined) return usage(io, "a command is required")
    if (rest.length > 0) return usage(io, `unexpected argument "${rest[0]}"`)
    const v = args.values
    // A flag of another command is a mistake (e.g. --port on disassociate), not something to ignore.
    const allowed = FLAGS[command]
    if (allowed !== undefined) {
      const stray = Object.keys(v).find((flag) => flag !== "help" && !allowed.includes(flag))
      if (stray !== undefined) return usage(io, `--${stray} does not apply to ${command}`)
    }
    switch (command) {
      case "disassociate": {
        const productCouponId = idFlag("product-coupon-id", v["product-coupon-id"], true)
        const stockId = idFlag("stock-id", v["stock-id"], true)
        const brandId = idFlag("brand-id", v["brand-id"], false)
        const concurrency = positiveInt("concurrency", v.concurrency, 4)
        const rate = positiveInt("rate", v.rate, ProductCouponStores.DEFAULT_RATE_LIMIT.limit)
        for (const x of [productCouponId, stockId, brandId, concurrency, rate]) {
          if (x instanceof UsageError) return usage(io, x.message)
        }
        if (v.stores === undefined) return usage(io, "--stores is required (a file, or - for standard input)")
        return yield* Commands.disassociate({
          productCouponId: productCouponId as string,
          stockId: stockId as string,
          brandId: brandId as string,
          stores: v.stores,
          report: v.report,
          dryRun: v["dry-run"] === true,
          allowEmpty: v["allow-empty"] === true,
          concurrency: concurrency as number,
          rate: rate as number
        }, io, FetchHttpClient.layer)
      }
      case "sandbox": {
        const port = nonNegativeInt("port", v.port, 0)
        const backupPort = nonNegativeInt("backup-port", v["backup-port"], 0)
        const stores = positiveInt("stores", v.stores, 10_000)
        const seed = nonNegativeInt("seed", v.seed, 1)
        const rate = nonNegativeInt("rate", v.rate, 20)
        const faults = parseFaults(v.faults)
        for (const x of [port, backupPort, stores, seed, rate, faults]) {
          if (x instanceof UsageError) return usage(io, x.message)
        }
        return yield* Commands.sandbox({
          port: port as number,
          backupPort: backupPort as number,
          stores: stores as number,
          seed: seed as number,
          rate: rate as number,
          faults: faults as Commands.FaultRates,
          dir: v.dir ?? ".sandbox"
        }, io)
      }
      case "demo":
        return yield* Commands.demo(io)
      default:
        return usage(io, `unknown command "${command}"`)
    }
  })

const usage = (io: Commands.Io, message: string): number => {
  io.err.write(`wechatpay-stores: ${message}\n${USAGE}`)
  return 1
}

/** The signals that ask for a stop: Ctrl-C, `kill`, and a terminal or ssh session that hangs up. */
const STOP_SIGNALS: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP"]

/** The parent of a process, from /proc (Linux); undefined where that cannot be read. */
const parentOf = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses, so count from the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
    return Number.isInteger(ppid) ? ppid : undefined
  } catch {
    return undefined
  }
}

/** When `pid` is a `sh -c …` wrapper (how npm runs a script), its parent; otherwise undefined. */
const wrapperParent = (pid: number): number | undefined => {
  try {
    const [argv0, ...rest] = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
    const shell = ["sh", "dash", "bash", "zsh", "ash", "ksh"].includes(Path.basename(argv0 ?? ""))
    const parent = shell && rest.includes("-c") ? parentOf(pid) : undefined
    return parent !== undefined && parent > 1 ? parent : undefined
  } catch {
    return undefined
  }
}

/**
 * Calls `onOrphaned` (once) when the process that started this one exits, checked once a
 * second: a killed `npm run cli` must not leave the job running unseen to the end. Under
 * npm the parent is a `sh -c` that outlives a SIGKILLed npm, so npm itself is watched too.
 */
const watchParent = (onOrphaned: () => void): { readonly cancel: () => void } => {
  const parent = process.ppid
  // Already a child of init (started detached): there is no parent to lose.
  if (parent <= 1) return { cancel: () => {} }
  const grandparent = wrapperParent(parent)
  const timer = setInterval(() => {
    if (process.ppid === parent && (grandparent === undefined || parentOf(parent) === grandparent)) return
    clearInterval(timer)
    onOrphaned()
  }, 1_000)
  // The watch alone must not keep the process alive.
  timer.unref()
  return { cancel: () => clearInterval(timer) }
}

/** Ends the process with `code` once standard output and error have drained (or are known broken). */
const exitWhenFlushed = (io: Commands.Io, code: number): void => {
  const flushed = (sink: Output.Sink) => sink.failure ?? Effect.void
  // Ended explicitly: a libuv thread stuck in open() (a FIFO with no writer) would keep the process alive.
  Effect.runFork(
    Effect.all([flushed(io.out), flushed(io.err)], { concurrency: 2, discard: true }).pipe(
      Effect.ensuring(Effect.sync(() => process.exit(code)))
    )
  )
}

// Run only when executed, not when imported by the tests.
const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/cli/main.ts") === true ||
  process.argv[1]?.endsWith("/cli/main.js") === true || process.argv[1]?.endsWith("wechatpay-stores") === true
if (isMain) {
  // The first stop signal (Ctrl-C, SIGTERM, SIGHUP, or the parent exiting) asks for a graceful stop:
  // a job sends nothing more, lets the calls in flight finish and still writes its summary and report.
  // A second signal abandons the calls in flight (their stores are reported unresolved) and still
  // writes the report. Only a third quits at once, without it.
  const io = Commands.processIo
  const stop = Effect.runSync(Deferred.make<void>())
  const abort = Effect.runSync(Deferred.make<void>())
  const fiber = Effect.runFork(run(process.argv.slice(2), { ...io, stop: Deferred.await(stop), abort: Deferred.await(abort) }))
  const say = (line: string) => io.err.write(`${io.err.isTTY ? "\n" : ""}wechatpay-stores: ${line}\n`)
  let requests = 0
  let lastRequestAt = 0
  const requestStop = (why: string): boolean => {
    if (requests > 0) return false
    requests = 1
    lastRequestAt = Date.now()
    say(`${why}: stopping: calls in flight finish, nothing more is sent, the report is still written (Ctrl-C again to abort the calls in flight)`)
    Effect.runSync(Deferred.succeed(stop, undefined))
    return true
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (requestStop(signal)) return
    // One Ctrl-C can arrive twice (the terminal signals the process group, and a wrapper
    // such as npm relays it too): only a later one means "abort".
    if (Date.now() - lastRequestAt <= 500) return
    lastRequestAt = Date.now()
    requests++
    if (requests === 2) {
      say(`${signal}: aborting the calls in flight (their stores are reported unresolved); the report is still written (once more to quit without it)`)
      Effect.runSync(Deferred.succeed(abort, undefined))
      return
    }
    say(`${signal}: quitting now, without the summary or the report`)
    process.exit(130)
  }
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal)
  // Only under `npm run`/`npm start` (npm sets npm_lifecycle_event): a job an operator started
  // with `&` and `disown`, or under nohup, must keep running when its shell exits.
  const parentWatch = process.env["npm_lifecycle_event"] === undefined
    ? { cancel: () => {} }
    : watchParent(() => requestStop("the parent process exited"))
  fiber.addObserver((exit) => {
    parentWatch.cancel()
    let code: number
    if (Exit.isSuccess(exit)) code = exit.value
    else if (Cause.isInterruptedOnly(exit.cause)) code = 130
    else {
      // One line, no stack trace: a defect is ours to fix.
      const cause = Cause.squash(exit.cause)
      say(`internal error: ${Output.oneLine(cause instanceof Error ? cause.message : String(cause))} (please report this)`)
      code = 1
    }
    process.exitCode = code
    exitWhenFlushed(io, code)
  })
}
