// The store family's commands in-process against the loopback sandbox: `stock` (each state's
// fixture, the table, --json, a typed error), `list` (0, 1 and several pages, each output format,
// a failure part-way that leaves no file), `associate` (a job end to end with its report, --json,
// --dry-run) and the --stock-id / --stock-bundle-id flags of the job commands.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { BulkStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const { capture, readReport } = Cli

/** The flags naming the fixture coupon, `stock` and brand. */
const at = (stock: string = F.stockId) => ["--product-coupon-id", F.productCouponId, "--stock-id", stock, "--brand-id", F.brandId]

/** A sandbox whose fixture stock has `associated` of `stores` stores associated. */
const setup = (stores = 50, associated = stores) =>
  Cli.sandbox("wechatpay-cli-family-", { seed: FakeWechatPay.generate({ stores, associated, otherBrandStores: 5 }) })

/** One line on stderr, no stack trace. */
const assertOneLine = (text: string) => {
  const lines = text.split("\n").filter((l) => l !== "")
  assert.strictEqual(lines.length, 1, text)
  assert.notMatch(text, /\n\s+at /)
}

describe("cli stock", () => {
  const states: ReadonlyArray<[string, string, string, RegExp | undefined]> = [
    [F.stockId, "SENDING", "SPECIFIC", undefined],
    [F.auditingStockId, "AUDITING", "SPECIFIC", undefined],
    [F.pausedStockId, "PAUSED", "SPECIFIC", undefined],
    [F.expiredStockId, "STOPPED", "SPECIFIC", /state is STOPPED/],
    [F.deactivatedStockId, "DEACTIVATED", "SPECIFIC", /state is DEACTIVATED/],
    [F.endedStockId, "SENDING", "SPECIFIC", /available period ended at 2025-06-30T23:59:59\+08:00/],
    [F.allScopeStockId, "SENDING", "ALL", /store_scope is ALL, not SPECIFIC/],
    [F.noneScopeStockId, "SENDING", "NONE", /store_scope is NONE, not SPECIFIC/]
  ]
  for (const [stock, state, scope, note] of states) {
    it.scopedLive(`${stock}: ${state}, ${scope}${note === undefined ? ", no note" : ", with a note"}; exit 0`, () =>
      Effect.gen(function*() {
        const { cli, fake } = yield* setup()
        const c = capture()
        assert.strictEqual(yield* cli(["stock", ...at(stock)], c), 0, c.err())
        assert.match(c.out(), new RegExp(`^state +${state} \\(`, "m"))
        assert.match(c.out(), new RegExp(`^store scope +${scope} \\(`, "m"))
        assert.match(c.out(), new RegExp(`^stock +${stock}$`, "m"))
        assert.match(c.out(), /^available until +\d{4}-\d\d-\d\dT/m)
        const notes = c.out().split("\n").filter((l) => l.startsWith("note: "))
        if (note === undefined) assert.deepStrictEqual(notes, [])
        else assert.isTrue(notes.some((l) => note.test(l)), c.out())
        assert.strictEqual(c.err(), "")
        assert.strictEqual(fake.log.length, 1)
      }))
  }

  it.scopedLive("a deactivated stock's table names when and why", () =>
    Effect.gen(function*() {
      const { cli } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["stock", ...at(F.deactivatedStockId)], c), 0)
      assert.match(c.out(), /^deactivated +\d{4}-\d\d-\d\dT/m)
      assert.match(c.out(), /^deactivate reason +\S/m)
    }))

  it.scopedLive("--json: the decoded stock (camelCase), nothing else on stdout", () =>
    Effect.gen(function*() {
      const { cli } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["stock", ...at(F.deactivatedStockId), "--json"], c), 0)
      const stock = JSON.parse(c.out()) as Record<string, any>
      assert.strictEqual(stock["productCouponId"], F.productCouponId)
      assert.strictEqual(stock["stockId"], F.deactivatedStockId)
      assert.strictEqual(stock["state"], "DEACTIVATED")
      assert.strictEqual(stock["storeScope"], "SPECIFIC")
      assert.isString(stock["singleUsageRule"]["couponAvailablePeriod"]["availableEndTime"])
      assert.isString(stock["deactivateTime"])
      assert.isString(stock["deactivateReason"])
      assert.notProperty(stock, "requestId")
      assert.notProperty(stock, "store_scope")
    }))

  it.scopedLive("a stock WeChat Pay does not know: exit 1, one line with the code and what to check", () =>
    Effect.gen(function*() {
      const { cli } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["stock", ...at("999999999")], c), 1)
      assert.strictEqual(c.out(), "")
      assertOneLine(c.err())
      assert.match(c.err(), /^wechatpay-stores: stock 999999999: [A-Z_]+: /)
      assert.include(c.err(), "Check --stock-id")
    }))

  it.scopedLive("a missing variable: exit 1, one line naming it, nothing sent", () =>
    Effect.gen(function*() {
      const { cli, fake } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["stock", ...at()], c, { without: ["WECHATPAY_MCHID"] }), 1)
      assertOneLine(c.err())
      assert.include(c.err(), "configuration: WECHATPAY_MCHID")
      assert.strictEqual(fake.log.length, 0)
    }))
})

