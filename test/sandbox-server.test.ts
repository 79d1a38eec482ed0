// The loopback HTTP sandbox, end to end: this library's client over FetchHttpClient against a
// real node:http server, for every documented error row and the wire-level faults. The server checks
// timestamps against the wall clock, so these tests run live (it.scopedLive), not on TestClock.
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import * as Fs from "node:fs/promises"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import { WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxServer, SandboxSettings, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { body, disassociate, F, keys } from "./sandbox-support.js"

const M = FakeWechatPay.MESSAGES
const s = FakeWechatPay.storeId

const clientLayer = (server: SandboxServer.Service, overrides: Partial<ReturnType<typeof TestKeys.merchantOptions>> = {}) =>
  WechatPayClient.layer({
    ...TestKeys.merchantOptions(keys, { baseUrl: server.baseUrl, backupBaseUrl: server.backupBaseUrl }),
    ...overrides
  }).pipe(Layer.provide(FetchHttpClient.layer))

/** A fresh fake behind a fresh server for the duration of the test's scope. */
const serve = (options: Omit<FakeWechatPay.Options, "keys"> = {}) =>
  Effect.gen(function*() {
    const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 300 }), ...options })
    const server = yield* SandboxServer.make(fake)
    return { fake, server }
  })

const fields = (e: unknown) => {
  const x = e as Record<string, unknown>
  return { tag: x["_tag"], status: x["status"], code: x["code"], message: x["message"], verified: x["verified"] }
}

