/**
 * `effect-wechatpay/testing`: fakes of WeChat Pay for your own tests (Node only).
 *
 * @since 0.1.0
 */
export * as ServerProtocol from "./ServerProtocol.js"
export * as TestKeys from "./TestKeys.js"
export * as FakeWechatPay from "./FakeWechatPay.js"
export * as Prng from "./Prng.js"
export * as SandboxHttpClient from "./SandboxHttpClient.js"
export * as SandboxServer from "./SandboxServer.js"
export * as SandboxSettings from "./SandboxSettings.js"
export * as SandboxStores from "./SandboxStores.js"
