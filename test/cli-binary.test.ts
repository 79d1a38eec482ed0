// The real entry point as a child process (node --conditions=wechatpay-source --import tsx packages/wechatpay-stores/src/main.ts): it runs, sets the
// exit code, prints one line + usage for a bad flag, and the `sandbox` command's printed settings are
// enough for a second process to run a job against it through the WECHATPAY_* variables.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

/** Runs the CLI as a process to its end: its exit and everything it printed. */
const cli = (args: ReadonlyArray<string>, env: Record<string, string> = Cli.cleanEnv()) =>
  Effect.scoped(Effect.gen(function*() {
    const p = yield* Cli.spawnCli(args, { env })
    const { code, signal } = yield* p.exited
    return { code, signal, stdout: p.stdout(), stderr: p.stderr() }
  }))

describe("the wechatpay-stores binary", () => {
  it.live("a bad flag: exit 1, one line then the usage on stderr, no stack trace", () =>
    Effect.gen(function*() {
      const r = yield* cli([...Cli.job, "--stores", "stores.txt", "--bogus"])
      assert.strictEqual(r.code, 1)
      const lines = r.stderr.split("\n")
      assert.strictEqual(lines[0], "wechatpay-stores: unknown option '--bogus'")
      assert.match(lines[1]!, /^usage: wechatpay-stores disassociate --product-coupon-id ID /)
      assert.include(lines[2], "wechatpay-stores disassociate --help")
      assert.notMatch(r.stderr, /\n\s+at /)
      assert.strictEqual(r.stdout, "")
    }), 60_000)

  it.scopedLive("npm start (the demo, with the checks on by default as in every job): its check ends OK, exit 0", () =>
    Effect.gen(function*() {
      const p = yield* Cli.spawn("npm", ["start", "--silent"], { env: Cli.cleanEnv(), cwd: Cli.ROOT, detached: true })
      const exit = yield* Cli.exitWithin(p, 90)
      assert.strictEqual(exit.code, 0, p.stdout() + p.stderr())
      const lines = p.stdout().split("\n").filter((l) => l !== "")
      assert.match(lines.at(-1)!, /^demo check: .*every store is accounted for and the sandbox's state agrees with the report\. OK$/)
      // The preflight got its answer: no "stock check skipped" line.
      assert.notInclude(p.stdout(), "stock check skipped")
      assert.notInclude(p.stdout() + p.stderr(), "listing not checked")
    }), 120_000)

  it.scopedLive("sandbox in the foreground; a second process runs a job from its printed settings; Ctrl-C stops it", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-bin-test-")
      const sandbox = yield* Cli.spawnCli(["sandbox", "--stores", "300", "--rate", "0", "--dir", Path.join(dir, "keys")], { env: Cli.cleanEnv() })
      // Wait for the settings (the process prints them once both listeners are up).
      yield* Cli.waitFor(sandbox, sandbox.stdout, /Ctrl-C stops the sandbox\./, "sandbox did not start")
      const printed = sandbox.stdout()
      // The command it suggests works where it was run (no npm script here), and says what it injects.
      assert.match(printed, /^  npx wechatpay-stores disassociate --product-coupon-id \S+ --stock-id \S+ --brand-id \S+ --stores \S+stores\.txt$/m)
      assert.notInclude(printed, "npm run cli")
      assert.include(printed, "faults injected: none")

      const env = Cli.cleanEnv()
      for (const m of printed.matchAll(/^export (WECHATPAY_[A-Z_]+)='([^']*)'$/gm)) env[m[1]!] = m[2]!
      assert.includeMembers(Object.keys(env), ["WECHATPAY_MCHID", "WECHATPAY_PRIVATE_KEY_FILE", "WECHATPAY_PUBLIC_KEY_FILE", "WECHATPAY_BASE_URL"])
      const stores = Path.join(dir, "stores.txt")
      yield* Effect.promise(() =>
        Fs.writeFile(stores, [...Array.from({ length: 250 }, (_, i) => FakeWechatPay.storeId(i)), FakeWechatPay.otherBrandStoreId(0)].join("\n"))
      )
      const job = [...Cli.job, "--stores", stores]
      const { WECHATPAY_MCHID: _, ...withoutMchid } = env
      const [ran, unconfigured] = yield* Effect.all([
        cli([...job, "--report", Path.join(dir, "report.json")], env),
        cli(job, withoutMchid)
      ], { concurrency: 2 })

      // The job ran: one store of another brand failed, so the exit code is 2; the process did exit.
      assert.strictEqual(ran.code, 2, ran.stderr)
      assert.match(ran.stdout, /\| succeeded\s+\|\s+250 \|/)
      assert.match(ran.stdout, /\| failed\s+\|\s+1 \|/)
      const report = JSON.parse(yield* Effect.promise(() => Fs.readFile(Path.join(dir, "report.json"), "utf8"))) as { succeeded: Array<string> }
      assert.strictEqual(report.succeeded.length, 250)

      assert.strictEqual(unconfigured.code, 1)
      assert.strictEqual(unconfigured.stderr, "wechatpay-stores: configuration: WECHATPAY_MCHID: is not set\n")

      // Ctrl-C: the sandbox's scope closes and the process exits with 130.
      sandbox.child.kill("SIGINT")
      assert.strictEqual((yield* sandbox.exited).code, 130)
    }), 120_000)
})
