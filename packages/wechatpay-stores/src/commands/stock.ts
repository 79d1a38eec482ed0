/**
 * `wechatpay-stores stock`: one stock as WeChat Pay reports it (查询商品券指定批次) —
 * its store scope, state, available period and deactivation — in a short table,
 * or the decoded stock as JSON; and whether a store job would be refused.
 */
import * as Options from "@effect/cli/Options"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Layer } from "effect"
import type { ProductCoupon } from "effect-wechatpay"
import * as Call from "../Call.js"
import * as Io from "../Io.js"
import * as JobCommand from "../JobCommand.js"
import * as Output from "../Output.js"
import * as Program from "../Program.js"

export interface Args {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  readonly json: boolean
}

/** What each documented state means, in a few words. */
const STATES: Readonly<Record<string, string>> = {
  AUDITING: "being reviewed",
  SENDING: "issuing coupons",
  PAUSED: "paused",
  STOPPED: "stopped: its end time has passed",
  DEACTIVATED: "deactivated by the brand"
}

const SCOPES: Readonly<Record<string, string>> = {
  NONE: "no store",
  ALL: "every store of the brand",
  SPECIFIC: "the associated stores (the only scope whose stores can be changed)"
}

/**
 * Why associating or disassociating stores would be refused or pointless, from what the stock
 * says (the same rules as the library's preflight is to check); empty when nothing stands out.
 */
export const warnings = (stock: ProductCoupon.Stock, now: number = Date.now()): ReadonlyArray<string> => {
  const out: Array<string> = []
  if (stock.storeScope !== "SPECIFIC") {
    out.push(`store_scope is ${stock.storeScope}, not SPECIFIC: the stock has no store list to change`)
  }
  if (stock.state === "STOPPED" || stock.state === "DEACTIVATED") {
    out.push(`state is ${stock.state}: WeChat Pay refuses to change its stores`)
  }
  const end = stock.singleUsageRule?.couponAvailablePeriod?.availableEndTime
  if (end !== undefined && Number.isFinite(Date.parse(end)) && Date.parse(end) < now) {
    out.push(`its available period ended at ${end}: WeChat Pay refuses to change the stores of an expired stock`)
  }
  return out
}

/** The stock as a short table of label and value. */
export const table = (stock: ProductCoupon.Stock, requestId: string | undefined): string => {
  const period = stock.singleUsageRule?.couponAvailablePeriod
  const rows: Array<[string, string]> = [
    ["product coupon", stock.productCouponId],
    ["stock", stock.stockId],
    ...(stock.brandId === undefined ? [] : [["brand", stock.brandId] as [string, string]]),
    ["state", `${stock.state}${STATES[stock.state] === undefined ? " (a state this version does not know)" : ` (${STATES[stock.state]})`}`],
    ["store scope", `${stock.storeScope}${SCOPES[stock.storeScope] === undefined ? " (a scope this version does not know)" : ` (${SCOPES[stock.storeScope]})`}`],
    ["available from", period?.availableBeginTime ?? "-"],
    ["available until", period?.availableEndTime ?? "-"],
    ["deactivated", stock.deactivateTime === undefined && stock.deactivateReason === undefined ? "no" : `${stock.deactivateTime ?? "yes"}`],
    ...(stock.deactivateReason === undefined ? [] : [["deactivate reason", stock.deactivateReason] as [string, string]]),
    ...(stock.deactivateRequestNo === undefined ? [] : [["deactivate request", stock.deactivateRequestNo] as [string, string]]),
    ...(stock.remark === undefined ? [] : [["remark", stock.remark] as [string, string]]),
    ...(requestId === undefined ? [] : [["Request-ID", requestId] as [string, string]])
  ]
  const width = Math.max(...rows.map(([label]) => label.length))
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${Output.oneLine(value)}`).join("\n") + "\n"
}

/** The command itself; exported for the tests. */
export const stock = (args: Args, io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const closed = Io.closedOutput(io, "redirect it to a file or a pipe")
    if (closed !== undefined) return Io.fail(io, closed)
    const result = yield* Call.withService(http, args, (service) =>
      service.getStock({ productCouponId: args.productCouponId, stockId: args.stockId, brandId: args.brandId }))
    if (result._tag === "Left") return Io.fail(io, `stock ${args.stockId}: ${result.message}`)
    const { requestId, ...decoded } = result.value
    if (args.json) io.out.write(JSON.stringify(decoded, null, 2) + "\n")
    else {
      io.out.write(table(decoded, requestId))
      for (const warning of warnings(decoded)) io.out.write(`note: ${warning}\n`)
    }
    // The stock is this command's product: printed nowhere, it did not do its work.
    const failed = yield* Io.failureOf(io.out)
    return failed === undefined ? 0 : Io.outputFailed(io, failed, "; the stock was queried but not printed")
  })

export const command = Program.command(
  "stock",
  {
    productCouponId: JobCommand.stockFlags.productCouponId,
    stockId: JobCommand.idFlag("stock-id", true).pipe(Options.withDescription("The stock (批次) to show.")),
    brandId: JobCommand.stockFlags.brandId,
    json: Options.boolean("json").pipe(Options.withDescription(
      "Print the stock as WeChat Pay's answer decodes (camelCase fields, unknown fields kept under their wire names) as JSON instead of the table."
    ))
  },
  (a) =>
    Effect.flatMap(Program.CliContext, ({ http, io }) =>
      stock({ productCouponId: a.productCouponId, stockId: a.stockId, brandId: a.brandId, json: a.json }, io, http))
).pipe(Program.withHelp(
  "Shows a stock as WeChat Pay reports it (查询商品券指定批次): its state, store scope, available period and " +
    "deactivation, and a note when associating or disassociating stores would be refused (scope not SPECIFIC, " +
    "STOPPED or DEACTIVATED, available period over). One request; credentials come from the WECHATPAY_* variables.\n\n" +
    "Exit codes: 0 the stock was shown; 1 it could not be (configuration, or WeChat Pay's error, said on one line with what to do).",
  [
    `wechatpay-stores stock --product-coupon-id 200000001 --stock-id 123456789 --brand-id 120344`,
    `wechatpay-stores stock … --json | jq -r .state`
  ]
))
