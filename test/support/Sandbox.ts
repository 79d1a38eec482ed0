// The loopback sandbox over real HTTP, trusting the shared keys: a fake WeChat Pay behind
// SandboxServer, the client options and the service (FetchHttpClient) pointed at it, and a
// loopback port nothing listens on (a WeChat Pay that is not there).
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as Net from "node:net"
import { type MerchantConfig, ProductCouponStores } from "../../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxServer, TestKeys } from "../../packages/effect-wechatpay/src/testing/index.js"
import { keys } from "./Keys.js"

export { keys }

export const F = FakeWechatPay.Fixture

/** The base URLs a client is pointed at (a SandboxServer.Service is one). */
export interface Urls {
  readonly baseUrl: string
  readonly backupBaseUrl: string
}

/** A fake WeChat Pay trusting the shared keys (its rate limit off unless `options` set one), served on loopback. */
export const serve = (options: Omit<FakeWechatPay.Options, "keys"> = {}) =>
  Effect.gen(function*() {
    const fake = FakeWechatPay.makeWith(keys, { rateLimit: false, ...options })
    const server = yield* SandboxServer.make(fake)
    return { fake, server }
  })

/** Client options with the shared keys, pointed at `urls`. */
export const merchantOptions = (urls: Urls): MerchantConfig.Options =>
  TestKeys.merchantOptions(keys, { baseUrl: urls.baseUrl, backupBaseUrl: urls.backupBaseUrl })

/** The service with the shared keys over real HTTP (FetchHttpClient) to `urls`. */
export const serviceLayer = (urls: Urls, options?: ProductCouponStores.Options) =>
  ProductCouponStores.layerMerchant(merchantOptions(urls), options).pipe(Layer.provide(FetchHttpClient.layer))

/** A loopback port nothing listens on: connecting to it is refused at once. */
export const closedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as Net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
