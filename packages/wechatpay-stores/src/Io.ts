/**
 * Where a command reads and writes, and how it is asked to stop: a parameter of
 * every command, so the tests run them in-process with their own sinks.
 */
import { Effect } from "effect"
import type { Readable } from "node:stream"
import * as Output from "./Output.js"

export interface Io {
  readonly out: Output.Sink
  readonly err: Output.Sink
  readonly stdin: Readable
  /** Completes on the first Ctrl-C: a job stops sending and still writes its report; the sandbox stops. */
  readonly stop?: Effect.Effect<void> | undefined
  /** Completes on a second Ctrl-C: a job abandons its calls in flight (reported unresolved) and still writes its report. */
  readonly abort?: Effect.Effect<void> | undefined
  /** Where a report goes when no `--report` was given; the process's working directory by default. */
  readonly cwd?: string | undefined
  /** Whether `stdin` was closed as the process started (`<&-`): then it reads as empty, which it is not. */
  readonly stdinClosed?: (() => boolean) | undefined
}

export const processIo: Io = {
  out: Output.stdout,
  err: Output.stderr,
  stdin: process.stdin,
  stdinClosed: () => Output.closedAtStart(0)
}

/** The directory a default report is written to. */
export const workingDirectory = (io: Io): string => io.cwd ?? process.cwd()

/** Exit code of a command that could not run (bad flags, configuration, input). */
export const CANNOT_RUN = 1

/**
 * The exit code when standard output's reader went away before a command's product was printed
 * (EPIPE): 128 + SIGPIPE (13), what a shell reports for `seq 1 1000000 | head -1`'s `seq`. Quiet:
 * nothing is printed, as the reader chose to stop reading. Under `set -o pipefail` the
 * pipeline fails, as it does for any Unix tool cut short by its reader.
 */
export const READER_GONE = 141

/**
 * Standard output failed while it carried a command's product: quietly {@link READER_GONE} when its
 * reader went away, else one line (`standard output failed (CODE)` and `rest`) and exit 1.
 */
export const outputFailed = (io: Io, code: string, rest: string): number =>
  code === "EPIPE" ? READER_GONE : fail(io, `standard output failed (${code})${rest}`)

/** Prints one line on stderr and gives the exit code of a command that could not run. */
export const fail = (io: Io, message: string): number => {
  io.err.write(`wechatpay-stores: ${message}\n`)
  return CANNOT_RUN
}

/**
 * The line a command whose product is its standard output (`list`, `stock`) gives before it
 * sends anything, when that output was closed as the process started; else undefined.
 */
export const closedOutput = (io: Io, instead: string): string | undefined =>
  io.out.closed?.() === true
    ? `standard output is closed (>&-), so what this prints would go nowhere; ${instead}; nothing was sent`
    : undefined

/** A notice for the person running the command: on stderr, or on stdout when stderr is what failed. */
export const notice = (io: Io, message: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const sink = yield* workingSink(io.err, io.out)
    sink.write(`wechatpay-stores: ${message}\n`)
  })

/** `first`, unless it is known to have failed; then `second`. */
export const workingSink = (first: Output.Sink, second: Output.Sink): Effect.Effect<Output.Sink> =>
  Effect.map(first.failure ?? Effect.succeed(undefined), (failed) => failed === undefined ? first : second)

/** Why `sink` failed, or undefined while it works (waits, boundedly, for what was written to drain). */
export const failureOf = (sink: Output.Sink): Effect.Effect<string | undefined> => sink.failure ?? Effect.succeed(undefined)
