/**
 * What a request must wait for after it is signed and before the transport sends it: a durable job's
 * journal (every record queued before the call on disk). Awaited this late, the flush runs while the
 * calls started with it are signed, rather than before. A client of this package awaits it on every
 * attempt; the engine's gate waits only before a call's first (a retry belongs to a call already on
 * disk and sent). The engine asks the service whether it awaits the gate (`awaitedBy`) and, if not,
 * waits before the call instead.
 */
import { Context, Effect } from "effect"
import type { NotSentError } from "../WechatPayError.js"
import { trait } from "./TransportTraits.js"

export class SendGate extends Context.Reference<SendGate>()("effect-wechatpay/internal/SendGate", {
  defaultValue: (): Effect.Effect<void, NotSentError> | undefined => undefined
}) {}

const Awaits = trait("SendGate/Awaits")

/** Marks a service (the client, and a service over it) that awaits the gate before each request is sent. */
export const markAwaitedBy = Awaits.mark
/** Whether the service awaits the gate itself. */
export const awaitedBy = Awaits.has

/** A request, once the gate in the fiber's context (if any) is open. */
export const pass = <A>(request: A): Effect.Effect<A, NotSentError> =>
  Effect.flatMap(Effect.context<never>(), (context) => {
    const gate = Context.get(context, SendGate)
    return gate === undefined ? Effect.succeed(request) : Effect.as(gate, request)
  })
