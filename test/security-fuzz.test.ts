// Bad input, fuzzed: the public request API (ProductCouponStores.disassociateStores over the
// in-memory sandbox) and the CLI's store files (StoreFile.stream). Every input ends in a typed
// error or a correctly encoded request to the one endpoint — never a defect, never another path.
// Also: the codec compiled from the Schemas (validation, body encoding, answer decoding) agrees
// with the Schemas exactly.
import { Headers, HttpClient } from "@effect/platform"
import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Effect, Either, Exit, FastCheck, Layer, Schema, Stream } from "effect"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import { StoreFileError } from "../packages/wechatpay-stores/src/StoreFile.js"
import * as StoreFile from "../packages/wechatpay-stores/src/StoreFile.js"
import { BulkDisassociation, ProductCoupon, ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import * as Endpoint from "../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import * as SchemaCodec from "../packages/effect-wechatpay/src/internal/SchemaCodec.js"
import { FakeWechatPay, SandboxHttpClient, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { keys } from "./support/Keys.js"

const F = FakeWechatPay.Fixture

// Units that hit every rule: path syntax, dot segments, percent, controls (C0, C1, DEL), whitespace,
// CJK, BMP edges, astral characters and lone surrogates.
const nasty = FastCheck.constantFrom(
  "/", "?", "#", "%", "..", ".", "%2e", "%2F", "\\", "@", ":", " ", "\t", "\r", "\n", "\u0000", "\u001f", "\u007f",
  "\u0085", "\u009f", "\u3000", "门", "\uFFFF", "😀", "𠀀", "\uD800", "\uDFFF", "a", "1", "&", "=", "+"
)
const anyString = FastCheck.oneof(
  FastCheck.string({ unit: nasty, maxLength: 12 }),
  FastCheck.string({ unit: "binary", maxLength: 12 }),
  FastCheck.constantFrom("", ".", "..", "%2E%2E", "../../v3/refund", "?x=1", "#frag", " ", "\u0000")
)
const anyEntry = FastCheck.oneof(
  { weight: 6, arbitrary: FastCheck.record({ storeId: anyString }) },
  { weight: 1, arbitrary: FastCheck.anything() }
)
// Ids WeChat Pay accepts, still full of path syntax, percent signs and CJK: without them almost no
// drawn input is valid, and the "correctly encoded request" half of the properties would rarely run.
const sendable = FastCheck.string({
  unit: FastCheck.constantFrom("/", "?", "#", "%", "%2e", "\\", "@", ":", " ", "\u3000", "门", "\uFFFF", "a", "1", "&", "=", "+"),
  minLength: 1,
  maxLength: 12
}).filter((id) => ProductCoupon.idProblem(id) === undefined && ProductCoupon.pathSegmentProblem(id) === undefined)
const sendableInput = FastCheck.record({
  productCouponId: sendable,
  stockId: sendable,
  brandId: sendable,
  storeList: FastCheck.array(FastCheck.record({ storeId: sendable }), { minLength: 1, maxLength: 8 })
})
const anyInput = FastCheck.oneof(
  { weight: 8, arbitrary: sendableInput },
  {
    weight: 8,
    arbitrary: FastCheck.record({
      productCouponId: anyString,
      stockId: anyString,
      brandId: anyString,
      storeList: FastCheck.array(anyEntry, { maxLength: 8 })
    })
  },
  { weight: 1, arbitrary: FastCheck.anything() }
)

const schemaValidate = Schema.decodeUnknownEither(Schema.typeSchema(ProductCoupon.DisassociateStoresRequest))
const schemaDecodeBody = Schema.decodeUnknownEither(ProductCoupon.ResponseBody)
const schemaEncodeBody = Schema.encodeEither(ProductCoupon.RequestBody)
const disassociate = Endpoint.compile(endpoints.disassociateStores)

describe("the codec compiled from the Schemas agrees with the Schemas", () => {
  const compiledValidate = SchemaCodec.decoder(Schema.typeSchema(ProductCoupon.DisassociateStoresRequest))
  it.prop("the compiled request decoder accepts exactly what the Schema accepts, with the same value", [anyInput], ([input]) => {
    const fast = compiledValidate(input)
    const slow = schemaValidate(input)
    assert.strictEqual(fast._tag, slow._tag)
    if (Either.isRight(fast) && Either.isRight(slow)) assert.deepStrictEqual(fast.right, slow.right)
    const validated = disassociate.validate(input)
    assert.strictEqual(validated._tag, slow._tag)
    if (Either.isRight(validated) && Either.isRight(slow)) assert.deepStrictEqual(validated.right, slow.right)
    if (Either.isLeft(validated)) assert.strictEqual(validated.left._tag, "RequestValidationError")
  }, { fastCheck: { numRuns: 400 } })

  const compiledEncodeBody = SchemaCodec.encoder(ProductCoupon.RequestBody)
  it.prop("the compiled body encoder accepts exactly what Schema.encodeEither accepts, with the same wire value", [anyInput], ([input]) => {
    // Valid requests (as validate brands them) and arbitrary values a caller could pass unvalidated.
    const validated = schemaValidate(input)
    const value = (Either.isRight(validated) ? validated.right : input) as typeof ProductCoupon.RequestBody.Type
    const fast = compiledEncodeBody(value)
    const slow = schemaEncodeBody(value)
    assert.strictEqual(fast._tag, slow._tag)
    if (Either.isRight(fast) && Either.isRight(slow)) assert.deepStrictEqual(fast.right, slow.right)
    const prepared = Either.isRight(validated) ? disassociate.prepare(validated.right) : undefined
    if (prepared !== undefined && Either.isRight(slow)) {
      assert.isTrue(Either.isRight(prepared))
      if (Either.isRight(prepared) && prepared.right.body._tag === "Uint8Array") {
        assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(prepared.right.body.body)), slow.right)
      } else {
        assert.fail("prepare gave no JSON body")
      }
    }
  }, { fastCheck: { numRuns: 400 } })

  const entry = FastCheck.oneof(
    FastCheck.record({ store_id: FastCheck.oneof(FastCheck.string(), FastCheck.integer()) }),
    FastCheck.record({ store_id: FastCheck.string(), code: FastCheck.string(), message: FastCheck.string(), extra: FastCheck.integer() }),
    FastCheck.record({ store_id: FastCheck.string(), code: FastCheck.string() }),
    FastCheck.jsonValue()
  )
  const list = FastCheck.oneof(FastCheck.constant(null), FastCheck.array(entry, { maxLength: 4 }), FastCheck.jsonValue())
  const wellFormed = FastCheck.record({
    total_count: FastCheck.integer(),
    success_store_list: FastCheck.array(FastCheck.record({ store_id: FastCheck.string() }), { maxLength: 4 }),
    failed_store_list: FastCheck.array(
      FastCheck.record({ store_id: FastCheck.string(), code: FastCheck.string(), message: FastCheck.string() }),
      { maxLength: 4 }
    )
  }, { requiredKeys: ["total_count"] })
  const answer = FastCheck.oneof(
    { weight: 1, arbitrary: wellFormed },
    {
      weight: 1,
      arbitrary: FastCheck.oneof(
        FastCheck.record(
          {
            total_count: FastCheck.oneof(FastCheck.integer(), FastCheck.double(), FastCheck.string(), FastCheck.constant(2 ** 60)),
            success_store_list: list,
            failed_store_list: list,
            extra: FastCheck.jsonValue()
          },
          { requiredKeys: [] }
        ),
        FastCheck.jsonValue()
      )
    }
  )

  it("the answers drawn reach both halves: decodable and undecodable each make up a good part", () => {
    const drawn = FastCheck.sample(answer, { numRuns: 2_000, seed: 20261201 })
    const decodable = drawn.filter((json) => Either.isRight(schemaDecodeBody(json))).length / drawn.length
    assert.isAbove(decodable, 0.25)
    assert.isBelow(decodable, 0.75)
  })

  const compiledDecodeBody = SchemaCodec.decoder(ProductCoupon.ResponseBody)
  it.prop("the compiled answer decoder and decode give the Schema's value for any JSON answer, or fail where it fails", [answer], ([json]) => {
    const text = JSON.stringify(json) ?? "null"
    const parsed: unknown = JSON.parse(text)
    const slow = schemaDecodeBody(parsed)
    const fast = compiledDecodeBody(JSON.parse(text))
    assert.strictEqual(fast._tag, slow._tag)
    if (Either.isRight(fast) && Either.isRight(slow)) assert.deepStrictEqual(fast.right, slow.right)
    const decoded = disassociate.decode({ status: 200, requestId: "R", headers: Headers.empty, body: new TextEncoder().encode(text), url: "" })
    if (Either.isRight(slow)) {
      assert.isTrue(Either.isRight(decoded))
      if (Either.isRight(decoded)) assert.deepStrictEqual(decoded.right, { ...slow.right, requestId: "R" })
    } else {
      assert.isTrue(Either.isLeft(decoded))
      if (Either.isLeft(decoded)) assert.strictEqual(decoded.left._tag, "ResponseDecodeError")
    }
  }, { fastCheck: { numRuns: 400 } })
})

