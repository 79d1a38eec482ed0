// Platform-certificate mode, side by side with public-key mode, and key rotation at run time.
// The certificate is a committed self-signed fixture (see test/fixtures/README.md).
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, TestClock } from "effect"
import * as NodeCrypto from "node:crypto"
import { readFileSync } from "node:fs"
import { KeyStore, MerchantConfig, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import type { TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { baseOptions, keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { type Reply, signed } from "./support/RecordingHttpClient.js"
import { clientWithKeysLayer, signerLayers } from "./support/Clients.js"
import { bodiless } from "./support/Requests.js"

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8")
const certPem = fixture("platform-cert.pem")
const certKey = NodeCrypto.createPrivateKey(fixture("platform-cert-key.pem"))
// What `openssl x509 -serial` printed when the fixture was made (test/fixtures/README.md).
const OPENSSL_SERIAL = "32B3C82CBB6F23B27F02BC13D31F2E08991E8F09"

/** The fake server's keys when it signs with the platform certificate's key. */
const certSigner: TestKeys.TestKeys = { ...keys, wechatpayPrivateKey: certKey, wechatpayPublicKeyId: OPENSSL_SERIAL }

const request = bodiless("GET", "/v3/certificates-probe")

describe("parsing the platform certificate", () => {
  it("keys it by its serial, as openssl and node's X509Certificate print it", () => {
    const key = Either.getOrThrow(KeyStore.parseCertificate("fixture", certPem))
    const x509 = new NodeCrypto.X509Certificate(certPem)
    assert.strictEqual(key.serial, OPENSSL_SERIAL)
    assert.strictEqual(key.serial, x509.serialNumber.toUpperCase())
    assert.strictEqual(key.kind, "platform-certificate")
    // The SubjectPublicKeyInfo taken out of the certificate is the certificate's public key.
    const spki = x509.publicKey.export({ type: "spki", format: "der" })
    assert.deepStrictEqual(Buffer.from(key.spki), spki)
  })

  it("a certificate PEM that is not a certificate is a KeyFormatError naming X.509", () => {
    for (const bad of ["", "garbage", keys.wechatpayPublicKeyPem, certPem.replace(/M/g, "N")]) {
      const result = KeyStore.parseCertificate("bad", bad)
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "KeyFormatError")
        assert.include(result.left.expected, "X.509")
      }
    }
  })
})

for (const [name, signer] of signerLayers) {
  describe(`platform-certificate mode (${name})`, () => {
    const run = (options: MerchantConfig.Options, reply: () => Reply) =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW * 1000)
        const client = yield* WechatPayClient.WechatPayClient
        return yield* client.execute(request)
      }).pipe(Effect.provide(clientWithKeysLayer(signer, reply, options)))

    const certOnly: MerchantConfig.Options = {
      ...baseOptions,
      publicKeyId: undefined,
      publicKey: undefined,
      platformCertificates: [certPem]
    }

    it.effect("a response signed with the certificate's key and its serial verifies", () =>
      Effect.gen(function*() {
        const res = yield* run(certOnly, () => signed(200, `{"ok":true}`, { keys: certSigner }))
        assert.strictEqual(new TextDecoder().decode(res.body), `{"ok":true}`)
        // The same bytes signed by another key under the certificate's serial do not.
        const forged = yield* Effect.flip(run(certOnly, () => signed(200, `{"ok":true}`, { keys: { ...keys, wechatpayPublicKeyId: OPENSSL_SERIAL } })))
        assert.strictEqual(forged._tag, "InvalidSignatureError")
      }))

    it.effect("two keys at once: public key and certificate both verify, each under its own serial", () =>
      Effect.gen(function*() {
        const both: MerchantConfig.Options = { ...baseOptions, platformCertificates: [certPem] }
        const viaCert = yield* run(both, () => signed(200, `{"via":"cert"}`, { keys: certSigner }))
        const viaKey = yield* run(both, () => signed(200, `{"via":"key"}`))
        assert.strictEqual(viaCert.status, 200)
        assert.strictEqual(viaKey.status, 200)
        const known = yield* Effect.flip(run(both, () => ({
          ...signed(200, "{}"),
          headers: { ...signed(200, "{}").headers, "wechatpay-serial": "FFFF" }
        })))
        assert.strictEqual(known._tag, "UnknownSerialError")
        if (known._tag === "UnknownSerialError") {
          assert.sameMembers([...known.knownSerials], [keys.wechatpayPublicKeyId, OPENSSL_SERIAL])
        }
      }))

    it.effect("rotation: add the new key, then remove the old one, while the client keeps running", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW * 1000)
        let signWith = certSigner
        const layer = clientWithKeysLayer(signer, () => signed(200, `{"n":1}`, { keys: signWith }))
        yield* Effect.gen(function*() {
          const client = yield* WechatPayClient.WechatPayClient
          const store = yield* KeyStore.KeyStore
          // Before: only the public key is trusted; the certificate's serial is unknown.
          const before = yield* Effect.flip(client.execute(request))
          assert.strictEqual(before._tag, "UnknownSerialError")
          yield* store.add(Either.getOrThrow(KeyStore.parseCertificate("new platform certificate", certPem)))
          assert.sameMembers([...(yield* store.knownSerials)], [keys.wechatpayPublicKeyId, OPENSSL_SERIAL])
          assert.strictEqual((yield* client.execute(request)).status, 200)
          signWith = keys
          assert.strictEqual((yield* client.execute(request)).status, 200)
          yield* store.remove(keys.wechatpayPublicKeyId)
          const after = yield* Effect.flip(client.execute(request))
          assert.strictEqual(after._tag, "UnknownSerialError")
          if (after._tag === "UnknownSerialError") assert.deepStrictEqual(after.knownSerials, [OPENSSL_SERIAL])
          signWith = certSigner
          assert.strictEqual((yield* client.execute(request)).status, 200)
        }).pipe(Effect.provide(layer))
      }))
  })
}
