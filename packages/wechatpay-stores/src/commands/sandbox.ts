/**
 * `wechatpay-stores sandbox`: a loopback WeChat Pay in the foreground, with the
 * settings a client needs, a ready list of its stores, and the faults it injects.
 */
import * as Options from "@effect/cli/Options"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { FakeWechatPay, SandboxServer, SandboxSettings, TestKeys } from "effect-wechatpay/testing"
import * as Io from "../Io.js"
import * as Program from "../Program.js"

export type FaultRates = Partial<Record<FakeWechatPay.Fault, number>>

export const faultNames = (): ReadonlyArray<string> => FakeWechatPay.FAULTS
export const isFault = (name: string): name is FakeWechatPay.Fault => (FakeWechatPay.FAULTS as ReadonlyArray<string>).includes(name)

/** Parses `rateLimit=0.2,systemError=0.05` into fault rates. */
export const parseFaults = (text: string | undefined): FaultRates | Program.UsageError => {
  const rates: Record<string, number> = {}
  if (text === undefined || text.trim() === "") return rates
  for (const part of text.split(",")) {
    const [name, value] = part.split("=")
    const rate = Number(value)
    if (name === undefined || !isFault(name.trim()) || value === undefined || value.trim() === "" || !(rate >= 0 && rate <= 1)) {
      return new Program.UsageError({ message: `--faults takes fault=rate pairs with rates in [0, 1]; faults: ${faultNames().join(", ")}` })
    }
    rates[name.trim()] = rate
  }
  return rates
}

/**
 * How to run this CLI where it was started: `npm run cli --` inside this repository
 * (started by its own `npm run cli`), `npx wechatpay-stores` anywhere else (a project
 * that installed the package, or a global install).
 */
export const invocation = (env: Readonly<Record<string, string | undefined>>): string =>
  env["npm_lifecycle_event"] === "cli" && env["npm_package_name"] === "effect-wechatpay-workspace" ? "npm run cli --" : "npx wechatpay-stores"

/** "rateLimit 20%, systemError 5%", or a line saying there are none and how to add some. */
export const describeFaults = (faults: FaultRates, seed: number): string => {
  const listed = Object.entries(faults).filter(([, rate]) => rate !== undefined && rate > 0)
  return listed.length === 0
    ? "faults injected: none (add some with --faults rateLimit=0.2,systemError=0.05)"
    : `faults injected (seed ${seed}): ${listed.map(([name, rate]) => `${name} ${Math.round(rate! * 1000) / 10}%`).join(", ")}`
}

export interface Args {
  readonly port: number
  readonly backupPort: number
  readonly stores: number
  readonly seed: number
  readonly rate: number
  readonly faults: FaultRates
  readonly dir: string
  /** One JSON object with the settings instead of the banner. */
  readonly json?: boolean | undefined
  /** How the banner's command line starts (see {@link invocation}). */
  readonly invocation?: string | undefined
}

/** How many store ids the sandbox writes to `stores.txt` in its directory, for a first try. */
const SAMPLE_STORES = 1_000

/** The store family's commands against the sandbox, and its stocks in each state to try them on. */
const familyLines = (run: string): string => {
  const F = FakeWechatPay.Fixture
  const ids = `--product-coupon-id ${F.productCouponId} --brand-id ${F.brandId}`
  return `and: ${run} stock ${ids} --stock-id ${F.stockId}\n` +
    `     ${run} list ${ids} --stock-id ${F.stockId} --output stores.csv\n` +
    `     ${run} associate ${ids} --stock-id ${F.stockId} --stores FILE\n` +
    `other stocks of coupon ${F.productCouponId}: ${F.auditingStockId} AUDITING, ${F.pausedStockId} PAUSED, ` +
    `${F.expiredStockId} STOPPED, ${F.deactivatedStockId} DEACTIVATED, ${F.endedStockId} past its end time, ` +
    `${F.allScopeStockId} scope ALL, ${F.noneScopeStockId} scope NONE\n`
}

