// The bulk job's core invariants, as properties: planning (dedup + chunks), settling one chunk,
// classifying every error the service can fail with, and whole jobs driven by a stub service whose
// answers per chunk are generated (successes with arbitrary success/failed/omitted splits, and every
// error class), checking that the three report lists partition the unique set and the counts add up.
import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Deferred, Effect, FastCheck, Fiber, Layer, Option, Schema, Stream, TestClock } from "effect"
import { BulkDisassociation, BulkStores, ProductCoupon, ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { plan } from "../packages/effect-wechatpay/src/internal/bulk/Ids.js"
import { classify, settleFailure, settleStoreLists } from "../packages/effect-wechatpay/src/internal/bulk/Settle.js"
import type { DisassociateStoresError } from "../packages/effect-wechatpay/src/WechatPayError.js"
import * as E from "../packages/effect-wechatpay/src/WechatPayError.js"

const planNow = (ids: Iterable<string>, size?: number) => Effect.runSync(plan(ids, size))

const B = BulkDisassociation

// A small alphabet makes duplicates frequent; "" and " " are ids that can never be sent.
const idArb = FastCheck.oneof(
  { weight: 20, arbitrary: FastCheck.integer({ min: 0, max: 600 }).map((n) => `S${n}`) },
  { weight: 1, arbitrary: FastCheck.constantFrom("", " ", "a\u0001b") }
)
const idsArb = FastCheck.array(idArb, { maxLength: 1_500 })

const firstSeen = (ids: ReadonlyArray<string>): Array<string> => [...new Set(ids)]

const sendable = (ids: ReadonlyArray<string>): Array<string> => ids.filter((id) => ProductCoupon.idProblem(id) === undefined)

describe("plan: de-duplication, the id check and chunking", () => {
  it.prop(
    "chunks are non-empty, at most the size, and concatenate to the unique valid ids in first-seen order",
    [idsArb, FastCheck.integer({ min: 1, max: 250 })],
    ([ids, size]) => {
      const p = planNow(ids, size)
      const unique = firstSeen(ids)
      assert.strictEqual(p.input, ids.length)
      assert.strictEqual(p.unique, unique.length)
      for (const chunk of p.chunks) {
        assert.isAbove(chunk.length, 0)
        assert.isAtMost(chunk.length, size)
      }
      // Every chunk but the last is full: no needless extra calls.
      for (const chunk of p.chunks.slice(0, -1)) assert.strictEqual(chunk.length, size)
      assert.deepStrictEqual(p.chunks.flat(), sendable(unique))
      // An id that cannot be sent is listed once, with ProductCoupon's reason, and sent in no chunk.
      assert.deepStrictEqual(p.invalid, unique.filter((id) => ProductCoupon.idProblem(id) !== undefined).map((storeId) => ({
        storeId,
        code: "INVALID_STORE_ID",
        message: ProductCoupon.idProblem(storeId)!
      })))
    }
  )

  it.prop("the default size is the endpoint's 200", [idsArb], ([ids]) => {
    const p = planNow(ids)
    assert.strictEqual(B.MAX_CHUNK, ProductCoupon.MAX_STORES)
    assert.strictEqual(p.chunks.length, Math.ceil(sendable(firstSeen(ids)).length / 200))
    for (const chunk of p.chunks) assert.isAtMost(chunk.length, 200)
  })
})

// ---------------------------------------------------------------------------
// Every error the service can fail with, and what the job must make of it.

const api = { status: 400, code: "X", message: "m", verified: true, requestId: "REQ-1" }
const errorSamples: ReadonlyArray<{ readonly error: DisassociateStoresError; readonly kind: "Rejected" | "Unknown"; readonly stops: boolean }> = [
  { error: new E.ParamError({ ...api, code: "PARAM_ERROR" }), kind: "Rejected", stops: false },
  { error: new E.InvalidRequestError({ ...api, code: "INVALID_REQUEST" }), kind: "Rejected", stops: false },
  { error: new E.StockExpiredError({ ...api, code: "INVALID_REQUEST" }), kind: "Rejected", stops: true },
  { error: new E.StockScopeNotSpecificError({ ...api, code: "INVALID_REQUEST" }), kind: "Rejected", stops: true },
  { error: new E.SignError({ ...api, status: 401, code: "SIGN_ERROR", verified: false }), kind: "Rejected", stops: true },
  { error: new E.NoAuthError({ ...api, status: 403, code: "NO_AUTH" }), kind: "Rejected", stops: true },
  { error: new E.NotFoundError({ ...api, status: 404, code: "NOT_FOUND" }), kind: "Rejected", stops: true },
  { error: new E.ProductCouponNotFoundError({ ...api, status: 404, code: "NOT_FOUND" }), kind: "Rejected", stops: true },
  { error: new E.StockNotFoundError({ ...api, status: 404, code: "NOT_FOUND" }), kind: "Rejected", stops: true },
  // Unsigned error answers cannot prove nothing changed: unresolved (a stopping one still stops).
  { error: new E.ParamError({ ...api, code: "PARAM_ERROR", verified: false }), kind: "Unknown", stops: false },
  { error: new E.StockExpiredError({ ...api, code: "INVALID_REQUEST", verified: false }), kind: "Unknown", stops: true },
  { error: new E.NoAuthError({ ...api, status: 403, code: "NO_AUTH", verified: false }), kind: "Unknown", stops: true },
  { error: new E.RequestValidationError({ field: "brandId", reason: "must not be empty" }), kind: "Rejected", stops: false },
  { error: new E.RateLimitExceededError({ ...api, status: 429, code: "RATELIMIT_EXCEEDED" }), kind: "Unknown", stops: false },
  { error: new E.SystemError({ ...api, status: 500, code: "SYSTEM_ERROR" }), kind: "Unknown", stops: false },
  { error: new E.UnknownApiError({ ...api, status: 418, code: "TEAPOT" }), kind: "Unknown", stops: false },
  { error: new E.TransportError({ phase: "request", method: "POST", url: "u", reason: "ECONNRESET" }), kind: "Unknown", stops: false },
  { error: new E.TimeoutError({ method: "POST", url: "u", timeoutMillis: 10 }), kind: "Unknown", stops: false },
  { error: new E.SigningError({ reason: "r" }), kind: "Unknown", stops: false },
  { error: new E.MissingSignatureHeadersError({ status: 200, missing: ["Wechatpay-Signature"] }), kind: "Unknown", stops: false },
  { error: new E.StaleTimestampError({ status: 200, timestamp: "1", nowSeconds: 999, toleranceSeconds: 300 }), kind: "Unknown", stops: false },
  { error: new E.UnknownSerialError({ status: 200, serial: "S", knownSerials: [] }), kind: "Unknown", stops: false },
  { error: new E.InvalidSignatureError({ status: 200, serial: "S", reason: "r" }), kind: "Unknown", stops: false },
  { error: new E.SignatureProbeError({ status: 200, serial: "S", requestId: "REQ-P" }), kind: "Unknown", stops: false },
  { error: new E.UnexpectedResponseError({ status: 502, excerpt: "<html>", verified: false }), kind: "Unknown", stops: false },
  { error: new E.ResponseDecodeError({ status: 200, issue: "i", excerpt: "e" }), kind: "Unknown", stops: false },
  // Only under a stop signal; the job accounts such a call as not sent.
  { error: new E.NotSentError({ reason: "stopped" }), kind: "Unknown", stops: false },
  // Nothing was sent, and every other call waits on the same limiter.
  { error: new E.RateLimiterError({ quota: "partner/product-coupon", reason: "unreachable" }), kind: "Unknown", stops: true }
]

/** Every error class src/WechatPayError.ts exports that says how it behaves: taken from the module, not from a list. */
type ErrorClass = Schema.Schema<E.HasBehaviour, any> & { readonly name: string }
const errorClasses = (Object.values(E) as ReadonlyArray<unknown>).filter((v): v is ErrorClass =>
  typeof v === "function" && Schema.isSchema(v) && Object.getOwnPropertyDescriptor(v.prototype ?? {}, "behaviour") !== undefined
)

describe("classify", () => {
  it("covers every error class in src that carries a behaviour", () => {
    // A new error class without a sample fails here.
    // The generic API error is always mapped to a row, and an encode error cannot arise from string ids.
    // A preflight error fails a job before any call, so no call's failure is ever classified as one.
    const neverReachCaller = new Set([
      "WechatPayApiError",
      "RequestEncodeError",
      "PreflightStoreScopeError",
      "PreflightStockStateError",
      "PreflightStockEndedError"
    ])
    const tags = new Set(errorSamples.map((s) => s.error._tag))
    assert.isAbove(errorClasses.length, 20)
    assert.deepStrictEqual(errorClasses.map((c) => c.name).filter((n) => !neverReachCaller.has(n)).sort(), [...tags].sort())
  })

  for (const errorClass of errorClasses) {
    it.prop(`any ${errorClass.name}: the outcome and the stop follow its behaviour`, [Arbitrary.make(errorClass)], ([error]) => {
      const { outcome, stops } = classify(error)
      assert.strictEqual(outcome._tag, error.behaviour.outcome === "failed" ? "Rejected" : "Unknown")
      assert.strictEqual(stops, error.behaviour.stopsJob)
      if (outcome._tag === "Unknown") assert.include(outcome.reason, error._tag)
      if (outcome._tag === "Rejected" && "code" in error) assert.strictEqual(outcome.code, error.code)
    }, { fastCheck: { numRuns: 20 } })
  }

  for (const sample of errorSamples) {
    it(`${sample.error._tag} → ${sample.kind}${sample.stops ? ", stops the job" : ""}`, () => {
      const { outcome, stops } = classify(sample.error)
      assert.strictEqual(outcome._tag, sample.kind)
      assert.strictEqual(stops, sample.stops)
      if (outcome._tag === "Unknown") {
        assert.include(outcome.reason, sample.error._tag)
        assert.strictEqual(outcome.requestId, "requestId" in sample.error ? sample.error.requestId : undefined)
      }
      if (outcome._tag === "Rejected" && "code" in sample.error) assert.strictEqual(outcome.code, sample.error.code)
    })
  }

  it("the errors that stop a job are exactly the issue's list, and a limiter that cannot grant permits", () => {
    assert.deepStrictEqual(
      [...new Set(errorSamples.filter((s) => s.error.behaviour.stopsJob).map((s) => s.error._tag))].sort(),
      [
        "NoAuthError",
        "NotFoundError",
        "ProductCouponNotFoundError",
        "RateLimiterError",
        "SignError",
        "StockExpiredError",
        "StockNotFoundError",
        "StockScopeNotSpecificError"
      ]
    )
  })
})

// ---------------------------------------------------------------------------
// settle: one chunk, split three ways

type Disposition = "success" | "failed" | "omitted" | "both"
const answerFor = (chunk: ReadonlyArray<string>, dispositions: ReadonlyArray<Disposition>, extra: ReadonlyArray<string>) => ({
  totalCount: chunk.length,
  successStoreList: [
    ...chunk.filter((_, i) => dispositions[i % dispositions.length] === "success" || dispositions[i % dispositions.length] === "both"),
    ...extra
  ].map((storeId) => ({ storeId: storeId as ProductCoupon.StoreId })),
  failedStoreList: [
    ...chunk.filter((_, i) => dispositions[i % dispositions.length] === "failed" || dispositions[i % dispositions.length] === "both"),
    ...extra
  ].map((storeId) => ({ storeId: storeId as ProductCoupon.StoreId, code: "INVALID_REQUEST", message: "门店ID非法或不属于当前品牌" })),
  requestId: "REQ-A"
})
const dispositionsArb = FastCheck.array(FastCheck.constantFrom<Disposition>("success", "failed", "omitted", "both"), { minLength: 1, maxLength: 50 })

describe("settle", () => {
  it.prop(
    "a full success list in any order settles every store as succeeded; a foreign id in place of one leaves that one unresolved",
    [FastCheck.uniqueArray(FastCheck.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 200 }), FastCheck.nat(), FastCheck.boolean()],
    ([chunk, seed, reverse]) => {
      const answered = reverse ? [...chunk].reverse() : chunk
      const all = settleStoreLists(chunk, answerFor(answered, ["success"], []))
      assert.deepStrictEqual(all.succeeded, chunk)
      assert.deepStrictEqual([all.failed.length, all.unresolved.length], [0, 0])
      // Same length as the chunk, but one entry is a store that was not sent.
      const k = seed % chunk.length
      const swapped = chunk.map((id, i) => (i === k ? `${id}\u0000foreign` : id))
      const s = settleStoreLists(chunk, answerFor(swapped, ["success"], []))
      assert.deepStrictEqual(s.succeeded, chunk.filter((_, i) => i !== k))
      assert.deepStrictEqual(s.unresolved.map((u) => u.storeId), [chunk[k]])
    }
  )

  it.prop(
    "every store of the chunk lands in exactly one list, in chunk order; stores not sent are ignored",
    [FastCheck.uniqueArray(FastCheck.string({ minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 200 }), dispositionsArb, FastCheck.array(FastCheck.constant("FOREIGN"), { maxLength: 2 })],
    ([chunk, dispositions, extra]) => {
      const sent = chunk.filter((id) => id !== "FOREIGN")
      if (sent.length === 0) return
      const s = settleStoreLists(sent, answerFor(sent, dispositions, extra))
      const all = [...s.succeeded, ...s.failed.map((f) => f.storeId), ...s.unresolved.map((u) => u.storeId)]
      assert.deepStrictEqual([...all].sort(), [...sent].sort())
      sent.forEach((id, i) => {
        const d = dispositions[i % dispositions.length]!
        // Listed as both: a contradiction, so neither list is believed.
        const got = s.succeeded.includes(id)
          ? "success"
          : s.failed.some((f) => f.storeId === id)
          ? "failed"
          : s.unresolved.some((u) => u.storeId === id && u.reason === B.LISTED_AS_BOTH)
          ? "both"
          : "omitted"
        assert.strictEqual(got, d, id)
      })
      // Both contradictions and ignored foreign entries are flagged; a consistent answer is not.
      const both = sent.filter((_, i) => dispositions[i % dispositions.length] === "both")
      const flagged = s.anomalies ?? []
      assert.strictEqual(flagged.length, (both.length > 0 ? 1 : 0) + (extra.length > 0 ? 1 : 0))
      if (both.length > 0) assert.deepStrictEqual(flagged[0]!.stores, both)
      assert.deepStrictEqual(s.succeeded, sent.filter((id) => s.succeeded.includes(id)))
      for (const u of s.unresolved) assert.strictEqual(u.requestId, "REQ-A")
    }
  )

  it.prop("a rejection fails the whole chunk, an unknown outcome leaves it all unresolved", [FastCheck.uniqueArray(FastCheck.string(), { minLength: 1, maxLength: 200 })], ([chunk]) => {
    const rejected = settleFailure(chunk, { _tag: "Rejected", code: "PARAM_ERROR", message: "m" })
    assert.deepStrictEqual(rejected.failed.map((f) => f.storeId), chunk)
    assert.strictEqual(rejected.succeeded.length + rejected.unresolved.length, 0)
    const unknown = settleFailure(chunk, { _tag: "Unknown", reason: "TimeoutError: t", requestId: "R" })
    assert.deepStrictEqual(unknown.unresolved.map((u) => u.storeId), chunk)
    assert.strictEqual(unknown.succeeded.length + unknown.failed.length, 0)
  })
})

// ---------------------------------------------------------------------------
// Whole jobs over a stub service

type Answer =
  | { readonly _tag: "Ok"; readonly dispositions: ReadonlyArray<Disposition> }
  | { readonly _tag: "Err"; readonly sample: number }

const answerArb: FastCheck.Arbitrary<Answer> = FastCheck.oneof(
  { weight: 3, arbitrary: dispositionsArb.map((dispositions): Answer => ({ _tag: "Ok", dispositions })) },
  { weight: 2, arbitrary: FastCheck.integer({ min: 0, max: errorSamples.length - 1 }).map((sample): Answer => ({ _tag: "Err", sample })) }
)

const sourceArb = FastCheck.constantFrom("array", "iterable", "stream", "async")
const toSource = (ids: ReadonlyArray<string>, kind: string): BulkDisassociation.StoreIds => {
  switch (kind) {
    case "iterable":
      return (function*() {
        yield* ids
      })()
    case "stream":
      return Stream.fromIterable(ids).pipe(Stream.rechunk(7))
    case "async":
      return (async function*() {
        yield* ids
      })()
    default:
      return ids
  }
}

/** The service's endpoints a disassociate job never calls. */
const otherEndpoints = {
  associateStores: () => Effect.dieMessage("a disassociate job calls only disassociateStores"),
  listAssociatedStores: () => Effect.dieMessage("a disassociate job calls only disassociateStores"),
  associatedStores: () => Stream.dieMessage("a disassociate job calls only disassociateStores"),
  getStock: () => Effect.dieMessage("a disassociate job calls only disassociateStores"),
  associateStockBundleStores: () => Effect.dieMessage("a disassociate job calls only disassociateStores"),
  disassociateStockBundleStores: () => Effect.dieMessage("a disassociate job calls only disassociateStores")
}

/** The store endpoint a job drives. */
type Endpoint = "disassociateStores" | "associateStores"
type StoreCall = ProductCouponStores.Service["disassociateStores"]

/** A stub service answering `endpoint` with `call`; every other endpoint dies, the other direction included. */
const serviceWith = (endpoint: Endpoint, call: StoreCall) =>
  Layer.succeed(ProductCouponStores.ProductCouponStores, {
    ...otherEndpoints,
    disassociateStores: endpoint === "disassociateStores" ? call : () => Effect.dieMessage("an associate job calls only associateStores"),
    associateStores: endpoint === "associateStores" ? call : otherEndpoints.associateStores
  })

/**
 * Both bulk directions run the one engine: the properties below are checked for each. `associateAll`
 * runs with its preflight and verification off, so that the stub's store calls are all it makes (both
 * checks have their own tests: bulk-preflight, bulk-verify).
 */
type Job = <E = never, R = never>(
  ids: BulkDisassociation.StoreIds<E, R>,
  options: BulkDisassociation.Options
) => Effect.Effect<BulkDisassociation.Report, BulkStores.JobError, R | ProductCouponStores.ProductCouponStores>
const jobs: ReadonlyArray<{ readonly name: string; readonly endpoint: Endpoint; readonly run: Job }> = [
  { name: "disassociateAll", endpoint: "disassociateStores", run: B.disassociateAll },
  {
    name: "associateAll",
    endpoint: "associateStores",
    run: (ids, options) => BulkStores.associateAll(ids, { ...options, preflight: false, verify: false })
  }
]

const stubLayer = (answers: ReadonlyArray<Answer>, firstIdToChunk: ReadonlyMap<string, number>, calls: Array<number>, endpoint: Endpoint = "disassociateStores") =>
  serviceWith(endpoint, (input) =>
      Effect.gen(function*() {
        const chunkIndex = firstIdToChunk.get(input.storeList[0]!.storeId)!
        calls.push(chunkIndex)
        const answer = answers[chunkIndex % answers.length]!
        const { onAttempt } = yield* ProductCouponStores.AttemptObserver
        // Let other calls interleave, as real ones do.
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        if (answer._tag === "Err") {
          const error = errorSamples[answer.sample]!.error
          yield* onAttempt({ attempt: 1, baseUrl: "stub", outcome: error._tag, willRetry: false })
          return yield* Effect.fail(error)
        }
        yield* onAttempt({ attempt: 1, baseUrl: "stub", outcome: "success", willRetry: false })
        return answerFor(input.storeList.map((s) => s.storeId), answer.dispositions, ["NOT-SENT"])
      }))

describe("bulk jobs over arbitrary outcomes (stub service)", () => {
  for (const job of jobs) it.effect.prop(
    `${job.name}: the three lists partition the unique ids, the counts add up, and each store's list matches its chunk's answer`,
    [idsArb, FastCheck.array(answerArb, { minLength: 1, maxLength: 12 }), FastCheck.integer({ min: 1, max: 5 }), FastCheck.integer({ min: 1, max: 200 }), sourceArb],
    ([ids, answers, concurrency, chunkSize, sourceKind]) =>
      Effect.gen(function*() {
        const unique = firstSeen(ids)
        const sendable = unique.filter((id) => ProductCoupon.idProblem(id) === undefined)
        const chunks = planNow(sendable, chunkSize).chunks
        const firstIdToChunk = new Map(chunks.map((c, i) => [c[0]!, i] as const))
        const chunkOf = new Map<string, number>()
        chunks.forEach((c, i) => c.forEach((id) => chunkOf.set(id, i)))
        const calls: Array<number> = []
        const outerSeen: Array<string> = []
        const events: Array<BulkDisassociation.ProgressEvent> = []

        const report = yield* job.run(toSource(ids, sourceKind), {
          productCouponId: "P",
          stockId: "S",
          brandId: "B",
          concurrency,
          chunkSize,
          onProgress: (e) => Effect.sync(() => void events.push(e))
        }).pipe(
          Effect.provide(stubLayer(answers, firstIdToChunk, calls, job.endpoint)),
          // An observer the caller installed still hears every attempt.
          Effect.provideService(ProductCouponStores.AttemptObserver, { onAttempt: (e) => Effect.sync(() => void outerSeen.push(String(e.outcome))) })
        )

        // Partition of the unique set.
        const listed = [...report.succeeded, ...report.failed.map((f) => f.storeId), ...report.unresolved.map((u) => u.storeId)]
        assert.strictEqual(listed.length, unique.length)
        assert.deepStrictEqual(new Set(listed), new Set(unique))
        // Counts.
        const s = report.summary
        assert.strictEqual(s.input, ids.length)
        assert.strictEqual(s.unique, unique.length)
        assert.strictEqual(s.input, s.unique + s.duplicates)
        assert.strictEqual(s.succeeded + s.failed + s.unresolved, s.unique)
        assert.strictEqual(s.succeeded, report.succeeded.length)
        assert.strictEqual(s.failed, report.failed.length)
        assert.strictEqual(s.unresolved, report.unresolved.length)
        assert.strictEqual(s.chunks, chunks.length)
        assert.strictEqual(s.requests, calls.length)
        assert.strictEqual(outerSeen.length, calls.length)
        // Succeeded keeps first-seen order.
        const pos = new Map(unique.map((id, i) => [id, i] as const))
        for (let i = 1; i < report.succeeded.length; i++) {
          assert.isBelow(pos.get(report.succeeded[i - 1]!)!, pos.get(report.succeeded[i]!)!)
        }
        // Each chunk called at most once; the first call goes alone, so it is chunk 0.
        assert.strictEqual(new Set(calls).size, calls.length)
        if (chunks.length > 0) assert.strictEqual(calls[0], 0)

        // Each store's list agrees with what its chunk's answer said.
        const called = new Set(calls)
        const where = new Map<string, string>()
        for (const id of report.succeeded) where.set(id, "succeeded")
        for (const f of report.failed) where.set(f.storeId, `failed:${f.code}`)
        for (const u of report.unresolved) where.set(u.storeId, `unresolved:${u.reason}`)
        for (const id of unique) {
          const got = where.get(id)!
          const k = chunkOf.get(id)
          if (k === undefined) {
            assert.strictEqual(got, "failed:INVALID_STORE_ID", JSON.stringify(id))
            continue
          }
          if (!called.has(k)) {
            assert.match(got, /^unresolved:not sent: the job stopped after /)
            continue
          }
          const answer = answers[k % answers.length]!
          if (answer._tag === "Err") {
            const sample = errorSamples[answer.sample]!
            assert.match(got, sample.kind === "Rejected" ? /^failed:/ : /^unresolved:/)
          } else {
            const cIndex = chunks[k]!.indexOf(id)
            const d = answer.dispositions[cIndex % answer.dispositions.length]!
            assert.strictEqual(got.split(":")[0], d === "success" ? "succeeded" : d === "failed" ? "failed" : "unresolved")
            if (d === "both") assert.strictEqual(got, `unresolved:${B.LISTED_AS_BOTH}`)
          }
        }

        // Stopping: the first stopping answer stops the job; with one call at a time nothing is sent after it.
        const stoppingCall = calls.findIndex((k) => {
          const a = answers[k % answers.length]!
          return a._tag === "Err" && errorSamples[a.sample]!.stops
        })
        if (stoppingCall < 0) {
          assert.isUndefined(report.stoppedBy)
          assert.strictEqual(calls.length, chunks.length)
        } else {
          assert.isDefined(report.stoppedBy)
          if (concurrency === 1 || stoppingCall === 0) assert.strictEqual(calls.length, stoppingCall + 1)
          assert.strictEqual(events.filter((e) => e._tag === "Stopped").length, 1)
        }

        // Progress: one event per chunk, `done` never goes backwards and ends at the sent stores' count.
        const settled = events.filter((e) => e._tag === "ChunkSettled")
        assert.strictEqual(settled.length, chunks.length)
        for (let i = 1; i < settled.length; i++) assert.isAtLeast(settled[i]!.done, settled[i - 1]!.done)
      }),
    { fastCheck: { numRuns: 150 } }
  )

  for (const job of jobs) it.effect(`${job.name}: a stopping answer to the first call: exactly one call even with concurrency 8`, () =>
    Effect.gen(function*() {
      const ids = Array.from({ length: 1_000 }, (_, i) => `S${i}`)
      const chunks = planNow(ids).chunks
      const calls: Array<number> = []
      const noAuth = errorSamples.findIndex((s) => s.error._tag === "NoAuthError")
      const report = yield* job.run(ids, { productCouponId: "P", stockId: "S", brandId: "B", concurrency: 8 }).pipe(
        Effect.provide(stubLayer([{ _tag: "Err", sample: noAuth }], new Map(chunks.map((c, i) => [c[0]!, i] as const)), calls, job.endpoint))
      )
      assert.deepStrictEqual(calls, [0])
      assert.strictEqual(report.summary.failed, 200)
      assert.strictEqual(report.summary.unresolved, 800)
      assert.strictEqual(report.stoppedBy?.code, "NO_AUTH")
      for (const u of report.unresolved) assert.match(u.reason, /^not sent: the job stopped after NO_AUTH/)
    }))

  it.effect("ids are pulled lazily: the first call goes out long before a large iterable is read", () =>
    Effect.gen(function*() {
      const TOTAL = 100_000
      let pulled = 0
      const ids = (function*() {
        for (let i = 0; i < TOTAL; i++) {
          pulled++
          yield `S${i}`
        }
      })()
      const pulledAtCall: Array<number> = []
      const service = Layer.succeed(ProductCouponStores.ProductCouponStores, {
        ...otherEndpoints,
        disassociateStores: (input) =>
          Effect.sync(() => {
            pulledAtCall.push(pulled)
            return { totalCount: input.storeList.length, successStoreList: input.storeList.map((x) => ({ storeId: x.storeId as ProductCoupon.StoreId })), failedStoreList: [], requestId: undefined }
          })
      })
      const report = yield* B.disassociateAll(ids, { productCouponId: "P", stockId: "S", brandId: "B", concurrency: 4 }).pipe(Effect.provide(service))
      assert.strictEqual(report.summary.succeeded, TOTAL)
      assert.strictEqual(pulledAtCall.length, TOTAL / 200)
      // Bounded read-ahead (a chunk at a time, at most a window of chunks ahead), not the whole input.
      assert.isBelow(pulledAtCall[0]!, 10_000)
      assert.isBelow(Math.max(...pulledAtCall.map((p, i) => p - i * 200)), 10_000)
    }))

  it.effect("an empty input makes no call and an empty report", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const report = yield* B.disassociateAll([], { productCouponId: "P", stockId: "S", brandId: "B" }).pipe(
        Effect.provide(stubLayer([{ _tag: "Ok", dispositions: ["success"] }], new Map(), calls))
      )
      assert.deepStrictEqual(report.summary, {
        input: 0, unique: 0, duplicates: 0, succeeded: 0, failed: 0, unresolved: 0, chunks: 0, requests: 0, retries: {}
      })
      assert.strictEqual(calls.length, 0)
    }))

  for (const job of jobs) for (const concurrency of [1, 3, 8]) {
    it.effect(`${job.name}, concurrency ${concurrency}: the first call alone, then at most ${concurrency} in flight at once, and exactly that many reached`, () =>
      Effect.gen(function*() {
        let inFlight = 0
        const seen: Array<number> = []
        // Each call takes 100 ms of the TestClock, so calls overlap exactly as the job lets them.
        const slow = serviceWith(job.endpoint, (input) =>
            Effect.sync(() => seen.push(++inFlight)).pipe(
              Effect.zipRight(Effect.sleep("100 millis")),
              Effect.map(() => ({
                totalCount: input.storeList.length,
                successStoreList: input.storeList.map((x) => ({ storeId: ProductCoupon.StoreId.make(x.storeId) })),
                failedStoreList: [],
                requestId: "REQ"
              })),
              Effect.ensuring(Effect.sync(() => void inFlight--))
            ))
        const ids = Array.from({ length: 40 * 200 }, (_, i) => String(100_000_000 + i))
        const fiber = yield* job.run(ids, { productCouponId: "P", stockId: "S", brandId: "B", concurrency }).pipe(
          Effect.provide(slow),
          Effect.fork
        )
        while (Option.isNone(yield* Fiber.poll(fiber))) yield* TestClock.adjust("10 millis")
        const report = yield* Fiber.join(fiber)
        assert.strictEqual(report.summary.succeeded, ids.length)
        assert.strictEqual(seen.length, 40)
        assert.strictEqual(seen[0], 1, "the first call goes out alone")
        assert.strictEqual(Math.max(...seen), concurrency)
      }))
  }

  // A source that breaks part-way: nothing read from it may be lost with it.
  const sentLists = (lists: Array<ReadonlyArray<string>>) =>
    Layer.succeed(ProductCouponStores.ProductCouponStores, {
      ...otherEndpoints,
      disassociateStores: (input) =>
        Effect.gen(function*() {
          const ids = input.storeList.map((s) => s.storeId)
          lists.push(ids)
          const { onAttempt } = yield* ProductCouponStores.AttemptObserver
          // Still in flight when the source breaks: it must finish, not be interrupted.
          yield* Effect.repeatN(Effect.yieldNow(), 20)
          yield* onAttempt({ attempt: 1, baseUrl: "stub", outcome: "success", willRetry: false })
          return answerFor(ids, ["success"], [])
        })
    })
  const first450 = Array.from({ length: 450 }, (_, i) => `S${i}`)
  const breakingSources: ReadonlyArray<readonly [string, (ids: ReadonlyArray<string>, boom: unknown) => BulkDisassociation.StoreIds<unknown>]> = [
    ["a stream that fails", (ids, boom) => Stream.concat(Stream.fromIterable(ids).pipe(Stream.rechunk(7)), Stream.fail(boom))],
    ["an iterable that throws", (ids, boom) => (function*() {
      yield* ids
      throw boom
    })()],
    ["an async iterable that rejects", (ids, boom) => (async function*() {
      yield* ids
      throw boom
    })()]
  ]
  for (const [label, source] of breakingSources) {
    it.effect(`${label} after 450 ids: every id read is sent and reported, then a StoreSourceError with the report`, () =>
      Effect.gen(function*() {
        const boom = new Error(`${label}: disk gone`)
        const lists: Array<ReadonlyArray<string>> = []
        const events: Array<BulkDisassociation.ProgressEvent> = []
        const error = yield* B.disassociateAll(source(first450, boom), {
          productCouponId: "P",
          stockId: "S",
          brandId: "B",
          concurrency: 3,
          onProgress: (e) => Effect.sync(() => void events.push(e))
        }).pipe(Effect.provide(sentLists(lists)), Effect.flip)
        if (error._tag !== "StoreSourceError") return assert.fail(`unexpected ${error._tag}`)
        assert.strictEqual(error.cause, boom)
        const { report } = error
        // The short last call carries the 50 ids read after the second full one.
        assert.deepStrictEqual(lists, [first450.slice(0, 200), first450.slice(200, 400), first450.slice(400)])
        assert.deepStrictEqual(report.succeeded, first450)
        assert.deepStrictEqual(report.summary, {
          input: 450, unique: 450, duplicates: 0, succeeded: 450, failed: 0, unresolved: 0, chunks: 3, requests: 3, retries: {}
        })
        assert.deepStrictEqual(report.stoppedBy, {
          tag: "StoreSourceError",
          code: B.SOURCE_FAILED,
          message: `cannot read the store ids: ${label}: disk gone`
        })
        assert.deepStrictEqual(events.filter((e) => e._tag === "Stopped"), [{ _tag: "Stopped", ...report.stoppedBy! }])
        assert.strictEqual(events.filter((e) => e._tag === "ChunkSettled").length, 3)
      }))
  }

  it.effect("a stream's own error is the cause, even one tagged like ours", () =>
    Effect.gen(function*() {
      const own = { _tag: "StoreSourceError", cause: "from the caller's stream" } as const
      const lists: Array<ReadonlyArray<string>> = []
      const error = yield* B.disassociateAll(Stream.concat(Stream.make("S1"), Stream.fail(own)), {
        productCouponId: "P", stockId: "S", brandId: "B"
      }).pipe(Effect.provide(sentLists(lists)), Effect.flip)
      if (error._tag !== "StoreSourceError") return assert.fail(`unexpected ${error._tag}`)
      assert.strictEqual(error.cause, own)
      assert.deepStrictEqual(error.report.succeeded, ["S1"])
      assert.deepStrictEqual(lists, [["S1"]])
    }))

  it.effect("a stopping answer before the source breaks stays the reason the job stopped", () =>
    Effect.gen(function*() {
      const expired = new E.StockExpiredError({ ...api, code: "INVALID_REQUEST" })
      const error = yield* B.disassociateAll(breakingSources[1]![1](first450, "broken"), {
        productCouponId: "P", stockId: "S", brandId: "B"
      }).pipe(
        Effect.provide(Layer.succeed(ProductCouponStores.ProductCouponStores, { ...otherEndpoints, disassociateStores: () => Effect.fail(expired) })),
        Effect.flip
      )
      if (error._tag !== "StoreSourceError") return assert.fail(`unexpected ${error._tag}`)
      assert.strictEqual(error.report.stoppedBy?.tag, "StockExpiredError")
      assert.strictEqual(error.report.summary.failed, 200)
      assert.strictEqual(error.report.summary.unresolved, 250)
    }))

  it.effect.prop(
    "a source breaking at any point: every unique id read is in exactly one list, each sent once, in chunks of the size",
    [idsArb, FastCheck.nat(), FastCheck.integer({ min: 1, max: 200 }), FastCheck.integer({ min: 1, max: 5 }), FastCheck.constantFrom(0, 1, 2)],
    ([ids, at, chunkSize, concurrency, kind]) =>
      Effect.gen(function*() {
        const read = ids.slice(0, at % (ids.length + 1))
        const unique = firstSeen(read)
        const sendable = unique.filter((id) => ProductCoupon.idProblem(id) === undefined)
        const lists: Array<ReadonlyArray<string>> = []
        const error = yield* B.disassociateAll(breakingSources[kind]![1](read, "broken"), {
          productCouponId: "P", stockId: "S", brandId: "B", chunkSize, concurrency
        }).pipe(Effect.provide(sentLists(lists)), Effect.flip)
        if (error._tag !== "StoreSourceError") return assert.fail(`unexpected ${error._tag}`)
        const { report } = error
        // Sent: exactly the sendable ids read, once each, in the planned chunks.
        assert.deepStrictEqual(new Set(lists), new Set(planNow(sendable, chunkSize).chunks.map((c) => c)))
        assert.deepStrictEqual([...lists].sort((a, b) => sendable.indexOf(a[0]!) - sendable.indexOf(b[0]!)), planNow(sendable, chunkSize).chunks)
        assert.deepStrictEqual(report.succeeded, sendable)
        assert.deepStrictEqual(report.failed.map((f) => f.storeId), unique.filter((id) => !sendable.includes(id)))
        assert.deepStrictEqual(report.unresolved, [])
        const s = report.summary
        assert.strictEqual(s.input, read.length)
        assert.strictEqual(s.unique, unique.length)
        assert.strictEqual(s.succeeded + s.failed + s.unresolved, s.unique)
        assert.strictEqual(s.chunks, lists.length)
        assert.strictEqual(report.stoppedBy?.code, B.SOURCE_FAILED)
      }),
    { fastCheck: { numRuns: 120 } }
  )

  it.effect("dryRun plans without a service", () =>
    Effect.gen(function*() {
      const ids = ["a", "b", "a", "", "c", ...Array.from({ length: 400 }, (_, i) => `x${i}`)]
      const plan = yield* B.dryRun(ids)
      assert.strictEqual(plan.input, ids.length)
      assert.strictEqual(plan.unique, ids.length - 1)
      assert.strictEqual(plan.duplicates, 1)
      assert.deepStrictEqual(plan.invalid.map((f) => f.storeId), [""])
      assert.strictEqual(plan.calls, Math.ceil(403 / 200))
    }))
})

