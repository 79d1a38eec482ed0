// `wechatpay-stores undo` (issue #15): after a disassociate, an associate or a sync, undo given the
// job's report (or its journal) puts the sandbox's stock back to the set it had; the undo is a
// journaled job of its own whose report names the job it undid. A file that is not a report or a
// journal of a job is refused in one line, nothing sent. In-process through `run(argv, io)` against
// the loopback sandbox.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"
import { closedPort } from "./support/Sandbox.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const foreign = FakeWechatPay.otherBrandStoreId
const { capture, job, readReport } = Cli

const setup = (associated = 1_000) =>
  Cli.sandbox("wechatpay-cli-undo-test-", { seed: FakeWechatPay.generate({ stores: 3_000, associated, otherBrandStores: 5 }) })

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => s(from + i))
const sorted = (ids: ReadonlyArray<string>) => [...ids].sort()

describe("cli undo", () => {
  for (const from of ["report", "journal"] as const) {
    it.scopedLive(`after a disassociate, given its ${from}: the stock's original set is back; the undo's report names the job it undid`, () =>
      Effect.gen(function*() {
        const { dir, fake, file, cli } = yield* setup()
        const original = fake.associatedStores(F.stockId)
        // Some stores of the stock, and one of another brand (failed: not to be put back).
        const stores = yield* file("stores.txt", [...range(100, 550), foreign(0)].join("\n"))
        const report = Path.join(dir, "job.json")
        const journal = Path.join(dir, "job.jsonl")
        assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", report, "--journal", journal], capture()), 2)
        const done = yield* readReport(report)
        assert.strictEqual(done.succeeded.length, 450)
        assert.strictEqual(fake.associatedCount(F.stockId), 550)
        const undoReport = Path.join(dir, "undo.json")
        const c = capture()
        assert.strictEqual(yield* cli(["undo", from === "report" ? report : journal, "--report", undoReport], c), 0, c.out() + c.err())
        assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), sorted(original))
        assert.isFalse(fake.isAssociated(F.stockId, foreign(0)))
        const u = yield* readReport(undoReport)
        assert.include(u.job, { operation: "associate", stockId: F.stockId, undoes: done.job.id, runs: 1 })
        assert.deepStrictEqual(sorted(u.succeeded), range(100, 550))
        assert.include(c.out(), `undoing the job of the ${from} `)
        assert.include(c.out(), `undo of the job ${done.job.id}: 450 to associate again\n`)
        // The undo keeps its own journal, by default in the working directory.
        const [undoJournal, ...others] = yield* Cli.defaultJournals(dir)
        assert.deepStrictEqual(others, [])
        assert.strictEqual(u.job.journal, undoJournal)
        assert.include(c.out(), `journal: ${undoJournal} (resume with: wechatpay-stores resume ${undoJournal})\n`)
        // Either way the job's journal records the undo: resuming the job would redo what the undo put back.
        const logged = fake.log.length
        const r = capture()
        assert.strictEqual(yield* cli(["resume", journal], r), 1)
        assert.strictEqual(
          r.err(),
          `wechatpay-stores: the job of the journal ${journal} was undone by job ${u.job.id} (journal ${undoJournal}): ` +
            "resuming it would redo what the undo put back; nothing was sent. To change those stores again, run a new job\n"
        )
        assert.strictEqual(fake.log.length, logged)
        assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), sorted(original))
        // The undo's own journal is never the file it undoes, nor that file's lock.
        const source = from === "report" ? report : journal
        for (const [path, what] of [[source, "the report or journal being undone"], [`${source}.lock`, "the lock file of the report or journal being undone"]] as const) {
          const u2 = capture()
          assert.strictEqual(yield* cli(["undo", source, "--journal", path], u2), 1)
          assert.strictEqual(u2.err(), `wechatpay-stores: --journal ${path} is ${what}: give --journal the path of a new file\n`)
        }
        assert.strictEqual(fake.log.length, logged)
      }))
  }

  it.scopedLive("after an associate: the stores it added are taken out again", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(300)
      const stores = yield* file("stores.txt", range(300, 500).join("\n"))
      const report = Path.join(dir, "job.json")
      assert.strictEqual(yield* cli(["associate", ...job.slice(1), "--stores", stores, "--report", report, "--no-journal"], capture()), 0)
      assert.strictEqual(fake.associatedCount(F.stockId), 500)
      const c = capture()
      assert.strictEqual(yield* cli(["undo", report, "--no-journal"], c), 0, c.out() + c.err())
      // The 200 it added are gone; the 300 that were there stay.
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), range(0, 300))
      assert.deepStrictEqual(yield* Cli.defaultJournals(dir), [])
    }))

  it.scopedLive("after an associate of stores partly there already: --snapshot finds them and the undo leaves them; without it nothing is listed first and the undo warns", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(300)
      const stores = yield* file("stores.txt", range(200, 500).join("\n"))
      const report = Path.join(dir, "job.json")
      const c = capture()
      // The job's flags without Cli.job's --no-snapshot: the snapshot is what this test is about.
      const flags = job.slice(1).filter((a) => a !== "--no-snapshot")
      assert.strictEqual(yield* cli(["associate", ...flags, "--stores", stores, "--report", report, "--snapshot"], c), 0, c.err())
      const r = yield* readReport(report)
      assert.deepStrictEqual(r.alreadyDone, range(200, 300))
      assert.strictEqual(r.summary.alreadyDone, 100)
      assert.match(c.out(), /\| already done before\s+\|\s+100 \|/)
      // The listing walked before the first call.
      assert.strictEqual(fake.log.find((e) => e.operation !== "getStock")!.operation, "listAssociatedStores")
      const u = capture()
      assert.strictEqual(yield* cli(["undo", report, "--no-journal"], u), 0)
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), range(0, 300))
      assert.notInclude(u.err(), "warning")
      // The default: no listing before the calls, nothing found done, and the undo says what it cannot tell apart.
      yield* fake.clearLog
      const again = Path.join(dir, "again.json")
      const n = capture()
      assert.strictEqual(yield* cli(["associate", ...flags, "--stores", stores, "--report", again], n), 0, n.err())
      assert.notInclude(fake.log.map((e) => e.operation), "listAssociatedStores")
      assert.notMatch(n.out(), /already done before/)
      const a = yield* readReport(again)
      assert.notStrictEqual(a.summary.alreadyDone, 100)
      const w = capture()
      assert.strictEqual(yield* cli(["undo", again, "--no-journal"], w), 0)
      assert.include(w.err(), "wechatpay-stores: warning: the job took no snapshot")
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), range(0, 200))
    }))

  it.scopedLive("after a sync: both parts put back, the stock as it was", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(1_000)
      const original = sorted(fake.associatedStores(F.stockId))
      const desired = yield* file("desired.txt", range(400, 1_300).join("\n"))
      const report = Path.join(dir, "sync.json")
      const sync = ["sync", "--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId]
      assert.strictEqual(yield* cli([...sync, "--stores", desired, "--report", report], capture()), 0)
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), range(400, 1_300))
      const undoReport = Path.join(dir, "undo.json")
      const c = capture()
      assert.strictEqual(yield* cli(["undo", report, "--report", undoReport], c), 0, c.out() + c.err())
      assert.deepStrictEqual(sorted(fake.associatedStores(F.stockId)), original)
      const u = yield* Cli.readAnyReport(undoReport) as Effect.Effect<Cli.SyncReport>
      assert.strictEqual(u.job.operation, "sync")
      assert.deepStrictEqual(sorted(u.associate!.succeeded), range(0, 400))
      assert.deepStrictEqual(sorted(u.disassociate!.succeeded), range(1_000, 1_300))
      assert.include(c.out(), "400 to associate again, 300 to disassociate again\n")
    }))

  it.scopedLive("a report whose job is not a job's: exit 1, one line, nothing sent", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(10)
      const bad = yield* file("bad.json", JSON.stringify({ job: { operation: "disassociate" }, succeeded: [s(0)] }))
      const c = capture()
      assert.strictEqual(yield* cli(["undo", bad, "--no-journal"], c), 1)
      assert.strictEqual(
        c.err(),
        "wechatpay-stores: cannot undo: not a report of a job (no job with its operation, coupon, stock and brand): only a report " +
          "written by a job can be undone; pass a report or a journal that wechatpay-stores wrote\n"
      )
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("a list of store ids, a CSV, an empty or a missing file (neither report nor journal): exit 1, one short line, nothing sent or printed", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(10)
      const neither = (path: string) =>
        `wechatpay-stores: ${path} is neither a report nor a journal that wechatpay-stores wrote; ` +
        "pass the report or the journal of the job to undo (a job prints both paths); nothing was sent\n"
      const cases: ReadonlyArray<readonly [string, (path: string) => string]> = [
        [yield* file("stores.txt", [s(0), s(1)].join("\n")), neither],
        [yield* file("stores.json", JSON.stringify([s(0), s(1)])), neither],
        [yield* file("stores.csv", "store_id\n" + s(0) + "\n"), neither],
        [yield* file("empty.txt", ""), (path) => `wechatpay-stores: ${path} is empty: there is no job in it to undo; nothing was sent\n`],
        [
          Path.join(dir, "nope.json"),
          (path) =>
            `wechatpay-stores: cannot read ${path}: ENOENT; pass the report or the journal of the job to undo (a job prints both paths); nothing was sent\n`
        ]
      ]
      for (const [path, says] of cases) {
        const c = capture()
        assert.strictEqual(yield* cli(["undo", path], c), 1)
        assert.strictEqual(c.err(), says(path))
        // Nothing printed before it: no "undoing the job of …", no journal line for a journal never written.
        assert.strictEqual(c.out(), "")
      }
      assert.deepStrictEqual(fake.log, [])
      assert.deepStrictEqual(yield* Cli.defaultJournals(dir), [])
    }))

  it.scopedLive("an undo whose calls failed (WeChat Pay unreachable): exit 2 and how to finish it; resume of its journal sends nothing, exit 2, and says the same; the undo again puts the stores back", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(100)
      const stores = yield* file("stores.txt", range(0, 10).join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal], capture()), 0)
      // Two loopback ports nobody listens on: every attempt is refused, and the undo ends with its stores unresolved.
      const unreachable = {
        WECHATPAY_BASE_URL: `http://127.0.0.1:${yield* closedPort}`,
        WECHATPAY_BACKUP_BASE_URL: `http://127.0.0.1:${yield* closedPort}`
      }
      const undoJournal = Path.join(dir, "undo.jsonl")
      const u = capture()
      assert.strictEqual(yield* cli(["undo", journal, "--journal", undoJournal], u, { extra: unreachable }), 2, u.out() + u.err())
      const advice = `to put back the stores this undo did not, once what failed them is fixed: wechatpay-stores undo ${journal} ` +
        "(it sends the undone job's stores again)\n"
      assert.isTrue(u.out().endsWith(advice), u.out())
      assert.strictEqual(fake.associatedCount(F.stockId), 90)
      // The undo ended (it was not cut short): its resume sends nothing, and says what does finish it.
      yield* fake.clearLog
      const r = capture()
      assert.strictEqual(yield* cli(["resume", undoJournal], r), 2, r.out() + r.err())
      assert.deepStrictEqual(fake.log, [])
      assert.isTrue(r.out().endsWith(advice), r.out())
      // The advice works: the undo again sends the job's stores, with a warning naming the first undo.
      const again = capture()
      assert.strictEqual(yield* cli(["undo", journal, "--no-journal"], again), 0, again.out() + again.err())
      assert.include(again.err(), `the job of ${journal} was undone already by job `)
      assert.strictEqual(fake.associatedCount(F.stockId), 100)
      assert.notInclude(again.out(), "to put back")
    }), 60_000)

  it.scopedLive("an undo refused before it starts (a report edited to name another stock): exit 1, one line, no journal named or written", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(100)
      const stores = yield* file("stores.txt", range(0, 10).join("\n"))
      const report = Path.join(dir, "job.json")
      const journal = Path.join(dir, "job.jsonl")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", report, "--journal", journal], capture()), 0)
      yield* fake.clearLog
      const text = Fs.readFileSync(report, "utf8")
      const edited = yield* file("edited.json", text.replace(`"stockId": "${F.stockId}"`, `"stockId": "${F.expiredStockId}"`))
      const undoJournal = Path.join(dir, "undo.jsonl")
      const c = capture()
      assert.strictEqual(yield* cli(["undo", edited, "--journal", undoJournal], c), 1)
      // The undo's journal is named only once it is created: this one never was.
      assert.strictEqual(c.out(), `undoing the job of the report ${edited}\n`)
      assert.match(c.err(), /^wechatpay-stores: cannot undo: the report does not match its journal .*; no journal was written, so there is nothing to resume\n$/)
      assert.isFalse(Fs.existsSync(undoJournal))
      assert.deepStrictEqual(fake.log, [])
      assert.strictEqual(fake.associatedCount(F.stockId), 90)
    }))

  it.scopedLive("a journal whose first write was cut short: exit 1, one line saying its job never started, nothing sent", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(100)
      const stores = yield* file("stores.txt", range(0, 50).join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal], capture()), 0)
      yield* fake.clearLog
      // The header whole, the ids record cut part-way: what a crash during the journal's first write leaves.
      const [header, ids] = Fs.readFileSync(journal, "utf8").split("\n")
      const cut = yield* file("cut.jsonl", `${header}\n${ids!.slice(0, 60)}`)
      const c = capture()
      assert.strictEqual(yield* cli(["undo", cut, "--no-journal"], c), 1)
      assert.strictEqual(
        c.err(),
        `wechatpay-stores: ${cut} is the journal of a job that never started (its first write was never completed): ` +
          "there is nothing to undo; nothing was sent\n"
      )
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("--journal naming a file that exists: exit 1, one line, nothing sent", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(100)
      const stores = yield* file("stores.txt", range(0, 10).join("\n"))
      const report = Path.join(dir, "job.json")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", report, "--no-journal"], capture()), 0)
      yield* fake.clearLog
      const journal = yield* file("taken.jsonl", '{"t":"header","format":"effect-wechatpay/journal","version":2,"job":"other"}\n')
      const c = capture()
      assert.strictEqual(yield* cli(["undo", report, "--journal", journal], c), 1)
      assert.strictEqual(
        c.err(),
        `wechatpay-stores: a journal already exists at ${journal}: resume it with \`wechatpay-stores resume ${journal}\`, or pass another --journal\n`
      )
      assert.deepStrictEqual(fake.log, [])
      assert.strictEqual(fake.associatedCount(F.stockId), 90)
    }))

  it.scopedLive("undo --help explains it, with examples", () =>
    Effect.gen(function*() {
      const { cli } = yield* setup(10)
      const c = capture()
      assert.strictEqual(yield* cli(["undo", "--help"], c), 0)
      assert.include(c.out(), "Puts back what a job changed")
      assert.include(c.out(), "EXAMPLES")
      assert.include(c.out(), "<REPORT_OR_JOURNAL>")
    }))
})
