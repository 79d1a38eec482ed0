// What a plain-JavaScript caller (or parsed JSON) can hand the library that its types forbid: each one is a
// typed error in the error channel, never a throw or a defect, and a job that gets one sends nothing it
// should not. Found by a black-box review acting as an application developer.
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Stream, TestClock } from "effect"
import {
  BulkDisassociation,
  BulkStores,
  JobJournal,
  MerchantConfig,
  ProductCoupon,
  ProductCouponStores,
  StoreJobs
} from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxStores } from "../packages/effect-wechatpay/src/testing/index.js"
import { UndiciHttpClient } from "../packages/effect-wechatpay/src/undici.js"
import { withFake } from "./support/Bulk.js"
import { baseOptions } from "./support/Keys.js"
import * as Scripted from "./support/ScriptedWechatPay.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const stock = { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId }
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- what an untyped caller passes
const untyped = (value: unknown): any => value

/** `f` with the service over a fresh in-memory fake (10 stores), the fake, and journals in memory. */
const withJobs = <A, E>(
  f: (fake: FakeWechatPay.Service) => Effect.Effect<A, E, ProductCouponStores.ProductCouponStores | JobJournal.JobJournal>
) =>
  Effect.flatMap(FakeWechatPay.FakeWechatPay, f).pipe(
    Effect.provide(Layer.merge(SandboxStores.layer({ seed: FakeWechatPay.generate({ stores: 10 }) }), JobJournal.layerMemory()))
  )

/** The failure of an effect that must fail, not die: its error value. */
const failure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) assert.fail("expected a failure")
    const error = Cause.failureOption(exit.cause)
    if (error._tag === "None") assert.fail(`expected a typed error, got ${Cause.pretty(exit.cause)}`)
    return error.value
  })

describe("store ids that are not strings", () => {
  it.effect("a bulk job fails each one alone (INVALID_STORE_ID) and sends the rest", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, (fake) =>
      Effect.gen(function*() {
        const report = yield* BulkStores.disassociateAll(untyped([s(0), 7, null, s(1), { id: 1 }]), { ...stock, preflight: false })
        assert.deepStrictEqual([...report.succeeded].sort(), [s(0), s(1)])
        assert.deepStrictEqual(report.failed.map((f) => [f.storeId, f.code, f.message]), [
          ["7", "INVALID_STORE_ID", "must be a string (got a number)"],
          ["null", "INVALID_STORE_ID", "must be a string (got null)"],
          [`{"id":1}`, "INVALID_STORE_ID", "must be a string (got an object)"]
        ])
        assert.strictEqual(report.summary.unique, 5)
        assert.strictEqual(fake.log.length, 1)
      })))

  it.effect("a durable job refuses the input before anything is sent or written", () =>
    Effect.gen(function*() {
      const files = new Map<string, Uint8Array>()
      const error = yield* withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, (fake) =>
        Effect.tap(
          failure(
            StoreJobs.disassociateAll(untyped([s(0), s(1), 5]), { ...stock, journal: "j.jsonl" }).pipe(
              Effect.provide(JobJournal.layerMemory(files))
            )
          ),
          () => Effect.sync(() => assert.strictEqual(fake.log.length, 0))
        ))
      assert.strictEqual(error._tag, "StoreSourceError")
      if (error._tag !== "StoreSourceError") return
      assert.include(error.report.stoppedBy!.message, "the store id at index 2 is a number, not a string")
      assert.deepStrictEqual(error.report.failed.map((f) => f.storeId), ["5"])
      assert.deepStrictEqual(error.report.unresolved.map((u) => u.storeId), [s(0), s(1)])
      assert.strictEqual(files.size, 0)
    }))

  it.effect("a sync refuses a desired set with one, before its listing", () =>
    withJobs((fake) =>
      Effect.gen(function*() {
        const error = yield* failure(StoreJobs.syncStores(untyped([s(0), undefined]), stock))
        assert.strictEqual(error._tag, "StoreSourceError")
        assert.strictEqual(fake.log.length, 0)
      })))
})

