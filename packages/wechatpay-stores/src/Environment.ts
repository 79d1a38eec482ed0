/**
 * The `WECHATPAY_*` variables, checked before the library reads them: every
 * missing one is named at once (the library stops at the first), and a key
 * given both inline and as a file is refused instead of one silently winning.
 */
import { Config, Effect, Option } from "effect"
import { MerchantConfig } from "effect-wechatpay"

const ENV = MerchantConfig.ENV

/** Whether a variable is set (through the current ConfigProvider, so tests pass their own). */
const isSet = (name: string): Effect.Effect<boolean> =>
  Effect.map(Effect.orElseSucceed(Config.option(Config.string(name)), () => Option.some("")), Option.isSome)

/**
 * One line naming every missing variable, or refusing an ambiguous pair; undefined when
 * the variables a client needs are all there (their values are the library's to check).
 */
export const problem: Effect.Effect<string | undefined> = Effect.gen(function*() {
  const missing: Array<string> = []
  for (const name of [ENV.mchid, ENV.merchantSerialNo]) if (!(yield* isSet(name))) missing.push(name)
  for (const [inline, file] of [[ENV.privateKey, ENV.privateKeyFile], [ENV.publicKey, ENV.publicKeyFile]] as const) {
    const [a, b] = [yield* isSet(inline), yield* isSet(file)]
    if (a && b) {
      return `both ${inline} and ${file} are set: unset one of them (unset ${inline} to use the file, or ${file} to use the inline key)`
    }
    if (inline === ENV.publicKey && !(yield* isSet(ENV.publicKeyId))) missing.push(ENV.publicKeyId)
    if (!a && !b) missing.push(`${inline} (or ${file})`)
  }
  if (missing.length === 0) return undefined
  return missing.length === 1
    ? `${missing[0]}: is not set`
    : `${missing.join(", ")}: are not set`
})
