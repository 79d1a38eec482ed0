// The `wechatpay-stores` CLI in-process: `run(argv, io)` against the loopback sandbox, configured
// through the WECHATPAY_* variables (a ConfigProvider, no process.env), output captured in sinks.
// Exit codes, --dry-run, --report, every input format, progress lines and the bar.
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { appendFileSync, truncateSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Readable } from "node:stream"
import { HttpClient } from "@effect/platform"
import * as Disassociate from "../packages/wechatpay-stores/src/commands/disassociate.js"
import { parseFaults, run } from "../packages/wechatpay-stores/src/main.js"
import { FakeWechatPay, SandboxHttpClient, SandboxSettings } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"
import { keys } from "./support/Keys.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const foreign = FakeWechatPay.otherBrandStoreId
const { capture, job, readReport } = Cli

/** A fresh sandbox (with 20 stores of another brand), its settings as variables, and a temporary directory for files. */
const setup = (stores = 1_000) =>
  Cli.sandbox("wechatpay-cli-test-", { seed: FakeWechatPay.generate({ stores, otherBrandStores: 20 }) })

/** One line, no stack trace. */
const assertOneLine = (text: string, mentions: string) => {
  const lines = text.split("\n").filter((l) => l !== "")
  assert.isAtLeast(lines.length, 1)
  assert.include(lines[0], mentions)
  assert.notMatch(text, /\n\s+at /)
  assert.notInclude(text, "Error:")
}

