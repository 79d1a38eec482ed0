/**
 * Who is calling and whom to trust: the service provider's mchid, its API
 * certificate serial and private key, and the WeChat Pay public key (or
 * platform certificates) that sign responses. The private key is `Redacted`
 * from the moment it is read.
 *
 * @since 0.1.0
 */
import { Config, ConfigError, Context, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { ConfigurationError } from "./WechatPayError.js"
import { durationOf } from "./internal/Options.js"

/** The primary API domain ("访问就近的接入点"). */
export const DEFAULT_BASE_URL = "https://api.mch.weixin.qq.com"
/** The backup API domain ("访问异地的接入点"). */
export const DEFAULT_BACKUP_BASE_URL = "https://api2.mch.weixin.qq.com"
/** Every official tool rejects responses whose timestamp is 5 minutes or more away from now. */
export const DEFAULT_MAX_CLOCK_SKEW = Duration.seconds(300)

/** The largest `maxClockSkew` accepted: a clock further off than this is broken, not skewed. */
export const MAX_CLOCK_SKEW_LIMIT = Duration.hours(1)

/** @since 0.1.0 */
export interface Options {
  /** The service provider's merchant id (the caller's mchid, sent in Authorization). */
  readonly mchid: string
  /** Serial number of the merchant API certificate (`serial_no` in Authorization). */
  readonly merchantSerialNo: string
  /** The merchant API private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  readonly privateKey: Redacted.Redacted<string>
  /** The WeChat Pay public key id, `PUB_KEY_ID_…`; sent as `Wechatpay-Serial` on requests. */
  readonly publicKeyId?: string | undefined
  /** The WeChat Pay public key, SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
  readonly publicKey?: string | undefined
  /** Platform certificates (X.509 PEM); each is keyed by its own serial number. */
  readonly platformCertificates?: ReadonlyArray<string> | undefined
  /** Defaults to {@link DEFAULT_BASE_URL}. */
  readonly baseUrl?: string | undefined
  /** Defaults to {@link DEFAULT_BACKUP_BASE_URL}. */
  readonly backupBaseUrl?: string | undefined
  /** Largest accepted |now − Wechatpay-Timestamp|; defaults to 300 s. */
  readonly maxClockSkew?: Duration.DurationInput | undefined
}

/** The resolved configuration. */
export interface Service {
  readonly mchid: string
  readonly merchantSerialNo: string
  readonly privateKey: Redacted.Redacted<string>
  readonly publicKeyId: Option.Option<string>
  readonly publicKey: Option.Option<string>
  readonly platformCertificates: ReadonlyArray<string>
  readonly baseUrl: string
  readonly backupBaseUrl: string
  readonly maxClockSkew: Duration.Duration
  /**
   * Where the keys came from (option or environment variable names), so a key
   * that does not parse is reported against the setting to fix.
   */
  readonly sources?: { readonly privateKey: string; readonly publicKey: string } | undefined
}

/** @since 0.1.0 */
export class MerchantConfig extends Context.Tag("effect-wechatpay/MerchantConfig")<MerchantConfig, Service>() {}

const PUB_KEY_ID = /^PUB_KEY_ID_[0-9A-Za-z_]+$/
// The header values we build must never be able to smuggle a quote, comma or line break.
const HEADER_SAFE = /^[\x21\x23-\x2b\x2d-\x7e]+$/

const checkUrl = (variable: string, value: string): Either.Either<string, ConfigurationError> => {
  try {
    const url = new URL(value)
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      return Either.left(new ConfigurationError({ variable, reason: "must be an http(s) URL" }))
    }
    // A bare "?" or "#" leaves `search` and `hash` empty, yet every path appended after it would become
    // the query or the fragment: the raw text is checked too.
    if (url.search !== "" || url.hash !== "" || /[?#]/.test(value)) {
      return Either.left(new ConfigurationError({ variable, reason: "must not have a query or fragment" }))
    }
    // Credentials in the URL would be sent, and shown in every error and span that names the URL.
    if (url.username !== "" || url.password !== "") {
      return Either.left(new ConfigurationError({ variable, reason: "must not carry a user name or password" }))
    }
    return Either.right(value.replace(/\/+$/, ""))
  } catch {
    return Either.left(new ConfigurationError({ variable, reason: "is not a valid URL" }))
  }
}

/** Names used in errors: the environment variables when read by `layerConfig`, option names otherwise. */
interface Names {
  readonly mchid: string
  readonly privateKey: string
  readonly merchantSerialNo: string
  readonly publicKeyId: string
  readonly publicKey: string
  readonly baseUrl: string
  readonly backupBaseUrl: string
  readonly maxClockSkew: string
}

const optionNames: Names = {
  mchid: "mchid",
  privateKey: "privateKey",
  merchantSerialNo: "merchantSerialNo",
  publicKeyId: "publicKeyId",
  publicKey: "publicKey",
  baseUrl: "baseUrl",
  backupBaseUrl: "backupBaseUrl",
  maxClockSkew: "maxClockSkew"
}

/** Checks plain options and fills in defaults. Key contents are checked by `KeyStore`. */
export const make = (options: Options, names: Names = optionNames): Effect.Effect<Service, ConfigurationError> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* new ConfigurationError({ variable: "options", reason: "must be an object of merchant options" })
    }
    if (typeof options.mchid !== "string" || !HEADER_SAFE.test(options.mchid)) {
      return yield* new ConfigurationError({ variable: names.mchid, reason: "must be a non-empty token of visible ASCII" })
    }
    if (typeof options.merchantSerialNo !== "string" || !HEADER_SAFE.test(options.merchantSerialNo)) {
      return yield* new ConfigurationError({
        variable: names.merchantSerialNo,
        reason: "must be a non-empty token of visible ASCII"
      })
    }
    // Untyped callers can hand over anything here (a Redacted of a Redacted, a bare string): refuse it
    // now, naming the option, rather than let the key parser meet a non-string.
    if (!Redacted.isRedacted(options.privateKey) || typeof Redacted.value(options.privateKey) !== "string") {
      return yield* new ConfigurationError({ variable: names.privateKey, reason: "must be the PEM text wrapped in Redacted" })
    }
    if (options.publicKeyId !== undefined && (typeof options.publicKeyId !== "string" || !PUB_KEY_ID.test(options.publicKeyId))) {
      return yield* new ConfigurationError({ variable: names.publicKeyId, reason: "must look like PUB_KEY_ID_…" })
    }
    if ((options.publicKeyId === undefined) !== (options.publicKey === undefined)) {
      return yield* new ConfigurationError({
        variable: options.publicKeyId === undefined ? names.publicKeyId : names.publicKey,
        reason: "the WeChat Pay public key and its id go together: give both or neither"
      })
    }
    if (options.publicKey !== undefined && typeof options.publicKey !== "string") {
      return yield* new ConfigurationError({ variable: names.publicKey, reason: "must be the PEM text of the public key" })
    }
    const certificates: unknown = options.platformCertificates
    if (certificates !== undefined && (!Array.isArray(certificates) || !certificates.every((c) => typeof c === "string"))) {
      return yield* new ConfigurationError({
        variable: "platformCertificates",
        reason: "must be an array of PEM texts (one a certificate)"
      })
    }
    if (options.publicKey === undefined && (options.platformCertificates ?? []).length === 0) {
      return yield* new ConfigurationError({
        variable: names.publicKey,
        reason: "no WeChat Pay public key or platform certificate to verify responses with"
      })
    }
    const baseUrl = yield* checkUrl(names.baseUrl, options.baseUrl ?? DEFAULT_BASE_URL)
    const backupBaseUrl = yield* checkUrl(names.backupBaseUrl, options.backupBaseUrl ?? DEFAULT_BACKUP_BASE_URL)
    // decodeUnknown, not decode: a bad value from untyped callers must be an error, not a throw.
    // Bounded: the window is how old a signed answer may be and still be believed, so a huge one
    // (Infinity, days) would let a replayed answer through.
    const maxClockSkew = durationOf(options.maxClockSkew ?? DEFAULT_MAX_CLOCK_SKEW)
    if (
      Option.isNone(maxClockSkew) || !Duration.greaterThan(maxClockSkew.value, Duration.zero) ||
      Duration.greaterThan(maxClockSkew.value, MAX_CLOCK_SKEW_LIMIT)
    ) {
      return yield* new ConfigurationError({
        variable: names.maxClockSkew,
        reason: "must be a positive duration of at most 1 hour"
      })
    }
    return MerchantConfig.of({
      mchid: options.mchid,
      merchantSerialNo: options.merchantSerialNo,
      privateKey: options.privateKey,
      publicKeyId: Option.fromNullable(options.publicKeyId),
      publicKey: Option.fromNullable(options.publicKey),
      platformCertificates: options.platformCertificates ?? [],
      baseUrl,
      backupBaseUrl,
      maxClockSkew: maxClockSkew.value,
      sources: { privateKey: names.privateKey, publicKey: names.publicKey }
    })
  })

