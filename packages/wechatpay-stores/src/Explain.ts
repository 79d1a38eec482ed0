/**
 * What a stopped job's reason means and what to do about it, in English: WeChat
 * Pay's own message (often Chinese) is printed as it came, and this follows it.
 */
import type { BulkDisassociation } from "effect-wechatpay"

/** The ids the job was run with, named in the advice. */
export interface JobIds {
  readonly productCouponId: string
  readonly stockId: string
  readonly brandId: string
}

/** One sentence or two for `stoppedBy`, keyed by its tag (an error's `_tag`, or the job's own reasons). */
const EXPLANATIONS: Readonly<Record<string, (ids: JobIds) => string>> = {
  StockExpiredError: (j) =>
    `stock ${j.stockId} has expired, and WeChat Pay does not remove stores from an expired stock; ` +
    `nothing more was sent. Check --stock-id; otherwise there is nothing to do for this stock.`,
  StockScopeNotSpecificError: (j) =>
    `stock ${j.stockId} is not limited to specific stores (its store_scope is not SPECIFIC), so it has no ` +
    `store list to remove stores from. Check --stock-id.`,
  StockNotFoundError: (j) =>
    `WeChat Pay knows no stock ${j.stockId} under product coupon ${j.productCouponId}. Check --stock-id and ` +
    `--product-coupon-id, and that WECHATPAY_MCHID is the merchant that owns them.`,
  ProductCouponNotFoundError: (j) =>
    `WeChat Pay knows no product coupon ${j.productCouponId} for this merchant. Check --product-coupon-id ` +
    `and WECHATPAY_MCHID.`,
  NotFoundError: () =>
    `WeChat Pay found no such coupon or stock. Check --product-coupon-id, --stock-id and WECHATPAY_MCHID.`,
  NoAuthError: (j) =>
    `the merchant in WECHATPAY_MCHID lacks the permission for this API or for product coupon ` +
    `${j.productCouponId}. Check that it is the merchant that owns the coupon and that product coupons ` +
    `are enabled for it on the merchant platform.`,
  SignError: () =>
    `WeChat Pay could not verify the request's signature. Check that WECHATPAY_MERCHANT_SERIAL_NO is the ` +
    `serial number of the certificate whose private key is in WECHATPAY_PRIVATE_KEY (or _FILE), for the ` +
    `merchant in WECHATPAY_MCHID.`,
  Unreachable: () =>
    `no WeChat Pay host answered. Check the network, proxy and firewall (and WECHATPAY_BASE_URL if it is ` +
    `set), then run the unresolved stores listed in the report again.`,
  StoppedByCaller: () =>
    `the job was stopped (Ctrl-C, SIGTERM, SIGHUP or its parent exiting); calls in flight finished. ` +
    `Run the unresolved stores listed in the report again to finish it.`,
  AbortedByCaller: () =>
    `calls in flight were abandoned: WeChat Pay may or may not have applied them. Run the unresolved ` +
    `stores listed in the report again.`,
  StoreSourceError: () =>
    `the store-id input broke off during the job (it changed or could not be read); the calls already ` +
    `made are in the report. Fix the input, then run the unresolved stores again.`
}

/** What `stoppedBy` means and what to do, or undefined when there is nothing to add to its message. */
export const stopReason = (stop: BulkDisassociation.StopReason, ids: JobIds): string | undefined =>
  EXPLANATIONS[stop.tag]?.(ids)