describe("cli disassociate: exit codes", () => {
  it.scopedLive("0 when every unique store succeeded; the report file has summary and the three lists", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const ids = Array.from({ length: 450 }, (_, i) => s(i))
      const stores = yield* file("stores.txt", [...ids, s(3), s(4)].join("\n") + "\n")
      const report = Path.join(dir, "report.json")
      const c = capture()
      const code = yield* cli([...job, "--stores", stores, "--report", report], c)
      assert.strictEqual(code, 0, c.err())
      const r = yield* readReport(report)
      assert.deepStrictEqual(Object.keys(r).filter((k) => ["summary", "succeeded", "failed", "unresolved"].includes(k)).sort(), [
        "failed",
        "succeeded",
        "summary",
        "unresolved"
      ])
      assert.deepStrictEqual(r.succeeded, ids)
      assert.deepStrictEqual(r.failed, [])
      assert.deepStrictEqual(r.unresolved, [])
      assert.include(r.summary, { input: 452, unique: 450, duplicates: 2, succeeded: 450, failed: 0, unresolved: 0, requests: 3 })
      for (const id of ids) assert.isFalse(fake.isAssociated(F.stockId, id))
      // The preflight is on by default: the stock query, then the three calls.
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock", "disassociateStores", "disassociateStores", "disassociateStores"])
      // The closing table.
      assert.match(c.out(), /\| succeeded\s+\|\s+450 \|/)
      assert.include(c.out(), `report written to ${report}`)
      assert.strictEqual(c.err(), "")
    }))

  it.scopedLive("2 when the job ran but some stores failed (another brand's)", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const stores = yield* file("stores.txt", [s(0), foreign(0), s(1), foreign(1)].join("\n"))
      const report = Path.join(dir, "report.json")
      const c = capture()
      const code = yield* cli([...job, "--stores", stores, "--report", report], c)
      assert.strictEqual(code, 2)
      const r = yield* readReport(report)
      assert.deepStrictEqual(r.succeeded, [s(0), s(1)])
      assert.deepStrictEqual(r.failed.map((f) => [f.storeId, f.code]), [[foreign(0), "INVALID_REQUEST"], [foreign(1), "INVALID_REQUEST"]])
      // The stock query, then the one call; failed stores (a signed answer) need no listing.
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock", "disassociateStores"])
    }))

  it.scopedLive("1 for an expired stock by default: the preflight refuses it, no store sent", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", Array.from({ length: 500 }, (_, i) => s(i)).join("\n"))
      const c = capture()
      const code = yield* cli(["disassociate", "--product-coupon-id", F.productCouponId, "--stock-id", F.expiredStockId, "--brand-id", F.brandId, "--stores", stores, "--concurrency", "4"], c)
      assert.strictEqual(code, 1)
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock"])
      assertOneLine(c.err(), "the stock check before the job refused it:")
      assert.include(c.err(), "STOPPED")
    }))

  it.scopedLive("2 when the job stopped (expired stock, --no-preflight): stores unresolved, one call", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", Array.from({ length: 500 }, (_, i) => s(i)).join("\n"))
      const c = capture()
      const code = yield* cli(["disassociate", "--product-coupon-id", F.productCouponId, "--stock-id", F.expiredStockId, "--brand-id", F.brandId, "--stores", stores, "--concurrency", "4", "--no-preflight", "--no-snapshot"], c)
      assert.strictEqual(code, 2)
      assert.strictEqual(fake.log.length, 1)
      assert.include(c.out(), `stopped by INVALID_REQUEST: ${FakeWechatPay.MESSAGES.stockExpired}`)
    }))

  it.scopedLive("1 with a one-line message naming a missing variable, no stack trace, nothing sent", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0))
      const c = capture()
      const code = yield* cli([...job, "--stores", stores], c, { without: ["WECHATPAY_MCHID"] })
      assert.strictEqual(code, 1)
      assertOneLine(c.err(), "WECHATPAY_MCHID")
      assert.strictEqual(c.err().trim().split("\n").length, 1)
      assert.strictEqual(fake.log.length, 0)
    }))

  it.scopedLive("1 naming a malformed variable (a key file that cannot be read)", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0))
      const c = capture()
      const code = yield* cli([...job, "--stores", stores], c, { extra: { WECHATPAY_PUBLIC_KEY_FILE: Path.join(dir, "missing.pem") } })
      assert.strictEqual(code, 1)
      assertOneLine(c.err(), "WECHATPAY_PUBLIC_KEY_FILE")
      assert.strictEqual(c.err().trim().split("\n").length, 1)
      assert.strictEqual(fake.log.length, 0)
    }))

  const badFlags: ReadonlyArray<[string, ReadonlyArray<string>, string]> = [
    ["an unknown flag", [...job, "--stores", "x", "--bogus"], "--bogus"],
    ["a missing --stores", job, "--stores is required"],
    ["a missing --stock-id", ["disassociate", "--product-coupon-id", "1", "--brand-id", "2", "--stores", "x"], "--stock-id (or --stock-bundle-id) is required"],
    ["--concurrency 0", [...job, "--stores", "x", "--concurrency", "0"], "--concurrency"],
    ["--rate abc", [...job, "--stores", "x", "--rate", "abc"], "--rate"],
    ["a dot-segment stock id", ["disassociate", "--product-coupon-id", "1", "--stock-id", "..", "--brand-id", "2", "--stores", "x"], "--stock-id"],
    ["a flag of another command", [...job, "--stores", "x", "--port", "80"], "--port does not apply to disassociate"],
    ["an unknown command", ["frobnicate"], "unknown command"],
    ["no command", [], "a command is required"],
    ["a stray argument", [...job, "--stores", "x", "extra"], "unexpected argument"]
  ]
  for (const [name, argv, mentions] of badFlags) {
    it.scopedLive(`1 for ${name}: one line, then the usage, on stderr`, () =>
      Effect.gen(function*() {
        const { fake, cli } = yield* setup(10)
        const c = capture()
        const code = yield* cli(argv, c)
        assert.strictEqual(code, 1)
        assertOneLine(c.err(), mentions)
        assert.include(c.err(), "usage:")
        assert.strictEqual(c.out(), "")
        assert.strictEqual(fake.log.length, 0)
      }))
  }

  it.effect("--help prints the usage, naming every command, and exits 0", () =>
    Effect.gen(function*() {
      const c = capture()
      assert.strictEqual(yield* run(["--help"], c.io), 0)
      for (const command of ["disassociate", "sandbox", "demo"]) assert.match(c.out(), new RegExp(`^\\s+- ${command}\\b`, "m"))
      assert.strictEqual(c.err(), "")
    }))
})

