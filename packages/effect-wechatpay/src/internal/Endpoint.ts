/**
 * An endpoint as a declaration — method, path template, which request fields
 * fill the path and the query, the body and answer Schemas, the error table —
 * and the one function that turns a declaration into a typed call: validate →
 * encode once → (every attempt) sign the exact request-target and bytes, send,
 * verify → decode → typed success or typed error. Adding an endpoint is a
 * declaration; nothing here changes.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { type Effect, Either, ParseResult, Schema } from "effect"
import {
  type ApiErrorProps,
  type HasBehaviour,
  RequestEncodeError,
  RequestValidationError,
  ResponseDecodeError,
  UnknownApiError,
  type WechatPayApiError
} from "../WechatPayError.js"
import type { VerifiedResponse } from "../WechatPayClient.js"
import type * as Call from "./Call.js"
import type { Quota } from "./RateLimiter.js"
import { excerpt } from "./excerpt.js"
import * as SchemaCodec from "./SchemaCodec.js"

/** One row of an endpoint's documented error table. */
export interface ErrorRow<E> {
  readonly status: number
  readonly code: string
  /** A distinctive fragment of the documented message, for rows that share status and code. */
  readonly fragment?: string
  readonly make: (props: ApiErrorProps) => E
}

/** An error table; the error type is the union of its rows'. */
export const errors = <const Es extends ReadonlyArray<unknown>>(
  ...rows: { readonly [K in keyof Es]: ErrorRow<Es[K]> }
): ReadonlyArray<ErrorRow<Es[number]>> => rows

/** The `{param}` placeholders of a path template, as a union of their names. */
export type PathParams<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}` ? Name | PathParams<Rest>
  : never

/** Everything an endpoint is, as data. `Req` is the whole validated request, in domain (camelCase) form. */
export interface Endpoint<Req, Res, E, Path extends string = string> {
  /** Names the call's span: `<service>.<name>`. */
  readonly name: string
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  /** The documented path, with `{param}` placeholders. */
  readonly path: Path
  /** Which request field fills each placeholder (percent-encoded as one segment): the compiler checks every one has one. */
  readonly pathParams: { readonly [param in PathParams<Path>]: keyof Req & string }
  /** Query parameters (wire name → request field); absent (undefined) fields are left out. */
  readonly query?: { readonly [param: string]: keyof Req & string }
  /** The request as the caller gives it, domain side: validates and brands. */
  readonly request: Schema.Schema<Req, any>
  /** The JSON body: a Schema from the request's body fields to their wire form. */
  readonly body?: Schema.Schema<any, any>
  /** A verified 2xx answer's JSON, wire ⇄ domain. */
  readonly response: Schema.Schema<Res, any>
  /** Checked in order; a row's fragment, when it has one, must appear in the message. Anything else is `UnknownApiError`. */
  readonly errors: ReadonlyArray<ErrorRow<E>>
  /** The documented quota this endpoint counts against; endpoints naming the same quota share one limiter. */
  readonly quota: Quota
  /** Attributes for the call's span (ids and sizes, never secrets). */
  readonly spanAttributes?: (request: Req) => Readonly<Record<string, string | number>>
}

/** Declares an endpoint (an identity: it fixes the types). */
export const make = <Req, Res, E, const Path extends string>(
  endpoint: Endpoint<Req, Res, E, Path>
): Endpoint<Req, Res, E, Path> => endpoint

/** The result of a call: the decoded answer and the `Request-ID` to quote to WeChat Pay support. */
export type Result<Res> = Res & { readonly requestId: string | undefined }

/** Everything a call of this endpoint can fail with. */
export type Error<E> = E | UnknownApiError | RequestValidationError | RequestEncodeError | Call.CallError

/** Where an issue is, as a path into `whole` (the request, or the answer's body) when it is the whole of it. */
const fieldOf = (path: ReadonlyArray<PropertyKey>, whole: string): string => {
  let out = ""
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out === "" ? "" : "."}${String(key)}`
  }
  return out === "" ? whole : out
}

const firstIssue = (error: ParseResult.ParseError): ParseResult.ArrayFormatterIssue | undefined => {
  try {
    return ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  } catch {
    // The formatter prints the value at fault, recursively: an answer nested deep enough overflows the stack.
    return undefined
  }
}

