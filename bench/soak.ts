/** `npm run soak`: the 100,000-store fault soak (see soak-core.ts); exit 1 if any check fails. */
import { Effect } from "effect"
import { machine } from "./harness.js"
import * as Soak from "./soak-core.js"

const options: Soak.SoakOptions = {
  stores: 100_000,
  duplicateRate: 0.1,
  foreignStores: 1_000,
  seed: 6,
  concurrency: 4,
  timeoutMillis: 1_000,
  slowMillis: 3_000,
  retry: { baseDelay: "50 millis", maxDelay: "1 second" },
  failoverWindowMillis: 2_000,
  primaryDown: { afterMillis: 3_000, forMillis: 4_000 }
}

const m = machine()
process.stdout.write(`machine: ${m.cpu} × ${m.cpus}, Node ${m.node}, ${m.date}, load ${m.loadAverage.join(" ")}\n`)
Effect.runPromise(Soak.run(options)).then((result) => {
  process.stdout.write(Soak.describe(options, result) + "\n")
  if (process.argv.includes("--json")) process.stdout.write(JSON.stringify(result) + "\n")
  process.exitCode = result.problems.length === 0 ? 0 : 1
}, (e: unknown) => {
  process.stderr.write(`soak could not run: ${String(e)}\n`)
  process.exitCode = 1
})
