/**
 * The two `Signer` backends head to head: sign and verify a 200-store sign
 * string, in rounds, interleaved. Picks the default with numbers
 * (`npx tsx bench/signer.ts`, or `npm run bench:signer`).
 */
import { Effect, Layer } from "effect"
import { KeyStore, MerchantConfig, Signer } from "../packages/effect-wechatpay/src/index.js"
import * as Authorization from "../packages/effect-wechatpay/src/internal/Authorization.js"
import { TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { machine, median, round } from "./harness.js"
import { disassociatePath } from "./paths.js"

const keys = await Effect.runPromise(TestKeys.generate())
const ids = Array.from({ length: 200 }, (_, i) => String(100_000_001 + i))
const body = JSON.stringify({ store_list: ids.map((store_id) => ({ store_id })), brand_id: "120344" })
// The bytes the client signs (Authorization.requestMessage), for the declared path.
const message = Authorization.requestMessage(
  "POST",
  disassociatePath("200000001", "123456789"),
  "1764230400",
  "593BEC0C930BF1AFEB40B4A08C8FB242",
  new TextEncoder().encode(body)
)

const build = (layer: typeof Signer.layer) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const signer = yield* Signer.Signer
      const store = yield* KeyStore.KeyStore
      const key = yield* store.lookup(keys.wechatpayPublicKeyId)
      if (key._tag === "None") return yield* Effect.dieMessage("no key")
      return { signer, key: key.value }
    }).pipe(
      Effect.provide(layer.pipe(Layer.provideMerge(KeyStore.layer), Layer.provide(MerchantConfig.layer(TestKeys.merchantOptions(keys)))))
    )
  )

const backends = [
  { name: "node:crypto", ...(await build(Signer.layer)) },
  { name: "webcrypto", ...(await build(Signer.layerWebCrypto)) }
]
const signature = await Effect.runPromise(backends[0]!.signer.sign(message))
const samples = new Map<string, { sign: Array<number>; verify: Array<number> }>()
for (const b of backends) samples.set(b.name, { sign: [], verify: [] })

const N = 200
for (let roundNo = 0; roundNo < 8; roundNo++) {
  for (const b of roundNo % 2 === 0 ? backends : [...backends].reverse()) {
    const s = samples.get(b.name)!
    let t = performance.now()
    for (let i = 0; i < N; i++) await Effect.runPromise(b.signer.sign(message))
    if (roundNo > 0) s.sign.push((performance.now() - t) / N)
    t = performance.now()
    for (let i = 0; i < N; i++) await Effect.runPromise(b.signer.verify(b.key, message, signature))
    if (roundNo > 0) s.verify.push((performance.now() - t) / N)
  }
}
const rows = backends.map((b) => {
  const s = samples.get(b.name)!
  return { backend: b.name, signMs: round(median(s.sign), 3), verifyMs: round(median(s.verify), 3) }
})
const json = process.argv.includes("--json")
if (json) console.log(JSON.stringify({ machine: machine(), rows }, null, 2))
else {
  console.log(`signer backends, 200-store sign string (${message.length} bytes), median of 7 rounds × ${N}:`)
  for (const r of rows) console.log(`  ${r.backend.padEnd(12)} sign ${r.signMs.toFixed(3)} ms   verify ${r.verifyMs.toFixed(3)} ms`)
}
