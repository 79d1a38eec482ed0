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
 *
 * Each function is built twice over: as closures (below), and, where the runtime allows it, written
 * out as JavaScript for its one Schema ({@link generate}), which is what calls run.
 */
import { Either, identity, Option, type ParseResult, Schema, SchemaAST as AST } from "effect"

/** "Not sure": let the Schema decide. */
export const MISS: unique symbol = Symbol.for("effect-wechatpay/SchemaCodec/miss")
type Fast = (input: unknown) => unknown

const noOptions: AST.ParseOptions = {}

const isObject = (u: unknown): u is Record<PropertyKey, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

interface Field {
  readonly name: PropertyKey
  readonly optional: boolean
  readonly parse: Fast
}

/** Each property signature with its compiled parser, or `undefined` if one cannot be compiled. */
const compileFields = (
  signatures: ReadonlyArray<AST.PropertySignature>,
  parser: (ps: AST.PropertySignature) => Fast | undefined
): ReadonlyArray<Field> | undefined => {
  const fields: Array<Field> = []
  for (const ps of signatures) {
    const parse = parser(ps)
    if (parse === undefined) return undefined
    fields.push({ name: ps.name, optional: ps.isOptional, parse })
  }
  return fields
}

/** A union's members, each compiled, or `undefined` if one cannot be. */
const compileMembers = (types: ReadonlyArray<AST.AST>, compile: (type: AST.AST) => Fast | undefined): ReadonlyArray<Fast> | undefined => {
  const members: Array<Fast> = []
  for (const type of types) {
    const member = compile(type)
    if (member === undefined) return undefined
    members.push(member)
  }
  return members
}

/**
 * `nested`: the value sits inside a struct or an array. There a decoded struct or array that
 * came out equal to its input is the input itself, not a copy (a 200-store request is 201
 * objects). Only the outermost value is always a fresh object, so the fields read after
 * validation (path ids) are the ones validated; a nested value is read once more, when encoded.
 */
const compileAst = (ast: AST.AST, decoding: boolean, trusted = false, nested = false): Fast | undefined => {
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
      const from = compileAst(ast.from, decoding, trusted, nested)
      if (from === undefined) return undefined
      if (trusted) return from
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
      const item = compileAst(ast.rest[0]!.type, decoding, trusted, true)
      if (item === undefined) return undefined
      const keep = decoding && nested
      return (u) => {
        if (!Array.isArray(u)) return MISS
        // Copied only from the first element that decodes to something else.
        let out: Array<unknown> | undefined = keep && Object.getPrototypeOf(u) === Array.prototype ? undefined : new Array(u.length)
        for (let i = 0; i < u.length; i++) {
          const a = item(u[i])
          if (a === MISS) return MISS
          if (out === undefined) {
            if (a === u[i]) continue
            out = u.slice(0, i)
          }
          out[i] = a
        }
        return out ?? u
      }
    }
    case "TypeLiteral": {
      if (ast.indexSignatures.length !== 0 || ast.propertySignatures.length === 0) return undefined
      const fields = compileFields(ast.propertySignatures, (ps) => compileAst(ps.type, decoding, trusted, true))
      if (fields === undefined) return undefined
      const keep = decoding && nested && fields.every((field) => typeof field.name === "string")
      // The first `upTo` fields the input has, as they are (each one decoded to itself).
      const copy = (u: Record<PropertyKey, unknown>, upTo: number) => {
        const out: Record<PropertyKey, unknown> = {}
        for (let j = 0; j < upTo; j++) {
          const name = fields[j]!.name
          if (Object.hasOwn(u, name)) out[name] = u[name]
        }
        return out
      }
      // Kept as the input itself when every field decodes to itself and it has no key the Schema
      // would drop; copied from the first field that decodes to something else.
      return (u) => {
        if (!isObject(u)) return MISS
        let out: Record<PropertyKey, unknown> | undefined = keep && Object.getPrototypeOf(u) === Object.prototype ? undefined : {}
        let present = 0
        for (let i = 0; i < fields.length; i++) {
          const field = fields[i]!
          if (!Object.hasOwn(u, field.name)) {
            if (field.optional) continue
            return MISS
          }
          const value = u[field.name]
          const a = field.parse(value)
          if (a === MISS) return MISS
          present++
          if (out === undefined) {
            if (a === value) continue
            out = copy(u, i)
          }
          out[field.name] = a
        }
        if (out !== undefined) return out
        let keys = 0
        for (const _ in u) keys++
        return keys === present ? u : copy(u, fields.length)
      }
    }
    case "Union": {
      const members = compileMembers(ast.types, (type) => compileAst(type, decoding, trusted))
      if (members === undefined) return undefined
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
      const fused = fuseStruct(ast, transformation, decoding, trusted)
      if (fused !== undefined) return fused
      const first = trusted ? identity : compileAst(decoding ? ast.from : ast.to, decoding)
      const second = compileAst(decoding ? ast.to : ast.from, decoding, trusted)
      if (first === undefined || second === undefined) return undefined
      const renames = transformation.propertySignatureTransformations.map((pst) =>
        decoding
          ? { from: pst.from, to: pst.to, f: pst.decode }
          : { from: pst.to, to: pst.from, f: pst.encode }
      )
      const renamed = new Set<PropertyKey>(renames.map((rename) => rename.from))
      // A new object rather than `delete` on the old one (as effect's parser does): deleting keys
      // turns V8 objects into slow dictionaries, which cost more than the copy.
      return (u) => {
        const a = first(u)
        if (a === MISS) return MISS
        const record = a as Record<PropertyKey, unknown>
        const out: Record<PropertyKey, unknown> = {}
        for (const key in record) if (!renamed.has(key)) out[key] = record[key]
        for (const rename of renames) {
          const o = rename.f(Object.hasOwn(record, rename.from) ? Option.some(record[rename.from]) : Option.none())
          if (Option.isSome(o)) out[rename.to] = o.value
        }
        return second(out)
      }
    }
    default:
      return undefined
  }
}