describe("sandbox server: documented rows end to end (FetchHttpClient)", () => {
  it.scopedLive("200 with success and failed lists, signed and verified; state changed", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve()
      const { json, requestId } = yield* disassociate(
        F.productCouponId,
        F.stockId,
        body(F.brandId, [s(0), s(0), "000000000", s(1)])
      ).pipe(Effect.provide(clientLayer(server)))
      assert.deepStrictEqual(json, {
        total_count: 3,
        success_store_list: [{ store_id: s(0) }, { store_id: s(1) }],
        failed_store_list: [{ store_id: "000000000", code: "INVALID_REQUEST", message: M.storeInvalid }]
      })
      assert.strictEqual(requestId, fake.log[0]!.requestId)
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
    }))

  const rows: ReadonlyArray<{ name: string; coupon: string; stock: string; payload: unknown; expected: ReturnType<typeof fields> }> = [
    {
      name: "400 PARAM_ERROR (201 stores)",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: body(F.brandId, Array.from({ length: 201 }, (_, i) => s(i))),
      expected: { tag: "WechatPayApiError", status: 400, code: "PARAM_ERROR", message: "单次最多可批量取消200个门店", verified: true }
    },
    {
      name: "400 INVALID_REQUEST expired stock",
      coupon: F.productCouponId,
      stock: F.expiredStockId,
      payload: body(F.brandId, [s(0)]),
      expected: { tag: "WechatPayApiError", status: 400, code: "INVALID_REQUEST", message: M.stockExpired, verified: true }
    },
    {
      name: "400 INVALID_REQUEST store_scope not SPECIFIC",
      coupon: F.productCouponId,
      stock: F.allScopeStockId,
      payload: body(F.brandId, [s(0)]),
      expected: { tag: "WechatPayApiError", status: 400, code: "INVALID_REQUEST", message: M.stockNotSpecific, verified: true }
    },
    {
      name: "403 NO_AUTH",
      coupon: F.productCouponId,
      stock: F.stockId,
      payload: body(F.unauthorizedBrandId, [s(0)]),
      expected: { tag: "WechatPayApiError", status: 403, code: "NO_AUTH", message: M.noAuth, verified: true }
    },
    {
      name: "404 NOT_FOUND product coupon",
      coupon: "299999999",
      stock: F.stockId,
      payload: body(F.brandId, [s(0)]),
      expected: { tag: "WechatPayApiError", status: 404, code: "NOT_FOUND", message: M.productCouponNotFound, verified: true }
    },
    {
      name: "404 NOT_FOUND stock",
      coupon: F.productCouponId,
      stock: "199999999",
      payload: body(F.brandId, [s(0)]),
      expected: { tag: "WechatPayApiError", status: 404, code: "NOT_FOUND", message: M.stockNotFound, verified: true }
    }
  ]
  for (const row of rows) {
    it.scopedLive(row.name, () =>
      Effect.gen(function*() {
        const { fake, server } = yield* serve()
        const error = yield* Effect.flip(disassociate(row.coupon, row.stock, row.payload).pipe(Effect.provide(clientLayer(server))))
        assert.deepStrictEqual(fields(error), row.expected)
        assert.strictEqual(fake.associatedCount(F.stockId), 300)
      }))
  }

  it.scopedLive("401 SIGN_ERROR (a client with another mchid), unsigned, nothing processed", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve()
      const error = yield* Effect.flip(
        disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(
          Effect.provide(clientLayer(server, { mchid: "1900000999" }))
        )
      )
      assert.deepStrictEqual(fields(error), {
        tag: "WechatPayApiError",
        status: 401,
        code: "SIGN_ERROR",
        message: "Http头Authorization中的mchid与商户号不匹配",
        verified: false
      })
      assert.isFalse(fake.log[0]!.processed)
    }))

  it.scopedLive("401 SIGN_ERROR (a client signing with another key)", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const stranger = yield* TestKeys.generate()
      const error = yield* Effect.flip(
        disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(
          Effect.provide(clientLayer(server, { privateKey: stranger.merchantPrivateKeyPem }))
        )
      )
      assert.deepStrictEqual(fields(error), {
        tag: "WechatPayApiError",
        status: 401,
        code: "SIGN_ERROR",
        message: "签名错误，请检查后再试",
        verified: false
      })
    }))

  it.scopedLive("429 RATELIMIT_EXCEEDED above the configured rate", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ rateLimit: 1 })
      const call = disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)]))
      const error = yield* Effect.flip(Effect.zipRight(call, call).pipe(Effect.provide(clientLayer(server))))
      assert.deepStrictEqual(fields(error), {
        tag: "WechatPayApiError",
        status: 429,
        code: "RATELIMIT_EXCEEDED",
        message: M.rateLimited,
        verified: true
      })
    }))

  it.scopedLive("500 SYSTEM_ERROR (injected), not applied", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve({ faults: { script: ["systemError"] } })
      const error = yield* Effect.flip(
        disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(Effect.provide(clientLayer(server)))
      )
      assert.deepStrictEqual(fields(error), {
        tag: "WechatPayApiError",
        status: 500,
        code: "SYSTEM_ERROR",
        message: M.systemError,
        verified: true
      })
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
    }))

  it.scopedLive("400 INVALID_REQUEST without Accept or User-Agent (raw node:http request), unsigned without a good signature", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const answer = yield* rawRequest(server.primaryPort, { method: "POST", path: "/x", headers: {} })
      assert.strictEqual(answer.status, 400)
      assert.deepStrictEqual(JSON.parse(answer.body), { code: "INVALID_REQUEST", message: "Http头缺少Accept或User-Agent" })
      assert.isString(answer.headers["request-id"])
      // WeChat Pay signs answers only to requests whose signature it verified; this one has none.
      assert.isUndefined(answer.headers["wechatpay-signature"])
    }))
})

interface RawAnswer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  readonly reusedSocket: boolean
}

const rawRequest = (
  port: number,
  options: { method: string; path: string; headers: Record<string, string>; agent?: Http.Agent }
) =>
  Effect.async<RawAnswer, Error>((resume) => {
    const req = Http.request(
      { host: "127.0.0.1", port, method: options.method, path: options.path, headers: options.headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resume(Effect.succeed({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            reusedSocket: req.reusedSocket
          })))
        res.on("error", (e) => resume(Effect.fail(e)))
      }
    )
    req.on("error", (e) => resume(Effect.fail(e)))
    req.end()
  })

