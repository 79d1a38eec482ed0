/**
 * What a `TransportError` means, read from the platform's error behind it (the
 * same for `FetchHttpClient` and `NodeHttpClient`): refused, DNS, TLS, timeout,
 * reset or unreachable, with its code and address. Public through `WechatPayError`.
 */

/** The parts of a `TransportError` a diagnosis reads. */
export interface TransportFailure {
  readonly reason: string
  readonly url: string
  readonly cause?: unknown
}

/** Why an HTTP attempt got no answer, as far as the platform's error says. */
export interface TransportDiagnosis {
  readonly kind: "refused" | "dns" | "tls" | "timeout" | "reset" | "unreachable" | "other"
  /** The system or undici code, e.g. `ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_CONNECT_TIMEOUT`, a TLS code. */
  readonly code: string | undefined
  /** One line, e.g. "connection refused (ECONNREFUSED) at 127.0.0.1:1234". */
  readonly text: string
}

const TRANSPORT_KINDS: ReadonlyArray<readonly [RegExp, TransportDiagnosis["kind"], string]> = [
  [/^ECONNREFUSED$/, "refused", "connection refused"],
  [/^(ENOTFOUND|EAI_NONAME|EAI_FAIL|EAI_NODATA)$/, "dns", "DNS lookup failed"],
  [/^EAI_AGAIN$/, "dns", "DNS lookup failed (temporary)"],
  [/^(ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)$/, "timeout", "connect timeout"],
  [/^(UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT)$/, "timeout", "no answer in time"],
  [/^(ECONNRESET|EPIPE|UND_ERR_SOCKET|UND_ERR_CLOSED)$/, "reset", "connection reset"],
  [/^(EHOSTUNREACH|ENETUNREACH|ENETDOWN|EHOSTDOWN|EADDRNOTAVAIL)$/, "unreachable", "host unreachable"],
  [
    /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL_)/,
    "tls",
    "TLS failure"
  ]
]

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

/**
 * The first error in a cause chain that carries a code. Fetch wraps the socket's
 * error (`TypeError: fetch failed`, code in `.cause`); undici and node:http carry
 * it directly; happy eyeballs can wrap several in an `AggregateError`.
 */
const codedCause = (cause: unknown): Readonly<Record<string, unknown>> | undefined => {
  let current: unknown = cause
  for (let depth = 0; depth < 6 && isObject(current); depth++) {
    if (typeof current["code"] === "string" && current["code"] !== "") return current
    const errors = current["errors"]
    current = current["cause"] ?? (Array.isArray(errors) ? errors[0] : undefined)
  }
  return undefined
}

const hostOf = (url: string): string | undefined => {
  try {
    return new URL(url).host
  } catch {
    return undefined
  }
}

/**
 * Reads the platform's error behind a `TransportError` (the same for
 * `FetchHttpClient` and `NodeHttpClient`): what kind of failure, its code, and
 * where. Falls back to a code named in the reason text, then to the reason.
 */
export const diagnoseTransport = (error: TransportFailure): TransportDiagnosis => {
  const coded = codedCause(error.cause)
  const code = coded !== undefined
    ? coded["code"] as string
    : /\b(E[A-Z_]{3,}|UND_ERR_[A-Z_]+|ERR_(?:SSL|TLS)_[A-Z_]+)\b/.exec(error.reason)?.[1]
  const address = coded !== undefined && typeof coded["address"] === "string"
    ? typeof coded["port"] === "number" ? `${coded["address"]}:${coded["port"]}` : coded["address"]
    : coded !== undefined && typeof coded["hostname"] === "string"
    ? coded["hostname"]
    : hostOf(error.url)
  const at = address === undefined ? "" : ` at ${address}`
  if (code === undefined) return { kind: "other", code, text: `${error.reason}${at}` }
  const known = TRANSPORT_KINDS.find(([pattern]) => pattern.test(code))
  if (known !== undefined) return { kind: known[1], code, text: `${known[2]} (${code})${at}` }
  const detail = coded !== undefined && typeof coded["message"] === "string" ? coded["message"].split("\n")[0]! : error.reason
  return { kind: "other", code, text: `${detail} (${code})${at}` }
}

/** {@link diagnoseTransport}'s one line. */
export const describeTransport = (error: TransportFailure): string =>
  diagnoseTransport(error).text
