// `wechatpay-stores sync` (issue #15): the plan for a desired set disjoint from, equal to, a subset
// and a superset of the stock's stores, through the CLI's dry run, with exact counts and only the
// listing sent; the guard (more than --max-removals, default 1,000; an empty list) refusing with
// exit 1 and one line before anything but the listing is sent; and a sync applied: the sandbox's
// stock then holds exactly the desired stores, the report holds the plan and both parts. In-process
// through `run(argv, io)` against the loopback sandbox.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Path from "node:path"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const foreign = FakeWechatPay.otherBrandStoreId
const { capture } = Cli

const sync = ["sync", "--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId]

/** A brand of 3,000 stores whose stock holds the first `associated`. */
const setup = (associated: number) =>
  Cli.sandbox("wechatpay-cli-sync-test-", { seed: FakeWechatPay.generate({ stores: 3_000, associated }) })

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => s(from + i))

/** Every call the sandbox got was a page of the listing. */
const onlyListing = (fake: FakeWechatPay.Service) => {
  assert.isAbove(fake.log.length, 0)
  assert.deepStrictEqual([...new Set(fake.log.map((e) => e.operation))], ["listAssociatedStores"])
}

const sorted = (ids: ReadonlyArray<string>) => [...ids].sort()

describe("cli sync: Ctrl-C while the listing is walked for the plan", () => {
  // 20,000 stores are 100 pages; at --rate 5 the walk takes over 15 s, and the first Ctrl-C comes after 0.5 s.
  for (const dryRun of [false, true]) {
    it.scopedLive(`${dryRun ? "--dry-run" : "a sync"}: the walk ends at once, exit 130, nothing changed, no journal`, () =>
      Effect.gen(function*() {
        const { cli, dir, fake, file } = yield* Cli.sandbox("wechatpay-cli-sync-test-", { seed: FakeWechatPay.generate({ stores: 20_000 }) })
        const stores = yield* file("desired.txt", range(0, 2_500).join("\n"))
        const c = capture({ stop: Effect.sleep("500 millis") })
        const started = Date.now()
        assert.strictEqual(yield* cli([...sync, "--stores", stores, "--rate", "5", ...(dryRun ? ["--dry-run"] : [])], c), 130, c.err())
        assert.isBelow(Date.now() - started, 5_000, "the walk did not run on to its end")
        assert.match(
          c.err(),
          /^wechatpay-stores: stopped while walking the stock's listing for the plan \(\d+ listing requests? sent\): nothing was changed, and no journal was written; run the sync again to apply it\n$/
        )
        onlyListing(fake)
        assert.isBelow(fake.log.length, 100)
        assert.strictEqual(fake.associatedStores(F.stockId).length, 20_000)
        assert.deepStrictEqual(yield* Cli.defaultJournals(dir), [])
      }))
  }
})

