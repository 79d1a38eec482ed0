// Durable jobs from the command line (issue #15): `disassociate` and `associate` write a journal by
// default (its path printed, resume advice with it), `--journal FILE` names it and refuses one that
// exists, `--no-journal` and `--dry-run` write none; `wechatpay-stores resume JOURNAL` finishes a
// job from its journal alone (a finished one gives its report back and sends nothing; a cut one
// sends only what was never sent and settles the calls in flight by the listing), and says in one
// line why a missing or corrupt journal cannot be resumed. Last, the real thing: the CLI as a child
// process killed with SIGKILL mid-job, then resumed by a second process; the report accounts for
// every store once and agrees with the sandbox. In-process through `run(argv, io)` against the
// loopback sandbox, except the last.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as NextStep from "../packages/wechatpay-stores/src/NextStep.js"
import * as Cli from "./support/Cli.js"
import { withOutcome } from "./support/JournalRecords.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const { capture, job, readReport } = Cli

const setup = (stores = 1_000, options: { readonly faults?: FakeWechatPay.FaultOptions } = {}) =>
  Cli.sandbox("wechatpay-cli-journal-test-", {
    seed: FakeWechatPay.generate({ stores }),
    ...(options.faults === undefined ? {} : { faults: options.faults })
  })

const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => s(from + i))

/** One line on stderr, no stack trace. */
const assertOneLine = (text: string, expected: string) => {
  assert.strictEqual(text, `wechatpay-stores: ${expected}\n`)
}

/** A 10-store job run to its end with its journal at job.jsonl, the sandbox's log cleared after it. */
const finishedJob = Effect.gen(function*() {
  const sandbox = yield* setup()
  const stores = yield* sandbox.file("stores.txt", ids(10).join("\n"))
  const journal = Path.join(sandbox.dir, "job.jsonl")
  assert.strictEqual(yield* sandbox.cli([...job, "--stores", stores, "--journal", journal], capture()), 0)
  yield* sandbox.fake.clearLog
  return { ...sandbox, journal }
})

const exists = (path: string) => Effect.promise(() => Fs.stat(path).then(() => true, () => false))

/** Calls that changed stores (not the stock query, not the listing). */
const changes = (fake: FakeWechatPay.Service) =>
  fake.log.filter((e) => e.operation === "disassociateStores" || e.operation === "associateStores")

