/**
 * The real `ProductCouponStores` service over the in-memory sandbox, in one
 * layer, for your unit tests: signing, verification, error mapping and retries
 * are the production code, and only the transport is the fake.
 *
 * Under `@effect/vitest`'s `it.effect` the `Clock` is a `TestClock`, which
 * stands still until the test moves it. The service's retry back-off and its
 * client-side rate limit sleep on that Clock, so with production settings a
 * scripted 429 or 5xx waits there until the test calls `TestClock.adjust`.
 * {@link layer} therefore defaults to `timing: "immediate"` (see
 * {@link immediate}): retries happen at once, as many of them and for the same
 * errors as in production. `timing: "production"` keeps production's waits,
 * for tests that drive them with `TestClock.adjust`.
 *
 * Nothing here changes how the service works: `immediate` only fills in
 * `ProductCouponStores` options that any application could pass.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Either, Layer } from "effect"
import * as KeyStore from "../KeyStore.js"
import type * as MerchantConfig from "../MerchantConfig.js"
import * as ProductCouponStores from "../ProductCouponStores.js"
import * as Signer from "../Signer.js"
import * as WechatPayClient from "../WechatPayClient.js"
import { ConfigurationError, type KeyFormatError } from "../WechatPayError.js"
import { objectOption } from "../internal/Options.js"
import type * as FakeWechatPay from "./FakeWechatPay.js"
import * as SandboxHttpClient from "./SandboxHttpClient.js"

/** How the service's waits (retry back-off, client-side rate limit, the fake's rate limit) behave. */
export type Timing = "immediate" | "production"

/**
 * The fake's options (`seed`, `faults`, `rateLimit`, …, as for
 * `SandboxHttpClient.layerSandbox`), plus the service's.
 */
export interface Options extends FakeWechatPay.Options, SandboxHttpClient.Options {
  /** Options of `ProductCouponStores.layer`; under `"immediate"` timing, {@link immediate} fills in the waits you leave unset. */
  readonly service?: ProductCouponStores.Options | undefined
  /**
   * `"immediate"` (the default): no retry back-off and no client-side rate
   * limit unless `service` sets them, and the fake's own rate limit is off
   * unless `rateLimit` sets it (on a Clock that stands still its one-second
   * window never slides, so past 20 requests every answer would be 429).
   * `"production"`: `service` and the fake's options as given, with their
   * production defaults (500 ms back-off with ±20% jitter, 20 requests/s,
   * the fake's 20/s window), all on the `Clock`.
   */
  readonly timing?: Timing | undefined
}

/**
 * `options` with the waits that sleep on the `Clock` taken out, unless set:
 * the retry back-off starts at 0 (so every retry delay is 0) without jitter,
 * and the client-side rate limit is off. How many retries, and after which
 * errors, stays as configured (by default 6 after 429, 3 after 5xx, transport
 * failures and timeouts); `retry: false` stays `false`. The per-attempt
 * timeout is kept: it only fires when the Clock passes it.
 */
export const immediate = (options: ProductCouponStores.Options = {}): ProductCouponStores.Options =>
  // Options that are not an object go on as they are, for the service's layer to refuse with a ConfigurationError.
  typeof options !== "object" || options === null ? options : {
    ...options,
    retry: options.retry === false ? false : { baseDelay: 0, jitter: 0, ...options.retry },
    rateLimit: options.rateLimit ?? false
  }

/**
 * A fresh `FakeWechatPay` (seeded with `options.seed`, default
 * `FakeWechatPay.generate()`), the in-memory `HttpClient` over it, a
 * `MerchantConfig` with the fake's keys, the `WechatPayClient` (node:crypto
 * signer) and the `ProductCouponStores` service. Each build is a new fake:
 * provide it per test for a fresh world.
 */
export const layer = (
  options: Options = {}
): Layer.Layer<
  | ProductCouponStores.ProductCouponStores
  | WechatPayClient.WechatPayClient
  | MerchantConfig.MerchantConfig
  | FakeWechatPay.FakeWechatPay
  | HttpClient.HttpClient,
  ConfigurationError | KeyFormatError
> => {
  const notAnObject = objectOption("SandboxStores.options", options)
  if (Either.isLeft(notAnObject)) return Layer.fail(notAnObject.left)
  if (options.timing !== undefined && options.timing !== "immediate" && options.timing !== "production") {
    return Layer.fail(new ConfigurationError({ variable: "SandboxStores.timing", reason: `must be "immediate" or "production"` }))
  }
  const { service, timing, ...sandbox } = options
  const production = timing === "production"
  const fake: FakeWechatPay.Options & SandboxHttpClient.Options = production
    ? sandbox
    : { ...sandbox, rateLimit: sandbox.rateLimit ?? false }
  return ProductCouponStores.layer(production ? service : immediate(service)).pipe(
    Layer.provideMerge(WechatPayClient.layerServices),
    Layer.provide(Signer.layer),
    Layer.provide(KeyStore.layer),
    Layer.provideMerge(SandboxHttpClient.layerSandbox(fake))
  )
}
