/**
 * A durable part's outcomes as its report gives them: merged with what earlier runs recorded, or, for a
 * part a stopped sync never started, all unresolved.
 */
import type * as BulkEngine from "../BulkEngine.js"
import * as Journal from "./Journal.js"
import type { FailedStore, UnresolvedStore } from "./Settle.js"
import { snapshotFields } from "./Snapshot.js"
import * as StockJob from "./StockJob.js"

/** The reason of a store whose call was in flight when the job was cut short, before the listing settles it. */
export const IN_FLIGHT_AT_INTERRUPTION = "in flight when the job was interrupted: the call may or may not have been applied"

/**
 * A part's outcomes after a run over recorded state: what earlier runs recorded, then this run's, in the
 * part's id order. (A part with nothing recorded before the run has exactly the engine's lists.)
 */
export const merge = (state: Journal.PartState, ran: BulkEngine.Report, inFlight: ReadonlyArray<string>) => {
  for (const id of ran.succeeded) state.stores.set(id, Journal.SUCCEEDED)
  for (const f of ran.failed) state.stores.set(f.storeId, { _tag: "Failed", store: f })
  for (const u of ran.unresolved) state.stores.set(u.storeId, { _tag: "Unresolved", store: u })
  for (const id of inFlight) {
    state.stores.set(id, { _tag: "Unresolved", store: { storeId: id, reason: IN_FLIGHT_AT_INTERRUPTION } })
  }
  const succeeded: Array<string> = []
  const failed: Array<FailedStore> = []
  const unresolved: Array<UnresolvedStore> = []
  const listed: Array<string> = []
  for (const id of state.ids) {
    const s = state.stores.get(id)
    if (s === undefined || s._tag === "InFlight" || s._tag === "NotSent") {
      // Not reachable: every id was sent, recorded or settled above. Kept honest, not assumed.
      unresolved.push({ storeId: id, reason: "no outcome recorded" })
    } else if (s._tag === "Succeeded") {
      succeeded.push(id)
      if (s.byListing) listed.push(id)
    } else if (s._tag === "Failed") failed.push(s.store)
    else unresolved.push(s.store)
  }
  return { succeeded, failed, unresolved, listed }
}

/** A part that was never started because the one before it was stopped: all its stores unresolved, not sent. */
export const notStarted = (header: Journal.Header, state: Journal.PartState, why: BulkEngine.StopReason): BulkEngine.Report => {
  const ids = state.ids
  const reason = "not sent: the sync was stopped before this part"
  return {
    summary: {
      input: ids.length,
      unique: ids.length,
      duplicates: 0,
      succeeded: 0,
      failed: 0,
      unresolved: ids.length,
      chunks: 0,
      requests: 0,
      retries: {},
      settledByListing: 0,
      resent: 0
    },
    succeeded: [],
    failed: [],
    unresolved: ids.map((storeId) => ({ storeId, reason })),
    anomalies: [],
    stoppedBy: why,
    preflight: header.preflight as BulkEngine.PreflightReport,
    verification: StockJob.noVerification("skipped", `the sync stopped (${why.code}): ${why.message}`),
    settledByListing: [],
    ...snapshotFields(header, state)
  }
}
