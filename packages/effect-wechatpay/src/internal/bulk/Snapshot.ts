/**
 * The snapshot (`snapshot: true`): the stock's listing walked once before a durable job's first call, so that the
 * stores already in the state asked for are known, reported (`alreadyDone`) and left alone by an undo.
 */
import { Effect, Either, Ref, Stream } from "effect"
import * as ProductCoupon from "../../ProductCoupon.js"
import type { Service } from "../../ProductCouponStores.js"
import type * as BulkEngine from "../BulkEngine.js"
import type * as Journal from "./Journal.js"
import * as StockJob from "./StockJob.js"
import * as Stop from "./Stop.js"

/** The snapshot's `reason` for a bundle job: the listing is per stock. */
export const NO_BUNDLE_SNAPSHOT = "no listing for a bundle: an undo reverses every store of succeeded"

/**
 * Walks the stock's listing once and gives the input stores already in the state the job asks for
 * (listed, for associate; not listed, for disassociate). Only the input's listed stores are held.
 * The caller's stop or abort ends the walk (the job then sends nothing); a failed walk is reported,
 * and the job goes on without it.
 */
export const snapshotOf = (
  service: Service,
  stock: StockJob.Stock,
  parts: ReadonlyArray<{ readonly direction: Journal.Direction; readonly ids: ReadonlyArray<string> }>,
  options: Stop.Signals
): Effect.Effect<{ readonly report: BulkEngine.SnapshotReport; readonly already: ReadonlyArray<ReadonlyArray<string>> }> =>
  Effect.gen(function*() {
    const wanted = new Set(parts.flatMap((p) => p.ids))
    const listed = new Set<string>()
    const count = yield* Ref.make(0)
    const walking = StockJob.counting(
      count,
      Stream.runForEach(service.associatedStores(stock), (id) =>
        Effect.sync(() => {
          if (wanted.has(id)) listed.add(id)
        }))
    )
    const walk = yield* Stop.raceSignals(walking, options)
    const requests = yield* Ref.get(count)
    const none = parts.map(() => [])
    if (walk === "stop" || walk === "abort") {
      const reason = `${walk === "stop" ? "stopped" : "aborted"} by the caller during the snapshot`
      return { report: { status: "skipped", reason, requests }, already: none }
    }
    if (Either.isLeft(walk)) {
      const reason = `the listing could not be walked: ${walk.left._tag}: ${walk.left.message}`
      yield* Effect.logWarning(`the snapshot before the job failed (${reason}); an undo will reverse every store of succeeded`)
      return { report: { status: "failed", reason, requests }, already: none }
    }
    // An id that cannot be sent fails before any call: it is not "done", whatever the listing says.
    const already = parts.map((p) =>
      p.ids.filter((id) => listed.has(id) === (p.direction === "associate") && ProductCoupon.idProblem(id) === undefined)
    )
    return { report: { status: "done", requests }, already }
  })

/** The snapshot's report and the stores it found done, in input order (a journal written before snapshots has neither). */
export const snapshotFields = (header: Journal.Header, state: Journal.PartState) =>
  header.snapshot === undefined
    ? {}
    : {
      snapshot: header.snapshot as BulkEngine.SnapshotReport,
      alreadyDone: state.already.size === 0 ? [] : state.ids.filter((id) => state.already.has(id))
    }
