/**
 * 批次取消关联门店 as data: branded ids, the request and response schemas
 * (camelCase domain names over the snake_case wire), local validation and the
 * percent-encoded request path. Pure: nothing here signs or sends.
 *
 * @since 0.1.0
 */
import { Either, Option, ParseResult, Schema } from "effect"
import { excerpt, RequestValidationError, ResponseDecodeError } from "./WechatPayError.js"

/** "单次最多可批量取消200个门店" — the one size limit the endpoint page states. */
export const MAX_STORES = 200

/**
 * Why an id cannot be sent, or `undefined` when it can. Only what the platform
 * documents or what cannot be encoded is refused; no length limits are invented.
 */
export const idProblem = (value: string): string | undefined => {
  if (value.length === 0) return "must not be empty"
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
      return `must not contain control characters (U+${hex(c)} at index ${i})`
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = value.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        return `must not contain characters outside the Basic Multilingual Plane (index ${i}): WeChat Pay accepts only 1-3 byte UTF-8`
      }
      return `must not contain a lone UTF-16 surrogate (U+${hex(c)} at index ${i}): it has no UTF-8 encoding`
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      return `must not contain a lone UTF-16 surrogate (U+${hex(c)} at index ${i}): it has no UTF-8 encoding`
    }
  }
  if (value.trim() === "") return "must not be blank (whitespace only)"
  return undefined
}

/** {@link idProblem} for a store id, as an `Option` (the rules are the same for every id). */
export const storeIdProblem = (value: string): Option.Option<string> => Option.fromNullable(idProblem(value))

const hex = (c: number) => c.toString(16).toUpperCase().padStart(4, "0")

/**
 * Extra rule for ids that become URL path segments: the WHATWG URL parser
 * collapses "." and ".." (even as %2E) so they could never address the resource.
 */
export const pathSegmentProblem = (value: string): string | undefined =>
  value === "." || value === ".."
    ? `must not be "${value}": a dot segment cannot be addressed as a URL path segment (URL parsers collapse it, even percent-encoded)`
    : undefined

const Id = Schema.String.pipe(Schema.filter((s) => idProblem(s) ?? true))
const PathId = Id.pipe(Schema.filter((s) => pathSegmentProblem(s) ?? true))

/** 商品券ID, a path parameter. */
export const ProductCouponId = PathId.pipe(Schema.brand("ProductCouponId"))
export type ProductCouponId = typeof ProductCouponId.Type
/** 批次ID, a path parameter. */
export const StockId = PathId.pipe(Schema.brand("StockId"))
export type StockId = typeof StockId.Type
/** 品牌ID. */
export const BrandId = Id.pipe(Schema.brand("BrandId"))
export type BrandId = typeof BrandId.Type
/** 门店ID. */
export const StoreId = Id.pipe(Schema.brand("StoreId"))
export type StoreId = typeof StoreId.Type

/** Store ids as the server reports them: branded, but not re-judged (the server is the authority). */
const ReportedStoreId = Schema.String.pipe(Schema.brand("StoreId"))

/** One `store_list` entry. */
export const StoreInfo = Schema.Struct({
  storeId: StoreId.pipe(Schema.propertySignature, Schema.fromKey("store_id"))
})

const StoreList = Schema.Array(StoreInfo).pipe(
  Schema.filter((list) =>
    list.length >= 1 && list.length <= MAX_STORES
      ? true
      : `must list 1 to ${MAX_STORES} stores (got ${list.length})`
  )
)

/** The JSON body, wire ⇄ domain. */
export const RequestBody = Schema.Struct({
  storeList: StoreList.pipe(Schema.propertySignature, Schema.fromKey("store_list")),
  brandId: BrandId.pipe(Schema.propertySignature, Schema.fromKey("brand_id"))
})

/** The whole request (path ids + body), validated and branded. */
export const DisassociateStoresRequest = Schema.Struct({
  productCouponId: ProductCouponId,
  stockId: StockId,
  ...RequestBody.fields
})
export type DisassociateStoresRequest = typeof DisassociateStoresRequest.Type

