// The scripted WeChat Pay of the service tests: the shared recording fake with the server-side
// protocol check on, answers signed at arrival time, and the service layer over it.
import type { HttpClient } from "@effect/platform"
import { Layer } from "effect"
import { ProductCouponStores } from "../../packages/effect-wechatpay/src/index.js"
import { failoverOptions, keys } from "./Keys.js"
import * as RecordingHttpClient from "./RecordingHttpClient.js"
import { BACKUP, PRIMARY, sampleInput as sample } from "./Requests.js"
import { NOW } from "./Time.js"

export { BACKUP, keys, NOW, PRIMARY }
export type { Recorded, Script, Step } from "./RecordingHttpClient.js"
export { hang, refuse } from "./RecordingHttpClient.js"

/** A JSON answer signed like WeChat Pay (`signature: "none"`: unsigned; `"probe"`: a SIGNTEST probe). */
export const reply = (
  status: number,
  body: string | object,
  options: { readonly requestId?: string; readonly signature?: "valid" | "none" | "probe" } = {}
): RecordingHttpClient.Step => ({
  _tag: "Reply",
  status,
  headers: { "content-type": "application/json", "request-id": options.requestId ?? "REQ-" + status },
  body: typeof body === "string" ? body : JSON.stringify(body),
  sign: options.signature === "none" ? undefined : options.signature === "probe" ? "probe" : "arrival"
})
export const ok = (body: object = { total_count: 1, success_store_list: [{ store_id: "S1" }] }, requestId = "REQ-OK") =>
  reply(200, body, { requestId })
export const apiError = (status: number, code: string, message: string, detail?: unknown) =>
  reply(status, detail === undefined ? { code, message } : { code, message, detail }, { requestId: `REQ-${code}` })

export interface Scripted {
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly requests: ReadonlyArray<RecordingHttpClient.Recorded>
}

/** A fresh fake with its own log, checking every request as WeChat Pay would. */
export const make = (script: RecordingHttpClient.Script): Scripted => RecordingHttpClient.make(script, { check: true })

/** Client options trusting {@link keys}, with the primary and backup URLs. */
export const merchantOptions = failoverOptions

/** The service (+ client) against a scripted fake. */
export const serviceLayer = (scripted: Scripted, options?: ProductCouponStores.Options) =>
  ProductCouponStores.layerMerchant(merchantOptions, options).pipe(Layer.provide(scripted.layer))

export const sampleInput: ProductCouponStores.DisassociateStoresInput = sample
