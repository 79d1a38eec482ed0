/**
 * effect-wechatpay/undici: an optional, leaner `HttpClient` over undici, kept apart so that the main entry
 * never loads undici.
 *
 * @since 0.1.0
 */
export * as UndiciHttpClient from "./UndiciHttpClient.js"