// The public request API over the in-memory sandbox: what reached it, if anything, is the endpoint.
const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 50 }), rateLimit: false })
const serviceLayer = ProductCouponStores.layerMerchant(TestKeys.merchantOptions(keys), { rateLimit: false, retry: false }).pipe(
  Layer.provide(Layer.succeed(HttpClient.HttpClient, SandboxHttpClient.make(fake)))
)

const call = (input: unknown) =>
  Effect.gen(function*() {
    const before = fake.log.length
    const service = yield* ProductCouponStores.ProductCouponStores
    // The public signature takes typed input; the fuzzer also sends what JavaScript callers could.
    const exit = yield* Effect.exit(service.disassociateStores(input as ProductCouponStores.DisassociateStoresInput))
    return { exit, sent: fake.log.slice(before) }
  })

/** The failure is typed (no defect, no interruption), and anything sent went to the endpoint with these ids. */
const checkOutcome = (
  input: unknown,
  outcome: { readonly exit: Exit.Exit<unknown, { readonly _tag: string }>; readonly sent: ReadonlyArray<FakeWechatPay.LogEntry> }
) => {
  const { exit, sent } = outcome
  if (Exit.isFailure(exit)) {
    assert.isFalse(Cause.isDie(exit.cause), Cause.pretty(exit.cause))
    assert.isTrue(Cause.isFailType(exit.cause))
  }
  const valid = Either.isRight(schemaValidate(input))
  if (!valid) {
    assert.lengthOf(sent, 0, "an invalid request must not be sent")
    assert.isTrue(Exit.isFailure(exit))
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause)
      assert.strictEqual(failure._tag === "Some" ? failure.value._tag : "none", "RequestValidationError")
    }
    return
  }
  assert.lengthOf(sent, 1)
  const entry = sent[0]!
  const m = FakeWechatPay.ENDPOINT_PATH.exec(entry.target)
  assert.isNotNull(m, entry.target)
  assert.isTrue(entry.target.startsWith(endpoints.disassociateStores.path.slice(0, endpoints.disassociateStores.path.indexOf("{"))))
  assert.notInclude(entry.target, "?")
  assert.notInclude(entry.target, "#")
  const i = input as ProductCoupon.DisassociateStoresInput
  assert.strictEqual(decodeURIComponent(m![1]!), i.productCouponId)
  assert.strictEqual(decodeURIComponent(m![2]!), i.stockId)
  assert.deepStrictEqual(
    (JSON.parse(entry.bodyText) as { store_list: Array<{ store_id: string }> }).store_list.map((s) => s.store_id),
    i.storeList.map((s) => s.storeId)
  )
}

