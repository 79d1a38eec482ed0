/**
 * Pure PEM and DER helpers: just enough ASN.1 to tell PKCS#8 from PKCS#1, check
 * that a key is RSA, and take the public key and serial out of an X.509
 * certificate. No crypto backend is needed here, so the same checks run on
 * Node, Bun, Deno and edge runtimes.
 *
 * @since 0.1.0
 */
import { Either, Encoding } from "effect"

/** A PEM block: its label (`PRIVATE KEY`, `PUBLIC KEY`, `CERTIFICATE`, …) and DER bytes. */
export interface PemBlock {
  readonly label: string
  readonly der: Uint8Array
}

// RFC 7468: encapsulation boundaries are whole lines; text around them is explanatory and ignored.
const PEM_RE = /^-----BEGIN ([A-Z0-9 ]+)-----\r?$([\s\S]*?)^-----END \1-----\r?$/gm

/**
 * Reads the first PEM block whose label is one of `labels` (any label when
 * none are given), skipping other blocks as OpenSSL does.
 */
export const decode = (text: string, labels?: ReadonlyArray<string>): Either.Either<PemBlock, string> => {
  const direct = decodeLines(text, labels)
  // Keys pasted into .env files or CI secrets often arrive on one line with literal "\n" escapes.
  if (Either.isLeft(direct) && !text.includes("\n") && text.includes("\\n")) {
    return decodeLines(text.replace(/(?:\\r)?\\n/g, "\n"), labels)
  }
  return direct
}

const decodeLines = (text: string, labels?: ReadonlyArray<string>): Either.Either<PemBlock, string> => {
  const found: Array<string> = []
  for (const match of text.matchAll(PEM_RE)) {
    const label = match[1] ?? ""
    if (labels !== undefined && !labels.includes(label)) {
      found.push(label)
      continue
    }
    const body = (match[2] ?? "").replace(/\s+/g, "")
    if (body.length === 0) return Either.left(`empty ${label} block`)
    return Either.match(Encoding.decodeBase64(body), {
      onLeft: () => Either.left(`${label} block is not valid Base64`),
      onRight: (der) => Either.right({ label, der })
    })
  }
  return Either.left(found.length === 0 ? "no PEM block found" : `found only ${found.join(", ")} block(s)`)
}

/** One DER element: tag, and where its content lies in the buffer. */
export interface Tlv {
  readonly tag: number
  readonly start: number // first byte of the element (the tag)
  readonly contentStart: number
  readonly end: number // one past the last content byte
}

/** Reads the element at `offset`, or fails on a truncated/oversized length. */
export const readTlv = (der: Uint8Array, offset: number): Either.Either<Tlv, string> => {
  if (offset + 2 > der.length) return Either.left("truncated DER")
  const tag = der[offset]!
  let len = der[offset + 1]!
  let contentStart = offset + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || contentStart + n > der.length) return Either.left("bad DER length")
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + der[contentStart + i]!
    contentStart += n
  }
  const end = contentStart + len
  if (end > der.length) return Either.left("truncated DER")
  return Either.right({ tag, start: offset, contentStart, end })
}

/** The children of a constructed element (SEQUENCE, context tags). */
export const children = (der: Uint8Array, parent: Tlv): Either.Either<ReadonlyArray<Tlv>, string> => {
  const out: Array<Tlv> = []
  let offset = parent.contentStart
  while (offset < parent.end) {
    const next = readTlv(der, offset)
    if (Either.isLeft(next)) return Either.left(next.left)
    out.push(next.right)
    offset = next.right.end
  }
  return Either.right(out)
}

const SEQUENCE = 0x30
const INTEGER = 0x02
const OID = 0x06
// 1.2.840.113549.1.1.1 rsaEncryption
const RSA_OID = Uint8Array.of(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01)

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i])

/** Is this AlgorithmIdentifier SEQUENCE rsaEncryption? */
const isRsaAlgorithm = (der: Uint8Array, alg: Tlv | undefined): boolean => {
  if (alg === undefined || alg.tag !== SEQUENCE) return false
  const first = readTlv(der, alg.contentStart)
  return Either.isRight(first) && first.right.tag === OID &&
    sameBytes(der.subarray(first.right.contentStart, first.right.end), RSA_OID)
}

const topSequence = (der: Uint8Array): Either.Either<ReadonlyArray<Tlv>, string> =>
  Either.flatMap(readTlv(der, 0), (top) =>
    top.tag !== SEQUENCE || top.end !== der.length ? Either.left("not a single DER SEQUENCE") : children(der, top))

/** Checks a PKCS#8 PrivateKeyInfo holding an RSA key. */
export const checkPkcs8Rsa = (der: Uint8Array): Either.Either<void, string> =>
  Either.flatMap(topSequence(der), (parts) => {
    if (parts.length < 3 || parts[0]!.tag !== INTEGER) return Either.left("not a PKCS#8 PrivateKeyInfo")
    return isRsaAlgorithm(der, parts[1]) ? Either.void : Either.left("not an RSA key")
  })

/** Checks an SPKI SubjectPublicKeyInfo holding an RSA key. */
export const checkSpkiRsa = (der: Uint8Array): Either.Either<void, string> =>
  Either.flatMap(topSequence(der), (parts) =>
    parts.length === 2 && isRsaAlgorithm(der, parts[0]) ? Either.void : Either.left("not an RSA SubjectPublicKeyInfo"))

/** What WeChat Pay keys a platform certificate by: its serial, upper-case hex. */
export interface CertificateInfo {
  readonly serial: string
  readonly spki: Uint8Array
}

const toHex = (bytes: Uint8Array): string => {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++ // DER pads positive integers with 0x00
  let out = ""
  for (let i = start; i < bytes.length; i++) out += bytes[i]!.toString(16).padStart(2, "0")
  return out.toUpperCase()
}

/** Takes the serial and the SubjectPublicKeyInfo out of an X.509 certificate. */
export const readCertificate = (der: Uint8Array): Either.Either<CertificateInfo, string> =>
  Either.flatMap(topSequence(der), (cert) => {
    const tbs = cert[0]
    if (tbs === undefined || tbs.tag !== SEQUENCE) return Either.left("not an X.509 certificate")
    return Either.flatMap(children(der, tbs), (fields) => {
      // [0] EXPLICIT version is optional; everything after it is positional.
      const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields
      const serial = rest[0]
      const spki = rest[5]
      if (serial === undefined || serial.tag !== INTEGER || spki === undefined || spki.tag !== SEQUENCE) {
        return Either.left("not an X.509 certificate")
      }
      const spkiDer = der.slice(spki.start, spki.end)
      return Either.map(checkSpkiRsa(spkiDer), () => ({
        serial: toHex(der.subarray(serial.contentStart, serial.end)),
        spki: spkiDer
      }))
    })
  })