describe("sandbox server: wire behaviour", () => {
  it.scopedLive("keep-alive: a second request reuses the connection", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const agent = new Http.Agent({ keepAlive: true, maxSockets: 1 })
      yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
      const headers = { accept: "application/json", "user-agent": "keepalive-test" }
      const first = yield* rawRequest(server.primaryPort, { method: "GET", path: "/", headers, agent })
      const second = yield* rawRequest(server.primaryPort, { method: "GET", path: "/", headers, agent })
      assert.deepStrictEqual([first.status, first.reusedSocket, second.status, second.reusedSocket], [401, false, 401, true])
    }))

  it.scopedLive("connection reset before answering → TransportError (request phase), not applied", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve({ faults: { script: ["connectionReset", "connectionResetAfterApply"] } })
      const layer = clientLayer(server)
      const first = yield* Effect.flip(disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(Effect.provide(layer)))
      const second = yield* Effect.flip(disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(1)])).pipe(Effect.provide(layer)))
      for (const e of [first, second]) {
        assert.deepStrictEqual([e._tag, e._tag === "TransportError" ? e.phase : ""], ["TransportError", "request"])
      }
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
      assert.isFalse(fake.isAssociated(F.stockId, s(1)), "reset after apply: the stores did change")
    }))

  it.scopedLive("truncated body → TransportError (response phase), applied", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve({ faults: { script: ["truncatedBody"] } })
      const error = yield* Effect.flip(
        disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(Effect.provide(clientLayer(server)))
      )
      assert.deepStrictEqual([error._tag, error._tag === "TransportError" ? error.phase : ""], ["TransportError", "response"])
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
    }))

  it.scopedLive("signature faults survive the wire: probe, wrong, stale", () =>
    Effect.gen(function*() {
      const { server } = yield* serve({ faults: { script: ["probeSignature", "wrongSignature", "staleTimestamp", "badGateway"] } })
      const layer = clientLayer(server)
      const tags: Array<string> = []
      for (let i = 0; i < 4; i++) {
        const e = yield* Effect.flip(disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(i)])).pipe(Effect.provide(layer)))
        tags.push(e._tag)
      }
      assert.deepStrictEqual(tags, ["SignatureProbeError", "InvalidSignatureError", "StaleTimestampError", "UnexpectedResponseError"])
    }))

  it.live("slow answers outlast a client timeout; the request was processed anyway", () =>
    Effect.scoped(Effect.gen(function*() {
      const { fake, server } = yield* serve({ faults: { script: ["slow"], slowMillis: 400 } })
      const result = yield* Effect.either(
        Effect.timeout(disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])), "100 millis").pipe(
          Effect.provide(clientLayer(server))
        )
      )
      assert.isTrue(Either.isLeft(result) && result.left._tag === "TimeoutException")
      assert.isTrue(fake.log[0]!.processed)
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
    })))

  it.scopedLive("primary down: connections refused; the backup answers; the primary comes back on its port", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve()
      const layer = clientLayer(server)
      yield* server.setPrimaryDown(true)
      const refused = yield* Effect.flip(disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(Effect.provide(layer)))
      assert.deepStrictEqual([refused._tag, refused._tag === "TransportError" ? refused.phase : ""], ["TransportError", "request"])
      const viaBackup = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)]), server.backupBaseUrl).pipe(
        Effect.provide(layer)
      )
      assert.strictEqual(viaBackup.json["total_count"], 1)
      yield* server.setPrimaryDown(false)
      yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(1)])).pipe(Effect.provide(layer))
      assert.deepStrictEqual(fake.log.map((e) => e.endpoint), ["backup", "primary"])
      // Only the fake's flag: the listener stays up but resets every request.
      yield* fake.setPrimaryDown(true)
      const reset = yield* Effect.flip(disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(2)])).pipe(Effect.provide(layer)))
      assert.strictEqual(reset._tag, "TransportError")
      assert.strictEqual(fake.log.length, 2)
    }))

  it.scopedLive("an IPv6 host gives base URLs with the address in brackets, which a client can use", () =>
    Effect.gen(function*() {
      const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 10 }) })
      const server = yield* SandboxServer.make(fake, { host: "::1" })
      assert.strictEqual(server.baseUrl, `http://[::1]:${server.primaryPort}`)
      assert.strictEqual(server.backupBaseUrl, `http://[::1]:${server.backupPort}`)
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(
        Effect.provide(clientLayer(server))
      )
      assert.strictEqual(json["total_count"], 1)
    }))

  it.scopedLive("a primary that cannot listen again stays down, for the fake too", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* serve()
      yield* server.setPrimaryDown(true)
      // Someone else takes the port meanwhile.
      const squatter = Http.createServer()
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void squatter.listen(server.primaryPort, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.async<void>((resume) => void squatter.close(() => resume(Effect.void)))
      )
      const error = yield* Effect.flip(server.setPrimaryDown(false))
      assert.include(error.reason, "EADDRINUSE")
      assert.isTrue(fake.isPrimaryDown(), "the listener is still closed, so the primary is still down")
    }))

  it.live("closing the scope closes both listeners and every socket", () =>
    Effect.gen(function*() {
      const ports = yield* Effect.scoped(Effect.gen(function*() {
        const { server } = yield* serve({ faults: { script: ["slow"], slowMillis: 60_000 } })
        // Leave a request hanging on a slow answer, with its socket open.
        yield* Effect.forkDaemon(
          disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(Effect.provide(clientLayer(server)))
        )
        yield* Effect.sleep("100 millis")
        return [server.primaryPort, server.backupPort] as const
      }))
      for (const port of ports) {
        const result = yield* Effect.either(rawRequest(port, { method: "GET", path: "/", headers: {} }))
        assert.isTrue(Either.isLeft(result), `port ${port} still answers`)
      }
    }))

  it.scopedLive("a port in use is a SandboxError, not a defect", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const error = yield* Effect.flip(SandboxServer.make(FakeWechatPay.makeWith(keys), { primaryPort: server.primaryPort }))
      assert.strictEqual(error._tag, "SandboxError")
      assert.include(error.reason, "EADDRINUSE")
    }))

  it.scopedLive("a port, body limit or host that cannot work is a SandboxError, not a defect", () =>
    Effect.gen(function*() {
      const fake = FakeWechatPay.makeWith(keys)
      const bad: ReadonlyArray<SandboxServer.Options> = [
        { primaryPort: 70_000 },
        { backupPort: -1 },
        { primaryPort: 1.5 },
        { primaryPort: Number.NaN },
        { maxBodyBytes: Number.NaN },
        { maxBodyBytes: 0 },
        { host: "" }
      ]
      for (const options of bad) {
        // A failure, not a defect (a defect would end the test here).
        const error = yield* Effect.flip(SandboxServer.make(fake, options))
        assert.strictEqual(error._tag, "SandboxError", JSON.stringify(options))
        assert.strictEqual(error.operation, "check options")
      }
    }))
})