/** @since 0.1.0 */
export const layer = (options: Options): Layer.Layer<MerchantConfig, ConfigurationError> =>
  Layer.effect(MerchantConfig, make(options))

/** The environment variables `layerConfig` reads. */
export const ENV = {
  mchid: "WECHATPAY_MCHID",
  merchantSerialNo: "WECHATPAY_MERCHANT_SERIAL_NO",
  privateKey: "WECHATPAY_PRIVATE_KEY",
  privateKeyFile: "WECHATPAY_PRIVATE_KEY_FILE",
  publicKeyId: "WECHATPAY_PUBLIC_KEY_ID",
  publicKey: "WECHATPAY_PUBLIC_KEY",
  publicKeyFile: "WECHATPAY_PUBLIC_KEY_FILE",
  baseUrl: "WECHATPAY_BASE_URL",
  backupBaseUrl: "WECHATPAY_BACKUP_BASE_URL"
} as const

/** The deepest path segment that a ConfigError names, i.e. the variable. */
const variableOf = (error: ConfigError.ConfigError): string => {
  switch (error._op) {
    case "And":
    case "Or":
      return variableOf(error.left)
    case "InvalidData":
    case "MissingData":
    case "SourceUnavailable":
    case "Unsupported":
      return error.path.join("_") || "configuration"
  }
}

