/**
 * What a durable job hears from the engine: each call before it is sent and after it settles,
 * and each store the listing settles. The engine and the stock job look for it in their context,
 * so a job with no journal pays nothing and its options stay as they are.
 */
import { Context, type Effect } from "effect"
import type { Settlement } from "./Settle.js"

/** A write that did not reach the journal: the job stops, and nothing it did not record is sent. */
export interface RecordFailure {
  readonly message: string
}

export interface Recorder {
  /** Queues the call's record, before the call waits for its permit. */
  readonly beforeCall: (chunk: ReadonlyArray<string>) => Effect.Effect<void, RecordFailure>
  /**
   * Taken as a call gets its permit: what returns once every record queued until then is durable. The
   * call is sent only after it: its own record, and the outcomes of the calls that gave up their permits
   * before it, are then on disk, so the calls sent whose outcome a crash can lose are never more than the
   * concurrency. Records other calls queue meanwhile are not waited for. When it fails, the call is not sent.
   */
  readonly checkpoint: () => Effect.Effect<void, RecordFailure>
  /**
   * Queues the call's outcome once it settles; the call then gives up its permit. `sent` is false for a
   * call the stop signal (or the journal) kept from being sent; `requests` and `retries` are this call's
   * HTTP attempts and its retries by cause.
   */
  readonly afterCall: (
    chunk: ReadonlyArray<string>,
    settlement: Settlement,
    sent: boolean,
    totals: { readonly requests: number; readonly retries: Readonly<Record<string, number>> }
  ) => Effect.Effect<void, RecordFailure>
  /** Stores the listing showed in the state asked for, before the report says so. */
  readonly listed: (stores: ReadonlyArray<string>) => Effect.Effect<void, RecordFailure>
}

export class CallRecorder extends Context.Tag("effect-wechatpay/internal/CallRecorder")<CallRecorder, Recorder>() {}

/** `stoppedBy.code` when the journal could not be written. */
export const JOURNAL_FAILED = "JOURNAL_FAILED"