describe("cli list", () => {
  /** The ids in the order the sandbox lists them (sorted). */
  const ids = (n: number) => Array.from({ length: n }, (_, i) => s(i)).sort()

  for (const [n, pages] of [[0, 1], [1, 1], [450, 3]] as const) {
    it.scopedLive(`${n} stores: one a line on stdout, the count on stderr, ${pages} page${pages === 1 ? "" : "s"}`, () =>
      Effect.gen(function*() {
        const { cli, fake } = yield* setup(Math.max(n, 1), n)
        const c = capture()
        assert.strictEqual(yield* cli(["list", ...at()], c), 0, c.err())
        assert.strictEqual(c.out(), ids(n).map((id) => `${id}\n`).join(""))
        assert.strictEqual(c.err(), `${n.toLocaleString("en-US")} store${n === 1 ? "" : "s"} associated with stock ${F.stockId} (${pages} page${pages === 1 ? "" : "s"})\n`)
        assert.strictEqual(fake.log.length, pages)
      }))
  }

  it.scopedLive("--output FILE.csv: a store_id header, then the ids; stdout stays empty", () =>
    Effect.gen(function*() {
      const { cli, dir } = yield* setup(450)
      const file = Path.join(dir, "stores.csv")
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", file], c), 0, c.err())
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(file, "utf8")), ["store_id", ...ids(450)].join("\n") + "\n")
      assert.strictEqual(c.out(), "")
      assert.include(c.err(), `450 stores associated with stock ${F.stockId} (3 pages), written to ${file}`)
    }))

  for (const n of [0, 1, 450]) {
    it.scopedLive(`--output FILE.json with ${n} stores: a JSON array of strings`, () =>
      Effect.gen(function*() {
        const { cli, dir } = yield* setup(Math.max(n, 1), n)
        const file = Path.join(dir, "stores.json")
        const c = capture()
        assert.strictEqual(yield* cli(["list", ...at(), "--output", file], c), 0, c.err())
        assert.deepStrictEqual(JSON.parse(yield* Effect.promise(() => Fs.readFile(file, "utf8"))), ids(n))
      }))
  }

  it.scopedLive("--output FILE.txt (any other name): one id a line, replacing what was there", () =>
    Effect.gen(function*() {
      const { cli, dir, file } = yield* setup(3)
      const out = yield* file("stores.txt", "old content\n")
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", out], c), 0, c.err())
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(out, "utf8")), ids(3).join("\n") + "\n")
      assert.deepStrictEqual((yield* Effect.promise(() => Fs.readdir(dir))).filter((f) => f.endsWith(".tmp")), [])
    }))

  it.scopedLive("--output over a file keeps its permissions", () =>
    Effect.gen(function*() {
      const { cli, file } = yield* setup(3)
      const out = yield* file("private.txt", "old content\n")
      yield* Effect.promise(() => Fs.chmod(out, 0o600))
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", out], c), 0, c.err())
      assert.strictEqual((yield* Effect.promise(() => Fs.stat(out))).mode & 0o777, 0o600)
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(out, "utf8")), ids(3).join("\n") + "\n")
    }))

  it.scopedLive("--output at a job's journal, its lock file or its report: refused in one line, nothing sent, the file kept", () =>
    Effect.gen(function*() {
      const { cli, dir, file, fake } = yield* setup(3)
      const journal = yield* file("job.jsonl", '{"t":"header","format":"effect-wechatpay/journal","version":2,"job":"j"}\n')
      const lock = yield* file("job.jsonl.lock", "4242\n")
      const report = yield* file("report.json", JSON.stringify({ job: { operation: "disassociate", id: "j" }, summary: {} }, null, 2))
      for (const [path, what] of [[journal, "a job's journal"], [lock, "a journal's lock file"], [report, "a job's report"]] as const) {
        const before = yield* Effect.promise(() => Fs.readFile(path, "utf8"))
        const c = capture()
        assert.strictEqual(yield* cli(["list", ...at(), "--output", path], c), 1, path)
        assert.strictEqual(c.err(), `wechatpay-stores: --output ${path} is ${what}: the listing would replace it; give --output another path\n`)
        assert.strictEqual(yield* Effect.promise(() => Fs.readFile(path, "utf8")), before)
      }
      // The lock path of a journal no run holds: a listing there would make every resume of it refuse.
      yield* Effect.promise(() => Fs.rm(lock))
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", lock], c), 1)
      assert.strictEqual(
        c.err(),
        `wechatpay-stores: --output ${lock} is a journal's lock file: a listing there would keep every run of the journal out; give --output another path\n`
      )
      assert.isFalse(yield* Effect.promise(() => Fs.stat(lock).then(() => true, () => false)))
      assert.strictEqual(fake.log.length, 0)
      assert.deepStrictEqual((yield* Effect.promise(() => Fs.readdir(dir))).filter((f) => f.endsWith(".tmp")), [])
    }))

  it.scopedLive("a page failing part-way: exit 1, says how many ids were read, leaves no FILE and no temporary file", () =>
    Effect.gen(function*() {
      const { cli, dir, fake } = yield* setup(450)
      // The first page answers; the second is a signed answer that is not JSON (not retried).
      yield* fake.setFaults({ script: ["none", "nonJsonBody"] })
      const file = Path.join(dir, "stores.json")
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", file], c), 1)
      assertOneLine(c.err())
      assert.include(c.err(), `listing stock ${F.stockId} failed after 200 store ids (1 page)`)
      assert.include(c.err(), `${file} was not written`)
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(dir)), ["keys"])
      assert.strictEqual(c.out(), "")
    }))

  it.scopedLive("a page failing part-way keeps an existing FILE as it was", () =>
    Effect.gen(function*() {
      const { cli, fake, file } = yield* setup(450)
      const out = yield* file("stores.csv", "store_id\n100000001\n")
      yield* fake.setFaults({ script: ["none", "none", "nonJsonBody"] })
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", out], c), 1)
      assert.include(c.err(), "failed after 400 store ids (2 pages)")
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(out, "utf8")), "store_id\n100000001\n")
    }))

  it.scopedLive("a page failing part-way on stdout: exit 1, and stderr says the ids printed are incomplete", () =>
    Effect.gen(function*() {
      const { cli, fake } = yield* setup(450)
      yield* fake.setFaults({ script: ["none", "nonJsonBody"] })
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at()], c), 1)
      assert.strictEqual(c.out().split("\n").filter((l) => l !== "").length, 200)
      assert.include(c.err(), "the 200 ids printed are incomplete")
    }))

  it.scopedLive("an unknown stock: exit 1 with what to check; --output a directory: exit 1, nothing sent", () =>
    Effect.gen(function*() {
      const { cli, dir, fake } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at("999999999")], c), 1)
      assert.include(c.err(), "failed after 0 store ids (0 pages)")
      assert.include(c.err(), "Check --stock-id")
      const before = fake.log.length
      const d = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", dir], d), 1)
      assert.include(d.err(), "is a directory")
      assert.strictEqual(fake.log.length, before)
    }))

  it.scopedLive("Ctrl-C during the listing: exit 130, says how many ids were read, no FILE", () =>
    Effect.gen(function*() {
      const { cli, dir } = yield* setup(450)
      const file = Path.join(dir, "stores.csv")
      const c = capture({ stop: Effect.void })
      assert.strictEqual(yield* cli(["list", ...at(), "--output", file], c), 130)
      assert.match(c.err(), /^wechatpay-stores: stopped after \d+ store ids? \(\d+ pages?\); .*stores\.csv was not written\n$/)
      assert.deepStrictEqual(yield* Effect.promise(() => Fs.readdir(dir)), ["keys"])
    }))

  it.scopedLive("--output in a directory that does not exist: exit 1 naming why, nothing sent", () =>
    Effect.gen(function*() {
      const { cli, dir, fake } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["list", ...at(), "--output", Path.join(dir, "missing", "stores.txt")], c), 1)
      assertOneLine(c.err())
      assert.include(c.err(), `cannot write ${Path.join(dir, "missing", "stores.txt")}: its directory does not exist; create it, or give --output another path (ENOENT)`)
      assert.strictEqual(fake.log.length, 0)
    }))

  it.scopedLive("--stock-id is required", () =>
    Effect.gen(function*() {
      const { cli } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["list", "--product-coupon-id", F.productCouponId, "--brand-id", F.brandId], c), 1)
      assert.include(c.err(), "wechatpay-stores: --stock-id is required")
    }))
})

