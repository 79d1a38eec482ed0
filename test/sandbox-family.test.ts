// The store family over the loopback server (SandboxServer): raw node:http requests whose request
// line carries the target byte for byte, so what the server checks is exactly what was sent. One
// fake serves both forms at once; the server runs on wall-clock time (it.scopedLive).
import { assert, describe, it } from "@effect/vitest"
import { HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import { FakeWechatPay, SandboxHttpClient, SandboxServer } from "../packages/effect-wechatpay/src/testing/index.js"
import {
  type Answer,
  associate,
  bundleAssociate,
  bundleDisassociate,
  disassociate,
  F,
  getStock,
  idsOf,
  listPage,
  listTarget,
  loopback,
  memory,
  paths,
  s,
  signedHeaders,
  storeBody,
  walk
} from "./support/Family.js"
import { keys } from "./support/Keys.js"

const M = FakeWechatPay.MESSAGES

const serve = (options: Omit<FakeWechatPay.Options, "keys"> = {}, server: SandboxServer.Options = {}) =>
  Effect.gen(function*() {
    const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 600, associated: 400 }), rateLimit: false, ...options })
    const running = yield* SandboxServer.make(fake, server)
    return { fake, server: running, http: loopback(running), inMemory: memory(fake) }
  })

const ok = (answer: Answer) => {
  assert.strictEqual(answer.status, 200, answer.text)
  assert.isTrue(answer.verified, "signed and verified")
  return answer.json!
}

