import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  // The CLI imports the library by name: tests run it on the library's sources, as tsc and tsx do
  // through the "wechatpay-source" export condition.
  resolve: {
    alias: [
      { find: /^effect-wechatpay$/, replacement: source("packages/effect-wechatpay/src/index.ts") },
      { find: /^effect-wechatpay\/testing$/, replacement: source("packages/effect-wechatpay/src/testing/index.ts") },
      { find: /^effect-wechatpay\/undici$/, replacement: source("packages/effect-wechatpay/src/undici.ts") }
    ]
  },
  test: {
    // The reporter guard's fixture is a deliberately failing test, run only by test/reporter-guard.test.ts.
    include: process.env["WECHATPAY_REPORTER_GUARD_FIXTURE"] === "1"
      ? ["test/fixtures/reporter-guard.fixture.ts"]
      : ["test/**/*.test.ts"],
    setupFiles: ["test/support/ReporterGuard.ts"],
    // RSA signing dominates; two cores share the suite.
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
