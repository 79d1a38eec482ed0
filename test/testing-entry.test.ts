// The testing entry (`effect-wechatpay/testing`) as a user's tests meet it. The README's guide shows
// the code between the `README example` markers below, byte for byte (the last test checks it), so
// its examples are these tests: they compile with the suite and run here.
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber, Option, TestClock, TestServices } from "effect"
import * as Fs from "node:fs"
import { ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxServer, SandboxStores, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"

// README example: begin
const F = FakeWechatPay.Fixture

// One store of the generated world: associated with F.stockId until this call.
const disassociateFirstStore = Effect.flatMap(ProductCouponStores.ProductCouponStores, (stores) =>
  stores.disassociateStores({
    productCouponId: F.productCouponId,
    stockId: F.stockId,
    brandId: F.brandId,
    storeList: [{ storeId: FakeWechatPay.storeId(0) }]
  }))

it.effect("a 429 is retried at once and the call succeeds", () =>
  Effect.gen(function*() {
    const result = yield* disassociateFirstStore
    const fake = yield* FakeWechatPay.FakeWechatPay
    assert.deepStrictEqual(result.successStoreList.map((s) => s.storeId), [FakeWechatPay.storeId(0)])
    assert.deepStrictEqual(fake.log.map((entry) => entry.status), [429, 200])
    assert.isFalse(fake.isAssociated(F.stockId, FakeWechatPay.storeId(0)))
  }).pipe(Effect.provide(SandboxStores.layer({ faults: { script: ["rateLimit"] } }))))
// README example: end

// README example: begin
it.effect("production back-off: the retry waits until the test moves the clock", () =>
  Effect.gen(function*() {
    const fake = yield* FakeWechatPay.FakeWechatPay
    const call = yield* Effect.fork(disassociateFirstStore)
    yield* TestClock.adjust("100 millis") // the first back-off is 500 ms ± 20%
    assert.deepStrictEqual(fake.log.map((entry) => entry.status), [429])
    yield* TestClock.adjust("1 second")
    const result = yield* Fiber.join(call)
    assert.strictEqual(result.successStoreList.length, 1)
    assert.deepStrictEqual(fake.log.map((entry) => entry.status), [429, 200])
  }).pipe(Effect.provide(SandboxStores.layer({ faults: { script: ["rateLimit"] }, timing: "production" }))))
// README example: end

// README example: begin
it.effect("the listing follows its cursor to the end, even while stores change between pages", () =>
  Effect.gen(function*() {
    const stores = yield* ProductCouponStores.ProductCouponStores
    const fake = yield* FakeWechatPay.FakeWechatPay
    const stock = { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId }
    const seen: Array<string> = []
    let pageToken: string | undefined
    do {
      const page = yield* stores.listAssociatedStores({ ...stock, pageSize: 30, pageToken })
      seen.push(...page.storeList.map((s) => s.storeId))
      pageToken = page.nextPageToken
      // Another caller adds a store between two pages: it appears once or not at all, never twice.
      yield* stores.associateStores({ ...stock, storeList: [{ storeId: FakeWechatPay.storeId(99) }] })
    } while (pageToken !== undefined)
    assert.strictEqual(new Set(seen).size, seen.length)
    assert.includeMembers(seen, Array.from({ length: 80 }, (_, i) => FakeWechatPay.storeId(i)))
    assert.deepStrictEqual(fake.associatedStores(F.stockId).length, 81)
  }).pipe(Effect.provide(SandboxStores.layer({ seed: FakeWechatPay.generate({ stores: 100, associated: 80 }) }))))
// README example: end

// README example: begin
it.effect("5xx answers are retried too; setFaults scripts the next requests", () =>
  Effect.gen(function*() {
    const fake = yield* FakeWechatPay.FakeWechatPay
    yield* fake.setFaults({ script: ["systemError", "none", "badGateway"] })
    yield* disassociateFirstStore // 500, then 200
    const second = yield* Effect.flatMap(ProductCouponStores.ProductCouponStores, (stores) =>
      stores.disassociateStores({
        productCouponId: F.productCouponId,
        stockId: F.stockId,
        brandId: F.brandId,
        storeList: [{ storeId: FakeWechatPay.storeId(1) }, { storeId: FakeWechatPay.otherBrandStoreId(0) }]
      })) // 502, then 200
    assert.deepStrictEqual(fake.log.map((entry) => entry.status), [500, 200, 502, 200])
    assert.deepStrictEqual(second.failedStoreList.map((f) => f.storeId), [FakeWechatPay.otherBrandStoreId(0)])
    assert.strictEqual(fake.associatedCount(F.stockId), 1_000 - 2)
  }).pipe(Effect.provide(SandboxStores.layer())))
// README example: end

// README example: begin
it.scopedLive("over loopback HTTP (wall-clock time: it.live / it.scopedLive)", () =>
  Effect.gen(function*() {
    const fake = yield* FakeWechatPay.make({ faults: { script: ["rateLimit"] } })
    const server = yield* SandboxServer.make(fake) // free ports on 127.0.0.1, closed with the scope
    const Live = ProductCouponStores.layerMerchant(TestKeys.merchantOptions(fake.keys, server), SandboxStores.immediate())
    const result = yield* disassociateFirstStore.pipe(Effect.provide(Live), Effect.provide(FetchHttpClient.layer))
    assert.strictEqual(result.successStoreList.length, 1)
    assert.deepStrictEqual(fake.log.map((entry) => entry.status), [429, 200])
  }))
// README example: end

/** Runs `effect` under the test's services, but gives up after `live` wall-clock time: a hang fails fast. */
const settlesWithin = <A, E, R>(effect: Effect.Effect<A, E, R>, live: Duration.DurationInput) =>
  Effect.flatMap(Effect.fork(effect), (fiber) =>
    TestServices.provideLive(Effect.timeoutOption(Fiber.await(fiber), live)).pipe(
      Effect.tap((exit) => Option.isNone(exit) ? Fiber.interrupt(fiber) : Effect.void)
    ))

const statuses = Effect.map(FakeWechatPay.FakeWechatPay, (fake) => fake.log.map((entry) => entry.status))

describe("SandboxStores: immediate timing (the default)", () => {
  it.effect("a scripted 429 completes with the TestClock standing still, after 2 requests", () =>
    Effect.gen(function*() {
      const exit = yield* settlesWithin(disassociateFirstStore, "20 seconds")
      assert.isTrue(Option.isSome(exit) && Exit.isSuccess(exit.value), "the call settled successfully")
      assert.deepStrictEqual(yield* statuses, [429, 200])
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }).pipe(Effect.provide(SandboxStores.layer({ faults: { script: ["rateLimit"] } }))))

  it.effect("500, 502, 503 and a reset are retried at once", () =>
    Effect.gen(function*() {
      const fake = yield* FakeWechatPay.FakeWechatPay
      yield* fake.setFaults({ script: ["systemError", "badGateway", "serviceUnavailable"] })
      const first = yield* settlesWithin(disassociateFirstStore, "20 seconds")
      assert.isTrue(Option.isSome(first) && Exit.isSuccess(first.value))
      yield* fake.setFaults({ script: ["connectionReset"] })
      const second = yield* settlesWithin(disassociateFirstStore, "20 seconds")
      assert.isTrue(Option.isSome(second) && Exit.isSuccess(second.value))
      assert.deepStrictEqual(yield* statuses, [500, 502, 503, 200, undefined, 200])
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }).pipe(Effect.provide(SandboxStores.layer())))

  it.effect("production's retry counts are kept: 429 gives up after 1 + 6 requests, 5xx after 1 + 3", () =>
    Effect.gen(function*() {
      const fake = yield* FakeWechatPay.FakeWechatPay
      yield* fake.setFaults({ script: Array.from({ length: 8 }, () => "rateLimit" as const) })
      const limited = yield* Effect.flip(disassociateFirstStore)
      assert.strictEqual(limited._tag, "RateLimitExceededError")
      assert.strictEqual(fake.log.length, 7)
      yield* fake.clearLog
      yield* fake.setFaults({ script: Array.from({ length: 5 }, () => "systemError" as const) })
      const failed = yield* Effect.flip(disassociateFirstStore)
      assert.strictEqual(failed._tag, "SystemError")
      assert.strictEqual(fake.log.length, 4)
    }).pipe(Effect.provide(SandboxStores.layer())))

  it.effect("neither rate limit waits or refuses: 25 calls in a row at time 0", () =>
    Effect.gen(function*() {
      const calls = Effect.forEach(Array.from({ length: 25 }, (_, i) => i), (i) =>
        Effect.flatMap(ProductCouponStores.ProductCouponStores, (stores) =>
          stores.disassociateStores({
            productCouponId: F.productCouponId,
            stockId: F.stockId,
            brandId: F.brandId,
            storeList: [{ storeId: FakeWechatPay.storeId(i) }]
          })))
      const exit = yield* settlesWithin(calls, "30 seconds")
      assert.isTrue(Option.isSome(exit) && Exit.isSuccess(exit.value), "all 25 calls settled successfully")
      assert.deepStrictEqual(yield* statuses, Array.from({ length: 25 }, () => 200))
      assert.strictEqual(yield* Clock.currentTimeMillis, 0)
    }).pipe(Effect.provide(SandboxStores.layer())))

  it.effect("the fake's rate limit, when set, still answers 429 (its window never slides on a still clock)", () =>
    Effect.gen(function*() {
      yield* disassociateFirstStore
      const error = yield* Effect.flip(disassociateFirstStore)
      assert.strictEqual(error._tag, "RateLimitExceededError")
      assert.deepStrictEqual(yield* statuses, [200, ...Array.from({ length: 7 }, () => 429)])
    }).pipe(Effect.provide(SandboxStores.layer({ rateLimit: 1 }))))

  it.effect("a back-off set in `service` wins, and waits on the clock", () =>
    Effect.gen(function*() {
      const call = yield* Effect.fork(disassociateFirstStore)
      yield* TestClock.adjust("999 millis")
      assert.deepStrictEqual(yield* statuses, [429])
      assert.isTrue(Option.isNone(yield* Fiber.poll(call)))
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(call)
      assert.deepStrictEqual(yield* statuses, [429, 200])
    }).pipe(Effect.provide(SandboxStores.layer({
      faults: { script: ["rateLimit"] },
      service: { retry: { baseDelay: "1 second", jitter: 0 } }
    }))))

  it.effect("a slow answer still waits on the clock: past the 10 s timeout the call is retried at once", () =>
    Effect.gen(function*() {
      const call = yield* Effect.fork(disassociateFirstStore)
      yield* TestClock.adjust("9999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(call)), "the slow answer is still on its way")
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(call)
      assert.strictEqual(result.successStoreList.length, 1)
      const fake = yield* FakeWechatPay.FakeWechatPay
      assert.deepStrictEqual(fake.log.map((entry) => entry.fault), ["slow", undefined])
      assert.strictEqual(yield* Clock.currentTimeMillis, 10_000)
    }).pipe(Effect.provide(SandboxStores.layer({ faults: { script: ["slow"] } }))))

  it.effect("`retry: false` in `service` is kept: one request, the 429 surfaces", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(disassociateFirstStore)
      assert.strictEqual(error._tag, "RateLimitExceededError")
      assert.deepStrictEqual(yield* statuses, [429])
    }).pipe(Effect.provide(SandboxStores.layer({ faults: { script: ["rateLimit"] }, service: { retry: false } }))))

  it("immediate() fills in only the waits left unset", () => {
    assert.deepStrictEqual(SandboxStores.immediate(), { retry: { baseDelay: 0, jitter: 0 }, rateLimit: false })
    assert.deepStrictEqual(SandboxStores.immediate({ retry: false, timeout: "2 seconds" }), {
      retry: false,
      rateLimit: false,
      timeout: "2 seconds"
    })
    assert.deepStrictEqual(
      SandboxStores.immediate({ retry: { maxRateLimitRetries: 2, jitter: 0.5 }, rateLimit: { limit: 5 } }),
      { retry: { baseDelay: 0, jitter: 0.5, maxRateLimitRetries: 2 }, rateLimit: { limit: 5 } }
    )
  })
})

