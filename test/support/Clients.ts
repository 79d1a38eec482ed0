// The client (WechatPayClient, and its services when a test needs them) over the recording fake.
import { Layer } from "effect"
import { KeyStore, MerchantConfig, Signer, WechatPayClient } from "../../packages/effect-wechatpay/src/index.js"
import { baseOptions } from "./Keys.js"
import * as RecordingHttpClient from "./RecordingHttpClient.js"

/** Both Signer backends, for tests that run against each. */
export const signerLayers = [["node:crypto", Signer.layer], ["webcrypto", Signer.layerWebCrypto]] as const

/** The whole client (node:crypto backend) over a recording fake answering from `script`. */
export const clientLayer = (
  script: RecordingHttpClient.Script,
  requests: Array<RecordingHttpClient.Recorded> = [],
  options: MerchantConfig.Options = baseOptions
) => WechatPayClient.layer(options).pipe(Layer.provide(RecordingHttpClient.layer(script, requests)))

/** The client with its KeyStore and MerchantConfig exposed (for rotation), over the chosen backend. */
export const clientWithKeysLayer = (
  signer: typeof Signer.layer,
  script: RecordingHttpClient.Script,
  options: MerchantConfig.Options = baseOptions,
  requests: Array<RecordingHttpClient.Recorded> = []
) =>
  WechatPayClient.layerServices.pipe(
    Layer.provideMerge(signer),
    Layer.provideMerge(KeyStore.layer),
    Layer.provideMerge(MerchantConfig.layer(options)),
    Layer.provide(RecordingHttpClient.layer(script, requests))
  )
