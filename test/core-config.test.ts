// Configuration from WECHATPAY_* variables (through ConfigProvider.fromMap) and key-format errors.
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option, Redacted, TestClock } from "effect"
import * as NodeCrypto from "node:crypto"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { KeyStore, MerchantConfig, Signer, WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { baseOptions, keys } from "./support/Keys.js"
import { NOW } from "./support/Time.js"
import { signed } from "./support/RecordingHttpClient.js"
import * as RecordingHttpClient from "./support/RecordingHttpClient.js"
import { bodiless } from "./support/Requests.js"

const privatePem = Redacted.value(keys.merchantPrivateKeyPem)

const fullEnv: Record<string, string> = {
  WECHATPAY_MCHID: keys.mchid,
  WECHATPAY_MERCHANT_SERIAL_NO: keys.merchantSerialNo,
  WECHATPAY_PRIVATE_KEY: privatePem,
  WECHATPAY_PUBLIC_KEY_ID: keys.wechatpayPublicKeyId,
  WECHATPAY_PUBLIC_KEY: keys.wechatpayPublicKeyPem,
  WECHATPAY_BASE_URL: "https://primary.example.test",
  WECHATPAY_BACKUP_BASE_URL: "https://backup.example.test/"
}

const without = (env: Record<string, string>, ...names: ReadonlyArray<string>) =>
  Object.fromEntries(Object.entries(env).filter(([k]) => !names.includes(k)))

const readEnv = (env: Record<string, string>) =>
  MerchantConfig.fromConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

/** A temp directory with the given files, removed when the scope closes. */
const tempFiles = (files: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "effect-wechatpay-"))
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