describe("cli disassociate: bad input files exit 1 before anything is sent", () => {
  const cases: ReadonlyArray<[string, string | undefined, string]> = [
    ["a file that does not exist", undefined, "ENOENT"],
    ["a CSV header without store_id", "id,name\n1,a\n", "store_id column"],
    ["a CSV row missing its store_id field, late in the file", `name,store_id\n${Array.from({ length: 600 }, (_, i) => `n${i},${s(i)}`).join("\n")}\nlast\n`, ":602:"],
    ["a CSV with an unterminated quote", `store_id\n"${s(0)}\n${s(1)}\n`, "unterminated"],
    ["JSON that does not parse", `["${s(0)}",`, "not valid JSON"],
    ["JSON that is an object, not an array", `{"store_id": "${s(0)}"}`, "must be an array"],
    ["a JSON array with a number", `["${s(0)}", 100000002]`, "element 1"]
  ]
  for (const [name, content, mentions] of cases) {
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const { fake, file, dir, cli } = yield* setup()
        const path = content === undefined ? Path.join(dir, "nope.txt") : yield* file("stores.in", content)
        const c = capture()
        const code = yield* cli([...job, "--stores", path], c)
        assert.strictEqual(code, 1)
        assertOneLine(c.err(), mentions)
        assert.strictEqual(c.err().trim().split("\n").length, 1)
        assert.strictEqual(fake.log.length, 0)
        for (let i = 0; i < 600; i++) assert.isTrue(fake.isAssociated(F.stockId, s(i)))
      }))
  }

  it.scopedLive("a directory given as the file", () =>
    Effect.gen(function*() {
      const { fake, dir, cli } = yield* setup()
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", dir], c), 1)
      assertOneLine(c.err(), dir)
      assert.strictEqual(fake.log.length, 0)
    }))

  it.scopedLive("a report path in a directory that does not exist is refused before sending", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0))
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", Path.join(dir, "no", "such", "r.json")], c), 1)
      assertOneLine(c.err(), "cannot write the report")
      assert.strictEqual(fake.log.length, 0)
      assert.isTrue(fake.isAssociated(F.stockId, s(0)))
    }))
})

