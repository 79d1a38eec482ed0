/**
 * The codec written out as JavaScript for one Schema, where the runtime allows it: the same
 * functions as the closures (SchemaCodecClosures.ts), which serve wherever this cannot.
 */
import { Option, SchemaAST as AST } from "effect"
import { compileAst, compileMembers, type Fast, fusePlan, MISS, noOptions } from "./SchemaCodecClosures.js"

/**
 * Whether this runtime builds functions from text; a Content-Security-Policy without
 * `unsafe-eval`, or a worker platform, forbids it, and the closures serve alone.
 */
export const canGenerate: boolean = (() => {
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
export const generate = (
  ast: AST.AST,
  decoding: boolean,
  trusted: boolean,
  nested: boolean,
  /** How a union's member is compiled (each member is a function of its own). */
  member: (ast: AST.AST, decoding: boolean, trusted: boolean) => Fast | undefined
): Fast | undefined => {
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
        const members = compileMembers(node.types, (type) => member(type, d, t))
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