describe("layerConfig reads every variable", () => {
  it.effect("inline values, with the base URLs as given (trailing slash dropped)", () =>
    Effect.gen(function*() {
      const c = yield* readEnv(fullEnv)
      assert.strictEqual(c.mchid, keys.mchid)
      assert.strictEqual(c.merchantSerialNo, keys.merchantSerialNo)
      assert.strictEqual(Redacted.value(c.privateKey), privatePem)
      assert.deepStrictEqual(c.publicKeyId, Option.some(keys.wechatpayPublicKeyId))
      assert.deepStrictEqual(c.publicKey, Option.some(keys.wechatpayPublicKeyPem))
      assert.strictEqual(c.baseUrl, "https://primary.example.test")
      assert.strictEqual(c.backupBaseUrl, "https://backup.example.test")
      assert.strictEqual(Duration.toSeconds(c.maxClockSkew), 300)
      // The private key is Redacted from the moment it is read.
      assert.notInclude(String(c.privateKey), "PRIVATE KEY")
    }))

  it.effect("defaults for both base URLs", () =>
    Effect.gen(function*() {
      const c = yield* readEnv(without(fullEnv, "WECHATPAY_BASE_URL", "WECHATPAY_BACKUP_BASE_URL"))
      assert.strictEqual(c.baseUrl, "https://api.mch.weixin.qq.com")
      assert.strictEqual(c.backupBaseUrl, "https://api2.mch.weixin.qq.com")
    }))

  it.scoped("the _FILE variants read the keys from files", () =>
    Effect.gen(function*() {
      const dir = yield* tempFiles({ "apiclient_key.pem": privatePem, "pub_key.pem": keys.wechatpayPublicKeyPem })
      const env = {
        ...without(fullEnv, "WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY"),
        WECHATPAY_PRIVATE_KEY_FILE: join(dir, "apiclient_key.pem"),
        WECHATPAY_PUBLIC_KEY_FILE: join(dir, "pub_key.pem")
      }
      const c = yield* readEnv(env)
      assert.strictEqual(Redacted.value(c.privateKey), privatePem)
      assert.deepStrictEqual(c.publicKey, Option.some(keys.wechatpayPublicKeyPem))
    }))

  it.scoped("a key file that cannot be read: the errno and what to check, never a throw", () =>
    Effect.gen(function*() {
      const dir = yield* tempFiles({ "x.pem": "x" })
      for (const [path, says] of [[dir, "EISDIR (it is a directory; give the key file's path)"], [join(dir, "missing.pem"), "ENOENT (there is no such file; check the path)"]] as const) {
        const err = yield* Effect.flip(readEnv({ ...without(fullEnv, "WECHATPAY_PRIVATE_KEY"), WECHATPAY_PRIVATE_KEY_FILE: path }))
        assert.strictEqual(err._tag, "ConfigurationError")
        assert.include(err.message, `cannot read the file: ${says}`)
      }
    }))

  it.scoped("an inline value wins over its _FILE variant", () =>
    Effect.gen(function*() {
      const dir = yield* tempFiles({ "other.pem": "not this one" })
      const c = yield* readEnv({ ...fullEnv, WECHATPAY_PRIVATE_KEY_FILE: join(dir, "other.pem") })
      assert.strictEqual(Redacted.value(c.privateKey), privatePem)
    }))

  it.effect("keys given on one line with literal \\n escapes (as .env files and CI secrets often hold them)", () =>
    Effect.gen(function*() {
      const oneLine = (pem: string) => pem.trim().replace(/\r?\n/g, "\\n")
      const env = { ...fullEnv, WECHATPAY_PRIVATE_KEY: oneLine(privatePem), WECHATPAY_PUBLIC_KEY: oneLine(keys.wechatpayPublicKeyPem) }
      assert.notInclude(env.WECHATPAY_PRIVATE_KEY, "\n")
      const store = yield* Effect.provide(
        KeyStore.KeyStore,
        KeyStore.layer.pipe(Layer.provide(Layer.effect(MerchantConfig.MerchantConfig, readEnv(env))))
      )
      assert.deepStrictEqual(yield* store.knownSerials, [keys.wechatpayPublicKeyId])
      const expected = NodeCrypto.createPrivateKey(privatePem).export({ type: "pkcs8", format: "der" })
      assert.deepStrictEqual(Buffer.from(Redacted.value(store.merchantKey.pkcs8)), expected)
    }))

  it.effect("WechatPayClient.layerConfig builds a working client (Layer.setConfigProvider)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW * 1000)
      const layer = WechatPayClient.layerConfig.pipe(
        Layer.provide(RecordingHttpClient.layer(() => signed(200, "{}"))),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(fullEnv)))))
      )
      const res = yield* Effect.gen(function*() {
        const client = yield* WechatPayClient.WechatPayClient
        const config = yield* MerchantConfig.MerchantConfig
        assert.strictEqual(config.baseUrl, "https://primary.example.test")
        return yield* client.execute(bodiless("GET", "/v3/x", config.baseUrl))
      }).pipe(Effect.provide(layer))
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.url, "https://primary.example.test/v3/x")
    }))
})