describe("cli: the report never replaces a journal or the input, and its path is checked before sending", () => {
  /** A file that starts as a journal does (another job's). */
  const otherJournal = '{"t":"header","format":"effect-wechatpay/journal","version":2,"job":"other"}\n'
  const cases: ReadonlyArray<{
    readonly name: string
    readonly report: (paths: { readonly stores: string; readonly journal: string; readonly other: string }) => string
    readonly says: string
  }> = [
    { name: "the job's own --journal", report: (p) => p.journal, says: "is the job's journal (--journal): the report would replace it" },
    // A report left there would make every resume of the journal refuse, as if a run held it.
    { name: "the journal's lock file", report: (p) => `${p.journal}.lock`, says: "is the lock file of the job's journal (--journal): the report would replace it" },
    { name: "another job's journal's lock file", report: (p) => `${p.other}.lock`, says: "is a journal's lock file: the report would replace it" },
    { name: "the --stores file", report: (p) => p.stores, says: "is the job's input (--stores): the report would replace it" },
    { name: "another job's journal", report: (p) => p.other, says: "is a job's journal: the report would replace it" },
    { name: "a path under a regular file", report: (p) => Path.join(p.stores, "r.json"), says: "a part of its path is a file, not a directory; check the path, or give --report another path (ENOTDIR)" },
    { name: "a directory", report: (p) => Path.dirname(p.stores), says: "it is a directory; give --report a file's path (EISDIR)" },
    { name: "a missing directory", report: (p) => Path.join(Path.dirname(p.stores), "missing", "r.json"), says: "its directory does not exist; create it, or give --report another path (ENOENT)" },
    { name: "an empty path", report: () => "", says: "--report needs a file path" }
  ]
  for (const c of cases) {
    it.scopedLive(`--report at ${c.name}: refused in one line, nothing sent, nothing replaced`, () =>
      Effect.gen(function*() {
        const { fake, file, dir, cli } = yield* setup()
        const stores = yield* file("stores.txt", s(0) + "\n")
        const other = yield* file("other.jsonl", otherJournal)
        const journal = Path.join(dir, "job.jsonl")
        const out = capture()
        const code = yield* cli([...job, "--stores", stores, "--journal", journal, "--report", c.report({ stores, journal, other })], out)
        assert.strictEqual(code, 1, out.out() + out.err())
        assertOneLine(out.err(), c.says)
        assert.strictEqual(fake.log.length, 0)
        assert.strictEqual(yield* Effect.promise(() => Fs.readFile(stores, "utf8")), s(0) + "\n")
        assert.strictEqual(yield* Effect.promise(() => Fs.readFile(other, "utf8")), otherJournal)
        assert.isFalse(yield* Effect.promise(() => Fs.access(journal).then(() => true, () => false)))
      }))
  }

  it.scopedLive("a --report link that points at the journal's path before the journal exists: refused, the journal kept", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0) + "\n")
      const journal = Path.join(dir, "job.jsonl")
      const link = Path.join(dir, "report.json")
      yield* Effect.promise(() => Fs.symlink("job.jsonl", link))
      const out = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--report", link], out), 1, out.err())
      assertOneLine(out.err(), "is the job's journal (--journal): the report would replace it")
      assert.strictEqual(fake.log.length, 0)
    }))

  it.scopedLive("a FIFO nobody reads as --report: the report goes to a default file at once, and the job ends", () =>
    Effect.gen(function*() {
      const { file, dir, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0) + "\n")
      const fifo = Path.join(dir, "report.fifo")
      execFileSync("mkfifo", [fifo])
      const out = capture()
      const started = Date.now()
      // 2: the stores all succeeded, but the report is not where it was asked for.
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--no-journal", "--report", fifo], out), 2, out.err())
      // Not the 5 s an open() waits for a reader: asked without blocking, it says at once that nobody reads.
      assert.isBelow(Date.now() - started, 4_000)
      assert.include(out.err(), `cannot write the report to ${fifo}: nothing is reading it`)
      assert.match(out.err(), /the report was written to .*wechatpay-stores-report-.*\.json instead/)
    }))

  it.scopedLive("resume --report at the journal it resumes, and undo --report at its source: refused, both kept", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const stores = yield* file("stores.txt", [s(0), s(1)].join("\n"))
      const journal = Path.join(dir, "job.jsonl")
      const report = Path.join(dir, "job.json")
      const first = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--journal", journal, "--report", report], first), 0, first.err())
      const journalText = yield* Effect.promise(() => Fs.readFile(journal, "utf8"))
      const reportText = yield* Effect.promise(() => Fs.readFile(report, "utf8"))
      const sent = fake.log.length
      const resumed = capture()
      assert.strictEqual(yield* cli(["resume", journal, "--report", journal], resumed), 1)
      assertOneLine(resumed.err(), "is the journal being resumed: the report would replace it")
      for (const source of [journal, report]) {
        const undone = capture()
        assert.strictEqual(yield* cli(["undo", source, "--report", source, "--no-journal"], undone), 1)
        assertOneLine(undone.err(), "is the report or journal being undone: the report would replace it")
      }
      assert.strictEqual(fake.log.length, sent)
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(journal, "utf8")), journalText)
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(report, "utf8")), reportText)
    }))
})

