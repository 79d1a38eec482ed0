/**
 * A per-attempt deadline that the transport itself enforces. The core's timeout otherwise runs each
 * attempt in a fiber of its own so that it can interrupt it; with a transport of this package that
 * stops its own request when told, the attempt stays on the caller's fiber and the deadline (still
 * kept on effect's Clock by Timeout.ts) stops the request instead. The extra fiber per attempt cost
 * more than its own work: it made V8 promote the whole call's garbage (docs/benchmarks.md).
 *
 * The deadline is found by the fiber running the attempt; the marks are set only on the exact objects
 * this package's layers provide, so any client or signer the application wraps keeps the fiber.
 */

import { trait } from "./TransportTraits.js"

/** The deadline of the attempt a fiber is running. */
export interface Deadline {
  /** Set once the deadline has passed: a request not yet sent must not be sent. */
  expired: boolean
  /** Set by the transport while its request is out: stops it, so the attempt fails at once. */
  stop: (() => void) | undefined
  /** Set by the transport once the answer's status line and headers came (see AttemptProgress.ts). */
  answered: boolean
}

const deadlines = new WeakMap<object, Deadline>()

export const arm = (fiber: object, deadline: Deadline): void => {
  deadlines.set(fiber, deadline)
}

export const disarm = (fiber: object): void => {
  deadlines.delete(fiber)
}

export const of = (fiber: object): Deadline | undefined => deadlines.get(fiber)

/**
 * On an `HttpClient`: it runs a request on the calling fiber and stops it at that fiber's deadline.
 * On a `WechatPayClient`: its transport does, and every other step of an attempt ends by itself.
 */
const StopsAtDeadline = trait("AttemptDeadline/StopsAtDeadline")

/** On a `Signer` or a `KeyStore`: every effect it gives ends by itself (this package's own). */
const SettlesByItself = trait("AttemptDeadline/SettlesByItself")

export const markStopsAtDeadline = StopsAtDeadline.mark
export const stopsAtDeadline = StopsAtDeadline.has
export const markSettlesByItself = SettlesByItself.mark
export const settlesByItself = SettlesByItself.has
