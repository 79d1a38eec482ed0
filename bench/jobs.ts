/**
 * `npm run bench:jobs` (or `npm run bench -- --only=jobs`): issue #15's journal overhead and
 * resume figures (see jobs-core.ts). Options: `--quick` (10,000 stores, one round, for a smoke
 * run), `--split` (adds the records-only and no-fsync variants, in memory and over loopback),
 * `--rounds=N`, `--http-rounds=N` (0 leaves loopback HTTP and the SIGKILL resume out),
 * `--resume-runs=N`, `--stores=N`, `--latency=MS` (over loopback, every answer MS ms late, as a
 * network's round trip would make it), `--json`.
 */
import { machine } from "./harness.js"
import * as Jobs from "./jobs-core.js"

const args = process.argv.slice(2)
const m = machine()
const log = (line: string) => process.stderr.write(`${line}\n`)
process.stdout.write(`machine: ${m.cpu} × ${m.cpus}, Node ${m.node}, ${m.date}, load ${m.loadAverage.join(" ")}\n`)
Jobs.run(Jobs.optionsFrom(args, log)).then((result) => {
  process.stdout.write(Jobs.describe(result) + "\n")
  process.stdout.write(`load after: ${machine().loadAverage.join(" ")}, ${new Date().toISOString()}\n`)
  if (args.includes("--json")) process.stdout.write(JSON.stringify(result) + "\n")
}, (e: unknown) => {
  process.stderr.write(`bench:jobs failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exitCode = 1
})