describe("sandbox settings", () => {
  it.scopedLive("writes key files and WECHATPAY_* variables that MerchantConfig.layerConfig accepts", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "sandbox-settings-"))),
        (d) => Effect.promise(() => Fs.rm(d, { recursive: true, force: true }))
      )
      const settings = yield* SandboxSettings.write(keys, server, dir)
      assert.strictEqual((yield* Effect.promise(() => Fs.stat(settings.privateKeyFile))).mode & 0o777, 0o600)
      assert.deepStrictEqual(Object.keys(settings.env).sort(), [
        "WECHATPAY_BACKUP_BASE_URL",
        "WECHATPAY_BASE_URL",
        "WECHATPAY_MCHID",
        "WECHATPAY_MERCHANT_SERIAL_NO",
        "WECHATPAY_PRIVATE_KEY_FILE",
        "WECHATPAY_PUBLIC_KEY_FILE",
        "WECHATPAY_PUBLIC_KEY_ID"
      ])
      assert.notInclude(SandboxSettings.toShell(settings), "PRIVATE KEY-----")
      const layer = WechatPayClient.layerConfig.pipe(
        Layer.provide(FetchHttpClient.layer),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(settings.env)))))
      )
      const { json } = yield* disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(0)])).pipe(Effect.provide(layer))
      assert.strictEqual(json["total_count"], 1)
    }))
})