/** One output field of a fused struct: where it is read from and how each side judges it. */
interface FusedField {
  readonly key: PropertyKey
  readonly optional: boolean
  /** The output field's type (the side being produced). */
  readonly type: AST.AST
  readonly from: PropertyKey
  readonly fromOptional: boolean
  /** The input field's type (the side being read). */
  readonly fromType: AST.AST
  readonly f: ((o: Option.Option<unknown>) => Option.Option<unknown>) | undefined
}

/**
 * How a struct whose keys are renamed (`fromKey`) or defaulted (`optionalWith`) is read in one
 * pass: each output field from its input key, judged by both sides' types, plus the input fields no
 * output field takes (still judged, as the general path judges them). `undefined` when the shape
 * is beyond this.
 */
const fusePlan = (
  ast: AST.Transformation,
  transformation: AST.TypeLiteralTransformation,
  decoding: boolean
): { readonly fields: ReadonlyArray<FusedField>; readonly rest: ReadonlyArray<AST.PropertySignature> } | undefined => {
  const source = decoding ? ast.from : ast.to
  const target = decoding ? ast.to : ast.from
  if (source._tag !== "TypeLiteral" || target._tag !== "TypeLiteral") return undefined
  if (source.indexSignatures.length !== 0 || target.indexSignatures.length !== 0) return undefined
  const moves = new Map<PropertyKey, { readonly to: PropertyKey; readonly f: (o: Option.Option<unknown>) => Option.Option<unknown> }>()
  for (const pst of transformation.propertySignatureTransformations) {
    if (decoding) moves.set(pst.from, { to: pst.to, f: pst.decode })
    else moves.set(pst.to, { to: pst.from, f: pst.encode })
  }
  const sourceFields = new Map(source.propertySignatures.map((ps) => [ps.name, ps]))
  for (const from of moves.keys()) if (!sourceFields.has(from)) return undefined
  const fields: Array<FusedField> = []
  const fed = new Set<PropertyKey>()
  for (const ps of target.propertySignatures) {
    let from: PropertyKey | undefined
    for (const [key, move] of moves) if (move.to === ps.name) from = key
    if (from === undefined && sourceFields.has(ps.name) && !moves.has(ps.name)) from = ps.name
    if (from === undefined) {
      if (!ps.isOptional) return undefined
      continue
    }
    const sourceField = sourceFields.get(from)!
    const f = moves.get(from)?.f
    fed.add(from)
    fields.push({
      key: ps.name,
      optional: ps.isOptional,
      type: ps.type,
      from,
      fromOptional: sourceField.isOptional,
      fromType: sourceField.type,
      f: f === undefined || f === identity ? undefined : f
    })
  }
  return { fields, rest: source.propertySignatures.filter((ps) => !fed.has(ps.name)) }
}