describe("cli sync --dry-run: the plan", () => {
  const cases = [
    {
      name: "disjoint",
      // Keeps none of the stock's stores: applied only when --max-removals is given (see the guard).
      flags: ["--max-removals", "1000"],
      desired: range(1_000, 1_500),
      line: "plan: 500 desired (500 unique), 1,000 listed, 500 to associate, 1,000 to disassociate, 0 unchanged",
      associate: range(1_000, 1_500),
      disassociate: range(0, 1_000)
    },
    {
      name: "equal (in another order, with duplicates)",
      desired: [...range(0, 1_000).reverse(), s(3), s(4)],
      line: "plan: 1,002 desired (1,000 unique), 1,000 listed, 0 to associate, 0 to disassociate, 1,000 unchanged",
      associate: [],
      disassociate: []
    },
    {
      name: "a subset",
      desired: range(0, 600),
      line: "plan: 600 desired (600 unique), 1,000 listed, 0 to associate, 400 to disassociate, 600 unchanged",
      associate: [],
      disassociate: range(600, 1_000)
    },
    {
      name: "a superset",
      desired: range(0, 1_200),
      line: "plan: 1,200 desired (1,200 unique), 1,000 listed, 200 to associate, 0 to disassociate, 1,000 unchanged",
      associate: range(1_000, 1_200),
      disassociate: []
    }
  ] as const
  for (const c of cases) {
    it.scopedLive(`desired set ${c.name}: exact counts, the first ids each way, only the listing sent, exit 0`, () =>
      Effect.gen(function*() {
        const { dir, fake, file, cli } = yield* setup(1_000)
        const stores = yield* file("desired.txt", c.desired.join("\n") + "\n")
        const out = capture()
        const flags: ReadonlyArray<string> = "flags" in c ? c.flags : []
        assert.strictEqual(yield* cli([...sync, "--stores", stores, "--dry-run", ...flags], out), 0, out.err())
        assert.isTrue(out.out().startsWith(c.line + "\n"), out.out())
        const first = (label: string, ids: ReadonlyArray<string>) =>
          ids.length === 0
            ? assert.notInclude(out.out(), `  ${label}:`)
            : assert.include(out.out(), `  ${label}: ${ids.slice(0, 5).join(", ")}${ids.length > 5 ? `, …and ${(ids.length - 5).toLocaleString("en-US")} more` : ""}\n`)
        first("to associate", c.associate)
        first("to disassociate", c.disassociate)
        assert.strictEqual(out.err(), "")
        onlyListing(fake)
        assert.deepStrictEqual(fake.associatedStores(F.stockId), range(0, 1_000))
        // No journal, no report: a dry run changes nothing and records nothing.
        assert.deepStrictEqual(yield* Cli.defaultJournals(dir), [])
        // --json: the plan itself, every id.
        const json = capture()
        assert.strictEqual(yield* cli([...sync, "--stores", stores, "--dry-run", "--json", ...flags], json), 0, json.err())
        const printed = JSON.parse(json.out()) as { dryRun: boolean; plan: Cli.SyncReport["plan"] }
        assert.isTrue(printed.dryRun)
        assert.deepStrictEqual(sorted(printed.plan.toAssociate), sorted(c.associate))
        assert.deepStrictEqual(sorted(printed.plan.toDisassociate), sorted(c.disassociate))
        assert.strictEqual(printed.plan.current, 1_000)
        assert.include(json.err(), c.line)
      }))
  }
})

describe("cli sync: the guard", () => {
  it.scopedLive("a plan removing more than the default 1,000: exit 1, one line, nothing sent but the listing; --max-removals allows it", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(1_500)
      // One of the stock's stores kept, so only the limit applies (see the next test for none kept).
      const desired = [s(0), ...range(1_500, 1_510)]
      const stores = yield* file("desired.txt", desired.join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores], c), 1)
      assert.strictEqual(
        c.err(),
        "wechatpay-stores: the plan would remove 1,499 stores, more than --max-removals 1,000: check --stores, or pass --max-removals 1499 to allow it; no journal was written, so there is nothing to resume\n"
      )
      // Refused before its journal was created: no journal's path printed, none to resume.
      assert.notInclude(c.out(), "journal:")
      onlyListing(fake)
      assert.deepStrictEqual(fake.associatedStores(F.stockId), range(0, 1_500))
      // The dry run says the same, after the plan.
      const dry = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--dry-run"], dry), 1)
      assert.include(dry.out(), "1,499 to disassociate")
      // (It kept no journal, so it has none to disown.)
      assert.strictEqual(dry.err(), c.err().replace("; no journal was written, so there is nothing to resume", ""))
      // One store short of the plan is still refused; the plan's count is allowed.
      const short = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--max-removals", "1498"], short), 1)
      assert.include(short.err(), "more than --max-removals 1,498")
      const ok = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--max-removals", "1499"], ok), 0, ok.out() + ok.err())
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), sorted(desired))
    }))

  it.scopedLive("a list holding none of the stock's stores (a wrong file): refused under the default limit; --max-removals N replaces them", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(500)
      // One id of no store of this stock: it would empty a stock of 500, fewer than the default 1,000.
      const stores = yield* file("wrong.txt", range(2_000, 2_001).join("\n") + "\n")
      const line = "wechatpay-stores: the desired list holds none of the stock's 500 stores: that would remove every one of them; " +
        "check --stores, or pass --max-removals 500 to do it anyway"
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores], c), 1)
      assert.strictEqual(c.err(), `${line}; no journal was written, so there is nothing to resume\n`)
      assert.strictEqual(c.out(), "")
      const dry = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--dry-run"], dry), 1)
      assert.include(dry.out(), "500 to disassociate, 0 unchanged")
      assert.strictEqual(dry.err(), `${line}\n`)
      onlyListing(fake)
      assert.deepStrictEqual(fake.associatedStores(F.stockId), range(0, 500))
      const ok = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--max-removals", "500"], ok), 0, ok.out() + ok.err())
      assert.deepStrictEqual(fake.associatedStores(F.stockId), range(2_000, 2_001))
    }))

  it.scopedLive("an empty desired list: exit 1, one line naming how many stores it would remove; --max-removals N empties the stock", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(700)
      const empty = yield* file("empty.txt", "")
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", empty], c), 1)
      assert.strictEqual(
        c.err(),
        "wechatpay-stores: the desired list is empty: that would remove all 700 stores; pass --max-removals 700 to do it anyway; no journal was written, so there is nothing to resume\n"
      )
      onlyListing(fake)
      assert.strictEqual(fake.associatedCount(F.stockId), 700)
      // Under the default 1,000, but empty: still refused without --max-removals.
      const low = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", empty, "--max-removals", "699"], low), 1)
      assert.include(low.err(), "the desired list is empty")
      const all = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", empty, "--max-removals", "700"], all), 0, all.out() + all.err())
      assert.strictEqual(fake.associatedCount(F.stockId), 0)
    }))

  it.scopedLive("--max-removals -1: refused when parsed, exit 1", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(10)
      const stores = yield* file("desired.txt", s(0))
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--max-removals", "-1"], c), 1)
      assert.match(c.err(), /^wechatpay-stores: --max-removals must be a whole number ≥ 0, got -1\n/)
      assert.deepStrictEqual(fake.log, [])
    }))
})

