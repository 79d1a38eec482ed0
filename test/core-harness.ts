// Shared pieces for the core-*.test.ts files: one set of throw-away keys, and an in-memory
// HttpClient (HttpClient.make + HttpClientResponse.fromWeb) that records what the client sent.
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { KeyStore, MerchantConfig, Signer, WechatPayClient } from "../src/index.js"
import { ServerProtocol, TestKeys } from "../src/testing/index.js"

/** The fixed "now" of these tests, in seconds. */
export const NOW = 1_700_000_000

/** Generated once per test file: RSA key generation is the slow part. */
export const keys: TestKeys.TestKeys = Effect.runSync(TestKeys.generate())

/** A request as the fake transport received it. */
export interface Sent {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
}

export interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Uint8Array
}

const noBody = new Uint8Array(0)

/** An HttpClient that answers with `handler` and appends every request to `log`. */
export const fakeHttp = (
  handler: (sent: Sent) => Reply,
  log: Array<Sent> = []
): Layer.Layer<HttpClient.HttpClient> =>
  Layer.succeed(
    HttpClient.HttpClient,
    HttpClient.make((request, url) =>
      Effect.sync(() => {
        const body = request.body._tag === "Uint8Array" ? request.body.body : noBody
        const sent: Sent = { method: request.method, url, headers: request.headers, body }
        log.push(sent)
        const reply = handler(sent)
        const replyBody = reply.body === undefined
          ? null
          : typeof reply.body === "string"
          ? reply.body
          : new Uint8Array(reply.body)
        return HttpClientResponse.fromWeb(
          request,
          new Response(replyBody, { status: reply.status, headers: reply.headers ?? {} })
        )
      })
    )
  )

/** A response signed the way WeChat Pay signs, at `at` seconds (default {@link NOW}). */
export const signed = (
  status: number,
  body: string,
  options: { readonly at?: number; readonly keys?: TestKeys.TestKeys; readonly requestId?: string } = {}
): Reply => ({
  status,
  body,
  headers: {
    "content-type": "application/json",
    "request-id": options.requestId ?? "08F78BB5AF0610D302839A1B0A2D4D4A",
    ...ServerProtocol.signResponse(options.keys ?? keys, body, options.at ?? NOW)
  }
})

export const baseOptions: MerchantConfig.Options = TestKeys.merchantOptions(keys)

/** The whole client (node:crypto backend) over a fake transport. */
export const clientLayer = (
  handler: (sent: Sent) => Reply,
  log: Array<Sent> = [],
  options: MerchantConfig.Options = baseOptions
) => WechatPayClient.layer(options).pipe(Layer.provide(fakeHttp(handler, log)))

export const signerLayers = [["node:crypto", Signer.layer], ["webcrypto", Signer.layerWebCrypto]] as const

/** The client with its KeyStore exposed (for rotation), over the chosen backend. */
export const clientWithKeysLayer = (
  signer: typeof Signer.layer,
  handler: (sent: Sent) => Reply,
  options: MerchantConfig.Options = baseOptions,
  log: Array<Sent> = []
) =>
  WechatPayClient.layerServices.pipe(
    Layer.provideMerge(signer),
    Layer.provideMerge(KeyStore.layer),
    Layer.provideMerge(MerchantConfig.layer(options)),
    Layer.provide(fakeHttp(handler, log))
  )
