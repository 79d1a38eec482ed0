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
 * Each function is written out as JavaScript for its one Schema where the runtime allows it
 * (SchemaCodecGenerated.ts), which is what calls run; elsewhere the closures serve
 * (SchemaCodecClosures.ts).
 */
import { Either, type ParseResult, Schema, type SchemaAST as AST } from "effect"
import { compileAst, type Fast, MISS } from "./SchemaCodecClosures.js"
import { canGenerate, generate } from "./SchemaCodecGenerated.js"

export { MISS } from "./SchemaCodecClosures.js"

/**
 * The compiled function for `ast`: written out as JavaScript where the runtime allows it (and
 * `generated` is not false), else the closures; `undefined` when some part is beyond both.
 */
const compileFast = (ast: AST.AST, decoding: boolean, trusted = false, nested = false, generated = true): Fast | undefined =>
  // A tree the closures cannot compile the generator cannot either (it calls them for every node it does not
  // write out), so they are compiled only when it gives nothing.
  (generated && canGenerate ? generate(ast, decoding, trusted, nested, compileFast) : undefined) ??
    compileAst(ast, decoding, trusted, nested)

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
