// Writes the library's src/internal/version.ts from its package.json, so the version sent in
// User-Agent is never kept by hand. Run by `npm run build` and `npm version`;
// `--check` fails (exit 1) when the file is stale, which the test script runs.
import { readFileSync, writeFileSync } from "node:fs"

const root = new URL("../", import.meta.url)
const { version } = JSON.parse(readFileSync(new URL("packages/effect-wechatpay/package.json", root), "utf8"))
const target = new URL("packages/effect-wechatpay/src/internal/version.ts", root)
const text = `// Generated from package.json by scripts/version.mjs; do not edit.\nexport const VERSION = ${JSON.stringify(version)}\n`
if (process.argv.includes("--check")) {
  let current = ""
  try {
    current = readFileSync(target, "utf8")
  } catch {}
  if (current !== text) {
    console.error(`packages/effect-wechatpay/src/internal/version.ts does not say ${version}: run node scripts/version.mjs`)
    process.exit(1)
  }
} else {
  writeFileSync(target, text)
}
