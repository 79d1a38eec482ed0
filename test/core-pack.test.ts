// Packaging: build the library package (packages/effect-wechatpay) with its tsconfig.build.json,
// `npm pack`, install the tarball into an empty folder offline, then import its three entry points (and
// type-check against them) from there. The CLI's dependencies must not come with it, and only the
// optional `effect-wechatpay/undici` entry may load undici (an optional peer).
//
// The package is staged in a temp folder (package.json + README.md + a fresh dist/ built by the same
// `tsc -p tsconfig.build.json` that `npm run build` runs), so this test never deletes or rewrites the
// working tree's dist/ while something else may be using it. The peers (effect, @effect/platform) are
// not fetched: npm is told not to install peers, and they are symlinked from this repo's node_modules,
// which is what an application that already depends on them would have.
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const library = join(root, "packages/effect-wechatpay")
/** What only the CLI (packages/wechatpay-stores) needs: an application using the library never installs or loads it. */
const CLI_ONLY = ["@effect/cli", "@effect/platform-node", "@effect/printer", "@effect/printer-ansi", "csv-parse", "wechatpay-stores"]
const work = mkdtempSync(join(tmpdir(), "effect-wechatpay-pack-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  new Promise<string>((resolve, reject) => {
    execFile(command, args, { cwd, timeout: 180_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, npm_config_update_notifier: "false" } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed:\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })

const SMOKE = `
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as Lib from "effect-wechatpay"
import * as Testing from "effect-wechatpay/testing"
import { UndiciHttpClient } from "effect-wechatpay/undici"
import * as Http from "node:http"
const { MerchantConfig, WechatPayClient } = Lib
const { ServerProtocol, TestKeys } = Testing
const keys = await Effect.runPromise(TestKeys.generate())
const http = HttpClient.make((request) => Effect.sync(() => {
  const now = Math.floor(Date.now() / 1000)
  return HttpClientResponse.fromWeb(request, new Response("{}", { status: 200, headers: ServerProtocol.signResponse(keys, "{}", now) }))
}))
const layer = WechatPayClient.layer(TestKeys.merchantOptions(keys)).pipe(Layer.provide(Layer.succeed(HttpClient.HttpClient, http)))
const res = await Effect.runPromise(
  Effect.flatMap(WechatPayClient.WechatPayClient, (c) => c.execute(HttpClientRequest.get(MerchantConfig.DEFAULT_BASE_URL + "/v3/ping"))).pipe(Effect.provide(layer))
)
// The same call over loopback HTTP through the optional undici transport.
const server = Http.createServer((req, res) => {
  req.resume()
  req.on("end", () => res.writeHead(200, ServerProtocol.signResponse(keys, "{}", Math.floor(Date.now() / 1000))).end("{}"))
})
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const base = "http://127.0.0.1:" + server.address().port
const overUndici = await Effect.runPromise(
  Effect.flatMap(WechatPayClient.WechatPayClient, (c) => c.execute(HttpClientRequest.get(base + "/v3/ping"))).pipe(
    Effect.provide(WechatPayClient.layer(TestKeys.merchantOptions(keys, { baseUrl: base })).pipe(Layer.provide(UndiciHttpClient.layer)))
  )
)
server.close()
console.log(JSON.stringify({ main: Object.keys(Lib).sort(), testing: Object.keys(Testing).sort(), status: res.status, undiciStatus: overUndici.status }))
`

const CONSUMER_TS = `
import { HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { MerchantConfig, WechatPayClient, WechatPayError } from "effect-wechatpay"
import { TestKeys } from "effect-wechatpay/testing"
import { UndiciHttpClient } from "effect-wechatpay/undici"
import type { HttpClient } from "@effect/platform"
import type { Layer } from "effect"
const transport: Layer.Layer<HttpClient.HttpClient, WechatPayError.ConfigurationError> = UndiciHttpClient.layerWith({ maxResponseBytes: 65536 })
const plain: Layer.Layer<HttpClient.HttpClient> = UndiciHttpClient.layer
const base: string = MerchantConfig.DEFAULT_BASE_URL
const attempt = (client: WechatPayClient.Service): Effect.Effect<WechatPayClient.VerifiedResponse, WechatPayClient.ExecuteError> =>
  client.execute(HttpClientRequest.get(base + "/v3/ping"))
const limit: number = WechatPayError.EXCERPT_LIMIT
const keys: Effect.Effect<TestKeys.TestKeys> = TestKeys.generate()
export { attempt, base, keys, limit, plain, transport }
`

describe("npm pack", () => {
  it("builds, packs, installs offline into an empty folder, and imports its three entry points", async () => {
    // 1. Stage and build exactly as `npm run build` does, into the stage.
    const stage = join(work, "stage")
    mkdirSync(stage)
    cpSync(join(library, "package.json"), join(stage, "package.json"))
    cpSync(join(library, "README.md"), join(stage, "README.md"))
    await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(library, "tsconfig.build.json"), "--outDir", join(stage, "dist")], library)

    // 2. Pack (scripts off: the build just ran).
    const out = join(work, "out")
    mkdirSync(out)
    await run("npm", ["pack", "--ignore-scripts", "--pack-destination", out], stage)
    const tarballs = readdirSync(out).filter((f) => f.endsWith(".tgz"))
    assert.deepStrictEqual(tarballs, ["effect-wechatpay-0.1.0.tgz"])

    // 3. Install into an empty folder, offline, without fetching peers; link the peers from here.
    const app = join(work, "app")
    mkdirSync(app)
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }))
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--legacy-peer-deps", join(out, tarballs[0]!)], app)
    mkdirSync(join(app, "node_modules/@effect"), { recursive: true })
    symlinkSync(join(root, "node_modules/effect"), join(app, "node_modules/effect"), "dir")
    symlinkSync(join(root, "node_modules/@effect/platform"), join(app, "node_modules/@effect/platform"), "dir")
    // undici, as an application that chooses effect-wechatpay/undici installs it.
    symlinkSync(join(root, "node_modules/undici"), join(app, "node_modules/undici"), "dir")
    mkdirSync(join(app, "node_modules/@types"), { recursive: true })
    symlinkSync(join(root, "node_modules/@types/node"), join(app, "node_modules/@types/node"), "dir")

    const installed = JSON.parse(readFileSync(join(app, "node_modules/effect-wechatpay/package.json"), "utf8"))
    assert.deepStrictEqual(Object.keys(installed.peerDependencies).sort(), ["@effect/platform", "effect", "undici"])
    assert.deepStrictEqual(installed.peerDependenciesMeta, { undici: { optional: true } })
    assert.deepStrictEqual(installed.dependencies ?? {}, {})
    assert.deepStrictEqual(readdirSync(join(app, "node_modules")).filter((name) => name !== ".package-lock.json").sort(), ["@effect", "@types", "effect", "effect-wechatpay", "undici"])
    // Nothing the library ships imports what only the CLI needs (so nothing loads it either).
    const shippedJs = readdirSync(join(app, "node_modules/effect-wechatpay/dist"), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".js"))
    assert.isAbove(shippedJs.length, 10)
    for (const file of shippedJs) {
      const text = readFileSync(join(app, "node_modules/effect-wechatpay/dist", file), "utf8")
      for (const name of CLI_ONLY) assert.notInclude(text, `"${name}`, `${file} imports ${name}`)
      if (!/^(undici|UndiciHttpClient)\.js$/.test(file)) assert.notInclude(text, `"undici"`, `${file} imports undici`)
    }
    // Only the build output and docs ship: no sources, no tests, no fixtures with keys.
    const shipped = readdirSync(join(app, "node_modules/effect-wechatpay"))
    assert.sameMembers(shipped, ["README.md", "dist", "package.json"])

    // 4. Import both entry points from the installed copy and run one signed, verified call.
    writeFileSync(join(app, "smoke.mjs"), SMOKE)
    const report = JSON.parse((await run(process.execPath, ["smoke.mjs"], app)).trim().split("\n").pop() ?? "{}")
    assert.includeMembers(report.main, ["KeyStore", "MerchantConfig", "Signer", "WechatPayClient", "WechatPayError"])
    assert.includeMembers(report.testing, ["ServerProtocol", "TestKeys"])
    assert.strictEqual(report.status, 200)
    assert.strictEqual(report.undiciStatus, 200)

    // 5. The declarations and the exports map type-check for a NodeNext consumer.
    writeFileSync(join(app, "consumer.ts"), CONSUMER_TS)
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          lib: ["ES2022", "DOM"],
          types: ["node"]
        },
        files: ["consumer.ts"]
      })
    )
    await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(app, "tsconfig.json")], app)
  }, 300_000)
})
