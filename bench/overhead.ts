/**
 * `npm run bench:overhead`: the library's own CPU per call, without network or
 * crypto: `ProductCouponStores.disassociateStores` (200 stores) over an in-memory
 * `HttpClient` that returns a canned signed answer (no web `Response`), with a `Signer` whose sign and
 * verify cost nothing. What remains is validation, encoding, the core (retry
 * schedule, timeout, failover, spans), the transport wrapper and decoding.
 * `--reference` runs the bench's reference row instead (the same transport and JSON, no library code).
 * `--allocations` adds the bytes allocated per call (V8's sampling heap profiler, collected objects
 * included): the garbage a call leaves is a large share of its CPU.
 * `--profile` writes a V8 CPU profile of the timed loop to bench/overhead.cpuprofile.
 * `--in-place` takes the path the library takes over its own `UndiciHttpClient`: the in-memory transport is
 * marked as one that stops its request at the attempt's deadline (it answers on the next turn, long before one)
 * and never follows redirects, and the free signer as one of the package's, so each attempt runs on the
 * caller's fiber instead of a fiber of its own (see src/internal/AttemptDeadline.ts).
 */
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as Inspector from "node:inspector/promises"
import * as Fs from "node:fs"
import { KeyStore, MerchantConfig, ProductCouponStores, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, ServerProtocol, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import * as AttemptDeadline from "../packages/effect-wechatpay/src/internal/AttemptDeadline.js"
import { markNeverFollowsRedirects } from "../packages/effect-wechatpay/src/internal/TransportTraits.js"
import { disassociatePath } from "./paths.js"

const N = Number(process.argv.find((a) => a.startsWith("--calls="))?.slice(8) ?? 20_000)
const profile = process.argv.includes("--profile")
const allocations = process.argv.includes("--allocations")
const inPlace = process.argv.includes("--in-place")

const keys = Effect.runSync(TestKeys.generate())
const storeList = Array.from({ length: 200 }, (_, i) => ({ storeId: FakeWechatPay.storeId(i) }))
const input = { productCouponId: "200000001", stockId: "123456789", brandId: "120344", storeList }
const body = JSON.stringify({
  total_count: 200,
  success_store_list: storeList.map((s) => ({ store_id: s.storeId })),
  failed_store_list: []
})

// Signed once with a timestamp refreshed every second: verification's clock window holds for the run.
let signedAt = 0
let headers: Record<string, string> = {}
const answerHeaders = () => {
  const now = Math.floor(Date.now() / 1000)
  if (now !== signedAt) {
    signedAt = now
    headers = { "content-type": "application/json", "request-id": "REQ", ...ServerProtocol.signResponse(keys, body, now) }
  }
  return headers
}
// Only what the client reads of an answer (status, headers, the body in one piece): a web
// Response per call would cost more than the library itself and hide it.
const bytes = new TextEncoder().encode(body)
// The answer comes on a later turn of the event loop, as a socket's would: an in-flight attempt is
// then seen in flight (by the per-attempt timeout's timer, for one), as it is on a real network.
const inMemory = HttpClient.make((request) =>
  Effect.async<HttpClientResponse.HttpClientResponse>((resume) => {
    setImmediate(() => resume(Effect.succeed(answer(request))))
  })
)
const http = inPlace ? AttemptDeadline.markStopsAtDeadline(markNeverFollowsRedirects(inMemory)) : inMemory
const answer = (request: HttpClientRequest.HttpClientRequest) =>
  ({
    request,
    status: 200,
    headers: { ...answerHeaders(), "content-length": String(bytes.length) },
    arrayBuffer: Effect.sync(() => bytes.slice().buffer)
  }) as unknown as HttpClientResponse.HttpClientResponse
const freeSigner = Layer.effect(
  Signer.Signer,
  Effect.map(Signer.Signer, (real) => {
    const free = Signer.Signer.of({ ...real, sign: () => Effect.succeed("c2ln"), verify: () => Effect.succeed(true) })
    return inPlace ? AttemptDeadline.markSettlesByItself(free) : free
  })
).pipe(Layer.provide(Signer.layer))

const layer = ProductCouponStores.layer({ rateLimit: false }).pipe(
  Layer.provideMerge(WechatPayClient.layerServices),
  Layer.provide(freeSigner),
  Layer.provideMerge(KeyStore.layer),
  Layer.provideMerge(MerchantConfig.layer(TestKeys.merchantOptions(keys))),
  Layer.provide(Layer.succeed(HttpClient.HttpClient, http))
)

// The reference row of `npm run bench` without its crypto: the same JSON out and in, the same header
// checks, over the same in-memory client with its span off. The library's own cost is the difference.
const referenceCall = (runtime: ManagedRuntime.ManagedRuntime<never, never>) => {
  const client = HttpClient.withTracerDisabledWhen(http, () => true)
  const url = `https://api.mch.weixin.qq.com${disassociatePath(input.productCouponId, input.stockId)}`
  return () => {
    const bodyText = JSON.stringify({ brand_id: input.brandId, store_list: input.storeList.map((s) => ({ store_id: s.storeId })) })
    const req = HttpClientRequest.post(url).pipe(
      HttpClientRequest.setHeaders({ accept: "application/json", authorization: "WECHATPAY2-SHA256-RSA2048 x", "wechatpay-serial": "PUB" }),
      HttpClientRequest.bodyText(bodyText, "application/json")
    )
    return runtime.runPromise(
      Effect.flatMap(client.execute(req), (res) =>
        Effect.map(res.arrayBuffer, (buffer) => {
          const h = res.headers
          if (!h["wechatpay-timestamp"] || !h["wechatpay-nonce"] || !h["wechatpay-signature"] || !h["wechatpay-serial"]) throw new Error("unsigned")
          if (!(Math.abs(Date.now() / 1000 - Number(h["wechatpay-timestamp"])) < 300)) throw new Error("stale")
          return JSON.parse(Buffer.from(buffer).toString("utf8")).success_store_list.length as number
        }))
    )
  }
}

// The reference runs in a runtime of its own, as in `npm run bench`: none of the library's services in its context.
const makeCall = async (reference: boolean): Promise<{ readonly call: () => Promise<unknown>; readonly dispose: () => Promise<void> }> => {
  if (reference) {
    const runtime = ManagedRuntime.make(Layer.empty)
    return { call: referenceCall(runtime), dispose: () => runtime.dispose() }
  }
  const runtime = ManagedRuntime.make(layer)
  const stores = await runtime.runPromise(ProductCouponStores.ProductCouponStores)
  return { call: () => runtime.runPromise(stores.disassociateStores(input)), dispose: () => runtime.dispose() }
}

const main = async () => {
  const reference = process.argv.includes("--reference")
  const { call, dispose } = await makeCall(reference)
  for (let i = 0; i < 2_000; i++) await call()
  const session = new Inspector.Session()
  if (profile) {
    session.connect()
    await session.post("Profiler.enable")
    await session.post("Profiler.start")
  }
  if (allocations) {
    session.connect()
    await session.post("HeapProfiler.enable")
    // Every object sampled, the collected ones too: what a call allocates, not what it keeps.
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true
    })
  }
  const cpu = process.cpuUsage()
  const t = performance.now()
  for (let i = 0; i < N; i++) await call()
  const wall = performance.now() - t
  const used = process.cpuUsage(cpu)
  let allocated = ""
  if (allocations) {
    const { profile: heap } = await session.post("HeapProfiler.stopSampling")
    const total = (node: typeof heap.head): number => node.children.reduce((sum, child) => sum + total(child), node.selfSize)
    allocated = `, ${(total(heap.head) / N / 1024).toFixed(1)} KiB allocated per call (sampled)`
  }
  if (profile) {
    const { profile: p } = await session.post("Profiler.stop")
    Fs.writeFileSync(new URL("overhead.cpuprofile", import.meta.url), JSON.stringify(p))
  }
  process.stdout.write(
    `${reference ? "reference" : inPlace ? "library (attempts in place)" : "library"}: ${N} calls: ${(wall / N * 1000).toFixed(1)} µs wall, ${((used.user + used.system) / N).toFixed(1)} µs CPU per call${allocated}\n`
  )
  await dispose()
}
main()