/** What callers pass: plain strings (branded ids are subtypes, so they fit too). */
export interface DisassociateStoresInput {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
  readonly storeList: ReadonlyArray<{ readonly storeId: string }>
}

const fieldOf = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out === "" ? "" : "."}${String(key)}`
  }
  return out === "" ? "request" : out
}

const toValidationError = (error: ParseResult.ParseError): RequestValidationError => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const path = issue?.path ?? []
  const index = path.find((key): key is number => typeof key === "number")
  const reason = issue?.message ?? "is invalid"
  return new RequestValidationError(
    index === undefined ? { field: fieldOf(path), reason } : { field: fieldOf(path), reason, index }
  )
}

// Validation works on the domain side only: the input is already camelCase.
const decodeRequest = Schema.decodeUnknownEither(Schema.typeSchema(DisassociateStoresRequest))

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const ownString = (record: Readonly<Record<string, unknown>>, key: string): string | undefined => {
  const value = Object.hasOwn(record, key) ? record[key] : undefined
  return typeof value === "string" ? value : undefined
}

const pathIdOk = (s: string | undefined): s is string =>
  s !== undefined && idProblem(s) === undefined && pathSegmentProblem(s) === undefined

/**
 * The common case checked by hand (the schema's filters cost ~1 µs per store):
 * the same rules, and the same output shape, as `decodeRequest`. Anything it does
 * not accept goes through the schema, which names the problem; the property
 * tests check the two agree.
 */
const validateFast = (input: unknown): DisassociateStoresRequest | undefined => {
  if (!isRecord(input)) return undefined
  const productCouponId = ownString(input, "productCouponId")
  const stockId = ownString(input, "stockId")
  const brandId = ownString(input, "brandId")
  const list = Object.hasOwn(input, "storeList") ? input["storeList"] : undefined
  if (!pathIdOk(productCouponId) || !pathIdOk(stockId) || brandId === undefined || idProblem(brandId) !== undefined) {
    return undefined
  }
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_STORES) return undefined
  const storeList: Array<{ readonly storeId: StoreId }> = new Array(list.length)
  for (let i = 0; i < list.length; i++) {
    const entry: unknown = list[i]
    const storeId = isRecord(entry) ? ownString(entry, "storeId") : undefined
    if (storeId === undefined || idProblem(storeId) !== undefined) return undefined
    storeList[i] = { storeId: StoreId.make(storeId, { disableValidation: true }) }
  }
  return {
    productCouponId: ProductCouponId.make(productCouponId, { disableValidation: true }),
    stockId: StockId.make(stockId, { disableValidation: true }),
    storeList,
    brandId: BrandId.make(brandId, { disableValidation: true })
  }
}

/** Checks an input; the first problem found is reported with its field. */
export const validate = (input: unknown): Either.Either<DisassociateStoresRequest, RequestValidationError> => {
  const fast = validateFast(input)
  return fast === undefined ? Either.mapLeft(decodeRequest(input), toValidationError) : Either.right(fast)
}

/** The JSON body as sent: `RequestBody`'s encoded side. */
export type WireBody = typeof RequestBody.Encoded

/**
 * The JSON body (snake_case) of a validated request. Built directly rather than
 * through `Schema.encode`, which re-runs every id filter and costs several times
 * more for 200 stores; the property tests check it equals `Schema.encode(RequestBody)`.
 */
export const encodeBody = (request: DisassociateStoresRequest): WireBody => ({
  store_list: request.storeList.map((store) => ({ store_id: store.storeId })),
  brand_id: request.brandId
})

/** The path template, as documented. */
export const PATH_TEMPLATE =
  "/v3/marketing/partner/product-coupon/product-coupons/{product_coupon_id}/stocks/{stock_id}/disassociate-stores"

/**
 * The request path with both ids percent-encoded, so `/ ? # %` in an id stay
 * inside their segment. Only call with validated ids (a lone surrogate cannot be
 * encoded; validation refuses it).
 */
export const path = (request: { readonly productCouponId: string; readonly stockId: string }): string =>
  `/v3/marketing/partner/product-coupon/product-coupons/${encodeURIComponent(request.productCouponId)}/stocks/${
    encodeURIComponent(request.stockId)
  }/disassociate-stores`

