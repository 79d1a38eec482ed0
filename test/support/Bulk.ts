// Checks on a bulk job's report that hold whatever happened to the job, and running stock jobs over the in-memory fake.
import { assert } from "@effect/vitest"
import type { BulkDisassociation } from "../../packages/effect-wechatpay/src/index.js"
import { Effect } from "effect"
import { BulkStores, type ProductCouponStores } from "../../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxStores } from "../../packages/effect-wechatpay/src/testing/index.js"

/** Every unique id of `ids` exactly once across the three lists, and the summary's counts agree. */
export const assertPartition = (report: BulkDisassociation.Report, ids: ReadonlyArray<string>) => {
  const unique = new Set(ids)
  const listed = [...report.succeeded, ...report.failed.map((f) => f.storeId), ...report.unresolved.map((u) => u.storeId)]
  assert.strictEqual(listed.length, unique.size)
  assert.deepStrictEqual(new Set(listed), unique)
  const m = report.summary
  assert.strictEqual(m.input, ids.length)
  assert.strictEqual(m.unique, unique.size)
  assert.strictEqual(m.duplicates, ids.length - unique.size)
  assert.strictEqual(m.succeeded + m.failed + m.unresolved, m.unique)
}


/** A stock job's direction, as the tests run both. */
export type Direction = "associate" | "disassociate"
export const directions: ReadonlyArray<Direction> = ["disassociate", "associate"]

/**
 * The fake for a job over `stores` stores (all associated for a disassociate job, none for an associate job)
 * answering by `script`, and the service without retries: one fault leaves its whole call unresolved.
 */
export const scriptedStock = (direction: Direction, script: ReadonlyArray<FakeWechatPay.Fault | "none">, stores = 450) => ({
  seed: FakeWechatPay.generate({ stores, associated: direction === "associate" ? 0 : stores }),
  faults: { script },
  service: { retry: false as const }
})

/** `BulkStores`' job for a direction. */
export const stockJob = (direction: Direction) => direction === "associate" ? BulkStores.associateAll : BulkStores.disassociateAll

/** The fixture's ids for one of its stocks. */
export const stockOf = (stockId: string) => ({
  productCouponId: FakeWechatPay.Fixture.productCouponId,
  stockId,
  brandId: FakeWechatPay.Fixture.brandId
})

/** Runs `f` with the real service over the in-memory fake (`SandboxStores.layer`), and the fake to inspect. */
export const withFake = <A, E>(
  options: SandboxStores.Options,
  f: (fake: FakeWechatPay.Service) => Effect.Effect<A, E, ProductCouponStores.ProductCouponStores>
) =>
  Effect.flatMap(FakeWechatPay.FakeWechatPay, f).pipe(Effect.provide(SandboxStores.layer(options)))

/** The operations the fake saw, in order. */
export const operations = (fake: FakeWechatPay.Service): ReadonlyArray<string | undefined> => fake.log.map((e) => e.operation)

/** The store ids a logged store call carried. */
export const storesOf = (entry: FakeWechatPay.LogEntry): ReadonlyArray<string> =>
  (JSON.parse(entry.bodyText) as { store_list: Array<{ store_id: string }> }).store_list.map((s) => s.store_id)