describe("disassociateAll refuses bad options before reading any id", () => {
  const never = Layer.succeed(ProductCouponStores.ProductCouponStores, {
    ...otherEndpoints,
    disassociateStores: () => Effect.dieMessage("nothing may be sent")
  })
  const ok = { productCouponId: "200000001", stockId: "123456789", brandId: "120344" }
  const cases: ReadonlyArray<readonly [string, Partial<BulkDisassociation.Options>, string, string]> = [
    ["concurrency NaN", { concurrency: Number.NaN }, "ConfigurationError", "concurrency"],
    ["concurrency 0", { concurrency: 0 }, "ConfigurationError", "concurrency"],
    ["concurrency 2.5", { concurrency: 2.5 }, "ConfigurationError", "concurrency"],
    ["chunkSize 201", { chunkSize: 201 }, "ConfigurationError", "chunkSize"],
    ["chunkSize -1", { chunkSize: -1 }, "ConfigurationError", "chunkSize"],
    ["an empty coupon id", { productCouponId: "" }, "RequestValidationError", "productCouponId"],
    ["a stock id of ..", { stockId: ".." }, "RequestValidationError", "stockId"],
    ["a brand id with a line break", { brandId: "12\n34" }, "RequestValidationError", "brandId"]
  ]
  for (const [name, patch, tag, field] of cases) {
    it.effect(name, () =>
      Effect.gen(function*() {
        let pulled = 0
        const ids = (function*() {
          pulled++
          yield "100000001"
        })()
        const error = yield* B.disassociateAll(ids, { ...ok, ...patch }).pipe(Effect.flip, Effect.provide(never))
        assert.strictEqual(error._tag, tag)
        assert.strictEqual(error._tag === "ConfigurationError" ? error.variable : error._tag === "RequestValidationError" ? error.field : "", field)
        assert.strictEqual(pulled, 0)
      }))
  }

  it.effect("dryRun refuses a chunk size outside 1..200", () =>
    Effect.gen(function*() {
      const error = yield* B.dryRun(["1"], 0).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ConfigurationError")
    }))
})

