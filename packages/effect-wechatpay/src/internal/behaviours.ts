/**
 * The behaviours error classes are built from (see `WechatPayError.Behaviour`):
 * named once, so each class states what it is in one word.
 */
import type { Behaviour } from "./errors/Behaviour.js"

/** An outcome nobody can know, and nothing to retry: verification failures, probes, decode failures. */
export const UNKNOWN_OUTCOME: Behaviour = { retry: "never", outcome: "unresolved", stopsJob: false, triggersFailover: false }

/** Refused before anything was sent: the call changed nothing and sending it again changes nothing. */
export const REFUSED_LOCALLY: Behaviour = { retry: "never", outcome: "failed", stopsJob: false, triggersFailover: false }

/**
 * The process could not get a permit to send (a shared quota's store is down): nothing was sent,
 * the wait may clear, and every other call of a job waits on the same store.
 */
export const NO_PERMIT: Behaviour = { retry: "transient", outcome: "unresolved", stopsJob: true, triggersFailover: false }

/** Undocumented answers are judged by their status: 429 and the usual 5xx of a busy server are retried. */
export const byStatus = (status: number): Behaviour => ({
  ...UNKNOWN_OUTCOME,
  retry: status === 429 ? "rate-limited" : status === 500 || status === 502 || status === 503 || status === 504 ? "transient" : "never"
})


/**
 * A documented rejection is final. It proves the stores were left alone only when the answer was
 * signed: an unsigned 4xx could come from anything on the way (protocol notes §2.3), except 401
 * SIGN_ERROR, which WeChat Pay cannot sign by design. Errors that every further call would meet
 * (an expired or missing stock, no permission, a bad signature) stop a bulk job.
 */
export const rejection = (trusted: boolean, stopsJob: boolean): Behaviour => ({
  retry: "never",
  outcome: trusted ? "failed" : "unresolved",
  stopsJob,
  triggersFailover: false
})