describe("cli disassociate --dry-run", () => {
  it.scopedLive("validates, prints the plan and sends nothing; some invalid ids: exit 2, as the job would, saying what to do", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      // An id with a C1 control (U+0085) looks like a good one on a terminal unless it is escaped.
      const stores = yield* file("stores.txt", [...Array.from({ length: 450 }, (_, i) => s(i)), s(1), s(2), "  ", "bad\u0001id", "1000\u008500002"].join("\n"))
      const c = capture()
      const code = yield* cli([...job, "--stores", stores, "--dry-run", "--rate", "10"], c)
      assert.strictEqual(code, 2, c.err())
      assert.include(
        c.out(),
        "dry run: 454 ids, 452 unique, 2 duplicates, 2 invalid; would make 3 calls of at most 200 stores at up to 10/s. Nothing was sent. " +
          `The job would fail the 2 invalid ids (INVALID_STORE_ID, exit 2): fix or remove them in ${stores}.\n`
      )
      assert.include(c.out(), "invalid: \"bad\\u0001id\"")
      assert.include(c.out(), "invalid: \"1000\\u008500002\"")
      assert.strictEqual(fake.log.length, 0)
      for (let i = 0; i < 450; i++) assert.isTrue(fake.isAssociated(F.stockId, s(i)))
    }))

  it.scopedLive("every id invalid: exit 2, the code the job would exit with, and --json says so on stderr; valid ids alone: exit 0", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", ["bad\u0001id", "store\u{1F600}"].join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--dry-run"], c), 2, c.err())
      assert.include(
        c.out(),
        "dry run: 2 ids, 2 unique, 0 duplicates, 2 invalid; would make 0 calls of at most 200 stores at up to 20/s. Nothing was sent. " +
          `The job would fail the 2 invalid ids (INVALID_STORE_ID, exit 2): fix or remove them in ${stores}.\n`
      )
      const j = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--dry-run", "--json"], j), 2, j.err())
      assert.strictEqual((JSON.parse(j.out()) as { dryRun: { invalid: ReadonlyArray<unknown> } }).dryRun.invalid.length, 2)
      assert.strictEqual(j.err(), `dry run: the job would fail the 2 invalid ids (INVALID_STORE_ID, exit 2): fix or remove them in ${stores}\n`)
      // The real run agrees: every store failed, exit 2.
      const real = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--no-journal"], real), 2, real.err())
      const good = yield* file("good.txt", s(0))
      const g = capture()
      assert.strictEqual(yield* cli([...job, "--stores", good, "--dry-run"], g), 0, g.err())
      assert.notInclude(g.out(), "would fail")
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock"])
    }))

  it.scopedLive("still checks the configuration", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0))
      const c = capture()
      const code = yield* cli([...job, "--stores", stores, "--dry-run"], c, { without: ["WECHATPAY_MERCHANT_SERIAL_NO"] })
      assert.strictEqual(code, 1)
      assertOneLine(c.err(), "WECHATPAY_MERCHANT_SERIAL_NO")
      assert.strictEqual(fake.log.length, 0)
    }))
})

describe("cli disassociate: input formats", () => {
  const ids = [s(0), s(1), s(2), s(3)]
  const formats: ReadonlyArray<[string, string | Uint8Array]> = [
    ["text with CRLF, blank lines and padding", `\r\n${s(0)}\r\n\r\n  ${s(1)}  \r\n${s(2)}\r\n${s(0)}\r\n\r\n${s(3)}`],
    ["text with a BOM", `\uFEFF${ids.join("\n")}\n`],
    [
      "CSV with a BOM, quoted fields, a quoted comma and a line break inside a field",
      `\uFEFFname,"store_id",city\r\n"Shop, One","${s(0)}",Shenzhen\r\n"Two ""quoted""",${s(1)},"Guang\nzhou"\r\n,${s(2)},\r\n\r\n"four","${s(3)}",x\r\n`
    ],
    ["CSV with only a store_id column", `store_id\n${ids.join("\n")}\n`],
    ["a JSON array of strings", JSON.stringify(ids)],
    ["a pretty-printed JSON array of objects", JSON.stringify(ids.map((store_id) => ({ store_id, name: "x" })), null, 2)]
  ]
  for (const [name, content] of formats) {
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const { fake, file, dir, cli } = yield* setup(10)
        const stores = yield* file("stores.in", content)
        const report = Path.join(dir, "report.json")
        const c = capture()
        // About reading the input: the job's one call alone, without the stock query before it.
        const code = yield* cli([...job, "--stores", stores, "--report", report, "--no-preflight"], c)
        assert.strictEqual(code, 0, c.err())
        const r = yield* readReport(report)
        assert.deepStrictEqual(r.succeeded, ids)
        for (const id of ids) assert.isFalse(fake.isAssociated(F.stockId, id))
        assert.isTrue(fake.isAssociated(F.stockId, s(4)))
        assert.deepStrictEqual(
          (JSON.parse(fake.log[0]!.bodyText) as { store_list: Array<{ store_id: string }> }).store_list.map((x) => x.store_id),
          ids
        )
      }))
  }

  it.scopedLive("- reads standard input (any format)", () =>
    Effect.gen(function*() {
      const { fake, cli } = yield* setup(10)
      const c = capture({ stdin: Readable.from([`store_id\n${s(0)}\n${s(1)}`, `\n${s(2)}\n${s(3)}\n`]) })
      const code = yield* cli([...job, "--stores", "-", "--no-preflight"], c)
      assert.strictEqual(code, 0, c.err())
      for (const id of ids) assert.isFalse(fake.isAssociated(F.stockId, id))
      assert.strictEqual(fake.log.length, 1)
    }))

  it.scopedLive("- with malformed standard input: exit 1, nothing sent", () =>
    Effect.gen(function*() {
      const { fake, cli } = yield* setup(10)
      const c = capture({ stdin: Readable.from([`[${JSON.stringify(s(0))}, {"id": 1}]`]) })
      assert.strictEqual(yield* cli([...job, "--stores", "-"], c), 1)
      assertOneLine(c.err(), "<stdin>")
      assert.strictEqual(fake.log.length, 0)
    }))
})