const configFailure = (error: ConfigError.ConfigError): ConfigurationError =>
  new ConfigurationError({
    variable: variableOf(error),
    reason: ConfigError.isMissingDataOnly(error) ? "is not set" : "is malformed"
  })

/** Why a key file could not be read, with what to check (never the path's content). */
const readProblem = (cause: unknown): string => {
  const code = cause instanceof Error && "code" in cause ? String(cause.code) : undefined
  switch (code) {
    case "ENOENT":
      return "ENOENT (there is no such file; check the path)"
    case "EISDIR":
      return "EISDIR (it is a directory; give the key file's path)"
    case "EACCES":
    case "EPERM":
      return `${code} (permission denied; the file must be readable by the user running this)`
    case undefined:
      return "read failed"
    default:
      return code
  }
}

/** Reads a key file through a dynamic import, so importing this module stays runtime-neutral. */
const readFile = (variable: string, path: string): Effect.Effect<string, ConfigurationError> =>
  Effect.tryPromise({
    try: () => import("node:fs/promises").then((fs) => fs.readFile(path, "utf8")),
    catch: (cause) =>
      new ConfigurationError({
        variable,
        reason: `cannot read the file: ${readProblem(cause)}`
      })
  })

/**
 * Takes the inline value if set, otherwise the file named by the `_FILE` variable;
 * `Redacted` as soon as it is read, with the name of the variable that supplied it.
 */
const inlineOrFile = (
  inline: string,
  file: string
): Effect.Effect<Option.Option<{ readonly value: Redacted.Redacted<string>; readonly from: string }>, ConfigurationError> =>
  Effect.gen(function*() {
    const value = yield* Effect.mapError(Config.option(Config.redacted(inline)), configFailure)
    if (Option.isSome(value)) return Option.some({ value: value.value, from: inline })
    const path = yield* Effect.mapError(Config.option(Config.string(file)), configFailure)
    if (Option.isNone(path)) return Option.none()
    return Option.some({ value: Redacted.make(yield* readFile(file, path.value)), from: file })
  })

/**
 * Reads the `WECHATPAY_*` environment variables (through the current
 * `ConfigProvider`, so applications can supply their own source).
 */
export const fromConfig: Effect.Effect<Service, ConfigurationError> = Effect.gen(function*() {
  const mchid = yield* Effect.mapError(Config.string(ENV.mchid), configFailure)
  const merchantSerialNo = yield* Effect.mapError(Config.string(ENV.merchantSerialNo), configFailure)
  const privateKey = yield* inlineOrFile(ENV.privateKey, ENV.privateKeyFile)
  if (Option.isNone(privateKey)) {
    return yield* new ConfigurationError({
      variable: ENV.privateKey,
      reason: `is not set (nor ${ENV.privateKeyFile})`
    })
  }
  const publicKeyId = yield* Effect.mapError(Config.option(Config.string(ENV.publicKeyId)), configFailure)
  const publicKey = yield* inlineOrFile(ENV.publicKey, ENV.publicKeyFile)
  const baseUrl = yield* Effect.mapError(Config.option(Config.string(ENV.baseUrl)), configFailure)
  const backupBaseUrl = yield* Effect.mapError(Config.option(Config.string(ENV.backupBaseUrl)), configFailure)
  return yield* make({
    mchid,
    merchantSerialNo,
    privateKey: privateKey.value.value,
    publicKeyId: Option.getOrUndefined(publicKeyId),
    // The public key is not secret; it is kept as plain text like the option.
    publicKey: Option.getOrUndefined(Option.map(publicKey, (k) => Redacted.value(k.value))),
    baseUrl: Option.getOrUndefined(baseUrl),
    backupBaseUrl: Option.getOrUndefined(backupBaseUrl)
  }, {
    ...ENV,
    privateKey: privateKey.value.from,
    publicKey: Option.match(publicKey, { onNone: () => ENV.publicKey, onSome: (k) => k.from }),
    maxClockSkew: "maxClockSkew"
  })
})

/** @since 0.1.0 */
export const layerConfig: Layer.Layer<MerchantConfig, ConfigurationError> = Layer.effect(MerchantConfig, fromConfig)
