/**
 * `effect-wechatpay/testing`: fakes of WeChat Pay for your own tests (Node only).
 *
 * @since 0.1.0
 */
export * as ServerProtocol from "./ServerProtocol.js"
export * as TestKeys from "./TestKeys.js"
