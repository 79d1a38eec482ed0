// Fault injection, in memory: each fault does what it says, records whether the disassociation
// was applied, and the same seed gives the same sequence.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, FastCheck, Fiber, Layer, Option, TestClock } from "effect"
import { ProductCouponStores, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, Prng, SandboxServer, SandboxStores, type TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { body, disassociate, endpointPath, F, inMemory, keys } from "./sandbox-support.js"
import { post } from "./support/Requests.js"

const s = FakeWechatPay.storeId
const call = (i: number, baseUrl?: string) =>
  disassociate(F.productCouponId, F.stockId, body(F.brandId, [s(i)]), baseUrl)

const tagOf = (e: unknown): string => (e as { readonly _tag: string })._tag

describe("seeded PRNG", () => {
  it("the same seed gives the same numbers; another seed does not", () => {
    const a = Prng.make(42)
    const b = Prng.make(42)
    const c = Prng.make(43)
    const xs = Array.from({ length: 100 }, () => a.next())
    assert.deepStrictEqual(Array.from({ length: 100 }, () => b.next()), xs)
    assert.notDeepEqual(Array.from({ length: 100 }, () => c.next()), xs)
    for (const x of xs) assert.isTrue(x >= 0 && x < 1)
  })

  it.prop("nextInt stays in [0, n) for any seed", [FastCheck.integer(), FastCheck.integer({ min: 1, max: 1_000_000 })], ([seed, n]) => {
    const prng = Prng.make(seed)
    for (let i = 0; i < 20; i++) {
      const x = prng.nextInt(n)
      if (!(Number.isInteger(x) && x >= 0 && x < n)) return false
    }
    return true
  })
})

describe("fault plans", () => {
  const rates = { rateLimit: 0.1, systemError: 0.1, badGateway: 0.05, connectionReset: 0.05, probeSignature: 0.05 }
  const sequence = (seed: number) => {
    const fake = FakeWechatPay.makeWith(keys, { rateLimit: false, faults: { seed, rates } })
    const request: FakeWechatPay.Request = { endpoint: "primary", method: "POST", target: "/", headers: {}, bodyText: "" }
    for (let i = 0; i < 300; i++) fake.handle(request, 0)
    return fake.log.map((e) => e.fault ?? "none")
  }

  it("the same seed gives the same fault sequence, another seed another one, at about the configured rates", () => {
    const first = sequence(7)
    assert.deepStrictEqual(sequence(7), first)
    assert.notDeepEqual(sequence(8), first)
    const count = (f: string) => first.filter((x) => x === f).length
    // 300 draws at 10 % each: far outside [10, 55] would mean the rates are not applied.
    assert.isTrue(count("rateLimit") >= 10 && count("rateLimit") <= 55, `rateLimit ${count("rateLimit")}`)
    assert.isTrue(count("none") >= 150, `none ${count("none")}`)
    assert.strictEqual(count("slow"), 0)
  })

  it.effect("setFaults re-seeds: the sequence starts over", () =>
    Effect.gen(function*() {
      const fake = FakeWechatPay.makeWith(keys, { rateLimit: false, faults: { seed: 3, rates } })
      const request: FakeWechatPay.Request = { endpoint: "primary", method: "POST", target: "/", headers: {}, bodyText: "" }
      for (let i = 0; i < 50; i++) fake.handle(request, 0)
      const first = fake.log.map((e) => e.fault)
      yield* fake.clearLog
      yield* fake.setFaults({ seed: 3, rates })
      for (let i = 0; i < 50; i++) fake.handle(request, 0)
      assert.deepStrictEqual(fake.log.map((e) => e.fault), first)
    }))

  it("a script runs first, in order, then the rates take over; bursts repeat a drawn fault", () => {
    const fake = FakeWechatPay.makeWith(keys, {
      rateLimit: false,
      faults: { script: ["systemError", "none", "rateLimit"], rates: { rateLimit: 1 }, burst: { rateLimit: 3 } }
    })
    const request: FakeWechatPay.Request = { endpoint: "primary", method: "POST", target: "/", headers: {}, bodyText: "" }
    for (let i = 0; i < 6; i++) fake.handle(request, 0)
    assert.deepStrictEqual(fake.log.map((e) => e.fault ?? "none"), [
      "systemError",
      "none",
      "rateLimit",
      "rateLimit",
      "rateLimit",
      "rateLimit"
    ])
  })

  it("a 429 burst: three in a row, then a draw again", () => {
    const fake = FakeWechatPay.makeWith(keys, {
      rateLimit: false,
      faults: { seed: 11, rates: { rateLimit: 0.2 }, burst: { rateLimit: 3 } }
    })
    const request: FakeWechatPay.Request = { endpoint: "primary", method: "POST", target: "/", headers: {}, bodyText: "" }
    for (let i = 0; i < 200; i++) fake.handle(request, 0)
    const runs: Array<number> = []
    let run = 0
    for (const e of fake.log) {
      if (e.fault === "rateLimit") run++
      else if (run > 0) {
        runs.push(run)
        run = 0
      }
    }
    assert.isAbove(runs.length, 0)
    // Back-to-back bursts merge, so every run is a multiple of the burst length.
    for (const r of runs) assert.strictEqual(r % 3, 0, `run of ${r}`)
  })
})

describe("each fault through WechatPayClient.execute (in memory)", () => {
  const cases: ReadonlyArray<{
    fault: FakeWechatPay.Fault
    expect: (e: unknown) => void
  }> = [
    {
      fault: "rateLimit",
      expect: (e) => {
        const x = e as { _tag: string; status: number; code: string; verified: boolean }
        assert.deepStrictEqual([x._tag, x.status, x.code, x.verified], ["WechatPayApiError", 429, "RATELIMIT_EXCEEDED", true])
      }
    },
    {
      fault: "systemError",
      expect: (e) => {
        const x = e as { _tag: string; status: number; code: string; message: string; verified: boolean }
        assert.deepStrictEqual([x._tag, x.status, x.code, x.message, x.verified], [
          "WechatPayApiError",
          500,
          "SYSTEM_ERROR",
          FakeWechatPay.MESSAGES.systemError,
          true
        ])
      }
    },
    {
      fault: "badGateway",
      expect: (e) => {
        const x = e as { _tag: string; status: number; verified: boolean; excerpt: string }
        assert.deepStrictEqual([x._tag, x.status, x.verified], ["UnexpectedResponseError", 502, false])
        assert.include(x.excerpt, "502 Bad Gateway")
      }
    },
    {
      fault: "serviceUnavailable",
      expect: (e) => {
        const x = e as { _tag: string; status: number; code: string; verified: boolean }
        assert.deepStrictEqual([x._tag, x.status, x.code, x.verified], ["WechatPayApiError", 503, "SERVICE_UNAVAILABLE", false])
      }
    },
    {
      fault: "connectionReset",
      expect: (e) => {
        const x = e as { _tag: string; phase: string }
        assert.deepStrictEqual([x._tag, x.phase], ["TransportError", "request"])
      }
    },
    {
      fault: "connectionResetAfterApply",
      expect: (e) => {
        const x = e as { _tag: string; phase: string }
        assert.deepStrictEqual([x._tag, x.phase], ["TransportError", "request"])
      }
    },
    { fault: "probeSignature", expect: (e) => assert.strictEqual(tagOf(e), "SignatureProbeError") },
    { fault: "wrongSignature", expect: (e) => assert.strictEqual(tagOf(e), "InvalidSignatureError") },
    { fault: "staleTimestamp", expect: (e) => assert.strictEqual(tagOf(e), "StaleTimestampError") },
    {
      fault: "truncatedBody",
      expect: (e) => {
        const x = e as { _tag: string; phase: string }
        assert.deepStrictEqual([x._tag, x.phase], ["TransportError", "response"])
      }
    }
  ]
  for (const c of cases) {
    const applied = FakeWechatPay.PROCESSED_BEFORE_FAULT[c.fault]
    it.effect(`${c.fault}: the client sees it; the disassociation was ${applied ? "" : "not "}applied, and the log says so`, () => {
      const { fake, layer } = inMemory({ faults: { script: [c.fault] } })
      return Effect.gen(function*() {
        const result = yield* Effect.either(call(0))
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) c.expect(result.left)
        assert.strictEqual(fake.isAssociated(F.stockId, s(0)), !applied)
        const entry = fake.log[0]!
        assert.deepStrictEqual([entry.fault, entry.processed, entry.changedStores], [
          c.fault,
          applied,
          applied ? [s(0)] : []
        ])
        // The next request is normal again.
        const next = yield* call(1)
        assert.strictEqual(next.json["total_count"], 1)
      }).pipe(Effect.provide(layer))
    })
  }

  it.effect("nonJsonBody: processed, correctly signed, but not JSON", () => {
    const { fake, layer } = inMemory({ faults: { script: ["nonJsonBody"] } })
    return Effect.gen(function*() {
      const client = yield* WechatPayClient.WechatPayClient
      const answer = yield* client.execute(
        post(endpointPath(F.productCouponId, F.stockId), JSON.stringify(body(F.brandId, [s(0)])))
      )
      const text = new TextDecoder().decode(answer.body)
      assert.strictEqual(answer.status, 200)
      assert.throws(() => JSON.parse(text))
      assert.isFalse(fake.isAssociated(F.stockId, s(0)))
      assert.deepStrictEqual([fake.log[0]!.fault, fake.log[0]!.processed], ["nonJsonBody", true])
    }).pipe(Effect.provide(layer))
  })

  it.effect("slow: applied at once, answered 30 s later on the effect Clock; a client timeout fires first", () => {
    const { fake, layer } = inMemory({ faults: { script: ["slow", "slow"] } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(0))
      yield* TestClock.adjust("1 second")
      assert.isFalse(fake.isAssociated(F.stockId, s(0)), "applied before the answer")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "not answered yet")
      yield* TestClock.adjust("29 seconds")
      const answer = yield* Fiber.join(fiber)
      assert.strictEqual(answer.json["total_count"], 1)

      const timed = yield* Effect.fork(Effect.either(Effect.timeout(call(1), "5 seconds")))
      yield* TestClock.adjust("5 seconds")
      const outcome = yield* Fiber.join(timed)
      assert.isTrue(Either.isLeft(outcome) && outcome.left._tag === "TimeoutException")
      assert.isFalse(fake.isAssociated(F.stockId, s(1)), "the timed-out request was processed all the same")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a slow answer is signed when it is sent: 6 minutes late, it still verifies", () => {
    // Signed on arrival of the request, it would be 6 minutes old, past the client's 5-minute window.
    const { fake, layer } = inMemory({ faults: { script: ["slow"], slowMillis: 360_000 } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(0))
      yield* TestClock.adjust("6 minutes")
      const answer = yield* Fiber.join(fiber)
      assert.strictEqual(answer.json["total_count"], 1)
      assert.deepStrictEqual([fake.log[0]!.fault, fake.log[0]!.processed], ["slow", true])
    }).pipe(Effect.provide(layer))
  })

  it.effect("slowMillis is configurable", () => {
    const { layer } = inMemory({ faults: { script: ["slow"], slowMillis: 2_000 } })
    return Effect.gen(function*() {
      const fiber = yield* Effect.fork(call(0))
      yield* TestClock.adjust("2 seconds")
      const answer = yield* Fiber.join(fiber)
      assert.strictEqual(answer.json["total_count"], 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("primary down: Transport RequestError on the primary, the backup answers; back up later", () => {
    const { fake, layer } = inMemory({ primaryDown: true })
    return Effect.gen(function*() {
      const down = yield* Effect.flip(call(0))
      assert.deepStrictEqual([tagOf(down), (down as { phase?: string }).phase], ["TransportError", "request"])
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
      const viaBackup = yield* call(0, "https://api2.mch.weixin.qq.com")
      assert.strictEqual(viaBackup.json["total_count"], 1)
      assert.deepStrictEqual(fake.log.map((e) => e.endpoint), ["backup"])
      yield* fake.setPrimaryDown(false)
      yield* call(1)
      assert.deepStrictEqual(fake.log.map((e) => e.endpoint), ["backup", "primary"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("primaryDown as a scripted fault: primary requests dropped, backup ones served", () => {
    const { fake, layer } = inMemory({ faults: { script: ["primaryDown", "primaryDown", "primaryDown"] } })
    return Effect.gen(function*() {
      const first = yield* Effect.flip(call(0))
      assert.deepStrictEqual([tagOf(first), (first as { phase?: string }).phase], ["TransportError", "request"])
      const backup = yield* call(0, "https://api2.mch.weixin.qq.com")
      assert.strictEqual(backup.json["total_count"], 1)
      yield* Effect.flip(call(1))
      yield* call(1)
      assert.deepStrictEqual(fake.log.map((e) => [e.endpoint, e.fault ?? "none", e.processed]), [
        ["primary", "primaryDown", false],
        ["backup", "none", true],
        ["primary", "primaryDown", false],
        ["primary", "none", true]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("an unknown host is a Transport failure too", () => {
    const { layer } = inMemory()
    return Effect.gen(function*() {
      const error = yield* Effect.flip(call(0, "https://api.example.invalid"))
      assert.strictEqual(tagOf(error), "TransportError")
    }).pipe(Effect.provide(layer))
  })

  // MerchantConfig accepts these spellings and the client sends to the URL they mean; so must the fake.
  for (const [baseUrl, backupBaseUrl] of [
    ["https://Sandbox.Test", "https://BACKUP.sandbox.test"],
    ["https://sandbox.test:443", "https://backup.sandbox.test:443/"],
    ["HTTPS://sandbox.test/", "Https://backup.sandbox.test"]
  ] as const) {
    it.effect(`base URLs ${baseUrl} and ${backupBaseUrl} are reached as the same URLs in canonical form`, () =>
      Effect.gen(function*() {
        const stores = yield* ProductCouponStores.ProductCouponStores
        const stock = yield* stores.getStock({ productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId })
        assert.strictEqual<string>(stock.stockId, F.stockId)
        const fake = yield* FakeWechatPay.FakeWechatPay
        yield* fake.setPrimaryDown(true)
        yield* stores.getStock({ productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId })
        assert.deepStrictEqual(fake.log.map((e) => e.endpoint), ["primary", "backup"])
      }).pipe(Effect.provide(SandboxStores.layer({ baseUrl, backupBaseUrl }))))
  }
})

describe("options that cannot work: a ConfigurationError, not a throw or a defect", () => {
  const bad: ReadonlyArray<readonly [string, Omit<FakeWechatPay.Options, "keys">]> = [
    ["rateLimit", { rateLimit: Number.NaN }],
    ["rateLimit", { rateLimit: Number.POSITIVE_INFINITY }],
    ["rateLimit", { rateLimit: 0 }],
    ["rateLimit", { rateLimit: -1 }],
    ["rateLimit", { rateLimit: 2.5 }],
    ["faults.rates", { faults: { rates: { rateLimit: Number.NaN } } }],
    ["faults.rates", { faults: { rates: { systemError: -0.1 } } }],
    ["faults.rates", { faults: { rates: { timeout: 0.5 } as Partial<Record<FakeWechatPay.Fault, number>> } }],
    // A misspelt script entry would otherwise be logged as a fault yet answered normally.
    ["faults.script", { faults: { script: ["timeout" as FakeWechatPay.Fault] } }],
    ["faults.burst", { faults: { burst: { rateLimit: 0 } } }],
    ["faults.slowMillis", { faults: { slowMillis: Number.NaN } }],
    ["faults.slowMillis", { faults: { slowMillis: -1 } }],
    ["faults.seed", { faults: { seed: Number.NaN } }],
    ["notAssociated", { notAssociated: "fail" as "failed" }],
    // As plain JavaScript may pass them: the options, the seed and primaryDown of the wrong shape.
    ["options", null as unknown as FakeWechatPay.Options],
    ["seed", { seed: {} as FakeWechatPay.Seed }],
    ["seed", { seed: "x" as unknown as FakeWechatPay.Seed }],
    ["seed", { seed: FakeWechatPay.generate({ stores: -1 }) }],
    ["seed", { seed: FakeWechatPay.generate({ stores: Number.NaN }) }],
    ["seed", { seed: FakeWechatPay.generate({ associated: 1.5 }) }],
    ["seed", { seed: FakeWechatPay.generate(null as unknown as FakeWechatPay.GenerateOptions) }],
    ["primaryDown", { primaryDown: "yes" as unknown as boolean }]
  ]
  for (const [variable, options] of bad) {
    it.effect(`make, layer and makeWith refuse ${JSON.stringify(options, (_, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v)}`, () =>
      Effect.gen(function*() {
        const made = yield* Effect.flip(FakeWechatPay.make(options === null ? options : { keys, ...options }))
        assert.strictEqual(made._tag, "ConfigurationError")
        assert.strictEqual(made.variable, `FakeWechatPay.${variable}`)
        const layered = yield* Effect.flip(
          Effect.provide(FakeWechatPay.FakeWechatPay, FakeWechatPay.layer(options === null ? options : { keys, ...options }))
        )
        assert.strictEqual(layered._tag, "ConfigurationError")
        const thrown = Either.try(() => FakeWechatPay.makeWith(keys, options))
        assert.isTrue(Either.isLeft(thrown) && tagOf(thrown.left) === "ConfigurationError")
      }))
  }

  it.effect("the keys of the wrong shape are refused by make and layer", () =>
    Effect.gen(function*() {
      const made = yield* Effect.flip(FakeWechatPay.make({ keys: null as unknown as TestKeys.TestKeys }))
      assert.strictEqual(made.variable, "FakeWechatPay.keys")
    }))

  it.effect("SandboxStores and SandboxServer refuse options that cannot work, never throwing while the layer is made", () =>
    Effect.gen(function*() {
      for (const [options, variable] of [
        [null, "SandboxStores.options"],
        [{ timing: "slow" }, "SandboxStores.timing"],
        [{ service: null }, "options"],
        [{ keys: null }, "FakeWechatPay.keys"]
      ] as const) {
        const error = yield* Effect.flip(
          Effect.scoped(Effect.suspend(() => Layer.build(SandboxStores.layer(options as unknown as SandboxStores.Options))))
        )
        assert.strictEqual(error._tag, "ConfigurationError", JSON.stringify(options))
        if (error._tag === "ConfigurationError") assert.strictEqual(error.variable, variable)
      }
      const fake = FakeWechatPay.makeWith(keys)
      const server = yield* Effect.flip(Effect.scoped(SandboxServer.make(fake, null as unknown as SandboxServer.Options)))
      assert.strictEqual(server._tag, "SandboxError")
    }))

  it.effect("setRateLimit and setFaults refuse the same, and keep the plan and limit they had", () =>
    Effect.gen(function*() {
      const fake = FakeWechatPay.makeWith(keys, { rateLimit: 1, faults: { script: ["systemError"] } })
      assert.strictEqual((yield* Effect.flip(fake.setRateLimit(Number.NaN)))._tag, "ConfigurationError")
      assert.strictEqual((yield* Effect.flip(fake.setFaults({ slowMillis: -5 })))._tag, "ConfigurationError")
      const request: FakeWechatPay.Request = { endpoint: "primary", method: "POST", target: "/", headers: {}, bodyText: "" }
      fake.handle(request, 0)
      assert.deepStrictEqual(fake.log.map((e) => e.fault), ["systemError"])
    }))

  it.effect("what works is still accepted: false, whole rates, rates that sum past 1, a script of every fault", () =>
    Effect.gen(function*() {
      yield* FakeWechatPay.make({ keys, rateLimit: false })
      yield* FakeWechatPay.make({ keys, rateLimit: 20, faults: { seed: 7, rates: { rateLimit: 1, slow: 1 }, burst: { rateLimit: 3 }, slowMillis: 0 } })
      yield* FakeWechatPay.make({ keys, faults: { script: [...FakeWechatPay.FAULTS, "none"] } })
    }))
})
