/**
 * A job's `--stores` input opened once and every id checked before anything is sent, racing the
 * first Ctrl-C: the input and its plan, or the exit code when no job may run.
 */
import { BulkDisassociation, type WechatPayError } from "effect-wechatpay"
import { Effect } from "effect"
import * as Io from "./Io.js"
import type * as Output from "./Output.js"
import * as StoreFile from "./StoreFile.js"

/** The paths that name standard input itself. */
const STDIN_PATHS: ReadonlyArray<string> = ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"]

/** One line for a store-id source that could not be read or checked. */
const inputFailure = (
  e: StoreFile.StoreFileError | BulkDisassociation.SourceError | WechatPayError.ConfigurationError
): string => e._tag === "StoreSourceError" ? `cannot read the store ids: ${String(e.cause)}` : e.message

/** What the first Ctrl-C while the input is read exits with (nothing was sent). */
export const STOPPED_READING = 130

/**
 * Opens the input once and checks every id, racing the first Ctrl-C (`io.stop`):
 * an endless input or a FIFO nobody writes must not outlast it. Gives the
 * input and its plan, or the exit code when no job may run.
 */
export const checkInput = (
  stores: string,
  io: Io.Io,
  options: {
    readonly rereadable: boolean
    readonly allowEmpty: boolean
    /** The lists to take when the input is a report (default: failed and unresolved). */
    readonly select?: ReadonlyArray<StoreFile.ReportList> | undefined
    /** Where the input notes go (skipped and normalised rows, the lists taken from a report). */
    readonly notesTo?: Output.Sink | undefined
  }
) =>
  Effect.gen(function*() {
    // `/dev/stdin` names the same descriptor as `-`: closed, it would read as an empty file.
    if ((stores === "-" || STDIN_PATHS.includes(stores)) && io.stdinClosed?.() === true) {
      return Io.fail(io, "<stdin>: standard input is closed (<&-), so it holds no store ids; pipe them in (… | wechatpay-stores … --stores -) or give a file; nothing was sent")
    }
    const opened = StoreFile.open(
      stores,
      io.stdin,
      options.select === undefined ? { rereadable: options.rereadable } : { rereadable: options.rereadable, select: options.select }
    )
    const checked = yield* opened.pipe(
      Effect.flatMap((input) => Effect.map(BulkDisassociation.dryRun(input.ids), (plan) => ({ input, plan }))),
      Effect.either,
      Effect.raceFirst(Effect.as(io.stop ?? Effect.never, "stopped" as const))
    )
    if (checked === "stopped") {
      io.err.write("wechatpay-stores: stopped while reading the store ids; nothing was sent\n")
      return STOPPED_READING
    }
    if (checked._tag === "Left") return Io.fail(io, inputFailure(checked.left))
    // An empty list is most likely the wrong file or a pipe that broke: exit 0 would say "all done".
    if (checked.right.plan.input === 0 && !options.allowEmpty) {
      return Io.fail(io, `${checked.right.input.source}: no store ids in the input; pass --allow-empty to run an empty job anyway`)
    }
    // Nothing skipped or normalised goes unsaid (the check read the whole input, so the notes are complete).
    const notes = yield* checked.right.input.notes
    const sink = options.notesTo ?? io.out
    for (const line of StoreFile.describeNotes(notes)) sink.write(`${checked.right.input.source}: ${line}\n`)
    return { ...checked.right, notes }
  })
