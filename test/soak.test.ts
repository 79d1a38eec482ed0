// The fault soak at 10,000 stores (npm run soak runs 100,000): loopback HTTP, seeded 429/500/
// resets/timeouts/probes/truncated bodies and a primary outage; the report must agree with the
// sandbox's state store by store. Short retry delays and timeouts keep it to a few seconds.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Soak from "../bench/soak-core.js"

const options: Soak.SoakOptions = {
  stores: 10_000,
  duplicateRate: 0.1,
  foreignStores: 100,
  seed: 7,
  concurrency: 4,
  timeoutMillis: 200,
  slowMillis: 800,
  retry: { baseDelay: "5 millis", maxDelay: "50 millis" },
  failoverWindowMillis: 300,
  primaryDown: { afterMillis: 60, forMillis: 400 }
}

describe("fault soak, 10,000 stores", () => {
  it.live("over UndiciHttpClient (attempts on the caller's fiber, the transport stopping itself at the deadline): the same guarantees", () =>
    Effect.gen(function*() {
      // Slow answers made common enough that a 10,000-store run meets them.
      const undici: Soak.SoakOptions = { ...options, transport: "undici", faultRates: { slow: 0.08 } }
      const result = yield* Soak.run(undici)
      assert.deepStrictEqual(result.problems, [], Soak.describe(undici, result))
      const s = result.summary
      assert.strictEqual(s.unique, 10_100)
      // The slow answers outlived the 200 ms timeout: the deadline stopped those requests, and they were retried.
      assert.isAbove(result.sandbox.faults["slow"] ?? 0, 0)
      assert.isAbove(s.retries["TimeoutError"] ?? 0, 0)
      assert.isAbove(s.retries["TransportError"] ?? 0, 0)
      assert.isAbove(s.succeeded, 9_000)
      assert.strictEqual(result.unhandledRejections, 0)
    }), { timeout: 60_000 })

  it.live("every store accounted for once, every claim true of the sandbox, retries counted by reason", () =>
    Effect.gen(function*() {
      const result = yield* Soak.run(options)
      assert.deepStrictEqual(result.problems, [], Soak.describe(options, result))
      const s = result.summary
      assert.strictEqual(s.unique, 10_100)
      assert.strictEqual(s.duplicates, 1_000)
      // Seeded faults did happen and were retried; probes are never retried, so their chunks stay unresolved.
      assert.isAbove(s.retries["RateLimitExceededError"] ?? 0, 0)
      assert.isAbove(s.retries["TransportError"] ?? 0, 0)
      assert.isAbove(result.sandbox.faults["rateLimit"] ?? 0, 0)
      assert.isAbove(s.succeeded, 9_000)
      assert.strictEqual(result.unhandledRejections, 0)
    }), { timeout: 60_000 })
})