describe("SandboxStores: production timing", () => {
  it.effect("the first back-off lies in [400, 600] ms of TestClock time; the retry is sent only then", () =>
    Effect.gen(function*() {
      const call = yield* Effect.fork(disassociateFirstStore)
      yield* TestClock.adjust("399 millis")
      assert.deepStrictEqual(yield* statuses, [429])
      assert.isTrue(Option.isNone(yield* Fiber.poll(call)), "still waiting at 399 ms")
      yield* TestClock.adjust("201 millis")
      const result = yield* Fiber.join(call)
      assert.strictEqual(result.successStoreList.length, 1)
      assert.deepStrictEqual(yield* statuses, [429, 200])
    }).pipe(Effect.provide(SandboxStores.layer({ faults: { script: ["rateLimit"] }, timing: "production" }))))

  it.effect("the client-side rate limit spaces a second call by 50 ms of TestClock time", () =>
    Effect.gen(function*() {
      yield* disassociateFirstStore
      const second = yield* Effect.fork(disassociateFirstStore)
      yield* TestClock.adjust("49 millis")
      assert.strictEqual((yield* statuses).length, 1)
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(second)
      assert.deepStrictEqual(yield* statuses, [200, 200])
    }).pipe(Effect.provide(SandboxStores.layer({ timing: "production" }))))
})

