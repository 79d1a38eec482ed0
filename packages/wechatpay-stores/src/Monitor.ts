/**
 * What the calls of a running job are doing, for the progress line: which are
 * waiting on the client's rate limit, which are on the wire, which are backing
 * off before a retry (and why), and how many calls actually reached WeChat Pay.
 *
 * Three vantage points, tied together by a FiberRef naming the call: the service
 * (a call starts and ends), the HTTP client (an attempt goes on the wire) and the
 * library's `AttemptObserver` (an attempt ended, and whether it will be retried).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { Effect, FiberRef, Layer } from "effect"
import { MerchantConfig, ProductCouponStores } from "effect-wechatpay"
import type * as Progress from "./Progress.js"

/** The call an attempt belongs to (0: not made through a monitored service). */
const CallId = FiberRef.unsafeMake(0)

type Phase = "permit" | "wire" | "backoff" | "ending"

/** Why an attempt is retried, in a few words. */
export const retryReason = (event: ProductCouponStores.AttemptEvent): string => {
  switch (event.outcome) {
    case "RateLimitExceededError":
      return "429 rate limited"
    case "TimeoutError":
      return "a timeout"
    case "TransportError":
      return "a connection failure"
    case "SystemError":
      return `${event.status ?? 500} system error`
    default:
      return event.status === undefined ? String(event.outcome) : `${event.status} ${String(event.outcome)}`
  }
}

export interface Monitor {
  /** What the calls are doing now. */
  readonly activity: () => Progress.Activity
  /** Calls that change a stock's stores and sent at least one attempt. */
  readonly callsSent: () => number
  /** The checks around a job (stock queries, listing pages) that sent at least one attempt. */
  readonly checksSent: () => number
  /** Wraps a service so its calls are followed. */
  readonly service: <E, R>(
    layer: Layer.Layer<ProductCouponStores.ProductCouponStores | MerchantConfig.MerchantConfig, E, R>
  ) => Layer.Layer<ProductCouponStores.ProductCouponStores | MerchantConfig.MerchantConfig, E, R>
  /** Wraps a transport so attempts going on the wire are seen. */
  readonly http: <E, R>(layer: Layer.Layer<HttpClient.HttpClient, E, R>) => Layer.Layer<HttpClient.HttpClient, E, R>
  /** The observer to install around the job (the job still tells its own). */
  readonly observer: ProductCouponStores.AttemptObserver["Type"]
}

export const make = (): Monitor => {
  let next = 0
  let sent = 0
  let checks = 0
  let lastRetry: string | undefined
  const calls = new Map<number, { phase: Phase; sent: boolean; check: boolean }>()

  /** `check`: a stock query or a listing page, counted apart from the calls that change stores. */
  const follow = <A, E, R>(call: Effect.Effect<A, E, R>, check = false): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      const id = ++next
      calls.set(id, { phase: "permit", sent: false, check })
      return Effect.locally(call, CallId, id).pipe(Effect.ensuring(Effect.sync(() => calls.delete(id))))
    })

  const onWire = (id: number) => {
    const call = calls.get(id)
    if (call === undefined) return
    call.phase = "wire"
    if (!call.sent) {
      call.sent = true
      if (call.check) checks++
      else sent++
    }
  }

  return {
    activity: () => {
      let onWire = 0
      let backingOff = 0
      let waitingForPermit = 0
      for (const call of calls.values()) {
        if (call.phase === "wire" || call.phase === "ending") onWire++
        else if (call.phase === "backoff") backingOff++
        else waitingForPermit++
      }
      return { inFlight: calls.size, onWire, backingOff, waitingForPermit, lastRetry }
    },
    callsSent: () => sent,
    checksSent: () => checks,
    service: (layer) =>
      Layer.effect(
        ProductCouponStores.ProductCouponStores,
        Effect.map(ProductCouponStores.ProductCouponStores, (service) => {
          const listAssociatedStores: typeof service.listAssociatedStores = (input) => follow(service.listAssociatedStores(input), true)
          return {
            disassociateStores: (input) => follow(service.disassociateStores(input)),
            associateStores: (input) => follow(service.associateStores(input)),
            listAssociatedStores,
            // Each page of the walk is one followed call.
            associatedStores: ProductCouponStores.associatedStoresOf(listAssociatedStores),
            getStock: (input) => follow(service.getStock(input), true),
            associateStockBundleStores: (input) => follow(service.associateStockBundleStores(input)),
            disassociateStockBundleStores: (input) => follow(service.disassociateStockBundleStores(input))
          }
        })
      ).pipe(
        // The merchant goes through as it is: a durable job records whom its calls are signed as.
        Layer.merge(Layer.effect(MerchantConfig.MerchantConfig, MerchantConfig.MerchantConfig)),
        Layer.provide(layer)
      ),
    http: (layer) =>
      Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) =>
          HttpClient.tapRequest(client, () => Effect.map(FiberRef.get(CallId), onWire)))
      ).pipe(Layer.provide(layer)),
    observer: {
      onAttempt: (event) =>
        Effect.map(FiberRef.get(CallId), (id) => {
          const call = calls.get(id)
          if (call === undefined) return
          if (event.willRetry) {
            call.phase = "backoff"
            lastRetry = retryReason(event)
          } else call.phase = "ending"
        })
    }
  }
}
