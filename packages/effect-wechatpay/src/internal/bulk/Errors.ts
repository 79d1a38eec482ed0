/** The typed refusals of the durable jobs: a sync's guard and its stop before a plan, and an undo's source. */
import { Schema } from "effect"

/**
 * A sync refused before anything but the listing was sent: its plan would disassociate more
 * stores than `maxRemovals` allows (`"too-many-removals"`), or it would leave the stock none of
 * its stores and `maxRemovals` was not given high enough for that: the desired set is empty
 * (`"empty-desired"`), or holds none of the stores listed (`"removes-all"`, a wrong file).
 */
export class SyncGuardError extends Schema.TaggedError<SyncGuardError>("effect-wechatpay/SyncGuardError")(
  "SyncGuardError",
  {
    reason: Schema.Literal("too-many-removals", "empty-desired", "removes-all"),
    removals: Schema.Number,
    maxRemovals: Schema.Number,
    current: Schema.Number
  }
) {
  override get message(): string {
    return this.reason === "empty-desired"
      ? `the desired set is empty: the sync would remove all ${this.removals} store(s) of the stock; ` +
        `allow it with maxRemovals ≥ ${this.removals}`
      : this.reason === "removes-all"
      ? `the desired set holds none of the stock's ${this.current} store(s): the sync would remove every one of them; ` +
        `check the desired set, or allow it with maxRemovals ≥ ${this.removals}`
      : `the sync would remove ${this.removals} store(s), more than maxRemovals (${this.maxRemovals}); ` +
        `check the desired set, or allow it with maxRemovals ≥ ${this.removals}`
  }
}

/**
 * A sync stopped (`stopWhen`) or aborted (`abortWhen`) by its caller while it walked the stock's
 * listing for its plan: nothing but listing requests was sent, and nothing changed.
 */
export class SyncStoppedError extends Schema.TaggedError<SyncStoppedError>("effect-wechatpay/SyncStoppedError")(
  "SyncStoppedError",
  {
    by: Schema.Literal("stop", "abort"),
    listingRequests: Schema.Number
  }
) {
  override get message(): string {
    return `the sync was ${this.by === "stop" ? "stopped" : "aborted"} by the caller while it walked the stock's listing ` +
      `for its plan (${this.listingRequests} listing request(s) sent): nothing was changed`
  }
}

/** A report or journal an undo cannot take its job from: not a report of a job, or not one of this library's. */
export class UndoSourceError extends Schema.TaggedError<UndoSourceError>("effect-wechatpay/UndoSourceError")(
  "UndoSourceError",
  { reason: Schema.String }
) {
  override get message(): string {
    return `cannot undo: ${this.reason}`
  }
}