describe("the fuzzers' inputs", () => {
  it("reach both halves: valid and invalid requests each make up a good part of what is drawn", () => {
    const drawn = FastCheck.sample(anyInput, { numRuns: 2_000, seed: 20261201 })
    const valid = drawn.filter((input) => Either.isRight(schemaValidate(input))).length / drawn.length
    assert.isAbove(valid, 0.25)
    assert.isBelow(valid, 0.75)
  })
})

layer(serviceLayer)("the public request API, fuzzed", (it) => {
  it.effect.prop("arbitrary input: a typed error or a correctly encoded request to the endpoint", [anyInput], ([input]) =>
    Effect.map(call(input), (outcome) => checkOutcome(input, outcome)), { fastCheck: { numRuns: 300 } })

  it.effect("huge strings, astral characters and 100,000-element lists end in typed errors, not defects", () =>
    Effect.gen(function*() {
      const huge = "9".repeat(1_000_000)
      const cases: ReadonlyArray<unknown> = [
        { productCouponId: huge, stockId: F.stockId, brandId: F.brandId, storeList: [{ storeId: "1" }] },
        { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId, storeList: [{ storeId: huge }] },
        { productCouponId: "😀", stockId: F.stockId, brandId: F.brandId, storeList: [{ storeId: "1" }] },
        {
          productCouponId: F.productCouponId,
          stockId: F.stockId,
          brandId: F.brandId,
          storeList: Array.from({ length: 100_000 }, (_, k) => ({ storeId: String(k) }))
        },
        { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId, storeList: [] },
        { productCouponId: "..", stockId: F.stockId, brandId: F.brandId, storeList: [{ storeId: "1" }] },
        { productCouponId: F.productCouponId, stockId: "%2e%2e", brandId: "\u0000", storeList: [{ storeId: "1" }] },
        null,
        "a string",
        [1, 2, 3]
      ]
      for (const input of cases) checkOutcome(input, yield* call(input))
    }))

  it.effect("ids full of / ? # % .. are percent-encoded into their own segments and reach the endpoint", () =>
    Effect.gen(function*() {
      const input = {
        productCouponId: "../../v3/refund?x=1#y",
        stockId: "%2e%2e/%",
        brandId: F.brandId,
        storeList: [{ storeId: "a/b?c#d%e" }]
      }
      const outcome = yield* call(input)
      checkOutcome(input, outcome)
      // The sandbox knows no such coupon: a typed 404, after the request reached the right path.
      const failure = Exit.isFailure(outcome.exit) ? Cause.failureOption(outcome.exit.cause) : undefined
      assert.strictEqual(failure?._tag === "Some" ? failure.value._tag : "none", "ProductCouponNotFoundError")
    }))
})