describe("cli disassociate: progress", () => {
  it.scopedLive("plain progress lines when not on a terminal, ending at 100%", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup(2_000)
      const stores = yield* file("stores.txt", Array.from({ length: 2_000 }, (_, i) => s(i)).join("\n"))
      const c = capture({ tty: false })
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--concurrency", "2", "--rate", "1000", "--allow-over-limit"], c), 0)
      const lines = c.out().split("\n").filter((l) => l.startsWith("progress: "))
      assert.isAtLeast(lines.length, 5)
      assert.include(lines.at(-1), "progress: 100% 2,000/2,000 stores · 2,000 ok · 0 failed · 0 unresolved")
      assert.notInclude(c.out(), "\r")
      assert.notInclude(c.out(), "\x1b[")
    }))

  it.scopedLive("a redrawn bar on a terminal", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup(1_000)
      const stores = yield* file("stores.txt", Array.from({ length: 1_000 }, (_, i) => s(i)).join("\n"))
      const c = capture({ tty: true, columns: 80 })
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--rate", "1000", "--allow-over-limit"], c), 0)
      // Each redraw returns to the start of the line, writes the bar and erases what is left of the old one.
      const redraws = c.out().split("\r").filter((x) => x.startsWith("[")).map((x) => x.split("\x1b[K")[0]!)
      // One a chunk (five), and the last drawn again when the job ends.
      assert.isAtLeast(redraws.length, 5)
      for (const line of redraws) assert.isBelow(line.length, 80, line)
      assert.match(redraws.at(-1)!, /^\[#+\] 100% 1,000\/1,000 stores · 1,000 ok/)
      assert.notInclude(c.out(), "progress: ")
    }))
})

describe("cli disassociate over an injected transport (Commands.disassociate + the in-memory sandbox)", () => {
  it.scopedLive("a probe signature leaves its call unresolved: exit 2, the report names the request id", () =>
    Effect.gen(function*() {
      const { dir, file } = yield* setup(10)
      // The in-memory sandbox answers for the real WeChat Pay domains, so the variables need no URLs.
      const fake = FakeWechatPay.makeWith(keys, { seed: FakeWechatPay.generate({ stores: 500 }), rateLimit: false, faults: { script: ["probeSignature"] } })
      const settings = yield* SandboxSettings.write(keys, { baseUrl: "unused", backupBaseUrl: "unused" }, Path.join(dir, "mem-keys"))
      const vars = new Map(Object.entries(settings.env).filter(([k]) => !k.endsWith("BASE_URL")))
      const stores = yield* file("stores.txt", Array.from({ length: 500 }, (_, i) => s(i)).join("\n"))
      const report = Path.join(dir, "report.json")
      const c = capture()
      const code = yield* Disassociate.disassociate(
        // Both checks off: about the call a probe signature leaves unresolved, not the listing that would settle it.
        {
          productCouponId: F.productCouponId,
          stockId: F.stockId,
          brandId: F.brandId,
          stores,
          report,
          dryRun: false,
          concurrency: 3,
          rate: 1000,
          preflight: false,
          verify: false
        },
        c.io,
        Layer.succeed(HttpClient.HttpClient, SandboxHttpClient.make(fake))
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(vars)))
      assert.strictEqual(code, 2)
      const r = yield* readReport(report)
      assert.strictEqual(r.unresolved.length, 200)
      for (const u of r.unresolved) {
        assert.match(u.reason, /^SignatureProbeError/)
        assert.strictEqual((u as { requestId?: string }).requestId, fake.log[0]!.requestId)
      }
      assert.strictEqual(r.succeeded.length, 300)
      assert.strictEqual(fake.log.length, 3)
    }))
})

