import { defineConfig } from "vitest/config"

export default defineConfig({
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