describe("each missing or malformed variable is a ConfigurationError naming it", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>, string]> = [
    ["missing mchid", without(fullEnv, "WECHATPAY_MCHID"), "WECHATPAY_MCHID"],
    ["missing serial", without(fullEnv, "WECHATPAY_MERCHANT_SERIAL_NO"), "WECHATPAY_MERCHANT_SERIAL_NO"],
    ["missing private key (and no _FILE)", without(fullEnv, "WECHATPAY_PRIVATE_KEY"), "WECHATPAY_PRIVATE_KEY"],
    ["public key id without public key", without(fullEnv, "WECHATPAY_PUBLIC_KEY"), "WECHATPAY_PUBLIC_KEY"],
    ["public key without its id", without(fullEnv, "WECHATPAY_PUBLIC_KEY_ID"), "WECHATPAY_PUBLIC_KEY_ID"],
    ["neither public key nor id", without(fullEnv, "WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID"), "WECHATPAY_PUBLIC_KEY"],
    ["empty mchid", { ...fullEnv, WECHATPAY_MCHID: "" }, "WECHATPAY_MCHID"],
    ["mchid with a quote", { ...fullEnv, WECHATPAY_MCHID: `19",x="1` }, "WECHATPAY_MCHID"],
    ["serial with a space", { ...fullEnv, WECHATPAY_MERCHANT_SERIAL_NO: "AB CD" }, "WECHATPAY_MERCHANT_SERIAL_NO"],
    ["public key id of the wrong shape", { ...fullEnv, WECHATPAY_PUBLIC_KEY_ID: "5157F09EFDC0" }, "WECHATPAY_PUBLIC_KEY_ID"],
    ["base URL that is not a URL", { ...fullEnv, WECHATPAY_BASE_URL: "api.mch.weixin.qq.com" }, "WECHATPAY_BASE_URL"],
    ["base URL with a query", { ...fullEnv, WECHATPAY_BASE_URL: "https://a.example/?x=1" }, "WECHATPAY_BASE_URL"],
    // Each path would be appended after them, as the query or the fragment.
    ["base URL ending in a bare ?", { ...fullEnv, WECHATPAY_BASE_URL: "https://a.example/?" }, "WECHATPAY_BASE_URL"],
    ["backup URL ending in a bare #", { ...fullEnv, WECHATPAY_BACKUP_BASE_URL: "https://b.example#" }, "WECHATPAY_BACKUP_BASE_URL"],
    ["base URL with a password", { ...fullEnv, WECHATPAY_BASE_URL: "https://svc:hunter2secret@a.example" }, "WECHATPAY_BASE_URL"],
    ["backup URL of another scheme", { ...fullEnv, WECHATPAY_BACKUP_BASE_URL: "ftp://b.example" }, "WECHATPAY_BACKUP_BASE_URL"],
    [
      "private key file that does not exist",
      { ...without(fullEnv, "WECHATPAY_PRIVATE_KEY"), WECHATPAY_PRIVATE_KEY_FILE: "/nonexistent/apiclient_key.pem" },
      "WECHATPAY_PRIVATE_KEY_FILE"
    ],
    [
      "public key file that does not exist",
      { ...without(fullEnv, "WECHATPAY_PUBLIC_KEY"), WECHATPAY_PUBLIC_KEY_FILE: "/nonexistent/pub_key.pem" },
      "WECHATPAY_PUBLIC_KEY_FILE"
    ]
  ]
  for (const [label, env, variable] of cases) {
    it.effect(`${label} → ${variable}`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(readEnv(env))
        assert.strictEqual(err._tag, "ConfigurationError")
        assert.strictEqual(err.variable, variable)
        assert.include(err.message, variable)
        assert.notInclude(err.message, "hunter2secret")
        // Through the whole client layer too: the same typed error, not a defect.
        const viaLayer = yield* Effect.flip(
          Layer.build(WechatPayClient.layerConfig.pipe(
            Layer.provide(RecordingHttpClient.layer(() => ({ status: 500 }))),
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
          )).pipe(Effect.scoped)
        )
        assert.strictEqual(viaLayer._tag, "ConfigurationError")
      }))
  }
})

