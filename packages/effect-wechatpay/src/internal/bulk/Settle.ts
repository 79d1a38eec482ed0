/**
 * What one call means for each store it carried: the pure accounting of a bulk job.
 * Every store of a chunk lands in exactly one of three lists.
 */
import type { Effect } from "effect"
import { MAX_STORES } from "../../ProductCoupon.js"
import type { HasBehaviour } from "../../WechatPayError.js"
import { describeTransport, TransportError } from "../../WechatPayError.js"
import type { Job } from "../BulkEngine.js"
import * as SendGate from "../SendGate.js"

/** A store WeChat Pay (or this client, for ids it cannot send) refused. */
export interface FailedStore {
  readonly storeId: string
  readonly code: string
  readonly message: string
}

/** A store whose outcome is not known: not sent, or sent without a trustworthy answer. */
export interface UnresolvedStore {
  readonly storeId: string
  readonly reason: string
  readonly requestId?: string | undefined
}

/**
 * A signed 200 answer that cannot be taken at its word: it contradicts itself or
 * the request. Logged as a warning when it is settled.
 */
export interface Anomaly {
  readonly requestId: string | undefined
  readonly reason: string
  /** The call's stores it left `unresolved` (none when only ignored entries were wrong). */
  readonly stores: ReadonlyArray<string>
}

/** One chunk's stores, split three ways. */
export interface Settlement {
  readonly succeeded: ReadonlyArray<string>
  readonly failed: ReadonlyArray<FailedStore>
  readonly unresolved: ReadonlyArray<UnresolvedStore>
  /** What was wrong with the answer, if anything (see {@link Anomaly}). */
  readonly anomalies?: ReadonlyArray<Anomaly> | undefined
}

/** How a call that got no usable answer ends for its stores. */
export type Failure =
  /** Provably changed nothing: a trusted rejection, or refused before sending. */
  | { readonly _tag: "Rejected"; readonly code: string; readonly message: string }
  /** May or may not have been applied, or was never sent. */
  | { readonly _tag: "Unknown"; readonly reason: string; readonly requestId?: string | undefined }

/** Every store of the chunk failed, or every one unresolved. */
export const settleFailure = (chunk: ReadonlyArray<string>, failure: Failure): Settlement =>
  failure._tag === "Rejected"
    ? {
      succeeded: [],
      failed: chunk.map((storeId) => ({ storeId, code: failure.code, message: failure.message })),
      unresolved: []
    }
    : {
      succeeded: [],
      failed: [],
      unresolved: chunk.map((storeId) => ({ storeId, reason: failure.reason, requestId: failure.requestId }))
    }

/** `unresolved` for every store of a chunk. */
export const unresolvedAll = (chunk: ReadonlyArray<string>, reason: string): Settlement =>
  settleFailure(chunk, { _tag: "Unknown", reason })

/** A transport failure says why and where (the method and path are the same for every call). */
const unknownReason = (error: HasBehaviour): string =>
  error instanceof TransportError
    ? `TransportError: ${describeTransport(error)}${error.phase === "response" ? " (while reading the answer)" : ""}`
    : `${error._tag}: ${error.message}`

/**
 * What a failed call means for its stores, and whether the job must stop: read from the error's own
 * `behaviour`, so a new error class needs no edit here.
 */
export const classify = (error: HasBehaviour): { readonly outcome: Failure; readonly stops: boolean } => {
  const { outcome, retry, stopsJob: stops } = error.behaviour
  const code = "code" in error && typeof error.code === "string" ? error.code : undefined
  if (outcome === "failed") {
    return { outcome: { _tag: "Rejected", code: code ?? "INVALID_INPUT", message: error.message }, stops }
  }
  const requestId = "requestId" in error && typeof error.requestId === "string" ? error.requestId : undefined
  // A documented rejection that came unsigned could come from anything on the way: say so.
  const reason = "verified" in error && error.verified === false && code !== undefined && retry === "never"
    ? `${error._tag} (unsigned answer): ${error.message}`
    : unknownReason(error)
  return { outcome: { _tag: "Unknown", reason, requestId }, stops }
}

// ---------------------------------------------------------------------------
// Answers that list stores: 去重后门店总数 plus a success list and a failure list

/** The part of a store-list answer that settles a chunk. */
export interface StoreListAnswer {
  readonly totalCount: number
  readonly successStoreList: ReadonlyArray<{ readonly storeId: string }>
  readonly failedStoreList: ReadonlyArray<{ readonly storeId: string; readonly code: string; readonly message: string }>
  readonly requestId: string | undefined
}

/** The reason of a store listed in both of an answer's lists. */
export const LISTED_AS_BOTH = "contradictory answer: listed as both succeeded and failed"