describe("disassociateAll: stopWhen, a graceful stop", () => {
  it.live("calls in flight finish and are reported; later chunks are not sent and are unresolved", () =>
    Effect.gen(function*() {
      const stop = yield* Deferred.make<void>()
      const calls: Array<ReadonlyArray<string>> = []
      const service = Layer.succeed(ProductCouponStores.ProductCouponStores, {
        ...otherEndpoints,
        disassociateStores: (input) =>
          Effect.gen(function*() {
            calls.push(input.storeList.map((s) => s.storeId))
            // The stop arrives while this call is in flight.
            yield* Deferred.succeed(stop, undefined)
            yield* Effect.sleep("20 millis")
            return {
              totalCount: input.storeList.length,
              successStoreList: input.storeList.map((s) => ({ storeId: ProductCoupon.StoreId.make(s.storeId) })),
              failedStoreList: [],
              requestId: "REQ"
            }
          })
      })
      const ids = Array.from({ length: 1_000 }, (_, i) => String(100_000_001 + i))
      const events: Array<BulkDisassociation.ProgressEvent> = []
      const report = yield* B.disassociateAll(ids, {
        productCouponId: "200000001",
        stockId: "123456789",
        brandId: "120344",
        concurrency: 4,
        stopWhen: Deferred.await(stop),
        onProgress: (e) => Effect.sync(() => void events.push(e))
      }).pipe(Effect.provide(service))
      assert.strictEqual(calls.length, 1)
      assert.deepStrictEqual(report.succeeded, calls[0])
      assert.strictEqual(report.summary.unresolved, 800)
      assert.strictEqual(report.summary.succeeded + report.summary.unresolved, report.summary.unique)
      assert.isTrue(report.unresolved.every((u) => u.reason === "not sent: the job was stopped before this call"))
      assert.strictEqual(report.stoppedBy?.tag, B.STOPPED_BY_CALLER)
      assert.strictEqual(events.filter((e) => e._tag === "Stopped").length, 1)
    }))
})
