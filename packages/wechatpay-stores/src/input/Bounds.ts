/** The bounds of a `--stores` input and the error every problem with it is told through. */
import { Data } from "effect"

/** A text or CSV line (a CSV record, with its quoted line breaks) is at most this many bytes. */
export const MAX_LINE_BYTES = 64 * 1024
/** A store id is at most this many characters (WeChat Pay's are a dozen or so). */
export const MAX_ID_LENGTH = 256
/** A JSON document is parsed whole, so it is bounded: at most this many bytes. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024
/**
 * A one-pass input (a pipe, FIFO, device, standard input) read more than once is copied to a spool
 * file in the temporary directory, so it is bounded: at most this many bytes (some 60 million ids),
 * lest an endless producer fill the disk other programs share. A regular file is read in place.
 */
export const MAX_SPOOL_BYTES = 1024 * 1024 * 1024

/** The input could not be read or is not one of the formats. */
export class StoreFileError extends Data.TaggedError("StoreFileError")<{
  readonly source: string
  readonly line?: number | undefined
  readonly reason: string
}> {
  override get message(): string {
    return `${this.source}${this.line === undefined ? "" : `:${this.line}`}: ${this.reason}`
  }
}

export const tooLongId = (length: number) => `a store id of ${length} characters; store ids are at most ${MAX_ID_LENGTH}`

/** `1 row`, `2 rows`. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`