/** A fused struct ({@link fusePlan}) as closures, without the two intermediate objects of the general path. */
const fuseStruct = (
  ast: AST.Transformation,
  transformation: AST.TypeLiteralTransformation,
  decoding: boolean,
  trusted: boolean
): Fast | undefined => {
  const plan = fusePlan(ast, transformation, decoding)
  if (plan === undefined) return undefined
  interface Step extends FusedField {
    readonly parse: Fast
    readonly parseFrom: Fast
  }
  const steps: Array<Step> = []
  for (const field of plan.fields) {
    const parse = compileAst(field.type, decoding, trusted)
    // A trusted value's type side is already known good: it is passed on as it is.
    const parseFrom = trusted ? identity : compileAst(field.fromType, decoding)
    if (parse === undefined || parseFrom === undefined) return undefined
    steps.push({ ...field, parse, parseFrom })
  }
  const rest = compileFields(plan.rest, (ps) => trusted ? identity : compileAst(ps.type, decoding))
  if (rest === undefined) return undefined
  return (u) => {
    if (!isObject(u)) return MISS
    const out: Record<PropertyKey, unknown> = {}
    for (const step of steps) {
      let present = Object.hasOwn(u, step.from)
      let value: unknown
      if (present) {
        value = step.parseFrom(u[step.from])
        if (value === MISS) return MISS
      } else if (!step.fromOptional) {
        return MISS
      }
      if (step.f !== undefined) {
        const o = step.f(present ? Option.some(value) : Option.none())
        present = Option.isSome(o)
        if (present) value = (o as Option.Some<unknown>).value
      }
      if (!present) {
        if (step.optional) continue
        return MISS
      }
      const a = step.parse(value)
      if (a === MISS) return MISS
      out[step.key] = a
    }
    for (const field of rest) {
      if (Object.hasOwn(u, field.name)) {
        if (field.parse(u[field.name]) === MISS) return MISS
      } else if (!field.optional) {
        return MISS
      }
    }
    return out
  }
}

/**
 * Whether this runtime builds functions from text; a Content-Security-Policy without
 * `unsafe-eval`, or a worker platform, forbids it, and the closures above serve alone.
 */
const canGenerate: boolean = (() => {
  try {
    return new Function("return true")() === true
  } catch {
    return false
  }
})()

/**
 * The same functions as {@link compileAst}, written out as JavaScript for one AST: each call site
 * then sees one shape and one callee, which V8 inlines, where the closures share their call sites
 * among every Schema (about ten times slower on a 200-store list, docs/benchmarks.md). A failure
 * anywhere returns `MISS` from the whole function. Only names and values from the AST reach the
 * text: names as JSON string literals, everything else (filters, literals, transformations, and the
 * closure of any node written out here is not) as a bound reference.
 */