describe("store-id sources that are no collection of ids", () => {
  for (const [what, ids, says] of [
    ["null", null, "got null"],
    ["undefined", undefined, "got undefined"],
    ["a number", 5, "got a number"],
    ["a plain object", { ids: [] }, "got an object"],
    ["one bare string (it would be sent character by character)", "100000001", "not one string"]
  ] as const) {
    it.effect(`${what}: a StoreSourceError, nothing sent`, () =>
      withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, (fake) =>
        Effect.gen(function*() {
          const error = yield* failure(BulkStores.disassociateAll(untyped(ids), { ...stock, preflight: false }))
          assert.strictEqual(error._tag, "StoreSourceError")
          if (error._tag !== "StoreSourceError") return
          assert.include(error.report.stoppedBy!.message, says)
          assert.strictEqual(error.message, error.report.stoppedBy!.message)
          assert.strictEqual(error.report.summary.input, 0)
          const durable = yield* failure(
            StoreJobs.associateAll(untyped(ids), { ...stock, journal: "j.jsonl" }).pipe(Effect.provide(JobJournal.layerMemory()))
          )
          assert.strictEqual(durable._tag, "StoreSourceError")
          assert.strictEqual(fake.log.length, 0)
        })))
  }
})

describe("options of the wrong kind", () => {
  it.effect("a durable job without a journal is refused, not run without one", () =>
    withJobs((fake) =>
      Effect.gen(function*() {
        for (const journal of [undefined, "", 5]) {
          const error = yield* failure(StoreJobs.disassociateAll([s(0)], untyped({ ...stock, journal })))
          assert.strictEqual(error._tag, "ConfigurationError")
          assert.include(String((error as { message?: unknown }).message), "journal")
        }
        const bundle = yield* failure(StoreJobs.associateBundleAll([s(0)], untyped({
          productCouponId: F.productCouponId,
          stockBundleId: F.stockBundleId,
          brandId: F.brandId
        })))
        assert.strictEqual(bundle._tag, "ConfigurationError")
        assert.strictEqual(fake.log.length, 0)
      })))

  it.effect("hooks that are not functions or effects, and no options at all", () =>
    withJobs((fake) =>
      Effect.gen(function*() {
        for (const [options, variable] of [
          [{ ...stock, onProgress: "x" }, "onProgress"],
          [{ ...stock, stopWhen: "x" }, "stopWhen"],
          [{ ...stock, abortWhen: 5 }, "abortWhen"]
        ] as const) {
          const error = yield* failure(BulkStores.disassociateAll([s(0)], untyped(options)))
          assert.strictEqual(error._tag, "ConfigurationError")
          assert.include(String((error as { message?: unknown }).message), variable)
        }
        const none = yield* failure(StoreJobs.disassociateAll([s(0)], untyped(null)))
        assert.strictEqual(none._tag, "ConfigurationError")
        for (const job of [BulkStores.disassociateAll, BulkStores.associateBundleAll, BulkDisassociation.disassociateAll]) {
          const refused = yield* failure(job([s(0)], untyped(null)))
          assert.strictEqual(refused._tag, "ConfigurationError")
        }
        const resumed = yield* failure(StoreJobs.resume("j.jsonl", untyped({ expect: { stockId: 5 } })))
        assert.strictEqual(resumed._tag, "ConfigurationError")
        assert.include(String((resumed as { message?: unknown }).message), "expect")
        assert.strictEqual(fake.log.length, 0)
      })))

  it.effect("an undo of something that is no source", () =>
    withJobs(() =>
      Effect.gen(function*() {
        for (const source of [null, 5, { journal: 5 }]) {
          const error = yield* failure(StoreJobs.undo(untyped(source)))
          assert.strictEqual(error._tag, "UndoSourceError")
        }
      })))

  it.effect("a sync plan checked by checkPlan that is no plan, or a maxRemovals that is no count", () =>
    withJobs(() =>
      Effect.gen(function*() {
        const plan = yield* StoreJobs.planSync([s(0)], stock)
        const throwing = new Proxy([], { get: () => { throw new Error("boom") } })
        const hostile: ReadonlyArray<[string, unknown]> = [
          ["null", null],
          ["undefined", undefined],
          ["a number", 42],
          ["an empty object", {}],
          ["no desired", { toDisassociate: [], toAssociate: [], current: 1 }],
          ["a getter that throws", { get desired() { throw new Error("boom") } }],
          ["a proxy that throws", new Proxy({}, { get: () => { throw new Error("boom") } })],
          ["a list whose length throws", { ...plan, toDisassociate: throwing }],
          ["current NaN", { ...plan, current: Number.NaN }],
          ["more removals than stores", { ...plan, current: plan.toDisassociate.length - 1 }]
        ]
        for (const [what, value] of hostile) {
          const error = yield* failure(StoreJobs.checkPlan(untyped(value)))
          assert.strictEqual(error._tag, "ConfigurationError", what)
        }
        for (const maxRemovals of [-1, 1.5, "10", null]) {
          const error = yield* failure(StoreJobs.checkPlan(plan, untyped(maxRemovals)))
          assert.strictEqual(error._tag, "ConfigurationError", String(maxRemovals))
        }
        yield* StoreJobs.checkPlan(plan, 10)
      })))

  it.effect("the listing's stream over no input", () =>
    withFake({ seed: FakeWechatPay.generate({ stores: 10 }) }, (fake) =>
      Effect.gen(function*() {
        const service = yield* ProductCouponStores.ProductCouponStores
        const error = yield* failure(Stream.runDrain(service.associatedStores(untyped(null))))
        assert.strictEqual(error._tag, "RequestValidationError")
        assert.strictEqual(fake.log.length, 0)
      })))

  it.effect("merchant options that are not an object, or certificates that are not PEM texts", () =>
    Effect.gen(function*() {
      const none = yield* failure(MerchantConfig.make(untyped(null)))
      assert.strictEqual(none._tag, "ConfigurationError")
      const certificates = yield* failure(MerchantConfig.make(untyped({ ...baseOptions, platformCertificates: "xx" })))
      assert.strictEqual(certificates._tag, "ConfigurationError")
      assert.include(certificates.message, "platformCertificates")
      const key = yield* failure(MerchantConfig.make(untyped({ ...baseOptions, publicKey: 5 })))
      assert.strictEqual(key._tag, "ConfigurationError")
    }))

  it.effect("a rate limit too large for the limiter's window, or not an object", () =>
    Effect.gen(function*() {
      for (const rateLimit of [{ limit: 2 ** 32, interval: "1 second" }, { limit: Number.MAX_SAFE_INTEGER }, null, "fast"]) {
        const error = yield* failure(
          Effect.flatMap(ProductCouponStores.ProductCouponStores, (service) => service.getStock({ ...stock })).pipe(
            Effect.provide(
              ProductCouponStores.layerMerchant(baseOptions, untyped({ rateLimit })).pipe(Layer.provide(Scripted.make([]).layer))
            )
          )
        )
        assert.strictEqual(error._tag, "ConfigurationError")
        assert.include(error.message, "rateLimit")
      }
    }))
})

