// The codec's two forms: functions written out as JavaScript for each Schema, and the closures that
// serve where the runtime forbids building functions from text. Both must give exactly what the
// other gives (values and key order, which is the wire's byte order) for every endpoint's Schemas,
// on values the Schemas accept and on anything else; the Schemas themselves are the judge in
// family-schemas.test.ts and security-fuzz.test.ts.
import { assert, describe, it, vi } from "@effect/vitest"
import { Arbitrary, FastCheck, Schema } from "effect"
import * as endpoints from "../packages/effect-wechatpay/src/internal/endpoints.js"
import * as SchemaCodec from "../packages/effect-wechatpay/src/internal/SchemaCodec.js"

interface Case {
  readonly name: string
  readonly schema: Schema.Schema<any, any>
  readonly direction: "decode" | "encode"
  readonly trusted: boolean
  /** Values the Schema accepts, on the side the function reads. */
  readonly valid: FastCheck.Arbitrary<unknown>
}

const cases: Array<Case> = []
for (const [name, declared] of Object.entries(endpoints)) {
  // Each endpoint's Schemas as plain Schemas: the cases mix every endpoint's types.
  const endpoint = declared as unknown as {
    readonly request: Schema.Schema<any, any>
    readonly response: Schema.Schema<any, any>
    readonly body?: Schema.Schema<any, any>
  }
  const request = Schema.typeSchema(endpoint.request)
  cases.push({ name: `${name}: request validation`, schema: request, direction: "decode", trusted: false, valid: Arbitrary.make(request) })
  cases.push({
    name: `${name}: answer decoding`,
    schema: endpoint.response,
    direction: "decode",
    trusted: false,
    // Drawn on the domain side and encoded: the encoded side alone drops the refinements (an Int).
    valid: Arbitrary.make(endpoint.response).map(Schema.encodeSync(endpoint.response))
  })
  if (endpoint.body !== undefined) {
    const body = endpoint.body
    for (const trusted of [false, true]) {
      cases.push({
        name: `${name}: body encoding${trusted ? " of a validated request" : ""}`,
        schema: body,
        direction: "encode",
        trusted,
        valid: Arbitrary.make(Schema.typeSchema(body))
      })
    }
  }
}

// Valid values, valid values with a field broken or an extra key, and anything at all.
const mangled = (valid: FastCheck.Arbitrary<unknown>) =>
  FastCheck.tuple(valid, FastCheck.constantFrom("store_id", "storeId", "total_count", "brandId", "x_extra"), FastCheck.anything())
    .map(([value, key, replacement]) =>
      typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value, [key]: replacement } : value
    )

describe("the codec written out as JavaScript and as closures", () => {
  it("writes every endpoint's Schemas out (a silent fall-back to closures would keep them slow)", () => {
    for (const c of cases) {
      const generated = SchemaCodec.compile(c.schema.ast, c.direction, { trusted: c.trusted })
      const closures = SchemaCodec.compile(c.schema.ast, c.direction, { trusted: c.trusted, generated: false })
      // A Schema beyond the compiled shapes (the stock keeps unknown fields) goes to effect's parser either way.
      assert.strictEqual(generated === undefined, closures === undefined, c.name)
      if (generated === undefined || closures === undefined) continue
      assert.strictEqual(generated.name, "compiled", c.name)
      assert.notStrictEqual(closures.name, "compiled", c.name)
    }
    // The store calls, the hot path of every bulk job, are among those written out.
    const hot = cases.filter((c) => /Stores: /.test(c.name))
    assert.isAtLeast(hot.length, 10)
    for (const c of hot) assert.strictEqual(SchemaCodec.compile(c.schema.ast, c.direction, { trusted: c.trusted })?.name, "compiled", c.name)
  })

  const compiledCases = cases.filter((c) => SchemaCodec.compile(c.schema.ast, c.direction, { generated: false }) !== undefined)
  for (const c of compiledCases) {
    const generated = SchemaCodec.compile(c.schema.ast, c.direction, { trusted: c.trusted })!
    const closures = SchemaCodec.compile(c.schema.ast, c.direction, { trusted: c.trusted, generated: false })!
    const input = FastCheck.oneof(
      { weight: 3, arbitrary: c.valid },
      { weight: 2, arbitrary: mangled(c.valid) },
      { weight: 1, arbitrary: FastCheck.anything() }
    )
    it.prop(`${c.name}: the same value, or the same refusal`, [input], ([value]) => {
      const a = generated(value)
      const b = closures(value)
      assert.strictEqual(a === SchemaCodec.MISS, b === SchemaCodec.MISS)
      if (a !== SchemaCodec.MISS) {
        assert.deepStrictEqual(a, b)
        assert.strictEqual(JSON.stringify(a), JSON.stringify(b))
      }
    }, { fastCheck: { numRuns: 150 } })
  }

  it("the valid values drawn are accepted by both, so the comparison reaches the written-out path's end", () => {
    for (const c of compiledCases) {
      const generated = SchemaCodec.compile(c.schema.ast, c.direction, { trusted: c.trusted })!
      const drawn = FastCheck.sample(c.valid, { numRuns: 50, seed: 20261202 })
      const accepted = drawn.filter((value) => generated(value) !== SchemaCodec.MISS).length
      assert.isAbove(accepted, 40, c.name)
    }
  })

  it("where functions cannot be built from text, the closures serve alone and agree with the Schema", async () => {
    vi.resetModules()
    const original = globalThis.Function
    // A Content-Security-Policy without unsafe-eval: the constructor throws.
    const forbidden = function() {
      throw new EvalError("Refused to evaluate a string as JavaScript")
    } as unknown as FunctionConstructor
    globalThis.Function = forbidden
    let fresh: typeof SchemaCodec
    try {
      fresh = await import("../packages/effect-wechatpay/src/internal/SchemaCodec.js")
    } finally {
      globalThis.Function = original
    }
    const c = cases.find((c) => c.name === "disassociateStores: answer decoding")!
    const compiled = fresh.compile(c.schema.ast, "decode")!
    assert.notStrictEqual(compiled.name, "compiled")
    const decode = fresh.decoder(c.schema)
    const reference = Schema.decodeUnknownEither(c.schema)
    for (const value of FastCheck.sample(c.valid, { numRuns: 30, seed: 7 })) {
      assert.deepStrictEqual(decode(value), reference(value))
    }
  })
})
