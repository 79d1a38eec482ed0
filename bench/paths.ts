/** Endpoint paths for the benchmarks, read from the endpoint declarations in src, never spelled out here. */
import { disassociateStores } from "../packages/effect-wechatpay/src/internal/endpoints.js"

/** The disassociate-stores path template as declared, `{product_coupon_id}` and `{stock_id}` included. */
export const DISASSOCIATE_TEMPLATE: string = disassociateStores.path

/** The disassociate-stores path for these ids (given as they are: the benchmarks' ids need no encoding). */
export const disassociatePath = (productCouponId: string, stockId: string): string => {
  const fields: Readonly<Record<string, string>> = { productCouponId, stockId }
  return DISASSOCIATE_TEMPLATE.replace(/\{([^}]+)\}/g, (_, param: string) => {
    const field = (disassociateStores.pathParams as Readonly<Record<string, string>>)[param]
    const value = field === undefined ? undefined : fields[field]
    if (value === undefined) throw new Error(`disassociateStores: no value for {${param}}`)
    return value
  })
}
