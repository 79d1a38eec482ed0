// Requests as the client's `execute` takes them: absolute URL, body already bytes. Endpoint
// paths come from the endpoint declarations in src, never spelled out here.
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Either } from "effect"
import * as Endpoint from "../../packages/effect-wechatpay/src/internal/Endpoint.js"
import * as endpoints from "../../packages/effect-wechatpay/src/internal/endpoints.js"

/** The production domains (MerchantConfig's default base URL and the documented backup). */
export const PRIMARY = "https://api.mch.weixin.qq.com"
export const BACKUP = "https://api2.mch.weixin.qq.com"

/** `endpoint.path` with each `{param}` replaced by the request field that fills it, as given (not encoded). */
export const fillPath = (
  endpoint: { readonly name: string; readonly path: string; readonly pathParams: Readonly<Record<string, string>> },
  fields: Readonly<Record<string, string>>
): string =>
  endpoint.path.replace(/\{([^}]+)\}/g, (_, param: string) => {
    const field = endpoint.pathParams[param]
    const value = field === undefined ? undefined : fields[field]
    if (value === undefined) throw new Error(`${endpoint.name}: no value for {${param}}`)
    return value
  })

/** The disassociate-stores path for these ids. */
export const disassociatePath = (productCouponId: string, stockId: string): string =>
  fillPath(endpoints.disassociateStores, { productCouponId, stockId })

/** A POST of `body` (JSON text) to `base + path`. */
export const post = (path: string, body: string, base: string = PRIMARY): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(base + path).pipe(HttpClientRequest.bodyText(body, "application/json"))

/** A bodiless request to `base + path`. */
export const bodiless = (
  method: "GET" | "DELETE",
  path: string,
  base: string = PRIMARY
): HttpClientRequest.HttpClientRequest => HttpClientRequest.make(method)(base + path)

export const disassociate = Endpoint.compile(endpoints.disassociateStores)

export const sampleInput = {
  productCouponId: "200000001",
  stockId: "123456789",
  brandId: "120344",
  storeList: [{ storeId: "100000001" }]
} as const

/**
 * The request the service sends for `input`, built by the endpoint's own validate and prepare,
 * with its URL made absolute on `base`.
 */
export const disassociateRequest = (
  input: unknown = sampleInput,
  base: string = PRIMARY
): HttpClientRequest.HttpClientRequest => {
  const request = Either.getOrThrow(Either.flatMap(disassociate.validate(input), disassociate.prepare))
  return HttpClientRequest.prependUrl(request, base)
}
