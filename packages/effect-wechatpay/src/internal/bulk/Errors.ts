/** The typed refusals of the durable jobs: a sync's guard, and an undo's source. */
import { Schema } from "effect"

/**
 * A sync refused before anything but the listing was sent: its plan would disassociate more
 * stores than `maxRemovals` allows (`"too-many-removals"`), or the desired set is empty and
 * `maxRemovals` was not given high enough to empty the stock (`"empty-desired"`).
 */
export class SyncGuardError extends Schema.TaggedError<SyncGuardError>("effect-wechatpay/SyncGuardError")(
  "SyncGuardError",
  {
    reason: Schema.Literal("too-many-removals", "empty-desired"),
    removals: Schema.Number,
    maxRemovals: Schema.Number,
    current: Schema.Number
  }
) {
  override get message(): string {
    return this.reason === "empty-desired"
      ? `the desired set is empty: the sync would remove all ${this.removals} store(s) of the stock; ` +
        `allow it with maxRemovals ≥ ${this.removals}`
      : `the sync would remove ${this.removals} store(s), more than maxRemovals (${this.maxRemovals}); ` +
        `check the desired set, or allow it with maxRemovals ≥ ${this.removals}`
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