describe("cli associate", () => {
  it.scopedLive("a job end to end: every store associated, the report's job says associate, exit 0", () =>
    Effect.gen(function*() {
      const { cli, dir, fake, file } = yield* setup(500, 100)
      const wanted = Array.from({ length: 350 }, (_, i) => s(100 + i))
      const stores = yield* file("stores.txt", wanted.join("\n") + "\n")
      const report = Path.join(dir, "report.json")
      for (const id of wanted) assert.isFalse(fake.isAssociated(F.stockId, id))
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...at(), "--no-snapshot", "--stores", stores, "--report", report], c), 0, c.err() + c.out())
      for (const id of wanted) assert.isTrue(fake.isAssociated(F.stockId, id))
      const r = yield* readReport(report)
      assert.strictEqual(r.job.operation, "associate")
      assert.strictEqual(r.job.stockId, F.stockId)
      assert.deepStrictEqual(r.succeeded, wanted)
      assert.include(r.summary, { unique: 350, succeeded: 350, failed: 0, unresolved: 0 })
      // The preflight is on by default: the stock query first, and the report says it passed.
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock", "associateStores", "associateStores"])
      assert.strictEqual((r as unknown as { preflight: { status: string } }).preflight.status, "passed")
      assert.include(c.out(), `report written to ${report}`)
      // The listing now holds them.
      const l = capture()
      assert.strictEqual(yield* cli(["list", ...at()], l), 0)
      assert.strictEqual(l.out().split("\n").filter((x) => x !== "").length, 450)
    }))

  it.scopedLive("another brand's stores fail: exit 2, listed with their code; --json puts the report on stdout", () =>
    Effect.gen(function*() {
      const { cli, file } = yield* setup(50, 10)
      const stores = yield* file("stores.txt", [s(20), FakeWechatPay.otherBrandStoreId(0)].join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...at(), "--no-snapshot", "--stores", stores, "--json"], c), 2)
      const r = JSON.parse(c.out()) as Cli.Report
      assert.strictEqual(r.job.operation, "associate")
      assert.deepStrictEqual(r.succeeded, [s(20)])
      assert.deepStrictEqual(r.failed.map((f) => f.storeId), [FakeWechatPay.otherBrandStoreId(0)])
      assert.include(c.err(), `failed: 1 store`)
    }))

  it.scopedLive("--dry-run: the plan, nothing sent, exit 0", () =>
    Effect.gen(function*() {
      const { cli, fake, file } = yield* setup()
      const stores = yield* file("stores.txt", [s(1), s(2), s(2)].join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...at(), "--no-snapshot", "--stores", stores, "--dry-run"], c), 0, c.err())
      assert.include(c.out(), "dry run: 3 ids, 2 unique, 1 duplicate, 0 invalid; would make 1 call of at most 200 stores")
      assert.strictEqual(fake.log.length, 0)
    }))

  it.effect("--help: its own text, defaults and example", () =>
    Effect.gen(function*() {
      const c = capture()
      assert.strictEqual(yield* Cli.runWith({}, ["associate", "--help"], c), 0)
      assert.include(c.out(), "Adds the stores in --stores to a product-coupon stock")
      assert.include(c.out(), "Default: 4.")
      assert.include(c.out(), "wechatpay-stores associate --product-coupon-id 200000001 --stock-id 123456789")
    }))
})

