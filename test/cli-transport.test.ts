// The CLI reaches WeChat Pay through undici (the library's UndiciHttpClient), the fastest transport Node
// offers, not fetch (issue #13). Seen from the wire: a recording proxy in front of the loopback sandbox
// keeps the headers of every request, and fetch's own (sec-fetch-mode, accept-language) never appear.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { FakeWechatPay, SandboxSettings } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"
import { keys } from "./support/Keys.js"

/** An HTTP proxy to `upstream` for the scope, keeping each request's headers. */
const recordingProxy = (upstream: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: Http.Server; readonly seen: Array<Http.IncomingHttpHeaders> }>((resume) => {
      const seen: Array<Http.IncomingHttpHeaders> = []
      const server = Http.createServer((req, res) => {
        seen.push(req.headers)
        const forward = Http.request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        })
        forward.on("error", () => res.destroy())
        req.pipe(forward)
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

describe("cli transport", () => {
  it.scopedLive("requests go out through undici: none carries fetch's headers", () =>
    Effect.gen(function*() {
      const { dir, fake, file, server } = yield* Cli.sandbox("wechatpay-cli-transport-test-", {
        seed: FakeWechatPay.generate({ stores: 500 })
      })
      const proxy = yield* recordingProxy(server.baseUrl)
      const settings = yield* SandboxSettings.write(keys, { baseUrl: proxy.url, backupBaseUrl: proxy.url }, Path.join(dir, "proxied"))
      const stores = yield* file("stores.txt", Array.from({ length: 450 }, (_, i) => FakeWechatPay.storeId(i)).join("\n"))
      const c = Cli.capture({ cwd: dir })
      assert.strictEqual(yield* Cli.runWith(settings.env, [...Cli.job, "--stores", stores], c), 0, c.err())
      // The preflight's stock query (a GET, on by default) and the three calls: every one through undici.
      assert.strictEqual(proxy.seen.length, 4)
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock", "disassociateStores", "disassociateStores", "disassociateStores"])
      for (const headers of proxy.seen) {
        assert.isDefined(headers["authorization"])
        assert.isUndefined(headers["sec-fetch-mode"], JSON.stringify(headers))
        assert.isUndefined(headers["accept-language"], JSON.stringify(headers))
      }
    }))
})
