/**
 * effect-wechatpay: WeChat Pay APIv3 on Effect 3.
 *
 * @since 0.1.0
 */
export * as BulkDisassociation from "./BulkDisassociation.js"
export * as BulkStores from "./BulkStores.js"
export * as JobJournal from "./JobJournal.js"
export * as KeyStore from "./KeyStore.js"
export * as MerchantConfig from "./MerchantConfig.js"
export * as ProductCoupon from "./ProductCoupon.js"
export * as ProductCouponStores from "./ProductCouponStores.js"
export * as Signer from "./Signer.js"
export * as StoreJobs from "./StoreJobs.js"
export * as WechatPayClient from "./WechatPayClient.js"
export * as WechatPayError from "./WechatPayError.js"