describe("hostile answers and transport options", () => {
  it.effect("an answer nested deeper than the stack is a ResponseDecodeError", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Scripted.NOW * 1000)
      const deep = "[".repeat(100_000) + "]".repeat(100_000)
      const fake = Scripted.make([Scripted.reply(200, deep)])
      const error = yield* failure(
        Effect.flatMap(ProductCouponStores.ProductCouponStores, (service) => service.getStock({ ...stock })).pipe(
          Effect.provide(Scripted.serviceLayer(fake, { rateLimit: false }))
        )
      )
      assert.strictEqual(error._tag, "ResponseDecodeError")
    }))

  it.effect("undici options it would refuse only on the first call fail the layer", () =>
    Effect.gen(function*() {
      for (const agent of [{ connections: -1 }, { keepAliveTimeout: "x" }, { bodyTimeout: -5 }]) {
        const error = yield* failure(Effect.scoped(Layer.build(UndiciHttpClient.layerWith({ agent: untyped(agent) }))))
        assert.strictEqual(error._tag, "ConfigurationError")
      }
      // A valid set still builds.
      yield* Effect.scoped(Layer.build(UndiciHttpClient.layerWith({ agent: { connections: 4, keepAliveTimeout: 1_000 } })))
    }))
})

describe("ProductCoupon.idProblem", () => {
  it("names what a value that is not a string is", () => {
    assert.strictEqual(ProductCoupon.idProblem(untyped(7)), "must be a string (got a number)")
    assert.strictEqual(ProductCoupon.idProblem(untyped([])), "must be a string (got an array)")
    assert.strictEqual(ProductCoupon.idProblem("100000001"), undefined)
  })
})