describe("cli sync: applied", () => {
  it.scopedLive("the stock then holds exactly the desired stores; the report holds the job, the plan and both parts; exit 0", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(1_000)
      const desired = [...range(500, 1_500), s(600)]
      const stores = yield* file("desired.txt", desired.join("\n"))
      const report = Path.join(dir, "sync.json")
      const journal = Path.join(dir, "sync.jsonl")
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--report", report, "--journal", journal], c), 0, c.out() + c.err())
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), range(500, 1_500))
      const r = yield* Cli.readAnyReport(report) as Effect.Effect<Cli.SyncReport>
      assert.deepStrictEqual(Object.keys(r), ["job", "plan", "dryRun", "associate", "disassociate"])
      assert.include(r.job, { operation: "sync", productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId, journal, runs: 1 })
      assert.isFalse(r.dryRun)
      assert.include(r.plan.desired, { input: 1_001, unique: 1_000, duplicates: 1 })
      assert.strictEqual(r.plan.unchanged, 500)
      assert.deepStrictEqual(sorted(r.associate!.succeeded), range(1_000, 1_500))
      assert.deepStrictEqual(sorted(r.disassociate!.succeeded), range(0, 500))
      assert.include(r.associate!.summary, { unique: 500, succeeded: 500, failed: 0, unresolved: 0 })
      assert.include(r.disassociate!.summary, { unique: 500, succeeded: 500, failed: 0, unresolved: 0 })
      const out = c.out()
      assert.isTrue(out.startsWith(`journal: ${journal} (resume with: wechatpay-stores resume ${journal})\n`), out)
      const planAt = out.indexOf("plan: 1,001 desired (1,000 unique), 1,000 listed, 500 to associate, 500 to disassociate, 500 unchanged\n")
      const associateAt = out.indexOf("associate:\n")
      const disassociateAt = out.indexOf("disassociate:\n")
      assert.isTrue(planAt >= 0 && planAt < associateAt && associateAt < disassociateAt, out)
      assert.match(out.slice(associateAt, disassociateAt), /\| succeeded\s+\|\s+500 \|/)
      assert.match(out.slice(disassociateAt), /\| succeeded\s+\|\s+500 \|/)
      assert.include(out, `report written to ${report}\n`)
      // Its journal is finished: resuming it gives the same report and sends nothing.
      yield* fake.clearLog
      const again = Path.join(dir, "again.json")
      assert.strictEqual(yield* cli(["resume", journal, "--report", again], capture()), 0)
      assert.deepStrictEqual(fake.log, [])
      assert.deepStrictEqual(yield* Cli.readAnyReport(again), r)
    }))

  it.scopedLive("a desired store the brand does not have: that part fails for it, the rest applied, exit 2", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(100)
      const stores = yield* file("desired.txt", [...range(0, 50), foreign(0)].join("\n"))
      const report = Path.join(dir, "sync.json")
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--report", report, "--no-journal"], c), 2, c.err())
      const r = yield* Cli.readAnyReport(report) as Effect.Effect<Cli.SyncReport>
      assert.deepStrictEqual(r.associate!.failed.map((f) => f.storeId), [foreign(0)])
      assert.isUndefined(r.job.journal)
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), range(0, 50))
      assert.include(c.out(), `failed: 1 store\n  ${foreign(0)}  `)
      // What finishes it: the same sync again, which plans from the stock as it is then.
      assert.isTrue(
        c.out().endsWith(
          "to finish the sync, once what failed them is fixed, run it again with the same desired list (it plans from the stock as it is then): " +
            `wechatpay-stores sync --product-coupon-id ${F.productCouponId} --stock-id ${F.stockId} --brand-id ${F.brandId} --stores DESIRED\n`
        ),
        c.out()
      )
    }))

  it.scopedLive("a desired id that cannot be sent: left out, the rest applied, exit 2 saying to fix the list; its dry run exits 2 too", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(100)
      const stores = yield* file("desired.txt", [...range(0, 60), "bad\u0001id"].join("\n"))
      const step = "the stock cannot hold the invalid desired id (INVALID_STORE_ID); to make it match the list, fix or remove it " +
        `in the desired list and run the sync again: wechatpay-stores sync --product-coupon-id ${F.productCouponId} ` +
        `--stock-id ${F.stockId} --brand-id ${F.brandId} --stores DESIRED\n`
      const dry = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--dry-run"], dry), 2, dry.err())
      assert.include(dry.out(), "  1 desired id cannot be sent and was left out:\n    \"bad\\u0001id\"")
      assert.isTrue(dry.out().endsWith(step), dry.out())
      onlyListing(fake)
      const report = Path.join(dir, "sync.json")
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--report", report, "--no-journal"], c), 2, c.err())
      // Everything the stock can hold of the list was applied; the invalid id is the one difference.
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), range(0, 60))
      const r = yield* Cli.readAnyReport(report) as Effect.Effect<Cli.SyncReport>
      assert.deepStrictEqual(r.plan.desired.invalid.map((f) => [f.storeId, f.code]), [["bad\u0001id", "INVALID_STORE_ID"]])
      assert.include(r.disassociate!.summary, { unique: 40, succeeded: 40 })
      assert.isTrue(c.out().endsWith(step), c.out())
    }))

  it.scopedLive("--journal naming a file that exists: exit 1, one line, nothing sent (not even the listing)", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(100)
      const stores = yield* file("desired.txt", range(0, 10).join("\n"))
      const journal = yield* file("taken.jsonl", '{"t":"header","format":"effect-wechatpay/journal","version":2,"job":"other"}\n')
      const c = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--journal", journal], c), 1)
      assert.strictEqual(
        c.err(),
        `wechatpay-stores: a journal already exists at ${journal}: resume it with \`wechatpay-stores resume ${journal}\`, or pass another --journal\n`
      )
      // A file that is no journal (the store list given twice, say) is not one to resume.
      const other = capture()
      assert.strictEqual(yield* cli([...sync, "--stores", stores, "--journal", stores], other), 1)
      assert.strictEqual(other.err(), `wechatpay-stores: --journal ${stores} is the job's input (--stores): give --journal the path of a new file\n`)
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("missing flags: exit 1, one line naming them, then the usage; nothing sent", () =>
    Effect.gen(function*() {
      const { fake, cli } = yield* setup(10)
      const c = capture()
      assert.strictEqual(yield* cli(["sync", "--stock-id", F.stockId], c), 1)
      const [first, usage] = c.err().split("\n")
      assert.strictEqual(first, "wechatpay-stores: --product-coupon-id, --brand-id and --stores are required (--stores: a file, or - for standard input)")
      assert.match(usage!, /^usage: wechatpay-stores sync --product-coupon-id ID --stock-id ID --brand-id ID --stores FILE /)
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("sync --help explains it, with examples", () =>
    Effect.gen(function*() {
      const { cli } = yield* setup(10)
      const c = capture()
      assert.strictEqual(yield* cli(["sync", "--help"], c), 0)
      assert.include(c.out(), "Makes a product-coupon stock's stores exactly the list in --stores")
      assert.include(c.out(), "EXAMPLES")
      assert.include(c.out(), "--max-removals N")
    }))
})
