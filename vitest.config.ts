import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // RSA signing dominates; two cores share the suite.
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
