/** A bulk job's running record: the three lists, the anomalies and the counts, as chunks settle. */
import type { AttemptEvent } from "../../ProductCouponStores.js"
import type { ProgressEvent, Report, StopReason } from "../BulkEngine.js"
import type { Intake } from "./Ids.js"
import type { Anomaly, FailedStore, Settlement, UnresolvedStore } from "./Settle.js"

/** The report as chunks settle, in input order; ids that cannot be sent are failed as they are read. */
export class Tally {
  readonly succeeded: Array<string> = []
  readonly failed: Array<FailedStore> = []
  readonly unresolved: Array<UnresolvedStore> = []
  readonly anomalies: Array<Anomaly> = []
  chunks = 0
  requests = 0
  readonly retries: Record<string, number> = {}

  /** Counts one attempt. */
  attempt(event: AttemptEvent): void {
    this.requests++
    if (event.willRetry) this.retries[event.outcome] = (this.retries[event.outcome] ?? 0) + 1
  }

  add(s: Settlement): ProgressEvent {
    this.chunks++
    for (const id of s.succeeded) this.succeeded.push(id)
    for (const f of s.failed) this.failed.push(f)
    for (const u of s.unresolved) this.unresolved.push(u)
    if (s.anomalies !== undefined) for (const a of s.anomalies) this.anomalies.push(a)
    return {
      _tag: "ChunkSettled",
      chunk: this.chunks,
      size: s.succeeded.length + s.failed.length + s.unresolved.length,
      done: this.succeeded.length + this.failed.length + this.unresolved.length,
      succeeded: this.succeeded.length,
      failed: this.failed.length,
      unresolved: this.unresolved.length,
      requests: this.requests
    }
  }

  report(intake: Intake, stoppedBy: StopReason | undefined): Report {
    return {
      summary: {
        input: intake.input,
        unique: intake.unique,
        duplicates: intake.input - intake.unique,
        succeeded: this.succeeded.length,
        failed: this.failed.length,
        unresolved: this.unresolved.length,
        chunks: this.chunks,
        requests: this.requests,
        retries: this.retries
      },
      succeeded: this.succeeded,
      failed: this.failed,
      unresolved: this.unresolved,
      anomalies: this.anomalies,
      ...(stoppedBy === undefined ? {} : { stoppedBy })
    }
  }
}