/** Runs the sandbox until the first Ctrl-C (exit 130). */
export const sandbox = (args: Args, io: Io.Io): Effect.Effect<number> =>
  Effect.gen(function*() {
    const keys = yield* TestKeys.generate()
    const fake = FakeWechatPay.makeWith(keys, {
      seed: FakeWechatPay.generate({ stores: args.stores }),
      rateLimit: args.rate === 0 ? false : args.rate,
      faults: { seed: args.seed, rates: args.faults }
    })
    const server = yield* SandboxServer.make(fake, { primaryPort: args.port, backupPort: args.backupPort })
    const settings = yield* SandboxSettings.write(keys, server, args.dir)
    // A ready input, so the printed command runs as it is.
    const sample = Path.join(args.dir, "stores.txt")
    const ids = Array.from({ length: Math.min(args.stores, SAMPLE_STORES) }, (_, i) => FakeWechatPay.storeId(i))
    const wrote = yield* Effect.either(Effect.tryPromise(() => Fs.writeFile(sample, ids.join("\n") + "\n")))
    const F = FakeWechatPay.Fixture
    if (args.json === true) {
      io.out.write(JSON.stringify({
        baseUrl: server.baseUrl,
        backupBaseUrl: server.backupBaseUrl,
        env: settings.env,
        productCouponId: F.productCouponId,
        stockId: F.stockId,
        brandId: F.brandId,
        stores: args.stores,
        storesFile: wrote._tag === "Right" ? sample : undefined,
        faults: args.faults,
        seed: args.seed,
        rateLimit: args.rate
      }) + "\n")
    } else {
      const run = args.invocation ?? invocation(process.env)
      io.out.write(
        `sandbox listening: primary ${server.baseUrl}, backup ${server.backupBaseUrl}\n` +
          `product coupon ${F.productCouponId}, SPECIFIC stock ${F.stockId} with ${args.stores} stores ` +
          `(${FakeWechatPay.storeId(0)}…${FakeWechatPay.storeId(args.stores - 1)}) of brand ${F.brandId}\n` +
          `${describeFaults(args.faults, args.seed)}; rate limit ${args.rate === 0 ? "off" : `${args.rate}/s`}\n` +
          `keys written to ${args.dir}; point a client at it with:\n\n${SandboxSettings.toShell(settings)}\n\n` +
          `then, in that shell:\n  ${run} disassociate --product-coupon-id ${F.productCouponId} --stock-id ${F.stockId} ` +
          `--brand-id ${F.brandId} --stores ${wrote._tag === "Right" ? sample : "FILE"}\n` +
          (wrote._tag === "Right" ? `(${sample} holds the first ${ids.length} of its stores)\n` : "") +
          familyLines(run) +
          `Ctrl-C stops the sandbox.\n`
      )
    }
    yield* io.stop ?? Effect.never
    return 130
  }).pipe(
    Effect.scoped,
    Effect.catchTag("SandboxError", (e) => Effect.succeed(Io.fail(io, e.message)))
  )

export const command = Program.command(
  "sandbox",
  {
    port: Program.wholeNumber("port", { min: 0, what: "a port number ≥ 0", fallback: 0 }).pipe(
      Options.withDescription("The primary endpoint's port. Default: 0, any free port.")
    ),
    backupPort: Program.wholeNumber("backup-port", { min: 0, what: "a port number ≥ 0", fallback: 0 }).pipe(
      Options.withDescription("The backup endpoint's port (failover goes there). Default: 0, any free port.")
    ),
    stores: Program.wholeNumber("stores", { min: 1, what: "a whole number ≥ 1", fallback: 10_000 }).pipe(
      Options.withDescription("Stores associated with the sandbox's stock. Default: 10000.")
    ),
    faults: Program.text("faults", "FAULT=RATE,…").pipe(
      Options.withDescription(`Faults to inject, each with its rate in [0, 1]: ${FakeWechatPay.FAULTS.join(", ")}. Default: none.`),
      Options.optional
    ),
    seed: Program.wholeNumber("seed", { min: 0, what: "a whole number ≥ 0", fallback: 1 }).pipe(
      Options.withDescription("Seed of the fault sequence: the same seed injects the same faults. Default: 1.")
    ),
    rate: Program.wholeNumber("rate", { min: 0, what: "a whole number ≥ 0", fallback: 20 }).pipe(
      Options.withDescription("The sandbox's own rate limit, requests a second (answered 429 beyond); 0 turns it off. Default: 20.")
    ),
    dir: Program.text("dir", "DIR").pipe(
      Options.withDescription("Where to write its keys and stores.txt. Default: .sandbox"),
      Options.withDefault(".sandbox")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("Print the settings as one JSON object instead of the banner."))
  },
  (a) =>
    Effect.gen(function*() {
      const faults = parseFaults(a.faults._tag === "Some" ? a.faults.value : undefined)
      if (faults instanceof Program.UsageError) return yield* faults
      const { io } = yield* Program.CliContext
      return yield* sandbox({ ...a, faults }, io)
    })
).pipe(Program.withHelp(
  "Starts a WeChat Pay on loopback HTTP in the foreground (a primary and a backup endpoint), writes its generated " +
    "keys and a list of its stores, and prints the WECHATPAY_* variables that point this CLI, or your application, at it.",
  [
    "wechatpay-stores sandbox --stores 30000 --faults rateLimit=0.1,systemError=0.02",
    "wechatpay-stores sandbox --port 8080 --backup-port 8081 --dir ./sandbox-keys --json"
  ]
))