/** The first problem of an invalid request, with the field at fault. */
export const toValidationError = (error: ParseResult.ParseError): RequestValidationError => {
  const issue = firstIssue(error)
  const path = issue?.path ?? []
  const index = path.find((key): key is number => typeof key === "number")
  const reason = issue?.message ?? "is invalid"
  return new RequestValidationError(
    index === undefined ? { field: fieldOf(path, "request"), reason } : { field: fieldOf(path, "request"), reason, index }
  )
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** An endpoint's pieces, compiled once: what a call runs. */
export interface Compiled<Req, Res, E> {
  readonly endpoint: Endpoint<Req, Res, E>
  readonly validate: (input: unknown) => Either.Either<Req, RequestValidationError>
  /** The request to send (URL relative to the base URL), built from a validated request. */
  readonly prepare: (request: Req) => Either.Either<HttpClientRequest.HttpClientRequest, RequestEncodeError>
  /** `prepare` for a request `validate` returned: the body's checks are not run again. */
  readonly prepareValidated: (request: Req) => Either.Either<HttpClientRequest.HttpClientRequest, RequestEncodeError>
  readonly decode: (response: VerifiedResponse) => Either.Either<Result<Res>, ResponseDecodeError>
  readonly apiError: (error: WechatPayApiError) => E | UnknownApiError
}

export const compile = <Req, Res, E>(endpoint: Endpoint<Req, Res, E>): Compiled<Req, Res, E> => {
  // Callers pass the domain (camelCase) form: only its rules apply, not the wire renames.
  const validateRequest = SchemaCodec.decoder(Schema.typeSchema(endpoint.request))
  const encodeBody = endpoint.body === undefined ? undefined : SchemaCodec.encoder(endpoint.body)
  const encodeValidatedBody = endpoint.body === undefined ? undefined : SchemaCodec.encoderOfValidated(endpoint.body)
  const decodeBody = SchemaCodec.decoder(endpoint.response)
  // The template split once: literal text and the fields that go between.
  const parts = endpoint.path.split(/\{([^}]+)\}/)
  const pathParams: Readonly<Record<string, string | undefined>> = endpoint.pathParams
  const pathFields = parts.map((part, i) => i % 2 === 1 ? pathParams[part] : undefined)
  const query = Object.entries(endpoint.query ?? {})

  const prepareWith = (
    encodeBody: ((request: Req) => Either.Either<unknown, ParseResult.ParseError>) | undefined
  ) =>
  (request: Req): Either.Either<HttpClientRequest.HttpClientRequest, RequestEncodeError> => {
    const record = request as Record<string, unknown>
    let path = ""
    for (let i = 0; i < parts.length; i++) {
      const field = pathFields[i]
      path += field === undefined ? parts[i] : encodeURIComponent(String(record[field]))
    }
    let out = HttpClientRequest.make(endpoint.method)(path)
    const params: Array<[string, string]> = []
    for (const [name, field] of query) {
      const value = record[field]
      if (value !== undefined) params.push([name, String(value)])
    }
    if (params.length > 0) out = HttpClientRequest.setUrlParams(out, params)
    if (encodeBody === undefined) return Either.right(out)
    const wire = encodeBody(request)
    if (Either.isLeft(wire)) {
      return Either.left(new RequestEncodeError({ reason: firstIssue(wire.left)?.message ?? "does not fit the body" }))
    }
    // A Schema's encoded side is JSON data; a BigInt or a cycle slipped past one is an error, not a throw.
    let text: string
    try {
      text = JSON.stringify(wire.right)
    } catch (cause) {
      return Either.left(new RequestEncodeError({ reason: cause instanceof Error ? cause.message : "no JSON form" }))
    }
    return Either.right(HttpClientRequest.bodyUint8Array(out, encoder.encode(text), "application/json"))
  }

  const decode = (response: VerifiedResponse): Either.Either<Result<Res>, ResponseDecodeError> => {
    const text = decoder.decode(response.body)
    const base = response.requestId === undefined
      ? { status: response.status }
      : { status: response.status, requestId: response.requestId }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return Either.left(new ResponseDecodeError({ ...base, issue: "body is not JSON", excerpt: excerpt(text) }))
    }
    const decoded = decodeBody(json)
    if (Either.isLeft(decoded)) {
      const issue = firstIssue(decoded.left)
      return Either.left(
        new ResponseDecodeError({
          ...base,
          issue: issue === undefined ? "does not match the schema" : `${fieldOf(issue.path, "the body")}: ${issue.message}`,
          excerpt: excerpt(text)
        })
      )
    }
    return Either.right({ ...decoded.right, requestId: response.requestId })
  }

  const apiError = (error: WechatPayApiError): E | UnknownApiError => {
    const props: ApiErrorProps = {
      status: error.status,
      code: error.code,
      message: error.message,
      detail: error.detail,
      verified: error.verified,
      ...(error.requestId === undefined ? {} : { requestId: error.requestId })
    }
    for (const row of endpoint.errors) {
      if (row.status === error.status && row.code === error.code && (row.fragment === undefined || error.message.includes(row.fragment))) {
        return row.make(props)
      }
    }
    return new UnknownApiError(props)
  }

  return {
    endpoint,
    validate: (input) => Either.mapLeft(validateRequest(input), toValidationError),
    prepare: prepareWith(encodeBody),
    prepareValidated: prepareWith(encodeValidatedBody),
    decode,
    apiError
  }
}

/** The typed call of an endpoint over a {@link Call.Caller}: validation and encoding happen inside the call's span. */
export const bind = <Req, Res, E extends HasBehaviour>(
  compiled: Compiled<Req, Res, E>,
  caller: Call.Caller,
  service: string
): (input: unknown) => Effect.Effect<Result<Res>, Error<E>> => {
  const attributes = compiled.endpoint.spanAttributes
  const reading: Call.Reading<Result<Res>, E | UnknownApiError> = {
    span: `${service}.${compiled.endpoint.name}`,
    apiError: compiled.apiError,
    decode: compiled.decode
  }
  return (input) =>
    caller.call<Result<Res>, E | UnknownApiError, RequestValidationError | RequestEncodeError>(() => {
      const validated = compiled.validate(input)
      if (Either.isLeft(validated)) return Either.left(validated.left)
      const request = compiled.prepareValidated(validated.right)
      if (Either.isLeft(request)) return Either.left(request.left)
      return Either.right({
        request: request.right,
        attributes: attributes === undefined ? undefined : attributes(validated.right)
      })
    }, reading)
}