// The CLI's input files.
const withFile = <A, E>(content: string | Uint8Array, f: (path: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "security-fuzz-"))
      const file = Path.join(dir, "stores")
      await Fs.writeFile(file, content)
      return dir
    }),
    (dir) => f(Path.join(dir, "stores")),
    (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
  )

const readAll = (path: string) => Effect.exit(Stream.runCollect(StoreFile.stream(path)))

/** A StoreFileError or a list of strings; never a defect. */
const checkFile = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isFailure(exit)) {
    assert.isFalse(Cause.isDie(exit.cause), Cause.pretty(exit.cause))
    const failure = Cause.failureOption(exit.cause)
    assert.isTrue(failure._tag === "Some" && failure.value instanceof StoreFileError)
  }
}

const fileText = FastCheck.oneof(
  FastCheck.string({ unit: FastCheck.oneof(nasty, FastCheck.constantFrom(",", "\"", "[", "]", "{", "}", "store_id", "\n", "\r\n", "\uFEFF")), maxLength: 80 }),
  FastCheck.string({ unit: "binary", maxLength: 80 }),
  FastCheck.array(FastCheck.oneof(FastCheck.string(), FastCheck.jsonValue()), { maxLength: 6 }).map((xs) => JSON.stringify(xs)),
  FastCheck.array(FastCheck.string({ unit: nasty, maxLength: 6 }), { maxLength: 6 }).map((xs) => `store_id,name\n${xs.join(",\n")}`)
)

describe("the CLI's store files, fuzzed", () => {
  it.effect.prop("arbitrary text: ids (strings) or a StoreFileError, never a defect", [fileText], ([text]) =>
    withFile(text, (path) => Effect.map(readAll(path), checkFile)), { fastCheck: { numRuns: 120 } })

  it.effect("malformed JSON and CSV, raw bytes, NULs and an empty file: typed errors or plain ids", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<string | Uint8Array> = [
        "[", "[\"a\", 1]", "[{\"store_id\": 5}]", "{\"store_id\": \"a\"}", "[\"a\",]",
        "store_id,name\n\"unterminated,x\n", "name,other\n1,2\n", "store_id\n\"a\"\"b\"\n",
        "", "\n\n\n", "\uFEFF\uFEFF", "a\u0000b\n../x\n%2e%2e\n",
        new Uint8Array([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x0a, 0xed, 0xa0, 0x80])
      ]
      for (const content of cases) checkFile(yield* withFile(content, readAll))
    }))

  it.effect("a 100,000-line file with hostile ids: every id is read, and the dry run sorts them without a defect", () =>
    withFile(
      Array.from({ length: 100_000 }, (_, k) => k % 7 === 0 ? `../${k}/%2F?#` : k % 11 === 0 ? `😀${k}` : String(k)).join("\n"),
      (path) =>
        Effect.gen(function*() {
          const plan = yield* BulkDisassociation.dryRun(StoreFile.stream(path))
          assert.strictEqual(plan.input, 100_000)
          assert.strictEqual(plan.unique, 100_000)
          // Astral characters are refused per id; path syntax in a store id is fine (it travels in the body).
          assert.strictEqual(plan.invalid.length, Array.from({ length: 100_000 }, (_, k) => k).filter((k) => k % 7 !== 0 && k % 11 === 0).length)
        })
    ))

  it.effect("a missing file is a StoreFileError", () =>
    Effect.map(readAll("/nonexistent/dir/stores.txt"), (exit) => {
      checkFile(exit)
      assert.isTrue(Exit.isFailure(exit))
    }))
})
