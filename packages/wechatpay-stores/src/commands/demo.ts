/**
 * `wechatpay-stores demo` (what `npm start` runs): the sandbox in-process over
 * real loopback HTTP, a bulk job with duplicates, foreign stores and injected
 * 429s, then a check of the report against the sandbox's own state.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, Layer } from "effect"
import { ProductCouponStores } from "effect-wechatpay"
import { FakeWechatPay, SandboxServer, TestKeys } from "effect-wechatpay/testing"
import * as Io from "../Io.js"
import * as Job from "../Job.js"
import * as Output from "../Output.js"
import * as Program from "../Program.js"

/** The demo's sizes: some thousands of stores, a few duplicates, some stores of another brand. */
export const DEMO = { stores: 5_000, duplicates: 120, otherBrand: 25, rateLimitFaultRate: 0.08, seed: 2026 } as const

/** Runs the demo; exits 0 when the job accounted for every store and the report agrees with the sandbox. */
export const demo = (io: Io.Io, http: Layer.Layer<HttpClient.HttpClient>): Effect.Effect<number> =>
  Effect.gen(function*() {
    const keys = yield* TestKeys.generate()
    const F = FakeWechatPay.Fixture
    const fake = FakeWechatPay.makeWith(keys, {
      seed: FakeWechatPay.generate({ stores: DEMO.stores, otherBrandStores: DEMO.otherBrand }),
      rateLimit: 20,
      faults: { seed: DEMO.seed, rates: { rateLimit: DEMO.rateLimitFaultRate } }
    })
    const server = yield* SandboxServer.make(fake, {})
    // The input a brand operator might have: every store, some twice, and a few that belong to another brand.
    const ids: Array<string> = []
    let foreignCount = 0
    for (let i = 0; i < DEMO.stores; i++) {
      ids.push(FakeWechatPay.storeId(i))
      if (i % Math.floor(DEMO.stores / DEMO.duplicates) === 7) ids.push(FakeWechatPay.storeId(i - 7))
      if (i % Math.floor(DEMO.stores / DEMO.otherBrand) === 3) ids.push(FakeWechatPay.otherBrandStoreId(foreignCount++))
    }
    const unique = new Set(ids).size
    io.out.write(
      `demo: sandbox on ${server.baseUrl} (backup ${server.backupBaseUrl}), stock ${F.stockId} with ${Output.fmt(DEMO.stores)} stores; ` +
        `input ${Output.fmt(ids.length)} ids (${Output.fmt(ids.length - unique)} duplicates, ${DEMO.otherBrand} of another brand); ` +
        `the sandbox answers ${DEMO.rateLimitFaultRate * 100}% of calls with 429\n`
    )
    const service: Job.ServiceLayer = (monitor) =>
      ProductCouponStores.layerMerchant(
        TestKeys.merchantOptions(keys, { baseUrl: server.baseUrl, backupBaseUrl: server.backupBaseUrl })
      ).pipe(Layer.provide(monitor.http(http)))
    const finished = yield* Job.run(
      {
        operation: "disassociate",
        productCouponId: F.productCouponId,
        stockId: F.stockId,
        brandId: F.brandId,
        concurrency: 4,
        rate: ProductCouponStores.DEFAULT_RATE_LIMIT.limit,
        report: undefined,
        json: false,
        // The demo's report is checked below; a report file of a loopback sandbox's job would be litter.
        keepReport: false
      },
      io,
      service,
      ids,
      unique
    )
    if (typeof finished === "string") return Io.fail(io, finished)
    const result = finished.report
    // Check the report against what the sandbox really did.
    const problems: Array<string> = []
    const stillAssociated = result.succeeded.filter((id) => fake.isAssociated(F.stockId, id))
    if (stillAssociated.length > 0) problems.push(`${Output.plural(stillAssociated.length, "store")} reported succeeded still associated`)
    if (fake.associatedCount(F.stockId) !== 0) problems.push(`${Output.plural(fake.associatedCount(F.stockId), "store")} still associated`)
    const foreign = result.failed.filter((f) => f.storeId.startsWith("3")).length
    if (foreign !== new Set(ids.filter((id) => id.startsWith("3"))).size) problems.push("not every foreign store was reported failed")
    if (result.summary.unresolved !== 0) problems.push(`${Output.plural(result.summary.unresolved, "store")} unresolved`)
    const answered429 = fake.log.filter((e) => e.status === 429).length
    io.out.write(
      `demo check: the sandbox answered ${Output.plural(answered429, "call")} with 429, the client retried them; ` +
        (problems.length === 0
          ? `every store is accounted for and the sandbox's state agrees with the report. OK\n`
          : `PROBLEMS: ${problems.join("; ")}\n`)
    )
    return problems.length === 0 ? 0 : 2
  }).pipe(
    Effect.scoped,
    Effect.catchTag("SandboxError", (e) => Effect.succeed(Io.fail(io, e.message)))
  )

export const command = Program.command("demo", {}, () =>
  Effect.flatMap(Program.CliContext, ({ http, io }) => demo(io, http))).pipe(Program.withHelp(
    "What npm start runs: starts the sandbox in this process, removes 5,000 stores from its stock over loopback HTTP " +
      "(with duplicates, stores of another brand and injected 429s), then checks the report against the sandbox's state. " +
      "Needs no credentials.",
    ["wechatpay-stores demo"]
  ))