describe("cli sandbox: flags", () => {
  it("--faults parses fault=rate pairs and refuses unknown faults or rates outside [0, 1]", () => {
    assert.deepStrictEqual(parseFaults("rateLimit=0.2, systemError=0.05,connectionReset=0"), { rateLimit: 0.2, systemError: 0.05, connectionReset: 0 })
    assert.deepStrictEqual(parseFaults(undefined), {})
    for (const bad of ["rateLimit=2", "nope=0.1", "rateLimit", "rateLimit=0.1,", "rateLimit=-0.1"]) {
      const r = parseFaults(bad)
      assert.isTrue("_tag" in r && r._tag === "UsageError", bad)
    }
  })

  for (const [argv, mentions] of [
    [["sandbox", "--faults", "meteor=0.5"], "--faults"],
    [["sandbox", "--port", "-1"], "--port"],
    [["sandbox", "--stores", "0"], "--stores"],
    [["sandbox", "--report", "r.json"], "--report does not apply to sandbox"]
  ] as const) {
    it.effect(`sandbox ${argv.slice(1).join(" ")}: exit 1 before starting`, () =>
      Effect.gen(function*() {
        const c = capture()
        assert.strictEqual(yield* run(argv, c.io), 1)
        assert.include(c.err().split("\n")[0], mentions)
        assert.strictEqual(c.out(), "")
      }))
  }
})

describe("cli disassociate: Ctrl-C (a graceful stop)", () => {
  it.scopedLive("a stop requested mid-job: calls in flight finish, nothing more is sent, the report still accounts for every store (exit 2)", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const ids = Array.from({ length: 1_000 }, (_, i) => s(i))
      const stores = yield* file("stores.txt", ids.join("\n") + "\n")
      const report = Path.join(dir, "report.json")
      const stop = yield* Deferred.make<void>()
      const c = capture()
      // Ask for the stop as soon as the first call has reached the sandbox, as a first Ctrl-C would.
      yield* Effect.fork(Effect.gen(function*() {
        while (fake.log.length === 0) yield* Effect.sleep("1 millis")
        yield* Deferred.succeed(stop, undefined)
      }))
      // --no-preflight: the stop is asked for when the first call of the job reaches the sandbox, not the stock query.
      // No journal: the unresolved stores of its report are how the job is finished.
      const code = yield* cli([...job, "--stores", stores, "--report", report, "--concurrency", "1", "--no-preflight", "--no-journal"], {
        ...c,
        io: { ...c.io, stop: Deferred.await(stop) }
      })
      assert.strictEqual(code, 2, c.err())
      const r = yield* readReport(report)
      const sent = fake.log.length
      assert.isAtLeast(sent, 1)
      assert.isBelow(sent, 5, "a stop must not let the whole job through")
      assert.strictEqual(r.summary["succeeded"]! + r.summary["unresolved"]!, 1_000)
      assert.strictEqual(r.succeeded.length, sent * 200)
      for (const id of r.succeeded) assert.isFalse(fake.isAssociated(F.stockId, id))
      for (const u of r.unresolved) {
        assert.strictEqual(u.reason, "not sent: the job was stopped before this call")
        assert.isTrue(fake.isAssociated(F.stockId, u.storeId))
      }
      assert.include(c.out(), "stopped by STOPPED")
      assert.include(c.out(), "Run the unresolved stores listed in the report again to finish it.")
      assert.notInclude(c.out(), "to finish the job: wechatpay-stores resume")
    }))
})

