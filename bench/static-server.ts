/**
 * A loopback HTTP server that answers every request with the same 200 JSON
 * body (200 stores) and `Wechatpay-*`-shaped headers, doing no crypto. Forked by
 * bench/run.ts's transport phase, which measures what each HTTP layer costs
 * apart from signing and verifying; sends its port once over IPC.
 */
import * as Http from "node:http"

const body = Buffer.from(JSON.stringify({
  total_count: 200,
  success_store_list: Array.from({ length: 200 }, (_, i) => ({ store_id: `store-${String(i).padStart(8, "0")}` })),
  failed_store_list: []
}))
const headers = {
  "content-type": "application/json",
  "content-length": String(body.length),
  "request-id": "static-request-id",
  "wechatpay-nonce": "0".repeat(32),
  "wechatpay-timestamp": "1700000000",
  "wechatpay-serial": "PUB_KEY_ID_0000000000000000000000000000",
  "wechatpay-signature": "A".repeat(342) + "=="
}

const server = Http.createServer((req, res) => {
  req.resume()
  req.on("end", () => {
    res.writeHead(200, headers)
    res.end(body)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  process.send?.({ port: typeof address === "object" && address !== null ? address.port : 0 })
})
process.on("disconnect", () => process.exit(0))
