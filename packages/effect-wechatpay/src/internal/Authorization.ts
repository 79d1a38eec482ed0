/**
 * The APIv3 sign strings and the `Authorization` header, as pure functions,
 * plus the injectable nonce source. Both this client and the sandbox use these,
 * so the two sides cannot drift apart.
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"

/** The only scheme this endpoint (partner mode) uses. */
export const SCHEME = "WECHATPAY2-SHA256-RSA2048"

/** The prefix WeChat Pay puts on deliberately wrong "probe" signatures. */
export const PROBE_PREFIX = "WECHATPAY/SIGNTEST/"

const encoder = new TextEncoder()

/**
 * The request sign string, as bytes: five lines, each ending in `\n`, the last one too.
 * `target` is the path and query exactly as sent; `body` the exact body bytes sent (empty
 * when none), so the signature cannot drift from the wire even if a caller's text and bytes disagree.
 */
export const requestMessage = (
  method: string,
  target: string,
  timestamp: string,
  nonce: string,
  body: Uint8Array
): Uint8Array => {
  const head = encoder.encode(`${method}\n${target}\n${timestamp}\n${nonce}\n`)
  const out = new Uint8Array(head.length + body.length + 1)
  out.set(head, 0)
  out.set(body, head.length)
  out[out.length - 1] = 0x0a
  return out
}

/**
 * The response sign string over the raw body bytes, built as bytes so that a
 * body that is not valid UTF-8 is still checked exactly as received.
 */
export const responseMessage = (timestamp: string, nonce: string, body: Uint8Array): Uint8Array => {
  const head = encoder.encode(`${timestamp}\n${nonce}\n`)
  const out = new Uint8Array(head.length + body.length + 1)
  out.set(head, 0)
  out.set(body, head.length)
  out[out.length - 1] = 0x0a
  return out
}

/** The five fields of an `Authorization` header. */
export interface Credentials {
  readonly mchid: string
  readonly nonce: string
  readonly signature: string
  readonly timestamp: string
  readonly serialNo: string
}

/** Formats the header in the official SDK's field order. */
export const format = (c: Credentials): string =>
  `${SCHEME} mchid="${c.mchid}",nonce_str="${c.nonce}",signature="${c.signature}",timestamp="${c.timestamp}",serial_no="${c.serialNo}"`

const FIELD = /^([a-z_]+)="([^"]*)"$/

/** Parses a header (fields in any order, as the protocol allows); `undefined` if malformed. */
export const parse = (header: string): Credentials | undefined => {
  if (!header.startsWith(`${SCHEME} `)) return undefined
  const fields = new Map<string, string>()
  for (const part of header.slice(SCHEME.length + 1).split(",")) {
    const m = FIELD.exec(part.trim())
    if (m === null || fields.has(m[1]!)) return undefined
    fields.set(m[1]!, m[2]!)
  }
  const mchid = fields.get("mchid")
  const nonce = fields.get("nonce_str")
  const signature = fields.get("signature")
  const timestamp = fields.get("timestamp")
  const serialNo = fields.get("serial_no")
  if (
    fields.size !== 5 || mchid === undefined || nonce === undefined || signature === undefined ||
    timestamp === undefined || serialNo === undefined
  ) return undefined
  return { mchid, nonce, signature, timestamp, serialNo }
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// CSPRNG bytes are fetched in blocks: one `getRandomValues` call costs more than
// the 32 bytes a nonce needs, so a block serves about a hundred nonces.
const POOL_SIZE = 4096
const pool = new Uint8Array(POOL_SIZE)
let poolOffset = POOL_SIZE

const randomByte = (): number => {
  if (poolOffset === POOL_SIZE) {
    globalThis.crypto.getRandomValues(pool)
    poolOffset = 0
  }
  return pool[poolOffset++]!
}

/** 32 characters of `[0-9A-Za-z]` from the platform CSPRNG, as the official tools make them. */
export const randomNonce = (): string => {
  let out = ""
  while (out.length < 32) {
    const b = randomByte()
    // 248 = 4 × 62: rejecting higher bytes keeps every character equally likely.
    if (b < 248) out += ALPHABET[b % 62]
  }
  return out
}

/**
 * Where request nonces come from. Defaults to {@link randomNonce}; tests
 * provide a fixed one to reproduce published vectors byte for byte.
 * (Timestamps come from effect's `Clock`, which `TestClock` controls.)
 */
export class Nonce extends Context.Reference<Nonce>()("effect-wechatpay/Nonce", {
  defaultValue: (): { readonly next: Effect.Effect<string> } => ({ next: Effect.sync(randomNonce) })
}) {}

/** A nonce source that always answers `value`. */
export const fixedNonce = (value: string): { readonly next: Effect.Effect<string> } => ({ next: Effect.succeed(value) })