describe("cli jobs keep a journal", () => {
  it.scopedLive("by default: a journal in the working directory, its path and the resume command printed first; the report's job names it", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(450).join("\n"))
      const report = Path.join(dir, "report.json")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", report], c), 0, c.err())
      const [journal, ...others] = yield* Cli.defaultJournals(dir)
      assert.deepStrictEqual(others, [])
      assert.isTrue(c.out().startsWith(`journal: ${journal} (resume with: wechatpay-stores resume ${journal})\n`), c.out())
      const r = yield* readReport(report)
      assert.include(r.job, { operation: "disassociate", productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId })
      assert.strictEqual(r.job.journal, journal)
      assert.strictEqual(r.job.runs, 1)
      assert.deepStrictEqual(r.succeeded, ids(450))
      for (const id of ids(450)) assert.isFalse(fake.isAssociated(F.stockId, id))
      // The journal: the header (the job's id), its ids, each call and its outcome, the end.
      const records = yield* Cli.journalRecords(journal!)
      assert.strictEqual(records[0]!.t, "header")
      assert.strictEqual(records[0]!["job"], r.job.id)
      assert.strictEqual(records.filter((x) => x.t === "call").length, 3)
      assert.strictEqual(records.filter((x) => x.t === "outcome").length, 3)
      assert.strictEqual(records.at(-1)!.t, "finished")
    }))

  it.scopedLive("a relative --journal: printed, kept in the report and resumed as an absolute path, so the advice works from any directory", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const report = Path.join(dir, "report.json")
      const absolute = Path.join(dir, "job.jsonl")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", "job.jsonl", "--report", report], c), 0, c.err())
      assert.isTrue(c.out().startsWith(`journal: ${absolute} (resume with: wechatpay-stores resume ${absolute})\n`), c.out())
      assert.strictEqual((yield* readReport(report)).job.journal, absolute)
      const again = capture()
      assert.strictEqual(yield* cli(["resume", "job.jsonl", "--report", Path.join(dir, "again.json")], again), 0, again.err())
      assert.isTrue(again.out().startsWith(`resuming the job of ${absolute}\n`), again.out())
    }))

  it.scopedLive("--json: the journal line goes to stderr, stdout holds the report alone", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--json"], c), 0, c.err())
      const printed = JSON.parse(c.out()) as Cli.Report
      assert.strictEqual(printed.job.journal, journal)
      assert.include(c.err(), `journal: ${journal} (resume with: wechatpay-stores resume ${journal})\n`)
    }))

  it.scopedLive("associate journals too", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* Cli.sandbox("wechatpay-cli-journal-test-", {
        seed: FakeWechatPay.generate({ stores: 1_000, associated: 0 })
      })
      const stores = yield* file("stores.txt", ids(300).join("\n"))
      const journal = Path.join(dir, "associate.jsonl")
      const report = Path.join(dir, "report.json")
      const c = capture()
      assert.strictEqual(yield* cli(["associate", ...job.slice(1), "--stores", stores, "--journal", journal, "--report", report], c), 0, c.err())
      const r = yield* readReport(report)
      assert.include(r.job, { operation: "associate", journal, runs: 1 })
      assert.strictEqual(fake.associatedCount(F.stockId), 300)
      assert.strictEqual((yield* Cli.journalRecords(journal))[0]!["operation"], "associate")
    }))

  it.scopedLive("--journal naming a file that exists: exit 1, one line saying how to resume it; nothing sent, the file untouched", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const another = '{"t":"header","format":"effect-wechatpay/journal","version":2,"job":"other"}\n'
      const journal = yield* file("taken.jsonl", another)
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal], c), 1)
      assertOneLine(
        c.err(),
        `a journal already exists at ${journal}: resume it with \`wechatpay-stores resume ${journal}\`, or pass another --journal`
      )
      assert.strictEqual(c.out(), "")
      assert.deepStrictEqual(fake.log, [])
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(journal, "utf8")), another)
      // A file that is no journal is not one to resume.
      const notJournal = yield* file("notes.txt", "someone else's\n")
      const n = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", notJournal], n), 1)
      assertOneLine(n.err(), `${notJournal} exists and is not a journal: pass the path of a new file as --journal`)
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(notJournal, "utf8")), "someone else's\n")
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("--journal in a directory that does not exist: exit 1, one line, nothing sent", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const journal = Path.join(dir, "no-such-dir", "job.jsonl")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal], c), 1)
      assertOneLine(c.err(), `cannot create the journal ${journal}: its directory does not exist; create it, or give --journal another path (ENOENT)`)
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("a job the preflight refuses: no journal written nor named, and its one line says there is nothing to resume", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      const c = capture()
      const stopped = job.map((a) => a === F.stockId ? F.expiredStockId : a)
      assert.strictEqual(yield* cli([...stopped, "--stores", stores, "--journal", journal], c), 1)
      // The journal's path is printed once the journal is created: a job refused before then names none.
      assert.notInclude(c.out(), "journal:")
      assert.match(c.err(), /^wechatpay-stores: the stock check before the job refused it: .*; no journal was written, so there is nothing to resume\n$/)
      assert.isFalse(yield* exists(journal))
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock"])
    }))

  it.scopedLive("--no-journal: no journal written, the report's job names none; --dry-run writes none either", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const report = Path.join(dir, "report.json")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--no-journal", "--report", report], c), 0, c.err())
      assert.notInclude(c.out(), "journal:")
      const r = yield* readReport(report)
      assert.isUndefined(r.job.journal)
      assert.strictEqual(r.job.runs, 1)
      const dry = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--dry-run"], dry), 0, dry.err())
      assert.deepStrictEqual(yield* Cli.defaultJournals(dir), [])
      const named = Path.join(dir, "dry.jsonl")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--dry-run", "--journal", named], capture()), 0)
      assert.isFalse(yield* exists(named))
    }))

  it.scopedLive("--snapshot with --no-journal: exit 1, one line, nothing sent (only a journaled job takes a snapshot)", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const c = capture()
      const flags = job.filter((a) => a !== "--no-snapshot")
      assert.strictEqual(yield* cli([...flags, "--stores", stores, "--no-journal", "--snapshot"], c), 1)
      assert.match(c.err(), /^wechatpay-stores: --snapshot needs the job's journal; drop --no-journal\nusage: /)
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("--journal with --no-journal: exit 1, one line", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--no-journal", "--journal", Path.join(dir, "j.jsonl")], c), 1)
      assert.match(c.err(), /^wechatpay-stores: --journal and --no-journal cannot both be given; pass one of them\nusage: /)
      assert.deepStrictEqual(fake.log, [])
    }))
})