const StoreList0 = <A, I>(item: Schema.Schema<A, I>) =>
  Schema.optionalWith(Schema.Array(item), { nullable: true, default: () => [] })

/** The 200 body, wire ⇄ domain. Missing lists are empty; unknown fields are ignored. */
export const ResponseBody = Schema.Struct({
  totalCount: Schema.Int.pipe(Schema.propertySignature, Schema.fromKey("total_count")),
  successStoreList: StoreList0(Schema.Struct({
    storeId: ReportedStoreId.pipe(Schema.propertySignature, Schema.fromKey("store_id"))
  })).pipe(Schema.fromKey("success_store_list")),
  failedStoreList: StoreList0(Schema.Struct({
    storeId: ReportedStoreId.pipe(Schema.propertySignature, Schema.fromKey("store_id")),
    code: Schema.String,
    message: Schema.String
  })).pipe(Schema.fromKey("failed_store_list"))
})
export type ResponseBody = typeof ResponseBody.Type

/** The outcome of a call. A non-empty `failedStoreList` is still a success: the call itself worked. */
export interface DisassociateStoresResult extends ResponseBody {
  /** The `Request-ID` header, to quote to WeChat Pay support. */
  readonly requestId: string | undefined
}

const decodeBody = Schema.decodeUnknownEither(ResponseBody)

/** A missing or null list is empty; `undefined` when some entry does not fit. */
const listFast = <A>(
  json: Readonly<Record<string, unknown>>,
  key: string,
  entry: (record: Readonly<Record<string, unknown>>) => A | undefined
): ReadonlyArray<A> | undefined => {
  const value = Object.hasOwn(json, key) ? json[key] : undefined
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) return undefined
  const out: Array<A> = new Array(value.length)
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i]
    const a = isRecord(item) ? entry(item) : undefined
    if (a === undefined) return undefined
    out[i] = a
  }
  return out
}

/**
 * The well-formed answer decoded by hand (the schema costs several µs per store):
 * the same result as `decodeBody`; anything else goes through the schema, which
 * names the problem. The property tests check the two agree.
 */
const decodeBodyFast = (json: unknown): ResponseBody | undefined => {
  if (!isRecord(json)) return undefined
  const totalCount = Object.hasOwn(json, "total_count") ? json["total_count"] : undefined
  if (typeof totalCount !== "number" || !Number.isSafeInteger(totalCount)) return undefined
  const successStoreList = listFast(json, "success_store_list", (r) => {
    const storeId = ownString(r, "store_id")
    return storeId === undefined ? undefined : { storeId: ReportedStoreId.make(storeId, { disableValidation: true }) }
  })
  if (successStoreList === undefined) return undefined
  const failedStoreList = listFast(json, "failed_store_list", (r) => {
    const storeId = ownString(r, "store_id")
    const code = ownString(r, "code")
    const message = ownString(r, "message")
    return storeId === undefined || code === undefined || message === undefined
      ? undefined
      : { storeId: ReportedStoreId.make(storeId, { disableValidation: true }), code, message }
  })
  if (failedStoreList === undefined) return undefined
  return { totalCount, successStoreList, failedStoreList }
}
const decoder = new TextDecoder()

/** Decodes a verified 2xx body; anything off becomes a `ResponseDecodeError` with an excerpt. */
export const decodeResponse = (response: {
  readonly status: number
  readonly requestId: string | undefined
  readonly body: Uint8Array
}): Either.Either<DisassociateStoresResult, ResponseDecodeError> => {
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
  const fast = decodeBodyFast(json)
  if (fast !== undefined) return Either.right({ ...fast, requestId: response.requestId })
  const decoded = decodeBody(json)
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    return Either.left(
      new ResponseDecodeError({
        ...base,
        issue: issue === undefined ? "does not match the schema" : `${fieldOf(issue.path)}: ${issue.message}`,
        excerpt: excerpt(text)
      })
    )
  }
  return Either.right({ ...decoded.right, requestId: response.requestId })
}
