// The real entry point as a child process (node --import tsx src/cli/main.ts): it runs, sets the
// exit code, prints one line + usage for a bad flag, and the `sandbox` command's printed settings are
// enough for a second process to run a job against it through the WECHATPAY_* variables.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { FakeWechatPay } from "../src/testing/index.js"

const MAIN = Path.resolve(import.meta.dirname, "../src/cli/main.ts")

/** The environment without any WECHATPAY_* the developer may have set. */
const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("WECHATPAY_")) env[k] = v
  return env
}

interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = cleanEnv()) =>
  Effect.async<Finished>((resume) => {
    const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => void (stdout += d.toString("utf8")))
    child.stderr.on("data", (d: Buffer) => void (stderr += d.toString("utf8")))
    child.on("close", (code, signal) => resume(Effect.succeed({ code, signal, stdout, stderr })))
    return Effect.sync(() => void child.kill("SIGKILL"))
  })

describe("the wechatpay-stores binary", () => {
  it.live("a bad flag: exit 1, one line then the usage on stderr, no stack trace", () =>
    Effect.gen(function*() {
      const r = yield* cli(["disassociate", "--bogus"])
      assert.strictEqual(r.code, 1)
      const lines = r.stderr.split("\n")
      assert.match(lines[0]!, /^wechatpay-stores: Unknown option '--bogus'/)
      assert.strictEqual(lines[1], "usage:")
      assert.notMatch(r.stderr, /\n\s+at /)
      assert.strictEqual(r.stdout, "")
    }), 60_000)

  it.scopedLive("sandbox in the foreground; a second process runs a job from its printed settings; Ctrl-C stops it", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "wechatpay-bin-test-"))),
        (d) => Effect.promise(() => Fs.rm(d, { recursive: true, force: true }))
      )
      const sandbox = ChildProcess.spawn(
        process.execPath,
        ["--import", "tsx", MAIN, "sandbox", "--stores", "300", "--rate", "0", "--dir", Path.join(dir, "keys")],
        { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] }
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => void sandbox.kill("SIGKILL")))
      let printed = ""
      sandbox.stdout.on("data", (d: Buffer) => void (printed += d.toString("utf8")))
      const exited = Effect.async<number | null>((resume) => {
        if (sandbox.exitCode !== null) return resume(Effect.succeed(sandbox.exitCode))
        sandbox.on("exit", (code) => resume(Effect.succeed(code)))
      })
      // Wait for the settings (the process prints them once both listeners are up).
      yield* Effect.async<void>((resume) => {
        const check = () => {
          if (printed.includes("Ctrl-C stops the sandbox.")) {
            sandbox.stdout.off("data", check)
            resume(Effect.void)
          }
        }
        sandbox.stdout.on("data", check)
        check()
      }).pipe(Effect.timeoutFail({ duration: "45 seconds", onTimeout: () => new Error(`sandbox did not start: ${printed}`) }), Effect.orDie)

      const env = cleanEnv()
      for (const m of printed.matchAll(/^export (WECHATPAY_[A-Z_]+)='([^']*)'$/gm)) env[m[1]!] = m[2]!
      assert.includeMembers(Object.keys(env), ["WECHATPAY_MCHID", "WECHATPAY_PRIVATE_KEY_FILE", "WECHATPAY_PUBLIC_KEY_FILE", "WECHATPAY_BASE_URL"])
      const F = FakeWechatPay.Fixture
      const stores = Path.join(dir, "stores.txt")
      yield* Effect.promise(() =>
        Fs.writeFile(stores, [...Array.from({ length: 250 }, (_, i) => FakeWechatPay.storeId(i)), FakeWechatPay.otherBrandStoreId(0)].join("\n"))
      )
      const job = ["disassociate", "--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId, "--stores", stores]
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
      sandbox.kill("SIGINT")
      assert.strictEqual(yield* exited, 130)
    }), 120_000)
})
