// Checks on a bulk job's report that hold whatever happened to the job.
import { assert } from "@effect/vitest"
import type { BulkDisassociation } from "../../packages/effect-wechatpay/src/index.js"

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
