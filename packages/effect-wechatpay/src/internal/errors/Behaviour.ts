/**
 * The contract every error class states through its `behaviour`. Its own module so that the
 * error modules and `internal/behaviours.ts` share it without an import cycle.
 */

/**
 * What an error means for the machinery around a call. Every error a call can fail with carries
 * one (`error.behaviour`); the retry schedule, failover and the bulk job read it, so adding an
 * error is one class, not an edit to three tables.
 */
export interface Behaviour {
  /** `rate-limited` and `transient` are sent again by the retry schedule (each with its own budget); `never` is final. */
  readonly retry: "rate-limited" | "transient" | "never"
  /**
   * `failed`: the call provably changed nothing (a trusted rejection, or refused before sending), so a
   * job reports its stores as failed. `unresolved`: the outcome is unknown (or nothing was sent because
   * the job stopped), so its stores are unresolved.
   */
  readonly outcome: "failed" | "unresolved"
  /** Every further call of a job would fail the same way: the job stops after this one. */
  readonly stopsJob: boolean
  /** No answer came from the domain at all: the next attempts go to the backup domain. */
  readonly triggersFailover: boolean
}

/** Anything a call can fail with: it says how it behaves. */
export interface HasBehaviour {
  readonly _tag: string
  readonly message: string
  readonly behaviour: Behaviour
}
