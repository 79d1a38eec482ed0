/**
 * `wechatpay-stores associate`: adds a list of stores to a product-coupon stock,
 * against the WeChat Pay the `WECHATPAY_*` variables configure. The job command
 * itself is JobCommand.ts, shared with `disassociate`; which library job runs is
 * Operation.ts.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Effect, Layer } from "effect"
import type * as Io from "../Io.js"
import * as JobCommand from "../JobCommand.js"

/** The job itself; exported for the tests, which pass their own transport. */
export const associate = (args: JobCommand.Args, io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  JobCommand.runJob("associate", args, io, http)

export const command = JobCommand.make("associate")