/**
 * Splits a chunk (distinct ids, as the job sends them) by a signed answer. A store
 * the answer does not mention is unresolved. The answer is only believed where it
 * is consistent: `total_count` (the request's distinct stores) must equal the
 * number of stores sent, or every store of the call is unresolved; a store in both
 * lists is unresolved. Entries repeated within one list count once (the first
 * failure entry wins), and entries naming stores not sent are ignored; both
 * inconsistencies are flagged in `anomalies`.
 */
export const settleStoreLists = (chunk: ReadonlyArray<string>, answer: StoreListAnswer): Settlement => {
  // The usual answer lists every store as a success, in the order sent: checked
  // in one pass, without hashing every id into a set.
  const { failedStoreList, successStoreList, totalCount } = answer
  if (totalCount === chunk.length && failedStoreList.length === 0 && successStoreList.length === chunk.length) {
    let i = 0
    while (i < chunk.length && successStoreList[i]!.storeId === chunk[i]) i++
    if (i === chunk.length) return { succeeded: chunk, failed: [], unresolved: [] }
  }
  return settleMixed(chunk, answer)
}

const settleMixed = (chunk: ReadonlyArray<string>, answer: StoreListAnswer): Settlement => {
  const { requestId, totalCount } = answer
  const sent = new Set(chunk)
  if (totalCount !== sent.size) {
    // The answer does not describe the request that was sent: none of it can be believed.
    const reason = `contradictory answer: total_count is ${totalCount} but ${sent.size} distinct stores were sent`
    return {
      succeeded: [],
      failed: [],
      unresolved: chunk.map((storeId) => ({ storeId, reason, requestId })),
      anomalies: [{ requestId, reason, stores: chunk }]
    }
  }
  const foreign = new Set<string>()
  const ok = new Set<string>()
  // Stores an answer lists more than once within one list.
  const repeated = new Set<string>()
  for (const s of answer.successStoreList) {
    if (!sent.has(s.storeId)) foreign.add(s.storeId)
    else if (ok.has(s.storeId)) repeated.add(s.storeId)
    else ok.add(s.storeId)
  }
  const bad = new Map<string, FailedStore>()
  const both = new Set<string>()
  for (const f of answer.failedStoreList) {
    if (!sent.has(f.storeId)) foreign.add(f.storeId)
    else if (ok.has(f.storeId)) both.add(f.storeId)
    else if (bad.has(f.storeId)) repeated.add(f.storeId)
    else bad.set(f.storeId, { storeId: f.storeId, code: f.code, message: f.message })
  }
  const succeeded: Array<string> = []
  const failed: Array<FailedStore> = []
  const unresolved: Array<UnresolvedStore> = []
  for (const storeId of chunk) {
    if (both.has(storeId)) unresolved.push({ storeId, reason: LISTED_AS_BOTH, requestId })
    else if (ok.has(storeId)) succeeded.push(storeId)
    else {
      const f = bad.get(storeId)
      if (f !== undefined) failed.push(f)
      else unresolved.push({ storeId, reason: "not listed in the response's success or failure list", requestId })
    }
  }
  if (both.size === 0 && foreign.size === 0 && repeated.size === 0) return { succeeded, failed, unresolved }
  const anomalies: Array<Anomaly> = []
  if (both.size > 0) {
    anomalies.push({
      requestId,
      reason: `contradictory answer: ${both.size} store(s) listed as both succeeded and failed`,
      stores: chunk.filter((id) => both.has(id))
    })
  }
  if (foreign.size > 0) {
    const [example] = foreign
    anomalies.push({
      requestId,
      reason: `the answer lists ${foreign.size} store(s) not sent in this call (e.g. ${JSON.stringify(example)}); ignored`,
      stores: []
    })
  }
  if (repeated.size > 0) {
    const [example] = repeated
    anomalies.push({
      requestId,
      reason: `the answer lists ${repeated.size} store(s) more than once in one list (e.g. ${JSON.stringify(example)}); counted once`,
      stores: []
    })
  }
  return { succeeded, failed, unresolved, anomalies }
}

/**
 * The engine's job for a store-list endpoint (associate or disassociate, stock or bundle): its calls
 * carry up to 200 stores and are settled by the answer's lists. `service` is what `call` goes through:
 * whether it awaits the journal's send gate itself is read from it.
 */
export const storeListJob = (
  name: string,
  service: object,
  call: (chunk: ReadonlyArray<string>) => Effect.Effect<StoreListAnswer, HasBehaviour>
): Job<StoreListAnswer, HasBehaviour> => ({
  name,
  maxChunk: MAX_STORES,
  call,
  awaitsSendGate: SendGate.awaitedBy(service),
  settle: settleStoreLists
})
