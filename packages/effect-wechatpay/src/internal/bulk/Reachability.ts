/**
 * Whether WeChat Pay answers at all, judged from a job's attempts: every host the
 * job used failing at the network level (refused, DNS, TLS, reset, timeout), over
 * several calls in a row with no HTTP answer from any host meanwhile, is an outage.
 */
import type { AttemptEvent } from "../../ProductCouponStores.js"
import type { HasBehaviour } from "../../WechatPayError.js"
import { describeTransport, TimeoutError, TransportError } from "../../WechatPayError.js"

/** `stoppedBy.tag` (code `UNREACHABLE`) when no host of WeChat Pay answered. */
export const UNREACHABLE = "Unreachable"

/**
 * Consecutive calls that must end on a network-level failure (refused, DNS, TLS,
 * reset, timeout), with no HTTP answer from any host meanwhile and every host the
 * job used failing, before the job stops as `UNREACHABLE`.
 */
export const UNREACHABLE_AFTER_CALLS = 3

/** Why an attempt got no answer, for `UNREACHABLE`'s message. */
const networkWhy = (error: HasBehaviour): string =>
  error instanceof TransportError
    ? describeTransport(error)
    : error instanceof TimeoutError
    ? `no answer within ${error.timeoutMillis} ms`
    : error.message

export class Reachability {
  private readonly hostsUsed = new Set<string>()
  /** Since the last answer from any host: why each host failed. */
  private readonly silentHosts = new Map<string, string>()
  /** Since the last answer from any host: calls that ended on a network-level failure. */
  private silentCalls = 0

  /** Learns from one attempt. */
  attempt(event: AttemptEvent): void {
    this.hostsUsed.add(event.baseUrl)
    const error = event.error
    if (error !== undefined && error.behaviour.triggersFailover) {
      this.silentHosts.set(event.baseUrl, networkWhy(error))
    } else if (
      event.outcome === "success" || event.status !== undefined || error instanceof TransportError || error instanceof TimeoutError
    ) {
      // An answer came back (a transport failure or a timeout that does not trigger failover had its status line).
      this.silentHosts.clear()
      this.silentCalls = 0
    }
  }

  /** A call ended on a network-level failure: the message to stop with, when WeChat Pay looks unreachable. */
  silentCall(): string | undefined {
    this.silentCalls++
    if (this.silentCalls < UNREACHABLE_AFTER_CALLS || this.hostsUsed.size === 0) return undefined
    for (const host of this.hostsUsed) if (!this.silentHosts.has(host)) return undefined
    const hosts = Array.from(this.silentHosts, ([host, why]) => `${host}: ${why}`).join("; ")
    return `WeChat Pay unreachable: ${this.silentCalls} calls in a row got no answer from any host (${hosts})`
  }
}
