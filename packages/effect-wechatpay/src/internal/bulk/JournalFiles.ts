/**
 * The file mechanics of a journal kept as a file: what kind of file a path names, and the lock file that
 * keeps a second run from appending to the same journal.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import { Effect, Option, type Scope } from "effect"
import { JournalIoError, JournalLockedError } from "../../JobJournal.js"

/** A kind of file, as a sentence names it. */
const KINDS: Readonly<Record<FileSystem.File.Type, string>> = {
  File: "a file",
  Directory: "a directory",
  SymbolicLink: "a symbolic link",
  BlockDevice: "a block device",
  CharacterDevice: "a character device",
  FIFO: "a FIFO",
  Socket: "a socket",
  Unknown: "not a regular file"
}

/**
 * Refuses a path that names anything but a regular file: read whole, a device or a FIFO would never end (or
 * never start), and its lock file would be made beside it (in /dev, say). `NotFound` passes: a job's lock is
 * taken before its journal is created.
 */
export const notRegular = (fs: FileSystem.FileSystem, location: string, operation: JournalIoError["operation"]) =>
  Effect.flatMap(Effect.either(fs.stat(location)), (info) =>
    info._tag === "Left" || info.right.type === "File"
      ? Effect.void
      : Effect.fail(
        new JournalIoError({
          location,
          operation,
          reason: `it is ${KINDS[info.right.type]}, not a regular file: a journal is the file a job wrote`
        })
      ))

/**
 * Holds `<location>.lock` for the scope: taken over from a run whose process is gone, refused while one
 * that runs holds it. `failed` says what an error that is not "it exists" means.
 */
export const lock = (
  fs: FileSystem.FileSystem,
  location: string,
  failed: (cause: unknown) => JournalIoError
): Effect.Effect<void, JournalLockedError | JournalIoError, Scope.Scope> =>
  // One lock for one file, whatever path names it: through a link or another spelling, a second run
  // would otherwise take a lock of its own and write the same journal beside the first.
  Effect.flatMap(Effect.orElseSucceed(fs.realPath(location), () => location), (real) => lockAt(fs, location, `${real}.lock`, failed))

const lockAt = (
  fs: FileSystem.FileSystem,
  location: string,
  path: string,
  failed: (cause: unknown) => JournalIoError
): Effect.Effect<void, JournalLockedError | JournalIoError, Scope.Scope> => {
  // Names this run among those of its process: a lock naming this process's id that none of its runs holds
  // was left by an earlier process that had the same id (a container's entry process always has).
  const token = globalThis.crypto.randomUUID()
  const held = (cause: unknown) =>
    typeof cause === "object" && cause !== null && "reason" in cause && cause.reason === "AlreadyExists"
  const content = JSON.stringify({ pid: processId(), since: new Date().toISOString(), token })
  // Creates `file` if it does not exist; gives whether it did. Fails only on an error that is not "it exists".
  const create = (file: string) =>
    fs.writeFileString(file, content, { flag: "wx" }).pipe(
      Effect.as(true),
      Effect.catchAll((cause) => held(cause) ? Effect.succeed(false) : Effect.fail(failed(cause)))
    )
  const take = Effect.tap(create(path), (taken) => taken ? Effect.sync(() => heldHere.add(token)) : Effect.void)
  const read = (file: string) => fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
  const acquire = Effect.gen(function*() {
    if (yield* take) return
    const holder = yield* read(path)
    const { pid, token: theirs } = lockHolder(holder)
    const lockedBy = (text: string) => {
      const by = lockHolder(text).pid
      return new JournalLockedError({
        location,
        holder: by === undefined ? `another run (${path})` : `process ${by}`,
        // Named when the journal is reached through a link: its lock is beside the file itself.
        ...(path === `${location}.lock` ? {} : { lockFile: path })
      })
    }
    const busy = lockedBy(holder)
    // An empty lock: its run died between creating it and writing it, which it does at once. Past a few
    // seconds nobody is about to write it, and it is stale like any other.
    const abandoned = holder === "" &&
      (yield* fs.stat(path).pipe(
        Effect.map((info) => Option.exists(info.mtime, (at) => Date.now() - at.getTime() > EMPTY_LOCK_STALE_MILLIS)),
        Effect.orElseSucceed(() => false)
      ))
    const gone = abandoned ||
      (pid !== undefined && (pid === processId() ? theirs === undefined || !heldHere.has(theirs) : !isRunning(pid)))
    if (!gone) return yield* busy
    // Its process is gone: the lock is stale. Two runs can both find it so; each takes it over only while it
    // holds `<lock>.takeover`, and only if the lock still says what it read, so that neither removes a lock the
    // other has just taken.
    const takeover = `${path}.takeover`
    if (!(yield* create(takeover))) {
      const other = lockHolder(yield* read(takeover)).pid
      return yield* new JournalLockedError({
        location,
        holder: other === undefined ? "a run taking over the lock of one that died" : `process ${other}, taking over the lock of a run that died`,
        lockFile: takeover
      })
    }
    yield* Effect.gen(function*() {
      const now = yield* read(path)
      if (now !== "" && now !== holder) return yield* lockedBy(now)
      yield* fs.remove(path).pipe(Effect.ignore)
      if (!(yield* take)) return yield* busy
    }).pipe(Effect.ensuring(fs.remove(takeover).pipe(Effect.ignore)))
  })
  return Effect.acquireRelease(acquire, () =>
    Effect.zipRight(fs.remove(path).pipe(Effect.ignore), Effect.sync(() => heldHere.delete(token))))
}

/** How old an empty lock file must be to be taken for one whose run died before writing it. */
const EMPTY_LOCK_STALE_MILLIS = 10_000

/** This process's id, where there is one (Node, Deno, Bun). */
const processId = (): number | undefined => (globalThis as { process?: { pid?: number } }).process?.pid

/** The file locks this process's runs hold, by their tokens. */
const heldHere = new Set<string>()

/** What a lock file says: the process that holds it, and which of its runs. */
const lockHolder = (text: string): { readonly pid: number | undefined; readonly token: string | undefined } => {
  try {
    const { pid, token } = JSON.parse(text) as { pid?: unknown; token?: unknown }
    return {
      pid: typeof pid === "number" && Number.isInteger(pid) && pid > 0 ? pid : undefined,
      token: typeof token === "string" ? token : undefined
    }
  } catch {
    return { pid: undefined, token: undefined }
  }
}

/** Whether a process runs: signal 0 checks without sending. Where it cannot be checked, it is taken to run. */
const isRunning = (pid: number): boolean => {
  const proc = (globalThis as { process?: { kill?: (pid: number, signal: number) => void } }).process
  if (proc?.kill === undefined) return true
  try {
    proc.kill(pid, 0)
    return true
  } catch (e) {
    return (e as { code?: string }).code !== "ESRCH"
  }
}
