/**
 * What a stopped job's reason means and what to do about it, in English: WeChat
 * Pay's own message (often Chinese) is printed as it came, and this follows it.
 */
import type { BulkDisassociation, WechatPayError } from "effect-wechatpay"

/** The ids the job was run with, named in the advice. */
export interface JobIds {
  readonly productCouponId: string
  /** The stock, or (`stockBundleId`) the bundle whose stocks the job changes. */
  readonly stockId?: string | undefined
  readonly stockBundleId?: string | undefined
  readonly brandId: string
  /** The job keeps a journal: `resume` finishes it (a sync's report cannot be run again as --stores). */
  readonly journaled?: boolean | undefined
}

/** "stock 123" or "a stock of bundle 456": what the advice names. */
const stockOf = (j: JobIds): string =>
  j.stockBundleId !== undefined ? `a stock of bundle ${j.stockBundleId}` : `stock ${j.stockId ?? "?"}`

/** The flag that named it. */
const flagOf = (j: JobIds): string => j.stockBundleId !== undefined ? "--stock-bundle-id" : "--stock-id"

/** One sentence or two for `stoppedBy`, keyed by its tag (an error's `_tag`, or the job's own reasons). */
const EXPLANATIONS: Readonly<Record<string, (ids: JobIds) => string>> = {
  StockExpiredError: (j) =>
    `${stockOf(j)} has expired, and WeChat Pay does not change the stores of an expired stock; ` +
    `nothing more was sent. Check ${flagOf(j)}; otherwise there is nothing to do for this stock.`,
  StockScopeNotSpecificError: (j) =>
    `${stockOf(j)} is not limited to specific stores (its store_scope is not SPECIFIC), so it has no ` +
    `store list to change. Check ${flagOf(j)} (wechatpay-stores stock shows a stock's store_scope).`,
  StockNotFoundError: (j) =>
    `WeChat Pay knows no ${j.stockBundleId !== undefined ? `bundle ${j.stockBundleId}` : `stock ${j.stockId ?? "?"}`} under product coupon ${j.productCouponId}. Check ${flagOf(j)} and ` +
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
  Unreachable: (j) =>
    `no WeChat Pay host answered. Check the network, proxy and firewall (and WECHATPAY_BASE_URL if it is ` +
    `set), then ${j.journaled === true ? "resume the job (the command is below)" : "run the unresolved stores listed in the report again"}.`,
  StoppedByCaller: (j) =>
    `the job was stopped (Ctrl-C, SIGTERM, SIGHUP or its parent exiting); calls in flight finished. ` +
    `${j.journaled === true ? "Resume it (the command is below)" : "Run the unresolved stores listed in the report again"} to finish it.`,
  AbortedByCaller: (j) =>
    `calls in flight were abandoned: WeChat Pay may or may not have applied them. ` +
    `${j.journaled === true ? "Resume the job (the command is below): it settles them" : "Run the unresolved stores listed in the report again"}.`,
  StoreSourceError: () =>
    `the store-id input broke off during the job (it changed or could not be read); the calls already ` +
    `made are in the report, and ids after the break were not read. Fix the input, then run the job again ` +
    `with all of it (stores already changed succeed again).`
}

/** What `stoppedBy` means and what to do, or undefined when there is nothing to add to its message. */
export const stopReason = (stop: BulkDisassociation.StopReason, ids: JobIds): string | undefined =>
  EXPLANATIONS[stop.tag]?.(ids)

/** The same advice when a transport failure, not a job's stop, ended a single call. */
const CALL_EXPLANATIONS: Readonly<Record<string, (ids: JobIds) => string>> = {
  TransportError: () =>
    `no WeChat Pay host answered. Check the network, proxy and firewall (and WECHATPAY_BASE_URL if it is set), then try again.`,
  TimeoutError: () =>
    `WeChat Pay did not answer in time, after the retries. Try again; if it persists, check the network and WECHATPAY_BASE_URL.`,
  RateLimitExceededError: () =>
    `WeChat Pay kept answering 429 (rate limited) after the retries: another client may be using this merchant's quota. Try again later.`,
  SystemError: () => `WeChat Pay answered with a system error after the retries. Try again later.`,
  ParamError: () => `WeChat Pay refused a parameter. Check the ids given (they are sent as typed).`,
  UnexpectedResponseError: () =>
    `that is not how WeChat Pay answers (a redirect, a proxy's or gateway's page). Check WECHATPAY_BASE_URL and any ` +
    `proxy between here and WeChat Pay, then try again.`,
  MissingSignatureHeadersError: () => SIGNATURE_ADVICE,
  InvalidSignatureError: () => SIGNATURE_ADVICE,
  UnknownSerialError: () => SIGNATURE_ADVICE,
  SignatureProbeError: () => SIGNATURE_ADVICE,
  StaleTimestampError: () => `the answer's timestamp is too far from this machine's clock. Check the clock (NTP), then try again.`
}

/** An answer that is not signed by the WeChat Pay public key configured: not believed, whatever it says. */
const SIGNATURE_ADVICE =
  `the answer was not signed by the WeChat Pay key configured, so it was not believed. Check WECHATPAY_PUBLIC_KEY_ID and ` +
  `WECHATPAY_PUBLIC_KEY_FILE, and any proxy between here and WeChat Pay, then try again.`

/** An error that ended a single call (not a job), as one line: its code and message, then what it means and what to do. */
export const callFailure = (e: WechatPayError.WechatPayError, ids: JobIds): string => {
  const code = "code" in e && typeof e.code === "string" ? `${e.code}: ` : ""
  const requestId = "requestId" in e && typeof e.requestId === "string" ? ` (Request-ID ${e.requestId})` : ""
  const advice = (EXPLANATIONS[e._tag] ?? CALL_EXPLANATIONS[e._tag])?.(ids)
  return `${code}${e.message}${requestId}${advice === undefined ? "" : `; ${advice}`}`
}
