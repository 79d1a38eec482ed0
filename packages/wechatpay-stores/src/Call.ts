/**
 * One call of the service outside a job (`stock`, `list`): the service built from
 * the `WECHATPAY_*` variables over the CLI's transport, and how its failure is said.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Layer } from "effect"
import { ProductCouponStores, type WechatPayError } from "effect-wechatpay"
import * as Environment from "./Environment.js"
import * as Explain from "./Explain.js"
import * as Output from "./Output.js"

/**
 * Runs `use` with the service, giving its value, or the one line that says why it could not
 * run (configuration) or what the call's error means and what to do.
 */
export const withService = <A, E extends WechatPayError.WechatPayError>(
  http: Layer.Layer<HttpClient.HttpClient>,
  ids: Explain.JobIds,
  use: (service: ProductCouponStores.Service) => Effect.Effect<A, E>,
  service: (layer: Layer.Layer<ProductCouponStores.ProductCouponStores, WechatPayError.ConfigurationError | WechatPayError.KeyFormatError>) => Layer.Layer<ProductCouponStores.ProductCouponStores, WechatPayError.ConfigurationError | WechatPayError.KeyFormatError> = (l) => l
): Effect.Effect<{ readonly _tag: "Right"; readonly value: A } | { readonly _tag: "Left"; readonly message: string }> =>
  Effect.gen(function*() {
    const missing = yield* Environment.problem
    if (missing !== undefined) return { _tag: "Left", message: `configuration: ${missing}` } as const
    const layer = service(ProductCouponStores.layerConfig().pipe(Layer.provide(http)))
    const result = yield* Effect.flatMap(ProductCouponStores.ProductCouponStores, use).pipe(Effect.provide(layer), Effect.either)
    if (result._tag === "Right") return { _tag: "Right", value: result.right } as const
    const e = result.left as WechatPayError.WechatPayError
    const message = e._tag === "ConfigurationError" || e._tag === "KeyFormatError"
      ? `configuration: ${e.message}`
      : Explain.callFailure(e, ids)
    return { _tag: "Left", message: Output.oneLine(message) } as const
  })