describe("cli disassociate: an input file that changes during the job", () => {
  // The up-front check reads the file whole; the job reads it again. Bytes that differ from the checked
  // ones (a line added, the file cut short or rewritten) stop the job there: nothing of a changed block
  // is sent, the report accounts for what was read before it, exit 2 (or 1 when nothing was sent).
  it.scopedLive("a line appended while the job runs (no journal): the calls made are reported, SOURCE_FAILED, exit 2", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      // The lines are padded to 1 KiB so the job's reader, held back by its one call in flight
      // (--concurrency 1), is still far from the end when the first request reaches the sandbox:
      // that is when the line is added.
      const ids = Array.from({ length: 1_000 }, (_, i) => s(i))
      const stores = yield* file("stores.csv", `store_id\n${ids.map((id) => id + " ".repeat(1_000)).join("\n")}\n`)
      const log = fake.log as Array<FakeWechatPay.LogEntry>
      const push = log.push.bind(log)
      log.push = (...entries) => {
        if (log.length === 0) appendFileSync(stores, `"unterminated\n`)
        return push(...entries)
      }
      const report = Path.join(dir, "report.json")
      const c = capture()
      // --no-preflight: the line is added when the job's first call reaches the sandbox, not the stock query.
      // --no-journal: a journaled job reads its whole input before the first call (see the next test).
      const code = yield* cli([...job, "--stores", stores, "--report", report, "--concurrency", "1", "--no-preflight", "--no-journal"], c)
      assert.strictEqual(code, 2, c.err())
      const r = yield* readReport(report)
      // Only the last 64 KiB block changed: the ids before it were read and sent, in order, and no other.
      assert.isAbove(r.succeeded.length, 800)
      assert.isBelow(r.succeeded.length, 1_000)
      assert.deepStrictEqual(r.succeeded, ids.slice(0, r.succeeded.length))
      assert.strictEqual(r.summary["unique"], r.succeeded.length)
      for (const id of ids) assert.strictEqual(fake.isAssociated(F.stockId, id), !r.succeeded.includes(id), id)
      assert.include(c.out(), "stopped by SOURCE_FAILED: cannot read the store ids: ")
      assert.include(c.out(), "changed while it was being read")
      assert.include(c.out(), `report written to ${report}`)
    }))

  it.scopedLive("cut short after the check (a journaled job, the default): stopped before anything is sent, exit 2", () =>
    Effect.gen(function*() {
      const { fake, file, dir, cli } = yield* setup()
      const ids = Array.from({ length: 900 }, (_, i) => s(i))
      // A blank line at the end: the note that it was skipped is printed once the input is checked, before the job
      // reads it again. Cut to 100 ids there, on a line boundary, as `head` or an editor would leave it. Read whole,
      // it would be 100 valid ids.
      const stores = yield* file("stores.txt", ids.join("\n") + "\n\n")
      const c = capture()
      const write = c.io.out.write
      const io = {
        ...c.io,
        out: {
          ...c.io.out,
          write: (t: string) => {
            if (t.includes("blank line")) truncateSync(stores, ids.slice(0, 100).join("\n").length + 1)
            write(t)
          }
        }
      }
      const journal = Path.join(dir, "job.jsonl")
      const code = yield* cli([...job, "--stores", stores, "--journal", journal], { ...c, io })
      assert.strictEqual(code, 2, c.out() + c.err())
      assert.include(c.out(), "stopped by SOURCE_FAILED: cannot read the store ids: ")
      assert.include(c.out(), "changed while it was being read")
      // It broke off before the journal was created: no journal to resume, and none named.
      assert.notInclude(c.out(), "journal:")
      assert.isFalse(yield* Effect.promise(() => Fs.access(journal).then(() => true, () => false)))
      assert.deepStrictEqual(fake.log, [])
      assert.strictEqual(fake.associatedCount(F.stockId), 1_000)
    }))
})