describe("a malformed key read from the environment names its variable", () => {
  const pkcs1 = NodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey
    .export({ type: "pkcs1", format: "pem" }).toString()
  const buildFrom = (env: Record<string, string>) =>
    Layer.build(WechatPayClient.layerConfig.pipe(
      Layer.provide(RecordingHttpClient.layer(() => ({ status: 500 }))),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
    )).pipe(Effect.scoped, Effect.flip)

  it.effect("WECHATPAY_PRIVATE_KEY holding a PKCS#1 key", () =>
    Effect.gen(function*() {
      const err = yield* buildFrom({ ...fullEnv, WECHATPAY_PRIVATE_KEY: pkcs1 })
      assert.strictEqual(err._tag, "KeyFormatError")
      if (err._tag !== "KeyFormatError") return
      assert.include(err.source, "WECHATPAY_PRIVATE_KEY")
      assert.include(err.expected, "PKCS#8")
    }))

  it.scoped("WECHATPAY_PRIVATE_KEY_FILE and WECHATPAY_PUBLIC_KEY_FILE holding the wrong things", () =>
    Effect.gen(function*() {
      const dir = yield* tempFiles({ "key.pem": "garbage", "pub.pem": privatePem })
      const base = without(fullEnv, "WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY")
      const badPrivate = yield* buildFrom({ ...base, WECHATPAY_PRIVATE_KEY_FILE: join(dir, "key.pem"), WECHATPAY_PUBLIC_KEY: keys.wechatpayPublicKeyPem })
      assert.strictEqual(badPrivate._tag, "KeyFormatError")
      if (badPrivate._tag === "KeyFormatError") assert.include(badPrivate.source, "WECHATPAY_PRIVATE_KEY_FILE")
      const badPublic = yield* buildFrom({ ...base, WECHATPAY_PRIVATE_KEY: privatePem, WECHATPAY_PUBLIC_KEY_FILE: join(dir, "pub.pem") })
      assert.strictEqual(badPublic._tag, "KeyFormatError")
      if (badPublic._tag === "KeyFormatError") {
        assert.include(badPublic.source, "WECHATPAY_PUBLIC_KEY_FILE")
        assert.include(badPublic.expected, "SPKI")
      }
    }))

  it.effect("options name the option instead", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(
        Layer.build(KeyStore.layer.pipe(Layer.provide(MerchantConfig.layer({ ...baseOptions, privateKey: Redacted.make(pkcs1) })))).pipe(
          Effect.scoped
        )
      )
      assert.strictEqual(err._tag, "KeyFormatError")
      if (err._tag === "KeyFormatError") assert.include(err.source, "privateKey")
    }))
})

describe("maxClockSkew option", () => {
  // A window that large would let a stale or replayed answer through as fresh.
  const bads: ReadonlyArray<Duration.DurationInput> = [-1, 0, Number.NaN, Number.POSITIVE_INFINITY, Duration.infinity, "36500 days", "3601 seconds", "-5 seconds"]
  for (const bad of bads) {
    it.effect(`${bad} → ConfigurationError naming maxClockSkew, not a throw`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(MerchantConfig.make({ ...baseOptions, maxClockSkew: bad }))
        assert.strictEqual(err.variable, "maxClockSkew")
      }))
  }
  it.effect("up to 1 hour is accepted", () =>
    Effect.gen(function*() {
      const config = yield* MerchantConfig.make({ ...baseOptions, maxClockSkew: "1 hour" })
      assert.strictEqual(Duration.toSeconds(config.maxClockSkew), 3600)
    }))
  it.effect("a string that is not a duration (from untyped callers) → ConfigurationError", () =>
    Effect.gen(function*() {
      const untyped: Record<string, unknown> = { ...baseOptions, maxClockSkew: "five minutes" }
      const err = yield* Effect.flip(MerchantConfig.make(untyped as unknown as MerchantConfig.Options))
      assert.strictEqual(err.variable, "maxClockSkew")
    }))
})

describe("privateKey option from untyped callers", () => {
  for (const [label, bad] of [
    ["a Redacted of a Redacted", Redacted.make(Redacted.make("-----BEGIN PRIVATE KEY-----"))],
    ["a bare string", "-----BEGIN PRIVATE KEY-----"],
    ["a Redacted number", Redacted.make(42)]
  ] as const) {
    it.effect(`${label} → ConfigurationError naming privateKey, not a defect`, () =>
      Effect.gen(function*() {
        const untyped: Record<string, unknown> = { ...baseOptions, privateKey: bad }
        const err = yield* Effect.flip(MerchantConfig.make(untyped as unknown as MerchantConfig.Options))
        assert.strictEqual(err.variable, "privateKey")
      }))
  }
})