describe("sandbox server: the store family over HTTP", () => {
  it.scopedLive("associate, the stock query and the bundle calls answer signed over HTTP; one state behind both forms", () =>
    Effect.gen(function*() {
      const { fake, http, inMemory } = yield* serve()
      assert.deepStrictEqual(ok(yield* associate(http, F.stockId, [s(500), FakeWechatPay.otherBrandStoreId(0)])), {
        total_count: 2,
        success_store_list: [{ store_id: s(500) }],
        failed_store_list: [{ store_id: FakeWechatPay.otherBrandStoreId(0), code: "INVALID_REQUEST", message: M.storeInvalid }]
      })
      // What HTTP changed, the in-memory form sees, and the other way round.
      assert.include(idsOf(yield* listPage(inMemory, F.stockId, { pageSize: 200, pageToken: FakeWechatPay.encodePageToken(F.stockId, s(450)) })), s(500))
      ok(yield* disassociate(inMemory, F.stockId, [s(500)]))
      assert.notInclude(yield* walk(http, F.stockId, 200), s(500))
      assert.strictEqual(ok(yield* getStock(http, F.deactivatedStockId))["state"], "DEACTIVATED")
      ok(yield* bundleAssociate(http, [s(42)]))
      assert.deepStrictEqual([fake.isAssociated(F.bundleStockId, s(42)), fake.isAssociated(F.bundleSecondStockId, s(42))], [true, true])
      ok(yield* bundleDisassociate(inMemory, [s(42)]))
      assert.deepStrictEqual([fake.isAssociated(F.bundleStockId, s(42)), fake.isAssociated(F.bundleSecondStockId, s(42))], [false, false])
      const refused = yield* associate(http, F.expiredStockId, [s(1)])
      assert.deepStrictEqual([refused.status, refused.json?.["message"], refused.verified], [400, M.associateStockExpired, true])
    }))

  it.scopedLive("a walk over HTTP while another connection changes the stock between pages: the stable stores once, none twice", () =>
    Effect.gen(function*() {
      const { fake, http } = yield* serve()
      const removed = new Set<string>()
      const seen = yield* walk(http, F.stockId, 37, (page, soFar) =>
        Effect.gen(function*() {
          const cursor = soFar[soFar.length - 1]!
          const i = Number(cursor) - Number(s(0))
          // Take out the cursor's own store, one behind and one ahead; add one ahead and one behind.
          const out = [cursor, s(i - 1), s(i + 5)].filter((id) => fake.isAssociated(F.stockId, id))
          for (const id of out) removed.add(id)
          ok(yield* disassociate(http, F.stockId, out))
          ok(yield* associate(http, F.stockId, [s(400 + page), s(Math.max(0, i - 2))]))
        }))
      assert.strictEqual(new Set(seen).size, seen.length, "none twice")
      for (let i = 0; i < 400; i++) if (!removed.has(s(i))) assert.include(seen, s(i))
      assert.isAbove(removed.size, 20, "the walk was really disturbed")
    }))

  it.scopedLive("the raw query is what is signed: percent-encoded as sent is accepted; signed decoded, it is 401", () =>
    Effect.gen(function*() {
      const { fake, http } = yield* serve()
      const encoded = `${paths.list(F.productCouponId, F.stockId)}?brand_id=%31%32%30%33%34%34&page_size=3`
      assert.deepStrictEqual(idsOf(yield* http({ method: "GET", target: encoded })), [s(0), s(1), s(2)])
      const decoded = listTarget(F.stockId, { pageSize: 3 })
      const refused = yield* http({ method: "GET", target: encoded, signedTarget: decoded })
      assert.deepStrictEqual([refused.status, refused.json?.["code"], refused.verified], [401, "SIGN_ERROR", false])
      assert.deepStrictEqual(fake.log.map((e) => [e.target, e.status]), [[encoded, 200], [encoded, 401]])
    }))

  it.scopedLive("one character of the signed query off (page_size, brand_id, page_token, a lone '?'): 401 SIGN_ERROR, nothing processed", () =>
    Effect.gen(function*() {
      const { fake, http } = yield* serve()
      const token = String(ok(yield* listPage(http, F.stockId, { pageSize: 4 }))["next_page_token"])
      const stock = paths.stock(F.productCouponId, F.stockId)
      const cases: ReadonlyArray<readonly [string, string]> = [
        [listTarget(F.stockId, { pageSize: 20 }), listTarget(F.stockId, { pageSize: 21 })],
        [listTarget(F.stockId), listTarget(F.stockId, { brandId: "120345" })],
        [listTarget(F.stockId, { pageSize: 4, pageToken: token }), listTarget(F.stockId, { pageSize: 4, pageToken: `${token}A` })],
        [`${stock}?brand_id=${F.brandId}`, `${stock}?brand_id=${F.brandId}&`],
        [stock, `${stock}?`]
      ]
      for (const [sent, signed] of cases) {
        const refused = yield* http({ method: "GET", target: sent, signedTarget: signed })
        assert.deepStrictEqual([refused.status, refused.json?.["code"], refused.verified], [401, "SIGN_ERROR", false], sent)
      }
      assert.isTrue(fake.log.slice(1).every((e) => e.status === 401 && !e.processed))
      assert.deepStrictEqual(idsOf(yield* http({ method: "GET", target: cases[2]![0] })), [s(4), s(5), s(6), s(7)])
    }))

  it.scopedLive("one window for all endpoints: the 21st request in the same second, to any of them, is 429", () =>
    Effect.gen(function*() {
      // The server's clock stands still, so all these requests fall in one second however slow the machine.
      const frozen = Date.now()
      const { fake, http } = yield* serve({ rateLimit: 20 }, { now: () => frozen })
      const calls = [
        () => listPage(http, F.stockId),
        () => associate(http, F.stockId, [s(450)]),
        () => getStock(http, F.stockId),
        () => bundleDisassociate(http, [s(9)]),
        () => disassociate(http, F.stockId, [s(450)]),
        () => bundleAssociate(http, [s(9)])
      ]
      for (let i = 0; i < 20; i++) ok(yield* calls[i % calls.length]!())
      for (const call of calls) {
        const answer = yield* call()
        assert.deepStrictEqual([answer.status, answer.json?.["code"], answer.verified], [429, "RATELIMIT_EXCEEDED", true])
      }
      assert.deepStrictEqual(new Set(fake.log.slice(20).map((e) => e.operation)).size, 6)
    }))

  it.scopedLive("only the documented paths: under another prefix (a doubled /v3, a proxy's path) both forms answer 404", () =>
    Effect.gen(function*() {
      const { fake, http, inMemory } = yield* serve()
      for (const form of [http, inMemory]) {
        for (const prefix of ["/v3", "/proxy"]) {
          const target = prefix + paths.disassociate(F.productCouponId, F.stockId)
          const post = yield* form({ method: "POST", target, body: storeBody(F.brandId, [s(0)]) })
          assert.deepStrictEqual([post.status, post.json?.["code"]], [404, "NOT_FOUND"], target)
          const list = yield* form({ method: "GET", target: prefix + listTarget(F.stockId) })
          assert.strictEqual(list.status, 404, prefix)
        }
      }
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
      assert.isTrue(fake.log.every((e) => e.operation === undefined && !e.processed))
    }))

  it.scopedLive("in memory, a base URL's own path is the proxy's: the documented paths are served right under it", () =>
    Effect.gen(function*() {
      const { fake } = yield* serve()
      const client = SandboxHttpClient.make(fake, { baseUrl: "https://proxy.test/wechatpay/" })
      const target = `/wechatpay${paths.disassociate(F.productCouponId, F.stockId)}`
      const body = storeBody(F.brandId, [s(0)])
      const request = HttpClientRequest.post(`https://proxy.test${target}`).pipe(
        HttpClientRequest.setHeaders(signedHeaders("POST", target, body, Math.floor(Date.now() / 1000))),
        HttpClientRequest.bodyText(body, "application/json")
      )
      const response = yield* client.execute(request)
      assert.strictEqual(response.status, 200, yield* response.text)
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
      assert.strictEqual(fake.log[0]?.operation, "disassociateStores")
    }))
})
