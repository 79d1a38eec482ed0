/**
 * What a failed file operation means for the person running the CLI: one
 * clause saying what happened and what to do, with the system's code kept in
 * parentheses for a search. `stores.txt: no such file; check the path (ENOENT)`
 * instead of `cannot read: ENOENT`.
 */

/** The system's code of a failed operation (`ENOENT`), if it has one. */
export const errorCode = (cause: unknown): string | undefined => {
  if (typeof cause !== "object" || cause === null || !("code" in cause)) return undefined
  const code = (cause as { readonly code?: unknown }).code
  return typeof code === "string" ? code : undefined
}

/** What was being done: reading the input, or copying a one-pass input to the spool in `directory`. */
export type Operation =
  | { readonly _tag: "Read" }
  | { readonly _tag: "Spool"; readonly directory: string }

export const Read: Operation = { _tag: "Read" }
export const spool = (directory: string): Operation => ({ _tag: "Spool", directory })

const reading: Readonly<Record<string, string>> = {
  ENOENT: "no such file; check the path",
  EACCES: "permission denied; check the file's permissions (ls -l) or run as a user who can read it",
  EPERM: "operation not permitted; check the file's permissions (ls -l) or run as a user who can read it",
  EISDIR: "is a directory, not a file; give the path of the file of store ids inside it",
  ENOTDIR: "a part of the path is a file, not a directory; check the path",
  ELOOP: "too many levels of symbolic links (a link that points back to itself?); check the path",
  ENAMETOOLONG: "the path is too long; give a shorter one",
  EMFILE: "too many open files in this process; close other programs or raise the limit (ulimit -n)",
  ENFILE: "too many open files on this system; close other programs and try again",
  EIO: "input/output error (a failing disk or a network file system that went away); copy the file elsewhere and try again",
  ENXIO: "no such device or address (a device or socket that is gone); check the path",
  ENODEV: "no such device; check the path",
  ESTALE: "stale file handle (a network file system); try again",
  ETIMEDOUT: "timed out (a network file system?); try again",
  ECONNRESET: "the other end of the pipe or socket went away while it was read; run the command that writes it again",
  EAGAIN: "not ready to be read (a non-blocking input); give a file or a pipe instead",
  EBUSY: "busy (in use by another program); try again",
  EINVAL: "cannot be read as a file; give a regular file, a pipe or -"
}

const spooling: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the device; free some space or set TMPDIR to a directory with room",
  EDQUOT: "disk quota exceeded; free some space or set TMPDIR to a directory with room",
  EROFS: "a read-only file system; set TMPDIR to a writable directory",
  EACCES: "permission denied; set TMPDIR to a directory you can write",
  EPERM: "operation not permitted; set TMPDIR to a directory you can write",
  ENOENT: "the directory does not exist; set TMPDIR to an existing directory",
  ENOTDIR: "not a directory; set TMPDIR to a directory",
  EIO: "input/output error (a failing disk?); set TMPDIR to a directory on another disk",
  EMFILE: "too many open files in this process; close other programs or raise the limit (ulimit -n)",
  ENFILE: "too many open files on this system; close other programs and try again"
}

const detail = (cause: unknown): string => {
  const text = cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "an unknown failure"
  // The system's messages are one line; keep it so.
  return text.replace(/\s+/g, " ").trim()
}

/**
 * One clause for `cause` (an errno error or anything else a read failed with),
 * to follow `name: `. Never a bare code.
 */
export const describe = (cause: unknown, operation: Operation = Read): string => {
  const code = errorCode(cause)
  if (operation._tag === "Spool") {
    const what = code === undefined ? undefined : spooling[code]
    const where = `cannot copy the input to a private file in ${operation.directory}`
    return what === undefined
      ? `${where}: ${detail(cause)}; set TMPDIR to a writable directory with room`
      : `${where}: ${what} (${code})`
  }
  const what = code === undefined ? undefined : reading[code]
  if (what !== undefined) return `${what} (${code})`
  return `cannot be read: ${detail(cause)}; check that it is a readable file, a pipe or -`
}
