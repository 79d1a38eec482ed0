// The official test vectors, copied from the shared reference so a fresh clone has them.
import { readFileSync } from "node:fs"

const read = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")

interface Vectors {
  readonly merchant: { readonly mchid: string; readonly serial_no: string }
  readonly timestamp: string
  readonly nonce: string
  readonly request_signatures: ReadonlyArray<{
    readonly id: string
    readonly method: string
    readonly url: string
    readonly body: string
    readonly signature: string
  }>
  readonly "expected_authorization_V-A": string
  readonly response_example: {
    readonly serial: string
    readonly timestamp: string
    readonly nonce: string
    readonly body: string
    readonly signature: string
  }
}

export const vectors: Vectors = JSON.parse(read("vectors.json"))
export const merchantKeyPem = read("official-test-merchant-key.pem")
export const wechatPublicKeyPem = read("official-example-wechatpay-public-key.pem")
export const vector = (id: string) => {
  const v = vectors.request_signatures.find((x) => x.id === id)
  if (v === undefined) throw new Error(`no vector ${id}`)
  return v
}