describe("cli job commands: --stock-id or --stock-bundle-id", () => {
  for (const command of ["associate", "disassociate"]) {
    const base = [command, "--product-coupon-id", F.bundleProductCouponId, "--brand-id", F.brandId, "--stores", "stores.txt"]
    const cases: ReadonlyArray<[string, ReadonlyArray<string>, string]> = [
      ["neither", base, "wechatpay-stores: --stock-id (or --stock-bundle-id) is required"],
      ["both", [...base, "--stock-id", F.bundleStockId, "--stock-bundle-id", F.stockBundleId], "wechatpay-stores: --stock-id and --stock-bundle-id cannot both be given; pass one of them"],
      ["a dot-segment bundle id", [...base, "--stock-bundle-id", ".."], "wechatpay-stores: --stock-bundle-id must not be "]
    ]
    for (const [what, argv, message] of cases) {
      it.scopedLive(`${command}, ${what}: exit 1, one line and the usage, nothing sent`, () =>
        Effect.gen(function*() {
          const { cli, fake } = yield* setup()
          const c = capture()
          assert.strictEqual(yield* cli(argv, c), 1)
          assert.strictEqual(c.err().split("\n")[0]!.startsWith(message), true, c.err())
          assert.include(c.err(), `usage: wechatpay-stores ${command} `)
          assert.strictEqual(c.out(), "")
          assert.strictEqual(fake.log.length, 0)
        }))
    }
  }
})

