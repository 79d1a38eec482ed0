/**
 * What a failed write means for the person running the CLI, for every file it writes (the report,
 * `list --output`, the journal): one clause saying what happened and what to do, the system's code
 * kept in parentheses for a search. The advice names the flag whose path to change, which the
 * caller gives: `its directory does not exist; create it, or give --report another path (ENOENT)`.
 * (Reading the input has its own words, in input/FileProblem.ts: the advice there is about the input.)
 */
import { errorCode } from "./input/FileProblem.js"

/** What each errno a write most often meets means, and what to do, given the flag that named the path. */
const WRITING: Readonly<Record<string, (flag: string) => string>> = {
  EISDIR: (flag) => `it is a directory; give ${flag} a file's path`,
  ENOENT: (flag) => `its directory does not exist; create it, or give ${flag} another path`,
  ENOTDIR: (flag) => `a part of its path is a file, not a directory; check the path, or give ${flag} another path`,
  EACCES: (flag) => `permission denied; give ${flag} a path you can write`,
  EPERM: (flag) => `not permitted; give ${flag} a path you can write`,
  EROFS: (flag) => `a read-only file system; give ${flag} a path on a writable one`,
  ENOSPC: (flag) => `no space left on the device; free some, or give ${flag} a path on another disk`,
  EDQUOT: (flag) => `the disk quota is exhausted; free some, or give ${flag} a path on another disk`
}

/**
 * One clause for a write to the path `flag` named that failed with `cause`: what its errno means and
 * what to do, then the code; an error without a code, its message.
 */
export const describe = (cause: unknown, flag: string): string => {
  const code = errorCode(cause)
  if (code === undefined) return cause instanceof Error ? cause.message : String(cause)
  const what = WRITING[code]
  return `${what === undefined ? `the system refused; give ${flag} another path` : what(flag)} (${code})`
}