describe("key formats", () => {
  const rsa = NodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  const pkcs1 = rsa.privateKey.export({ type: "pkcs1", format: "pem" }).toString()
  const ec = NodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
  const ecPkcs8 = ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString()
  const ecSpki = ec.publicKey.export({ type: "spki", format: "pem" }).toString()
  const encrypted = rsa.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "x" })
    .toString()
  // Well-formed PEM and PKCS#8 framing around the RSA OID, but the inner key is junk: only the crypto backend can tell.
  const junkInner = (() => {
    const der = Buffer.from("3017020100300d06092a864886f70d01010105000403010203", "hex")
    return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64")}\n-----END PRIVATE KEY-----\n`
  })()

  /** Builds the crypto layers (KeyStore + Signer) over the given options. */
  const buildCrypto = (options: MerchantConfig.Options, signer: typeof Signer.layer = Signer.layer) =>
    Layer.build(signer.pipe(Layer.provideMerge(KeyStore.layer), Layer.provide(MerchantConfig.layer(options)))).pipe(
      Effect.scoped
    )

  it.effect("a PKCS#1 key → KeyFormatError naming PKCS#8 and how to convert", () =>
    Effect.gen(function*() {
      const err = yield* Effect.flip(buildCrypto({ ...baseOptions, privateKey: Redacted.make(pkcs1) }))
      assert.strictEqual(err._tag, "KeyFormatError")
      if (err._tag !== "KeyFormatError") return
      assert.include(err.expected, "PKCS#8")
      assert.include(err.reason, "PKCS#1")
      assert.include(err.message, "PKCS#8")
    }))

  const badPrivate: ReadonlyArray<readonly [string, string]> = [
    ["a public key PEM", keys.merchantPublicKeyPem],
    ["garbage", "this is not a key at all"],
    ["an empty string", ""],
    ["an encrypted PKCS#8 key", encrypted],
    ["an EC key", ecPkcs8],
    ["a PEM block with broken Base64", "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"],
    ["a PEM block with truncated DER", privatePem.replace(/\n[^\n]+\n-----END/, "\n-----END")],
    ["a certificate", "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"]
  ]
  for (const [label, pem] of badPrivate) {
    for (const [backend, signer] of [["node:crypto", Signer.layer], ["webcrypto", Signer.layerWebCrypto]] as const) {
      it.effect(`${label} as the private key → KeyFormatError naming PKCS#8 (${backend})`, () =>
        Effect.gen(function*() {
          const err = yield* Effect.flip(buildCrypto({ ...baseOptions, privateKey: Redacted.make(pem) }, signer))
          assert.strictEqual(err._tag, "KeyFormatError")
          if (err._tag === "KeyFormatError") assert.include(err.expected, "PKCS#8")
        }))
    }
  }

  for (const [backend, signer] of [["node:crypto", Signer.layer], ["webcrypto", Signer.layerWebCrypto]] as const) {
    it.effect(`a PKCS#8 key the backend cannot import → KeyFormatError, not a defect (${backend})`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(buildCrypto({ ...baseOptions, privateKey: Redacted.make(junkInner) }, signer))
        assert.strictEqual(err._tag, "KeyFormatError")
      }))
  }

  const badPublic: ReadonlyArray<readonly [string, string]> = [
    ["a private key PEM", privatePem],
    ["garbage", "garbage"],
    ["an empty string", ""],
    ["an EC public key", ecSpki]
  ]
  for (const [label, pem] of badPublic) {
    it.effect(`${label} as the WeChat Pay public key → KeyFormatError naming SPKI`, () =>
      Effect.gen(function*() {
        const err = yield* Effect.flip(buildCrypto({ ...baseOptions, publicKey: pem }))
        assert.strictEqual(err._tag, "KeyFormatError")
        if (err._tag === "KeyFormatError") assert.include(err.expected, "SPKI")
      }))
  }

  it.effect("the official-format key with explanatory text around the PEM block is accepted", () =>
    Effect.gen(function*() {
      const wrapped = `Merchant API key, keep safe.\n${privatePem}\ntrailing notes\n`
      const signer = yield* Effect.provide(
        Signer.Signer,
        Signer.layer.pipe(Layer.provide(KeyStore.layer), Layer.provide(MerchantConfig.layer({ ...baseOptions, privateKey: Redacted.make(wrapped) })))
      )
      const sig = yield* signer.sign("message")
      assert.isTrue(NodeCrypto.verify("sha256", Buffer.from("message"), keys.merchantPublicKey, Buffer.from(sig, "base64")))
    }))
})