describe("cli job commands over a stock bundle (--stock-bundle-id)", () => {
  const bundle = ["--product-coupon-id", F.bundleProductCouponId, "--stock-bundle-id", F.stockBundleId, "--brand-id", F.brandId]

  it.scopedLive("associate then disassociate change every stock of the bundle; the report names the bundle and says why there is no check", () =>
    Effect.gen(function*() {
      const { cli, dir, fake, file } = yield* setup()
      const stocks = fake.bundleStockIds(F.stockBundleId)
      assert.deepStrictEqual([...stocks].sort(), [F.bundleStockId, F.bundleSecondStockId].sort())
      // Three of the brand's stores that neither stock of the bundle has yet, one given twice.
      const free = Array.from({ length: 50 }, (_, i) => s(i))
        .filter((id) => stocks.every((stock) => !fake.associatedStores(stock).includes(id)))
        .slice(0, 3)
      assert.strictEqual(free.length, 3)
      const ids = [...free, free[1]!]
      const stores = yield* file("stores.txt", ids.join("\n"))

      const added = Path.join(dir, "added.json")
      const a = capture()
      assert.strictEqual(yield* cli(["associate", ...bundle, "--stores", stores, "--report", added], a), 0, a.err())
      for (const stock of stocks) for (const id of ids) assert.include(fake.associatedStores(stock), id)
      // Only bundle calls: there is no stock query or listing for a bundle, and the report says so.
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["associateStockBundleStores"])
      const report = yield* readReport(added)
      assert.strictEqual(report.job.stockBundleId, F.stockBundleId)
      assert.notProperty(report.job, "stockId")
      assert.deepStrictEqual(report.succeeded, free)
      assert.deepStrictEqual(report.preflight, { status: "skipped", reason: BulkStores.NO_BUNDLE_QUERY, requests: 0 })

      const removed = Path.join(dir, "removed.json")
      const d = capture()
      assert.strictEqual(yield* cli(["disassociate", ...bundle, "--stores", stores, "--report", removed], d), 0, d.err())
      for (const stock of stocks) for (const id of ids) assert.notInclude(fake.associatedStores(stock), id)
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["associateStockBundleStores", "disassociateStockBundleStores"])
    }))
})