const generate = (ast: AST.AST, decoding: boolean, trusted: boolean, nested: boolean): Fast | undefined => {
  const refs: Array<unknown> = []
  const ref = (value: unknown): string => `r${refs.push(value) - 1}`
  let count = 0
  const fresh = (prefix: string): string => `${prefix}${count++}`
  interface Code {
    readonly code: string
    /** The variable (or input) holding the result once `code` has run. */
    readonly out: string
  }
  const closure = (node: AST.AST, d: boolean, t: boolean, n: boolean, input: string): Code | undefined => {
    const compiled = compileAst(node, d, t, n)
    if (compiled === undefined) return undefined
    const out = fresh("c")
    return { code: `const ${out} = ${ref(compiled)}(${input}); if (${out} === M) return M;\n`, out }
  }
  const isRecord = (x: string) => `typeof ${x} !== "object" || ${x} === null || isArray(${x})`
  const key = (name: PropertyKey): string | undefined => typeof name === "string" ? JSON.stringify(name) : undefined

  const emit = (node: AST.AST, d: boolean, t: boolean, n: boolean, x: string): Code | undefined => {
    switch (node._tag) {
      case "StringKeyword":
        return { code: `if (typeof ${x} !== "string") return M;\n`, out: x }
      case "NumberKeyword":
        return { code: `if (typeof ${x} !== "number" || ${x} !== ${x}) return M;\n`, out: x }
      case "BooleanKeyword":
        return { code: `if (typeof ${x} !== "boolean") return M;\n`, out: x }
      case "UnknownKeyword":
      case "AnyKeyword":
        return { code: "", out: x }
      case "UndefinedKeyword":
        return { code: `if (${x} !== undefined) return M;\n`, out: x }
      case "Literal":
        return { code: `if (${x} !== ${ref(node.literal)}) return M;\n`, out: x }
      case "Refinement": {
        const from = emit(node.from, d, t, n, x)
        if (from === undefined || t) return from
        // The filter judges the type side: the decoded value, or the value being encoded.
        const a = ref(node)
        return { code: `${from.code}if (${a}.filter(${d ? from.out : x}, noOptions, ${a})._tag === "Some") return M;\n`, out: from.out }
      }
      case "TupleType": {
        if (node.elements.length !== 0 || node.rest.length !== 1) return closure(node, d, t, n, x)
        const i = fresh("i"), e = fresh("e"), o = fresh("o")
        const item = emit(node.rest[0]!.type, d, t, true, e)
        if (item === undefined) return undefined
        // Copied only from the first element that decodes to something else.
        const start = d && n ? `getPrototypeOf(${x}) === arrayPrototype ? undefined : new Array(${x}.length)` : `new Array(${x}.length)`
        return {
          code: `if (!isArray(${x})) return M;\nlet ${o} = ${start};\n` +
            `for (let ${i} = 0; ${i} < ${x}.length; ${i}++) {\nconst ${e} = ${x}[${i}];\n${item.code}` +
            `if (${o} === undefined) { if (${item.out} === ${e}) continue; ${o} = ${x}.slice(0, ${i}); }\n${o}[${i}] = ${item.out};\n}\n` +
            `if (${o} === undefined) ${o} = ${x};\n`,
          out: o
        }
      }
      case "TypeLiteral": {
        if (node.indexSignatures.length !== 0 || node.propertySignatures.length === 0) return closure(node, d, t, n, x)
        const names = node.propertySignatures.map((ps) => key(ps.name))
        if (names.some((name) => name === undefined)) return closure(node, d, t, n, x)
        const o = fresh("o"), p = fresh("p")
        const keep = d && n
        // The first `upTo` fields the input has, as they are (each one decoded to itself).
        const copy = (upTo: number) =>
          `{ ${o} = {}; ${names.slice(0, upTo).map((name) => `if (hasOwn(${x}, ${name})) ${o}[${name}] = ${x}[${name}];`).join(" ")} }`
        let code = `if (${isRecord(x)}) return M;\nlet ${o} = ${keep ? `getPrototypeOf(${x}) === objectPrototype ? undefined : {}` : "{}"};\nlet ${p} = 0;\n`
        for (let j = 0; j < node.propertySignatures.length; j++) {
          const ps = node.propertySignatures[j]!
          const name = names[j]!
          const v = fresh("v")
          const field = emit(ps.type, d, t, true, v)
          if (field === undefined) return undefined
          const store = keep
            ? `if (${o} === undefined) { if (${field.out} !== ${v}) { ${copy(j)} ${o}[${name}] = ${field.out}; } } else ${o}[${name}] = ${field.out};`
            : `${o}[${name}] = ${field.out};`
          code += `if (hasOwn(${x}, ${name})) {\nconst ${v} = ${x}[${name}];\n${field.code}${p}++;\n${store}\n}` +
            (ps.isOptional ? "\n" : ` else return M;\n`)
        }
        // Kept as the input itself when every field decoded to itself and it has no key the Schema would drop.
        if (keep) {
          const k = fresh("k"), w = fresh("w")
          code += `if (${o} === undefined) { let ${k} = 0; for (const ${w} in ${x}) ${k}++; if (${k} === ${p}) ${o} = ${x}; else ${copy(names.length)} }\n`
        }
        return { code, out: o }
      }
      case "Union": {
        const members = compileMembers(node.types, (type) => compileFast(type, d, t))
        if (members === undefined) return undefined
        // Only the first member that accepts counts, as in the closures.
        const u = fresh("u")
        let code = `let ${u} = M;\n`
        for (const member of members) code += `if (${u} === M) ${u} = ${ref(member)}(${x});\n`
        return { code: `${code}if (${u} === M) return M;\n`, out: u }
      }
      case "Transformation": {
        const transformation = node.transformation
        const plan = transformation._tag === "TypeLiteralTransformation" ? fusePlan(node, transformation, d) : undefined
        if (plan === undefined) return closure(node, d, t, n, x)
        const fieldKeys = plan.fields.map((field) => [key(field.key), key(field.from)] as const)
        const restKeys = plan.rest.map((ps) => key(ps.name))
        if (fieldKeys.some(([k, f]) => k === undefined || f === undefined) || restKeys.some((k) => k === undefined)) {
          return closure(node, d, t, n, x)
        }
        let code = `if (${isRecord(x)}) return M;\n`
        const results: Array<{ readonly present: string; readonly value: string }> = []
        for (let j = 0; j < plan.fields.length; j++) {
          const field = plan.fields[j]!
          const from = fieldKeys[j]![1]
          const present = fresh("p"), value = fresh("v"), raw = fresh("w")
          // A trusted value's type side is already known good: it is passed on as it is.
          const read = t ? { code: "", out: raw } : emit(field.fromType, d, false, false, raw)
          if (read === undefined) return undefined
          code += `let ${present} = hasOwn(${x}, ${from}); let ${value};\n` +
            `if (${present}) {\nconst ${raw} = ${x}[${from}];\n${read.code}${value} = ${read.out};\n}` +
            (field.fromOptional ? "\n" : " else return M;\n")
          if (field.f !== undefined) {
            const option = fresh("s")
            code += `{ const ${option} = ${ref(field.f)}(${present} ? some(${value}) : none()); ${present} = ${option}._tag === "Some"; if (${present}) ${value} = ${option}.value; }\n`
          }
          const parsed = fresh("a"), inner = fresh("x")
          const parse = emit(field.type, d, t, false, inner)
          if (parse === undefined) return undefined
          code += `let ${parsed};\nif (${present}) {\nconst ${inner} = ${value};\n${parse.code}${parsed} = ${parse.out};\n}` +
            (field.optional ? "\n" : " else return M;\n")
          results.push({ present, value: parsed })
        }
        for (let j = 0; j < plan.rest.length; j++) {
          const ps = plan.rest[j]!
          const name = restKeys[j]!
          const raw = fresh("w")
          const check = t ? { code: "", out: raw } : emit(ps.type, d, false, false, raw)
          if (check === undefined) return undefined
          code += `if (hasOwn(${x}, ${name})) {\nconst ${raw} = ${x}[${name}];\n${check.code}}` + (ps.isOptional ? "\n" : " else return M;\n")
        }
        const o = fresh("o")
        code += `const ${o} = {};\n`
        for (let j = 0; j < plan.fields.length; j++) {
          const [to] = fieldKeys[j]!
          const { present, value } = results[j]!
          code += plan.fields[j]!.optional ? `if (${present}) ${o}[${to}] = ${value};\n` : `${o}[${to}] = ${value};\n`
        }
        return { code, out: o }
      }
      default:
        return closure(node, d, t, n, x)
    }
  }

  const body = emit(ast, decoding, trusted, nested, "input")
  if (body === undefined) return undefined
  const bound = refs.map((_, i) => `const r${i} = refs[${i}];`).join("\n")
  const source = `"use strict";\n${bound}\nreturn function compiled(input) {\n${body.code}return ${body.out};\n};`
  try {
    return new Function(
      "refs", "M", "hasOwn", "isArray", "getPrototypeOf", "objectPrototype", "arrayPrototype", "noOptions", "some", "none",
      source
    )(refs, MISS, Object.hasOwn, Array.isArray, Object.getPrototypeOf, Object.prototype, Array.prototype, noOptions, Option.some, Option.none) as Fast
  } catch {
    return undefined
  }
}

