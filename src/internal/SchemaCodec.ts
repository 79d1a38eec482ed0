/**
 * Decoders and encoders compiled from a Schema's AST, so the Schemas stay the
 * one source of truth for the wire format while a 200-store call does not pay
 * effect's general parser (several µs per store for `fromKey` and brands; see
 * docs/benchmarks.md). The compiled function handles the shapes endpoint
 * Schemas are built from — structs, renamed keys, arrays, refinements (brands,
 * filters), literals, unions of those — and answers {@link MISS} for anything
 * it is not sure of; the Schema itself then decides and names the problem. So
 * the compiled path may refuse more than the Schema, never accept more, and
 * whatever it accepts comes out as the Schema would return it.
 */
import { Either, Option, type ParseResult, Schema, SchemaAST as AST } from "effect"

/** "Not sure": let the Schema decide. */
export const MISS: unique symbol = Symbol.for("effect-wechatpay/SchemaCodec/miss")
type Fast = (input: unknown) => unknown

const noOptions: AST.ParseOptions = {}

const isObject = (u: unknown): u is Record<PropertyKey, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const compileAst = (ast: AST.AST, decoding: boolean): Fast | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return (u) => typeof u === "string" ? u : MISS
    case "NumberKeyword":
      return (u) => typeof u === "number" && !Number.isNaN(u) ? u : MISS
    case "BooleanKeyword":
      return (u) => typeof u === "boolean" ? u : MISS
    case "UnknownKeyword":
    case "AnyKeyword":
      return (u) => u
    case "UndefinedKeyword":
      return (u) => u === undefined ? u : MISS
    case "Literal": {
      const literal = ast.literal
      return (u) => u === literal ? u : MISS
    }
    case "Refinement": {
      const from = compileAst(ast.from, decoding)
      if (from === undefined) return undefined
      // The filter judges the type side: the decoded value, or the value being encoded.
      return decoding
        ? (u) => {
          const a = from(u)
          return a === MISS || Option.isSome(ast.filter(a, noOptions, ast)) ? MISS : a
        }
        : (u) => {
          const i = from(u)
          return i === MISS || Option.isSome(ast.filter(u, noOptions, ast)) ? MISS : i
        }
    }
    case "TupleType": {
      if (ast.elements.length !== 0 || ast.rest.length !== 1) return undefined
      const item = compileAst(ast.rest[0]!.type, decoding)
      if (item === undefined) return undefined
      return (u) => {
        if (!Array.isArray(u)) return MISS
        const out = new Array(u.length)
        for (let i = 0; i < u.length; i++) {
          const a = item(u[i])
          if (a === MISS) return MISS
          out[i] = a
        }
        return out
      }
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length !== 0 || ast.propertySignatures.length === 0) return undefined
      const fields: Array<{ readonly name: PropertyKey; readonly optional: boolean; readonly parse: Fast }> = []
      for (const ps of ast.propertySignatures) {
        const parse = compileAst(ps.type, decoding)
        if (parse === undefined) return undefined
        fields.push({ name: ps.name, optional: ps.isOptional, parse })
      }
      return (u) => {
        if (!isObject(u)) return MISS
        const out: Record<PropertyKey, unknown> = {}
        for (const field of fields) {
          if (!Object.hasOwn(u, field.name)) {
            if (field.optional) continue
            return MISS
          }
          const a = field.parse(u[field.name])
          if (a === MISS) return MISS
          out[field.name] = a
        }
        return out
      }
    }
    case "Union": {
      const members: Array<Fast> = []
      for (const type of ast.types) {
        const member = compileAst(type, decoding)
        if (member === undefined) return undefined
        members.push(member)
      }
      // Only the first member that accepts counts; the Schema would too for the disjoint
      // members endpoint schemas use (an array, null, undefined).
      return (u) => {
        for (const member of members) {
          const a = member(u)
          if (a !== MISS) return a
        }
        return MISS
      }
    }
    case "Transformation": {
      const transformation = ast.transformation
      if (transformation._tag !== "TypeLiteralTransformation") return undefined
      const first = compileAst(decoding ? ast.from : ast.to, decoding)
      const second = compileAst(decoding ? ast.to : ast.from, decoding)
      if (first === undefined || second === undefined) return undefined
      const renames = transformation.propertySignatureTransformations.map((pst) =>
        decoding
          ? { from: pst.from, to: pst.to, f: pst.decode }
          : { from: pst.to, to: pst.from, f: pst.encode }
      )
      return (u) => {
        const a = first(u)
        if (a === MISS) return MISS
        const record = a as Record<PropertyKey, unknown>
        for (const rename of renames) {
          const o = rename.f(Object.hasOwn(record, rename.from) ? Option.some(record[rename.from]) : Option.none())
          delete record[rename.from]
          if (Option.isSome(o)) record[rename.to] = o.value
        }
        return second(record)
      }
    }
    default:
      return undefined
  }
}

/** The compiled function for `ast`, or `undefined` when some part of it is beyond what is compiled. */
export const compile = (ast: AST.AST, direction: "decode" | "encode"): ((input: unknown) => unknown) | undefined =>
  compileAst(ast, direction === "decode")

/** `Schema.decodeUnknownEither`, through the compiled path when it is sure. */
export const decoder = <A, I>(
  schema: Schema.Schema<A, I>
): (input: unknown) => Either.Either<A, ParseResult.ParseError> => {
  const slow = Schema.decodeUnknownEither(schema)
  const fast = compile(schema.ast, "decode")
  if (fast === undefined) return slow
  return (input) => {
    const a = fast(input)
    return a === MISS ? slow(input) : Either.right(a as A)
  }
}

/** `Schema.encodeEither`, through the compiled path when it is sure. */
export const encoder = <A, I>(schema: Schema.Schema<A, I>): (value: A) => Either.Either<I, ParseResult.ParseError> => {
  const slow = Schema.encodeEither(schema)
  const fast = compile(schema.ast, "encode")
  if (fast === undefined) return slow
  return (value) => {
    const i = fast(value)
    return i === MISS ? slow(value) : Either.right(i as I)
  }
}