describe("cli: a journal a job never wrote in", () => {
  it.scopedLive("empty (the job was killed as it created it): the job and resume both say to delete it; a directory is no journal", () =>
    Effect.gen(function*() {
      const { cli, dir, fake, file } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const empty = yield* file("empty.jsonl", "")
      const again = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", empty], again), 1)
      assertOneLine(
        again.err(),
        `the journal ${empty} is empty: the job that made it stopped before it recorded anything, and nothing was sent; ` +
          "delete it, or pass another --journal"
      )
      const resumed = capture()
      assert.strictEqual(yield* cli(["resume", empty], resumed), 1)
      assertOneLine(
        resumed.err(),
        `the journal ${empty} cannot be trusted: it is empty: the job stopped before it recorded anything, and nothing was sent; ` +
          "delete it and run the job again"
      )
      const directory = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", dir], directory), 1)
      assertOneLine(directory.err(), `${dir} is a directory: pass the path of a file to create as --journal`)
      assert.strictEqual(fake.log.length, 0)
    }))
})

describe("cli: a journal path that is no regular file", () => {
  // Read whole, a FIFO with no writer never starts and /dev/zero never ends (it filled memory without bound, and
  // its lock file was made in /dev): each is refused by its kind, in one line, before anything is read or locked.
  it.scopedLive("resume and undo of a FIFO or a device: exit 1 at once, one line, no lock file, nothing sent", () =>
    Effect.gen(function*() {
      const { cli, fake, fifo } = yield* setup()
      const pipe = yield* fifo("job.jsonl")
      const resumed = capture()
      assert.strictEqual(yield* cli(["resume", pipe], resumed), 1)
      assertOneLine(
        resumed.err(),
        `cannot lock the journal ${pipe}: it is a FIFO, not a regular file: a journal is the file a job wrote; ` +
          "nothing more was sent. Check the path, its permissions and the free space"
      )
      assert.isFalse(NodeFs.existsSync(`${pipe}.lock`))
      const zero = capture()
      assert.strictEqual(yield* cli(["resume", "/dev/zero"], zero), 1)
      assert.include(zero.err(), "it is a character device, not a regular file")
      assert.isFalse(NodeFs.existsSync("/dev/zero.lock"))
      const undone = capture()
      assert.strictEqual(yield* cli(["undo", pipe], undone), 1)
      assertOneLine(
        undone.err(),
        `${pipe} is a FIFO, not a file: pass the report or the journal of the job to undo (a job prints both paths); nothing was sent`
      )
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("a new job's --journal naming a device: exit 1, one line saying to pass a file (not to resume it), nothing sent", () =>
    Effect.gen(function*() {
      const { cli, fake, file } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", "/dev/null"], c), 1)
      assertOneLine(c.err(), "/dev/null is not a regular file (a device, a FIFO or a socket): pass the path of a file to create as --journal")
      assert.deepStrictEqual(fake.log, [])
    }))
})

describe("cli resume", () => {
  it.scopedLive("under another merchant (WECHATPAY_MCHID): refused in one line naming the job's, nothing sent; undo too", () =>
    Effect.gen(function*() {
      const { fake, journal, dir, cli } = yield* finishedJob
      const header = JSON.parse((yield* Effect.promise(() => Fs.readFile(journal, "utf8"))).split("\n")[0]!)
      assert.strictEqual(header.mchid, fake.keys.mchid, "the header records the merchant")
      const other = { extra: { WECHATPAY_MCHID: "1900000999" } }
      for (const argv of [["resume", journal], ["undo", journal, "--journal", Path.join(dir, "undo.jsonl")]]) {
        const c = capture()
        assert.strictEqual(yield* cli(argv, c, other), 1, c.err())
        // One line (an undo adds that its own journal was not written).
        assert.strictEqual(c.err().split("\n").length, 2, c.err())
        assert.isTrue(
          c.err().startsWith(
            `wechatpay-stores: the journal ${journal} is for mchid "${fake.keys.mchid}", not "1900000999": its job ran as merchant ` +
              `${fake.keys.mchid}; nothing was sent. Run it with that merchant's WECHATPAY_* configuration`
          ),
          c.err()
        )
      }
      assert.deepStrictEqual(fake.log, [])
      // With the job's own merchant it resumes as before.
      assert.strictEqual(yield* cli(["resume", journal], capture()), 0)
    }))

  it.scopedLive("a finished journal: its report written again, nothing sent, exit 0", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(450).join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      const first = Path.join(dir, "first.json")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--report", first], capture()), 0)
      yield* fake.clearLog
      const again = Path.join(dir, "again.json")
      const c = capture()
      assert.strictEqual(yield* cli(["resume", journal, "--report", again], c), 0, c.err())
      assert.deepStrictEqual(fake.log, [])
      const r1 = yield* readReport(first)
      const r2 = yield* readReport(again)
      assert.deepStrictEqual(r2, r1)
      assert.match(c.out(), /\| succeeded\s+\|\s+450 \|/)
      assert.include(c.out(), `report written to ${again}\n`)
      assert.strictEqual(c.err(), "")
    }))

  it.scopedLive("a finished job with a failed store: it says what to do; resume sends nothing, exit 2, and says the same", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", [...ids(5), FakeWechatPay.otherBrandStoreId(0)].join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      const first = Path.join(dir, "first.json")
      const c1 = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--report", first], c1), 2, c1.err())
      const advice = (report: string) =>
        "to send the failed and unresolved stores again, once what failed them is fixed: wechatpay-stores disassociate " +
        `--product-coupon-id ${F.productCouponId} --stock-id ${F.stockId} --brand-id ${F.brandId} --stores ${report}\n`
      assert.isTrue(c1.out().endsWith(`report written to ${first}\n${advice(first)}`), c1.out())
      yield* fake.clearLog
      const again = Path.join(dir, "again.json")
      const c = capture()
      assert.strictEqual(yield* cli(["resume", journal, "--report", again], c), 2, c.err())
      assert.deepStrictEqual(fake.log, [])
      assert.isTrue(c.out().endsWith(`report written to ${again}\n${advice(again)}`), c.out())
      assert.strictEqual(c.out().split("to send the failed").length - 1, 1)
    }))

  it.scopedLive("a finished job with a failed store whose report could not be written: the advice gets it from the journal, and works as printed", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", [...ids(5), FakeWechatPay.otherBrandStoreId(0)].join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      const first = Path.join(dir, "first.json")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--report", first], capture()), 2)
      const r = yield* readReport(first)
      // What the run says when no file could hold its report (it was printed on stderr instead).
      const again = `wechatpay-stores disassociate --product-coupon-id ${F.productCouponId} --stock-id ${F.stockId} --brand-id ${F.brandId} --stores`
      const lead = "to send the failed and unresolved stores again, once what failed them is fixed:"
      assert.strictEqual(
        NextStep.line(r, undefined, undefined),
        `${lead} wechatpay-stores resume ${journal} --report report.json (it writes this report and sends nothing), then ${again} report.json\n`
      )
      // Both commands as printed (the report's path made absolute: the tests' working directory is another).
      yield* fake.clearLog
      const report = Path.join(dir, "report.json")
      assert.strictEqual(yield* cli(["resume", journal, "--report", report], capture()), 2)
      assert.deepStrictEqual(fake.log, [])
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", report, "--no-journal"], c), 2, c.err())
      const sent = changes(fake).flatMap((e) => (JSON.parse(e.bodyText) as { store_list: Array<{ store_id: string }> }).store_list)
      assert.deepStrictEqual(sent.map((s) => s.store_id), [FakeWechatPay.otherBrandStoreId(0)])
      // With no journal either, the line says what REPORT is and that the run wrote none.
      const { journal: _journal, ...unjournaled } = r.job
      assert.strictEqual(
        NextStep.line({ ...r, job: unjournaled }, undefined, undefined),
        `${lead} ${again} REPORT, where REPORT is this job's report (this run wrote none: --report FILE writes one)\n`
      )
    }))

  it.scopedLive("a journal cut short after two calls and a third in flight (its outcome torn): only the stores never sent are sent, the one in flight settled by the listing", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(1_000).join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--concurrency", "1"], capture()), 0)
      // What a crash after the third call went out (and WeChat Pay applied it) would have left.
      const records = yield* Cli.journalRecords(journal)
      // Everything before the third call's outcome, less the records of calls queued after the third (a call's
      // record is queued when it is dispatched, ahead of the outcome of the call before it).
      const thirdOutcome = records.map((r, i) => [r, i] as const).filter(([r]) => r.t === "outcome")[2]![1]
      let calls = 0
      const kept = records.slice(0, thirdOutcome).filter((r) => r.t !== "call" || ++calls <= 3)
      assert.deepStrictEqual(kept.filter((r) => r.t === "outcome").length, 2)
      assert.deepStrictEqual(kept.filter((r) => r.t === "call").length, 3)
      // And the start of the third call's outcome, cut short by the crash mid-write.
      const torn = JSON.stringify(records[thirdOutcome]).slice(0, 40)
      yield* Effect.promise(() => Fs.writeFile(journal, kept.map((r) => JSON.stringify(r) + "\n").join("") + torn))
      // The sandbox as after that crash: the last two calls' stores still associated.
      const notSent = ids(400, 600)
      yield* fake.clearLog
      const putBack = yield* file("put-back.txt", notSent.join("\n"))
      assert.strictEqual(yield* cli(["associate", ...job.slice(1), "--stores", putBack, "--no-journal", "--no-preflight"], capture()), 0)
      yield* fake.clearLog
      const report = Path.join(dir, "resumed.json")
      const c = capture()
      assert.strictEqual(yield* cli(["resume", journal, "--report", report], c), 0, c.out() + c.err())
      const r = yield* readReport(report)
      assert.strictEqual(r.job.runs, 2)
      assert.deepStrictEqual([...r.succeeded].sort(), ids(1_000))
      assert.deepStrictEqual(r.failed, [])
      assert.deepStrictEqual(r.unresolved, [])
      assert.strictEqual(r.summary.settledByListing, 200)
      // The two calls never sent, and nothing else changed stores.
      assert.deepStrictEqual(changes(fake).map((e) => e.operation), ["disassociateStores", "disassociateStores"])
      assert.strictEqual(fake.associatedCount(F.stockId), 0)
      assert.include(c.out(), `resuming the job of ${journal}\n`)
      assert.include(c.out(), `job ${r.job.id} (disassociate), run 2, started ${r.job.startedAt}\n`)
      assert.include(c.out(), "listing checked: 200 unresolved stores settled by it, 0 sent once more\n")
      // The torn line: one warning, in the CLI's words.
      assert.strictEqual(
        c.err(),
        `wechatpay-stores: warning: the journal ${journal} ends with 40 byte(s) of a record that was never completed (a crash mid-write); ignored\n`
      )
    }))

  it.scopedLive("a sync cut short in its associate part: resume finishes both parts, prints the plan and both summaries; the stock is the desired set", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(3_000)
      const sync = ["sync", "--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId]
      // The stock is made to hold the first 1,000; desired: 500..1,499 (500 to associate, 500 to disassociate: three calls each).
      assert.strictEqual(fake.associatedCount(F.stockId), 3_000)
      const trim = yield* file("trim.txt", ids(2_000, 1_000).join("\n"))
      assert.strictEqual(yield* cli([...job, "--stores", trim, "--no-journal"], capture()), 0)
      const desired = yield* file("desired.txt", ids(1_000, 500).join("\n"))
      const journal = Path.join(dir, "sync.jsonl")
      assert.strictEqual(yield* cli([...sync, "--stores", desired, "--journal", journal, "--concurrency", "1"], capture()), 0)
      // Cut after the associate part's first outcome; the sandbox put back as it was then.
      const records = yield* Cli.journalRecords(journal)
      const firstOutcome = records.findIndex((r) => r.t === "outcome")
      yield* Effect.promise(() => Fs.writeFile(journal, records.slice(0, firstOutcome + 1).map((r) => JSON.stringify(r) + "\n").join("")))
      // The first call's stores (the second call's record may be queued before this outcome: in flight at the cut).
      const firstCall = records.find((r) => r.t === "call")!["stores"] as ReadonlyArray<string>
      const notYetAssociated = ids(500, 1_000).filter((id) => !firstCall.includes(id))
      const notYetRemoved = yield* file("back.txt", ids(500).join("\n"))
      const undoAssociate = yield* file("undo.txt", notYetAssociated.join("\n"))
      assert.strictEqual(yield* cli(["associate", ...job.slice(1), "--stores", notYetRemoved, "--no-journal"], capture()), 0)
      assert.strictEqual(yield* cli([...job, "--stores", undoAssociate, "--no-journal"], capture()), 0)
      yield* fake.clearLog
      const report = Path.join(dir, "resumed.json")
      const c = capture()
      assert.strictEqual(yield* cli(["resume", journal, "--report", report], c), 0, c.out() + c.err())
      assert.deepStrictEqual([...fake.associatedStores(F.stockId)].sort(), ids(1_000, 500))
      const r = yield* Cli.readAnyReport(report) as Effect.Effect<Cli.SyncReport>
      assert.include(r.job, { operation: "sync", runs: 2, journal })
      assert.strictEqual(r.associate!.succeeded.length, 500)
      assert.strictEqual(r.disassociate!.succeeded.length, 500)
      // Two associate calls and three disassociate calls: the first call is not sent again.
      const sent = fake.log.filter((e) => e.operation === "associateStores" || e.operation === "disassociateStores").map((e) => e.operation)
      assert.deepStrictEqual(sent, ["associateStores", "associateStores", "disassociateStores", "disassociateStores", "disassociateStores"])
      const out = c.out()
      const planAt = out.indexOf("plan: 1,000 desired (1,000 unique), 1,000 listed, 500 to associate, 500 to disassociate, 500 unchanged\n")
      assert.isAtLeast(planAt, 0, out)
      assert.isTrue(planAt < out.indexOf("associate:\n") && out.indexOf("associate:\n") < out.indexOf("disassociate:\n"), out)
    }))

  it.scopedLive("a bundle job journals too: the journal names the bundle; resume of it sends nothing; undo from its report puts every stock back", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(50)
      const bundle = ["--product-coupon-id", F.bundleProductCouponId, "--stock-bundle-id", F.stockBundleId, "--brand-id", F.brandId]
      const stocks = fake.bundleStockIds(F.stockBundleId)
      const original = stocks.map((stock) => [...fake.associatedStores(stock)].sort())
      const inBoth = ids(50).filter((id) => stocks.every((stock) => fake.isAssociated(stock, id)))
      assert.isAbove(inBoth.length, 0)
      const stores = yield* file("stores.txt", inBoth.join("\n"))
      const journal = Path.join(dir, "bundle.jsonl")
      const report = Path.join(dir, "bundle.json")
      const c = capture()
      assert.strictEqual(yield* cli(["disassociate", ...bundle, "--stores", stores, "--journal", journal, "--report", report], c), 0, c.err())
      for (const stock of stocks) for (const id of inBoth) assert.isFalse(fake.isAssociated(stock, id))
      const header = (yield* Cli.journalRecords(journal))[0]!
      assert.deepStrictEqual(header["target"], { productCouponId: F.bundleProductCouponId, stockBundleId: F.stockBundleId, brandId: F.brandId })
      const r = yield* readReport(report)
      assert.include(r.job, { stockBundleId: F.stockBundleId, journal })
      yield* fake.clearLog
      assert.strictEqual(yield* cli(["resume", journal, "--report", Path.join(dir, "again.json")], capture()), 0)
      assert.deepStrictEqual(fake.log, [])
      const u = capture()
      assert.strictEqual(yield* cli(["undo", report, "--no-journal"], u), 0, u.out() + u.err())
      assert.deepStrictEqual(stocks.map((stock) => [...fake.associatedStores(stock)].sort()), original)
    }))

  it.scopedLive("a job stopped (Ctrl-C) after its first call: exit 2, the advice is to resume its journal; resume then finishes it, sending only the rest", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup(1_000, { faults: { rates: { slow: 1 }, slowMillis: 100 } })
      const stores = yield* file("stores.txt", ids(1_000).join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      const stop = Effect.gen(function*() {
        while (changes(fake).length < 1) yield* Effect.sleep("5 millis")
      })
      const c = capture({ stop })
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--concurrency", "1"], c), 2, c.err())
      assert.include(c.out(), "stopped by STOPPED: ")
      assert.include(c.out(), "Resume it (the command is below) to finish it.")
      assert.notInclude(c.out(), "listed in the report again")
      assert.include(c.out(), `to finish the job: wechatpay-stores resume ${journal}\n`)
      const sentBefore = changes(fake).length
      assert.isBelow(sentBefore, 5)
      const report = Path.join(dir, "resumed.json")
      const r = capture()
      assert.strictEqual(yield* cli(["resume", journal, "--report", report], r), 0, r.out() + r.err())
      assert.notInclude(r.out(), "to finish the job")
      const done = yield* readReport(report)
      assert.deepStrictEqual([...done.succeeded].sort(), ids(1_000))
      assert.strictEqual(done.job.runs, 2)
      assert.strictEqual(changes(fake).length, 5, "every call once, across both runs")
      assert.strictEqual(fake.associatedCount(F.stockId), 0)
    }))

  it.scopedLive("the ids given with the journal: another stock, bundle, coupon or brand is refused in one line, nothing sent; its own are accepted", () =>
    Effect.gen(function*() {
      const { cli, fake, journal } = yield* finishedJob
      const refused: ReadonlyArray<readonly [ReadonlyArray<string>, string, string, string]> = [
        [["--stock-id", "987654321"], "stockId", F.stockId, "987654321"],
        [["--product-coupon-id", "200000002"], "productCouponId", F.productCouponId, "200000002"],
        [["--brand-id", "999999"], "brandId", F.brandId, "999999"],
        [["--stock-id", F.stockId, "--brand-id", "999999"], "brandId", F.brandId, "999999"]
      ]
      for (const [flags, field, found, expected] of refused) {
        const c = capture()
        assert.strictEqual(yield* cli(["resume", journal, ...flags], c), 1, flags.join(" "))
        assertOneLine(
          c.err(),
          `the journal ${journal} is for ${field} "${found}", not "${expected}"; nothing was sent. Check the journal's path and the ids given with it`
        )
      }
      // A stock job's journal names no bundle.
      const bundle = capture()
      assert.strictEqual(yield* cli(["resume", journal, "--stock-bundle-id", "555"], bundle), 1)
      assert.include(bundle.err(), `is for stockBundleId "(none)", not "555"`)
      assert.deepStrictEqual(fake.log, [])
      const c = capture()
      const own = ["--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId]
      assert.strictEqual(yield* cli(["resume", journal, ...own], c), 0, c.err())
      assert.match(c.out(), /\| succeeded\s+\|\s+10 \|/)
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("a journal another run is using (its lock names a live process): exit 1, one line; nothing sent", () =>
    Effect.gen(function*() {
      const { cli, fake, file, journal } = yield* finishedJob
      yield* file("job.jsonl.lock", JSON.stringify({ pid: process.ppid, since: new Date().toISOString() }))
      const c = capture()
      assert.strictEqual(yield* cli(["resume", journal], c), 1)
      assertOneLine(
        c.err(),
        `the journal ${journal} is in use by process ${process.ppid}: wait for it to end; if that run is gone, delete ${journal}.lock; nothing was sent`
      )
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("a missing journal: exit 1, one line; nothing sent", () =>
    Effect.gen(function*() {
      const { dir, fake, cli } = yield* setup()
      const missing = Path.join(dir, "nope.jsonl")
      const c = capture()
      assert.strictEqual(yield* cli(["resume", missing], c), 1)
      assertOneLine(c.err(), `no journal at ${missing}: check the path (a job prints its journal's path before its first call); nothing was sent`)
      assert.deepStrictEqual(fake.log, [])
      assert.notInclude(c.out(), "report written")
    }))

  for (
    const [what, content, says] of [
      ["not a journal", "store_id\n100000001\n", "the first line is not JSON: this is not a journal"],
      ["a line in the middle broken", "GOOD\n{not json\n{}\n", "(line 2): not JSON"]
    ] as const
  ) {
    it.scopedLive(`a corrupt journal (${what}): exit 1, one line saying it cannot be trusted; nothing sent`, () =>
      Effect.gen(function*() {
        const { dir, fake, file, cli } = yield* setup()
        let text: string = content
        if (content.startsWith("GOOD")) {
          // A real journal's header, then garbage, then more records.
          const stores = yield* file("stores.txt", ids(10).join("\n"))
          const real = Path.join(dir, "real.jsonl")
          assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", real], capture()), 0)
          const header = (yield* Effect.promise(() => Fs.readFile(real, "utf8"))).split("\n")[0]!
          text = content.replace("GOOD", header)
          yield* fake.clearLog
        }
        const journal = yield* file("corrupt.jsonl", text)
        const c = capture()
        assert.strictEqual(yield* cli(["resume", journal], c), 1)
        const lines = c.err().split("\n").filter((l) => l !== "")
        assert.strictEqual(lines.length, 1, c.err())
        assert.include(lines[0], `wechatpay-stores: the journal ${journal} cannot be trusted`)
        assert.include(lines[0], says)
        assert.include(lines[0], "nothing was sent")
        assert.deepStrictEqual(fake.log, [])
      }))
  }

  it.scopedLive("a report given instead of its journal: exit 1, one line saying what a report is good for; nothing sent", () =>
    Effect.gen(function*() {
      const { dir, fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ids(10).join("\n"))
      const report = Path.join(dir, "report.json")
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", report], capture()), 0)
      yield* fake.clearLog
      const [journal] = yield* Cli.defaultJournals(dir)
      const c = capture()
      assert.strictEqual(yield* cli(["resume", report], c), 1)
      assertOneLine(
        c.err(),
        `${report} is a report, not a journal: its job's journal is ${journal} (wechatpay-stores resume ${journal}); to run its failed and ` +
          `unresolved stores again, pass the report as --stores; to undo its job: wechatpay-stores undo ${report}`
      )
      assert.deepStrictEqual(fake.log, [])
    }))

  it.scopedLive("resume --help explains it, with examples", () =>
    Effect.gen(function*() {
      const { cli } = yield* setup(10)
      const c = capture()
      assert.strictEqual(yield* cli(["resume", "--help"], c), 0)
      assert.include(c.out(), "Finishes a job from its journal")
      assert.include(c.out(), "EXAMPLES")
      assert.include(c.out(), "wechatpay-stores resume job.jsonl")
    }))
})

describe("wechatpay-stores as a real process: killed with SIGKILL mid-job, then resumed by another", () => {
  /** Outcome records in the journal so far (the file is being written by the child). */
  const outcomes = (journal: string): number => {
    try {
      return NodeFs.readFileSync(journal, "utf8").split("\n").filter((l) => l.startsWith("{\"t\":\"outcome\"")).length
    } catch {
      return 0
    }
  }

  it.scopedLive("6,000 stores at --rate 3: SIGKILL after a few outcomes; resume accounts for every store once, agrees with the sandbox, and sends no store twice", () =>
    Effect.gen(function*() {
      const STORES = 6_000
      const { dir, env, fake, file } = yield* Cli.sandbox("wechatpay-cli-journal-kill-test-", {
        seed: FakeWechatPay.generate({ stores: STORES, otherBrandStores: 5 })
      })
      const unique = [...ids(STORES), ...Array.from({ length: 3 }, (_, i) => FakeWechatPay.otherBrandStoreId(i))]
      // Duplicates too: the report counts unique stores.
      const stores = yield* file("stores.txt", [...unique, s(10), s(20)].join("\n") + "\n")
      const journal = Path.join(dir, "job.jsonl")
      const childEnv = { ...Cli.cleanEnv(), ...env }
      const first = yield* Cli.spawnCli([...job, "--stores", stores, "--journal", journal, "--rate", "3", "--concurrency", "2"], {
        env: childEnv,
        cwd: dir
      })
      yield* Cli.waitUntil(first, () => outcomes(journal) >= 3, "three outcomes in the journal")
      first.child.kill("SIGKILL")
      const killed = yield* Cli.exitWithin(first, 20)
      assert.strictEqual(killed.signal, "SIGKILL")
      assert.include(first.stdout(), `journal: ${journal} (resume with: wechatpay-stores resume ${journal})\n`)
      assert.notInclude(first.stdout(), "report written")
      const recorded = outcomes(journal)
      // The calls in flight at the kill: recorded as sent, no outcome (with two workers there is always one waiting on the rate).
      const atKill = yield* Cli.journalRecords(journal)
      const settled = withOutcome(atKill)
      const inFlight = atKill.filter((x) => x.t === "call").flatMap((x) => x["stores"] as ReadonlyArray<string>).filter((id) => !settled.has(id))
      assert.isAbove(inFlight.length, 0, "a call was in flight at the kill")
      const calls = Math.ceil(unique.length / 200)
      assert.isBelow(recorded, calls, "killed mid-job, not after it")
      const changedBefore = fake.log.filter((e) => e.operation === "disassociateStores" && e.processed).length
      assert.isAtLeast(changedBefore, recorded)

      const report = Path.join(dir, "resumed.json")
      const second = yield* Cli.spawnCli(["resume", journal, "--report", report], { env: childEnv, cwd: dir })
      const done = yield* Cli.exitWithin(second, 50)
      // The three stores of another brand fail: exit 2.
      assert.strictEqual(done.code, 2, second.stdout() + second.stderr())
      assert.notMatch(second.stderr(), /\n\s+at /)
      const r = yield* readReport(report)
      assert.strictEqual(r.job.runs, 2)
      assert.strictEqual(r.job.journal, journal)
      // Every unique store exactly once across the three lists.
      const listed = [...r.succeeded, ...r.failed.map((f) => f.storeId), ...r.unresolved.map((u) => u.storeId)]
      assert.strictEqual(listed.length, unique.length)
      assert.sameMembers(listed, unique)
      assert.include(r.summary, { input: unique.length + 2, unique: unique.length, duplicates: 2, failed: 3, unresolved: 0 })
      assert.sameMembers(r.failed.map((f) => f.storeId), unique.slice(STORES))
      // The stores in flight at the kill were settled by the listing (applied) or sent once (never arrived), none left unknown.
      assert.strictEqual((r.summary.settledByListing ?? 0) + (r.summary.resent ?? 0), inFlight.length)
      // The sandbox agrees: every succeeded store is really out of the stock, and none is left in it.
      for (const id of r.succeeded) assert.isFalse(fake.isAssociated(F.stockId, id), id)
      assert.strictEqual(fake.associatedCount(F.stockId), 0)
      // No store was sent twice, across both processes: a call in flight at the kill was settled by the listing.
      const sent = new Map<string, number>()
      for (const e of fake.log) {
        if (e.operation !== "disassociateStores" || !e.processed) continue
        for (const { store_id } of (JSON.parse(e.bodyText) as { store_list: Array<{ store_id: string }> }).store_list) {
          sent.set(store_id, (sent.get(store_id) ?? 0) + 1)
        }
      }
      for (const [id, n] of sent) assert.strictEqual(n, 1, `${id} sent ${n} times`)
      assert.strictEqual(sent.size, unique.length)
    }), 120_000)
})