describe("cli associate: the library's checks around the job", () => {
  it.scopedLive("the preflight (on by default) on a STOPPED stock: exit 1, one line saying why, no store sent", () =>
    Effect.gen(function*() {
      const { cli, fake, file } = yield* setup()
      const stores = yield* file("stores.txt", s(1))
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...at(F.expiredStockId), "--no-snapshot", "--stores", stores], c), 1)
      assertOneLine(c.err())
      assert.include(c.err(), "wechatpay-stores: the stock check before the job refused it:")
      assert.include(c.err(), "STOPPED")
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock"])
    }))

  it.scopedLive("--preflight --verify (accepted, the defaults anyway) on a stock that allows it: the job runs, the report says the check passed", () =>
    Effect.gen(function*() {
      const { cli, dir, fake, file } = yield* setup(50, 10)
      const stores = yield* file("stores.txt", s(20))
      const report = Path.join(dir, "r.json")
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...at(), "--no-snapshot", "--stores", stores, "--preflight", "--verify", "--report", report], c), 0, c.err())
      const r = (yield* Effect.promise(() => Fs.readFile(report, "utf8")).pipe(Effect.map((t) => JSON.parse(t)))) as Record<string, any>
      assert.strictEqual(r["preflight"]["status"], "passed")
      // On, with nothing to settle: every store got an answer.
      assert.strictEqual(r["verification"]["status"], "not-needed")
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock", "associateStores"])
    }))

  it.scopedLive("verification (on by default): a call applied but never answered is settled by the listing, exit 0", () =>
    Effect.gen(function*() {
      const { cli, dir, fake, file } = yield* setup(50, 10)
      const stores = yield* file("stores.txt", [s(20), s(21)].join("\n"))
      // Applied, then the connection drops unanswered: the call's four attempts (one and three retries); the listing then answers.
      yield* fake.setFaults({ script: Array.from({ length: 4 }, () => "connectionResetAfterApply" as const) })
      const report = Path.join(dir, "r.json")
      const c = capture()
      // --no-preflight: the scripted faults are for the job's call, not the stock query.
      const code = yield* cli(["associate", ...at(), "--no-snapshot", "--stores", stores, "--no-preflight", "--report", report], c)
      const r = (yield* Effect.promise(() => Fs.readFile(report, "utf8")).pipe(Effect.map((t) => JSON.parse(t)))) as Record<string, any>
      assert.strictEqual(code, 0, c.out() + c.err())
      assert.deepStrictEqual(r["succeeded"], [s(20), s(21)])
      assert.strictEqual(r["summary"]["settledByListing"], 2)
      assert.isTrue(fake.isAssociated(F.stockId, s(20)))
      assert.include(c.out(), "listing checked: 2 unresolved stores settled by it")
    }))
})

