/**
 * One per-call client in a process of its own, for bench/run.ts's isolated
 * per-call phase: no other client's garbage, JIT feedback or connections share
 * its heap. argv[2] is JSON `{ kind, ready }`. Answers `round` messages with the
 * round's latencies (ms) and this process's CPU time over it (µs).
 */
import type { Ready } from "./sandbox-process.js"
import { type ClientKind, makeClient } from "./clients.js"
import { allSucceeded, timeCalls } from "./harness.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"

export interface RoundResult {
  readonly _tag: "round"
  readonly samples: ReadonlyArray<number>
  readonly cpuMicros: number
  readonly mainCpuMicros: number
  readonly name: string
}

const { kind, ready } = JSON.parse(process.argv[2] ?? "{}") as { readonly kind: ClientKind; readonly ready: Ready }
const request = Array.from({ length: 200 }, (_, i) => FakeWechatPay.storeId(i))
const warmIds = Array.from({ length: 200 }, (_, i) => FakeWechatPay.storeId(200_000 + i))

const main = async () => {
  const client = await makeClient(kind, ready)
  process.on("message", (m: { readonly op: string; readonly calls: number }) => {
    void (async () => {
      if (m.op === "warm") {
        for (let i = 0; i < m.calls; i++) await client.call(i % 2 === 0 ? request : warmIds)
        process.send?.({ _tag: "warm" })
      } else if (m.op === "round") {
        const { cpuMicros, mainCpuMicros, samples } = await timeCalls(() => client.call(request), m.calls, allSucceeded(client.name))
        const result: RoundResult = { _tag: "round", samples, cpuMicros, mainCpuMicros, name: client.name }
        process.send?.(result)
      } else if (m.op === "close") {
        await client.close()
        process.send?.({ _tag: "closed" })
      }
    })().catch((e: unknown) => {
      process.stderr.write(`percall-worker ${kind}: ${String(e)}\n`)
      process.exit(1)
    })
  })
  process.send?.({ _tag: "ready" })
}
void main()
