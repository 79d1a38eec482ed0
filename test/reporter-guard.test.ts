// A failing test must be reported, not hang the run: vitest's default reporter used to spin forever
// on a failure value with quotes and no V8 frame (see test/support/ReporterGuard.ts). This runs
// vitest on a fixture that fails that way and expects it to end, reporting one failure.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import { createRequire } from "node:module"
import * as Path from "node:path"

const ROOT = Path.resolve(import.meta.dirname, "..")
const VITEST = Path.join(Path.dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs")

describe("the reporter guard", () => {
  it.live("a test failing with a long, quoted value is reported as one failure and the run ends", () =>
    Effect.async<{ readonly code: number | null; readonly output: string }>((resume) => {
      const child = ChildProcess.spawn(process.execPath, [VITEST, "run", "--reporter=default"], {
        cwd: ROOT,
        env: { ...process.env, WECHATPAY_REPORTER_GUARD_FIXTURE: "1", CI: "true" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout.on("data", (d: Buffer) => void (output += d.toString("utf8")))
      child.stderr.on("data", (d: Buffer) => void (output += d.toString("utf8")))
      // A hung reporter ignores SIGTERM: only SIGKILL ends it, and the test then fails on the code.
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
      child.on("close", (code) => {
        clearTimeout(timer)
        resume(Effect.succeed({ code, output }))
      })
      return Effect.sync(() => {
        clearTimeout(timer)
        child.kill("SIGKILL")
      })
    }).pipe(Effect.map(({ code, output }) => {
      assert.strictEqual(code, 1, output.slice(-2_000))
      // eslint-disable-next-line no-control-regex
      assert.match(output.replace(/\x1b\[[0-9;]*m/g, ""), /Tests\s+1 failed/)
    })), 90_000)
})
