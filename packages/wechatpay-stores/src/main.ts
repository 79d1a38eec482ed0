#!/usr/bin/env node
/**
 * `wechatpay-stores`: bulk disassociation from the command line, a sandbox to
 * try it against, and the `demo` that `npm start` runs. The commands are in
 * ./commands/ (listed in Commands.ts), parsed by @effect/cli (Program.ts); this
 * file is the process around them: signals, the parent watch, the exit.
 *
 * Exit codes: 0 every unique store succeeded (demo: ran and checked out; also
 * --help, --version, --completions), 2 the job ran but some stores failed or are
 * unresolved, it was stopped, or its report could not be written where --report
 * asked; 1 it could not run (bad flags, configuration, input); 130 the sandbox
 * was stopped, a job was stopped while its input was read, or a third stop
 * signal quit without a report.
 * Standard output or error failing (a closed pipe, a full disk) changes none
 * of these: the job goes on and its report is still written.
 */
import { Cause, Deferred, Effect, Exit } from "effect"
import { UndiciHttpClient } from "effect-wechatpay/undici"
import { readFileSync } from "node:fs"
import * as Path from "node:path"
import * as Commands from "./Commands.js"
import * as Io from "./Io.js"
import * as Output from "./Output.js"
import * as Program from "./Program.js"

export { parseFaults } from "./commands/sandbox.js"

/**
 * Runs one command line; resolves to the exit code. WeChat Pay is reached through undici, by the
 * library's UndiciHttpClient (each answer read whole, a few KiB), which costs less a call than
 * @effect/platform-node's undici layer (docs/benchmarks.md). Exported for the tests.
 */
export const run = (argv: ReadonlyArray<string>, io: Io.Io = Io.processIo): Effect.Effect<number> =>
  Program.run(argv, io, Commands.all, UndiciHttpClient.layer, Commands.SUMMARY)

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
const exitWhenFlushed = (io: Io.Io, code: number): void => {
  const flushed = (sink: Output.Sink) => sink.failure ?? Effect.void
  // Ended explicitly: a libuv thread stuck in open() (a FIFO with no writer) would keep the process alive.
  Effect.runFork(
    Effect.all([flushed(io.out), flushed(io.err)], { concurrency: 2, discard: true }).pipe(
      Effect.ensuring(Effect.sync(() => process.exit(code)))
    )
  )
}

// Run only when executed, not when imported by the tests.
const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/wechatpay-stores/src/main.ts") === true ||
  process.argv[1]?.endsWith("/wechatpay-stores/dist/main.js") === true || process.argv[1]?.endsWith("wechatpay-stores") === true
if (isMain) {
  // The first stop signal (Ctrl-C, SIGTERM, SIGHUP, or the parent exiting) asks for a graceful stop:
  // a job sends nothing more, lets the calls in flight finish and still writes its summary and report.
  // A second signal abandons the calls in flight (their stores are reported unresolved) and still
  // writes the report. Only a third quits at once, without it.
  const io = Io.processIo
  const stop = Effect.runSync(Deferred.make<void>())
  const abort = Effect.runSync(Deferred.make<void>())
  const fiber = Effect.runFork(run(process.argv.slice(2), { ...io, stop: Deferred.await(stop), abort: Deferred.await(abort) }))
  const say = (line: string) => io.err.write(`${io.err.isTTY ? "\n" : ""}wechatpay-stores: ${line}\n`)
  // Only the jobs write a report; a listing, a stock query or the sandbox just stops.
  const command = Program.commandIn(Commands.all, process.argv.slice(2))
  const reports = command !== undefined && Commands.reporting.includes(command)
  let requests = 0
  let lastRequestAt = 0
  const requestStop = (why: string): boolean => {
    if (requests > 0) return false
    requests = 1
    lastRequestAt = Date.now()
    say(
      reports
        // Said before the job may have begun (its input still being read): nothing here claims a call or a report.
        ? `${why}: stopping: nothing more is sent; calls in flight finish and are reported (Ctrl-C again to abort them)`
        : `${why}: stopping: nothing more is sent (Ctrl-C again to quit at once)`
    )
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
    if (requests === 2 && reports) {
      say(`${signal}: aborting the calls in flight (their stores are reported unresolved); the report is still written (once more to quit without it)`)
      Effect.runSync(Deferred.succeed(abort, undefined))
      return
    }
    say(`${signal}: quitting now${reports ? ", without the summary or the report" : ""}`)
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
