/**
 * A journal read back for a run (checked whole: a torn last write dropped with a warning, each part's ids
 * held to the header's digest), and an undo's record in the journal of the job it undoes.
 */
import { Clock, Effect, Either } from "effect"
import { JobJournal, type JournalError, JournalCorruptError } from "../../JobJournal.js"
import * as Journal from "./Journal.js"
import * as JournalReplay from "./JournalReplay.js"

const nowIso = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

/**
 * Records in the journal at `location`, of job `job`, that undo `undo.by` has started (once: a second
 * record of the same undo is not written). `lock`: take its lock for the write (else the caller holds it).
 * A journal that now holds another job is left alone.
 */
export const markUndone = (
  location: string,
  job: string,
  undo: { readonly by: string; readonly journal: string | undefined },
  lock: boolean
): Effect.Effect<void, JournalError, JobJournal> =>
  Effect.gen(function*() {
    const store = yield* JobJournal
    if (lock) yield* store.lock(location)
    const replayed = yield* load(location)
    if (replayed.header.job !== job || replayed.undone?.by === undo.by) return
    const appender = yield* store.reopen(location, replayed.length)
    yield* appender.append(Journal.line({
      t: "undone",
      job,
      by: undo.by,
      ...(undo.journal === undefined ? {} : { journal: undo.journal }),
      at: yield* nowIso
    }))
  }).pipe(Effect.scoped)

/** A journal read back and checked: the header, the state, and where to append. */
export const load = (location: string): Effect.Effect<Journal.Replayed, JournalError, JobJournal> =>
  Effect.gen(function*() {
    const store = yield* JobJournal
    const content = yield* store.read(location)
    // The header first: it says which stock a resume sends to, so a changed one is refused before its records are read.
    const firstEnd = content.indexOf(0x0a)
    if (firstEnd > 0) {
      const changed = yield* Journal.unsealed(new TextDecoder().decode(content.subarray(0, firstEnd)))
      if (changed !== undefined) return yield* new JournalCorruptError({ location, line: 1, reason: changed })
    }
    const replayed = yield* Either.match(JournalReplay.replay(location, content), {
      onLeft: (e) => Effect.fail(e),
      onRight: (r) => Effect.succeed(r)
    })
    if (replayed.torn > 0) {
      yield* Effect.logWarning(
        `the journal ${location} ends with ${replayed.torn} byte(s) of a record that was never completed (a crash mid-write); ignored`
      )
    }
    for (let i = 0; i < replayed.parts.length; i++) {
      const found = yield* Journal.digest(replayed.parts[i]!.ids)
      if (found !== replayed.header.parts[i]!.digest) {
        return yield* new JournalCorruptError({ location, line: 0, reason: `the ids of part ${i} do not match the header's digest` })
      }
      // The engine takes a part's ids as distinct: a journal that says otherwise was not written by a job.
      if (new Set(replayed.parts[i]!.ids).size !== replayed.parts[i]!.ids.length) {
        return yield* new JournalCorruptError({ location, line: 0, reason: `the ids of part ${i} are not distinct` })
      }
    }
    if (replayed.disorder !== undefined) {
      return yield* new JournalCorruptError({ location, line: replayed.disorder.line, reason: replayed.disorder.reason })
    }
    return replayed
  })

/**
 * What a resume of an undo does first: records the undo in the undone job's journal, should its first run have
 * been cut short before it did (a crash, a failed write). A journal that is gone is warned about.
 */
export const recordResumedUndo = (header: Journal.Header, location: string): Effect.Effect<void, JournalError, JobJournal> =>
  header.undoes === undefined || header.undoesJournal === undefined
    ? Effect.void
    : Effect.catchIf(
      markUndone(header.undoesJournal, header.undoes, { by: header.job, journal: location }, true),
      (e) => e._tag === "JournalNotFoundError",
      () =>
        Effect.logWarning(
          `the journal of the job this undoes (${header.undoesJournal}) is gone, so it cannot record the undo; should it exist ` +
            "elsewhere, do not resume it: that would redo what this undo puts back"
        )
    )
