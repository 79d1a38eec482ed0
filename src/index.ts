/**
 * effect-wechatpay: WeChat Pay APIv3 on Effect 3.
 *
 * @since 0.1.0
 */
export * as Authorization from "./Authorization.js"
export * as BulkDisassociation from "./BulkDisassociation.js"
export * as KeyStore from "./KeyStore.js"
export * as MerchantConfig from "./MerchantConfig.js"
export * as Pem from "./Pem.js"
export * as ResponseVerifier from "./ResponseVerifier.js"
export * as Signer from "./Signer.js"
export * as WechatPayClient from "./WechatPayClient.js"
export * as WechatPayError from "./WechatPayError.js"
export * as DisassociateStores from "./DisassociateStores.js"
export * as DomainFailover from "./DomainFailover.js"
export * as ProductCouponStores from "./ProductCouponStores.js"
export * as ProductCouponStoresError from "./ProductCouponStoresError.js"
export * as RetryPolicy from "./RetryPolicy.js"