describe("README: Testing without WeChat Pay", () => {
  const readme = Fs.readFileSync(new URL("../README.md", import.meta.url), "utf8")
  const source = Fs.readFileSync(new URL(import.meta.url), "utf8")
  const heading = "## Testing without WeChat Pay: `effect-wechatpay/testing`"
  const start = readme.indexOf(heading)
  const end = readme.indexOf("\n## ", start + heading.length)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
  const examples = [...source.matchAll(/\/\/ README example: begin\n([\s\S]*?)\/\/ README example: end/g)].map((m) => m[1]!)
  const IMPORT = /^import (?:type )?\{ ([^}]+) \} from "([^"]+)"\n/gm
  const modulePath: Record<string, string> = {
    "effect-wechatpay": "../packages/effect-wechatpay/src/index.js",
    "effect-wechatpay/testing": "../packages/effect-wechatpay/src/testing/index.js"
  }
  const importsOf = (code: string) =>
    [...code.matchAll(IMPORT)].flatMap((m) => m[1]!.split(",").map((name) => [name.trim(), m[2]!] as const))

  it("the section's code blocks are this file's README examples, byte for byte (imports aside)", () => {
    assert.isAbove(start, -1, "the section exists")
    assert.strictEqual(examples.length, 5)
    assert.strictEqual(blocks.length, examples.length)
    blocks.forEach((block, i) => {
      assert.strictEqual(block.replace(IMPORT, "").replace(/^\n+/, ""), examples[i], `code block ${i + 1}`)
    })
  })

  it("every name the blocks import is imported here from the same module", () => {
    const here = new Set(importsOf(source.slice(0, source.indexOf("// README example: begin"))).map(([n, m]) => `${n} ${m}`))
    const wanted = blocks.flatMap(importsOf)
    assert.isAbove(wanted.length, 0)
    for (const [name, from] of wanted) assert.isTrue(here.has(`${name} ${modulePath[from] ?? from}`), `${name} from ${from}`)
  })

  it("the section names what a test needs", () => {
    for (
      const term of [
        "SandboxStores.layer",
        "SandboxStores.immediate",
        "timing: \"production\"",
        "TestClock.adjust",
        "FakeWechatPay.storeId(i)",
        "FakeWechatPay.otherBrandStoreId(i)",
        "FakeWechatPay.Fixture",
        "FakeWechatPay.generate",
        "setFaults",
        "script",
        "SandboxServer.make",
        "it.live"
      ]
    ) assert.include(section, term)
  })

  it("the fixture table lists every FakeWechatPay.Fixture id, as it is", () => {
    const rows = [...section.matchAll(/^\| `(\w+)` \| `(\d+)` \|/gm)].map((m) => [m[1]!, m[2]!] as const)
    assert.deepStrictEqual(Object.fromEntries(rows), { ...FakeWechatPay.Fixture })
    assert.strictEqual(rows.length, Object.keys(FakeWechatPay.Fixture).length)
    const prose = section.replace(/\s+/g, " ")
    assert.include(prose, `\`storeId(0)\` is \`${FakeWechatPay.storeId(0)}\``)
    assert.include(prose, `\`FakeWechatPay.otherBrandStoreId(i)\`, from \`${FakeWechatPay.otherBrandStoreId(0)}\``)
  })
})