describe("cli job commands: the checks are on by default, --no-preflight and --no-verify turn them off", () => {
  /** The report's two checks. */
  const checks = (path: string) =>
    Effect.promise(() => Fs.readFile(path, "utf8")).pipe(
      Effect.map((t) => JSON.parse(t) as { preflight: { status: string }; verification: { status: string }; unresolved: Array<unknown> })
    )

  for (const command of ["associate", "disassociate"] as const) {
    it.scopedLive(`${command} with no flag: the stock query goes first, no listing (the snapshot is off), the report says the preflight passed`, () =>
      Effect.gen(function*() {
        const { cli, dir, fake, file } = yield* setup(50, 10)
        // s(5) is associated and s(20) is not: one of them is what each command changes.
        const stores = yield* file("stores.txt", command === "associate" ? s(20) : s(5))
        const report = Path.join(dir, "r.json")
        const c = capture()
        assert.strictEqual(yield* cli([command, ...at(), "--stores", stores, "--report", report], c), 0, c.err())
        assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock", `${command}Stores`])
        assert.strictEqual((yield* checks(report)).preflight.status, "passed")
      }))

    it.scopedLive(`${command} --no-preflight: no stock query, the report says the preflight was off`, () =>
      Effect.gen(function*() {
        const { cli, dir, fake, file } = yield* setup(50, 10)
        const stores = yield* file("stores.txt", command === "associate" ? s(20) : s(5))
        const report = Path.join(dir, "r.json")
        const c = capture()
        assert.strictEqual(yield* cli([command, ...at(), "--no-snapshot", "--stores", stores, "--no-preflight", "--report", report], c), 0, c.err())
        assert.deepStrictEqual(fake.log.map((e) => e.operation), [`${command}Stores`])
        assert.strictEqual((yield* checks(report)).preflight.status, "off")
      }))
  }

  it.scopedLive("--no-preflight on a STOPPED stock: the job is sent and WeChat Pay's answer stops it (exit 2)", () =>
    Effect.gen(function*() {
      const { cli, fake, file } = yield* setup()
      const stores = yield* file("stores.txt", s(1))
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...at(F.expiredStockId), "--no-snapshot", "--stores", stores, "--no-preflight"], c), 2)
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["associateStores"])
    }))

  it.scopedLive("--no-verify: a call applied but never answered stays unresolved, no listing page is asked for, exit 2", () =>
    Effect.gen(function*() {
      const { cli, dir, fake, file } = yield* setup(50, 10)
      const stores = yield* file("stores.txt", [s(20), s(21)].join("\n"))
      yield* fake.setFaults({ script: Array.from({ length: 4 }, () => "connectionResetAfterApply" as const) })
      const report = Path.join(dir, "r.json")
      const c = capture()
      const code = yield* cli(["associate", ...at(), "--no-snapshot", "--stores", stores, "--no-preflight", "--no-verify", "--report", report], c)
      assert.strictEqual(code, 2, c.out() + c.err())
      const r = yield* checks(report)
      assert.strictEqual(r.verification.status, "off")
      assert.strictEqual(r.unresolved.length, 2)
      assert.notInclude(fake.log.map((e) => e.operation), "listAssociatedStores")
      // The sandbox did apply them: only the listing could have said so.
      assert.isTrue(fake.isAssociated(F.stockId, s(20)))
    }))

  it.scopedLive("--preflight and --no-preflight together: a usage error, nothing sent", () =>
    Effect.gen(function*() {
      const { cli, fake } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...at(), "--no-snapshot", "--stores", "x", "--preflight", "--no-preflight"], c), 1)
      assert.include(c.err().split("\n")[0], "--no-preflight")
      assert.strictEqual(fake.log.length, 0)
    }))

  it.effect("the help names --no-preflight and --no-verify and says both checks are on by default", () =>
    Effect.gen(function*() {
      const c = capture()
      assert.strictEqual(yield* Cli.runWith({}, ["disassociate", "--help"], c), 0)
      assert.match(c.out(), /--no-preflight\n(.*\n)*? {2}Query the stock first .*Default: on; --no-preflight turns it off\./)
      assert.match(c.out(), /--no-verify\n(.*\n)*? {2}When stores end unresolved .*Default: on; --no-verify turns it off\./)
    }))
})

describe("cli sandbox banner", () => {
  it.scopedLive("names the family's commands and the stocks in each state to try them on", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-cli-family-banner-")
      // Stops itself once the banner is out.
      const c = capture({ stop: Effect.sleep("300 millis") })
      const code = yield* Cli.runWith({}, ["sandbox", "--stores", "10", "--dir", Path.join(dir, "sb")], c)
      assert.strictEqual(code, 130, c.err())
      assert.match(c.out(), new RegExp(`^and: \\S.* stock --product-coupon-id ${F.productCouponId} --brand-id ${F.brandId} --stock-id ${F.stockId}$`, "m"))
      assert.match(c.out(), /^ +\S.* list .* --output stores\.csv$/m)
      assert.match(c.out(), /^ +\S.* associate .* --stores FILE$/m)
      assert.include(c.out(), `${F.expiredStockId} STOPPED, ${F.deactivatedStockId} DEACTIVATED`)
    }))
})