/**
 * The compiled function for `ast`: written out as JavaScript where the runtime allows it (and
 * `generated` is not false), else the closures; `undefined` when some part is beyond both.
 */
const compileFast = (ast: AST.AST, decoding: boolean, trusted = false, nested = false, generated = true): Fast | undefined => {
  const closures = compileAst(ast, decoding, trusted, nested)
  if (closures === undefined || !generated || !canGenerate) return closures
  return generate(ast, decoding, trusted, nested) ?? closures
}

/**
 * The compiled function for `ast`, or `undefined` when some part of it is beyond what is compiled.
 * `generated: false` takes the closures even where code could be written out (tests compare both).
 */
export const compile = (
  ast: AST.AST,
  direction: "decode" | "encode",
  options?: { readonly generated?: boolean; readonly trusted?: boolean }
): ((input: unknown) => unknown) | undefined =>
  compileFast(ast, direction === "decode", options?.trusted ?? false, false, options?.generated ?? true)

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

/**
 * `Schema.encodeEither` for values that came out of decoding `Schema.typeSchema(schema)` (or of
 * this schema): their type side already passed every check, so encoding only reshapes them and
 * the checks are not run a second and third time. Anything else must use {@link encoder}.
 */
export const encoderOfValidated = <A, I>(
  schema: Schema.Schema<A, I>
): (value: A) => Either.Either<I, ParseResult.ParseError> => {
  const slow = Schema.encodeEither(schema)
  const fast = compile(schema.ast, "encode", { trusted: true })
  if (fast === undefined) return slow
  return (value) => {
    const i = fast(value)
    return i === MISS ? slow(value) : Either.right(i as I)
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
