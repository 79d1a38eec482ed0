/**
 * The codec's closures: one function per AST node, composed, for the shapes endpoint Schemas are
 * built from (see SchemaCodec.ts for the rules every compiled function keeps). They serve alone where
 * the runtime forbids building functions from text, and for nodes SchemaCodecGenerated.ts does not
 * write out; the shared pieces (`MISS`, the fused-struct plan, the union's members) are here.
 */
import { identity, Option, SchemaAST as AST } from "effect"

/** "Not sure": let the Schema decide. */
export const MISS: unique symbol = Symbol.for("effect-wechatpay/SchemaCodec/miss")
export type Fast = (input: unknown) => unknown

export const noOptions: AST.ParseOptions = {}

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
export const compileMembers = (types: ReadonlyArray<AST.AST>, compile: (type: AST.AST) => Fast | undefined): ReadonlyArray<Fast> | undefined => {
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
export const compileAst = (ast: AST.AST, decoding: boolean, trusted = false, nested = false): Fast | undefined => {
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
export interface FusedField {
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
export const fusePlan = (
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

