/**
 * `wechatpay-stores disassociate`: removes a list of stores from a product-coupon
 * stock, against the WeChat Pay the `WECHATPAY_*` variables configure. The job
 * command itself is JobCommand.ts, shared with `associate`.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Effect, Layer } from "effect"
import type * as Io from "../Io.js"
import * as JobCommand from "../JobCommand.js"

export const DOCUMENTED_RATE = JobCommand.DOCUMENTED_RATE

export const DEFAULT_CONCURRENCY = JobCommand.DEFAULT_CONCURRENCY

export type Args = JobCommand.Args

/** The job itself; exported for the tests, which pass their own transport. */
export const disassociate = (args: Args, io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  JobCommand.runJob("disassociate", args, io, http)

export const command = JobCommand.make("disassociate")
