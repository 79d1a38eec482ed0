// What a job tells its operator (issue #13): the first failed and unresolved stores with their code and
// message; a report always written (a default file when there is no --report) carrying `job`; --json;
// a summary that counts only the calls sent; stopping errors explained in English under WeChat Pay's
// own words; every missing WECHATPAY_* variable named at once, an ambiguous key refused; counts in the
// singular when there is one; progress that stops counting after a stop and says when the job waits.
// In-process through `run(argv, io)` against the loopback sandbox.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Explain from "../packages/wechatpay-stores/src/Explain.js"
import * as Progress from "../packages/wechatpay-stores/src/Progress.js"
import { WechatPayError } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const F = FakeWechatPay.Fixture
const s = FakeWechatPay.storeId
const foreign = FakeWechatPay.otherBrandStoreId
const { capture, job, readReport } = Cli

const setup = (stores = 1_000, options: { readonly faults?: FakeWechatPay.FaultOptions } = {}) =>
  Cli.sandbox("wechatpay-cli-report-test-", {
    seed: FakeWechatPay.generate({ stores, otherBrandStores: 20 }),
    ...(options.faults === undefined ? {} : { faults: options.faults })
  })

/** The reports written to `dir` under the default name. */
const defaultReports = (dir: string) =>
  Effect.promise(() => Fs.readdir(dir)).pipe(
    Effect.map((names) => names.filter((n) => /^wechatpay-stores-report-.+-\d+\.json$/.test(n)).map((n) => Path.join(dir, n)))
  )

/** The disassociate command for another stock of the sandbox. */
const jobFor = (stockId: string) => ["disassociate", "--product-coupon-id", F.productCouponId, "--stock-id", stockId, "--brand-id", F.brandId, "--no-snapshot"]

describe("cli: failed and unresolved stores are visible, and a report is always written", () => {
  it.scopedLive("no --report: the first 5 failed stores with code and message, how many more, and a default report file, printed", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* setup()
      const ids = [s(0), ...Array.from({ length: 7 }, (_, i) => foreign(i)), s(1)]
      const stores = yield* file("stores.txt", ids.join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores], c), 2, c.err())
      const out = c.out()
      assert.include(out, "failed: 7 stores\n")
      for (let i = 0; i < 5; i++) {
        assert.include(out, `  ${foreign(i)}  INVALID_REQUEST: ${FakeWechatPay.MESSAGES.storeInvalid} (not a valid store id, or not a store of this brand)\n`)
      }
      assert.notInclude(out, foreign(5))
      assert.include(out, "  …and 2 more in the report\n")
      const [path, ...others] = yield* defaultReports(dir)
      assert.deepStrictEqual(others, [])
      assert.include(out, `report written to ${path}\n`)
      const r = yield* readReport(path!)
      assert.deepStrictEqual(r.failed.map((f) => f.storeId), ids.slice(1, 8))
      assert.deepStrictEqual(r.succeeded, [s(0), s(1)])
      assert.strictEqual(c.err(), "")
    }))

  it.scopedLive("a stopped job lists its first unresolved stores with their reason", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", Array.from({ length: 500 }, (_, i) => s(i)).join("\n"))
      const c = capture()
      // --no-preflight: a job that stops part-way (the preflight would refuse this stock before sending).
      assert.strictEqual(yield* cli([...jobFor(F.expiredStockId), "--stores", stores, "--no-preflight"], c), 2)
      // The call sent was refused for all its stores (a signed answer: failed); the rest were never sent.
      assert.include(c.out(), `failed: 200 stores\n  ${s(0)}  INVALID_REQUEST: ${FakeWechatPay.MESSAGES.stockExpired}\n`)
      assert.include(c.out(), "  …and 195 more in the report\nunresolved: 300 stores\n")
      assert.include(c.out(), `  ${s(200)}  not sent: the job stopped after INVALID_REQUEST: ${FakeWechatPay.MESSAGES.stockExpired}\n`)
      assert.include(c.out(), "  …and 295 more in the report\n")
      assert.strictEqual((yield* defaultReports(dir)).length, 1)
    }))

  it.scopedLive("the report starts with job: operation, coupon, stock, brand, a job id, start and end; the rest is unchanged", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", [s(0), s(1), foreign(0)].join("\n"))
      const report = Path.join(dir, "report.json")
      const before = new Date().toISOString()
      const ids = new Set<string>()
      for (let round = 0; round < 2; round++) {
        const c = capture()
        assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", report], c), 2)
        const r = yield* readReport(report)
        // Today's fields in their order; then what the library's stock jobs add (the checks, on by default).
        assert.deepStrictEqual(Object.keys(r).slice(0, 6), ["job", "summary", "succeeded", "failed", "unresolved", "anomalies"])
        assert.deepStrictEqual(Object.keys(r).slice(6), ["preflight", "verification", "settledByListing", "snapshot", "alreadyDone"])
        const checks = r as unknown as { preflight: Record<string, unknown>; verification: Record<string, unknown> }
        assert.include(checks.preflight, { status: "passed", state: "SENDING", storeScope: "SPECIFIC", requests: 1 })
        // Every store had a signed answer: nothing for the listing to settle.
        assert.deepStrictEqual(checks.verification, { status: "not-needed", settled: 0, resent: 0, requests: 0 })
        const { endedAt, id, journal, startedAt, ...rest } = r.job
        assert.deepStrictEqual(rest, { operation: "disassociate", productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId, runs: 1 })
        // The journal a job keeps by default, beside the report.
        assert.match(journal ?? "", /wechatpay-stores-journal-.*\.jsonl$/)
        assert.match(id, /^[0-9a-f-]{36}$/)
        ids.add(id)
        for (const t of [startedAt, endedAt]) assert.strictEqual(new Date(t).toISOString(), t)
        assert.isTrue(before <= startedAt && startedAt <= endedAt && endedAt <= new Date().toISOString())
        assert.include(r.summary, { input: 3, unique: 3, succeeded: 2, failed: 1, unresolved: 0 })
      }
      assert.strictEqual(ids.size, 2, "each run has its own job id")
    }))

  it.scopedLive("--json: the report on stdout (the same as the file), the table on stderr", () =>
    Effect.gen(function*() {
      const { dir, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", [s(0), foreign(0)].join("\n"))
      const report = Path.join(dir, "report.json")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--report", report, "--json"], c), 2)
      const printed = JSON.parse(c.out()) as Cli.Report
      assert.deepStrictEqual(printed, yield* readReport(report))
      assert.deepStrictEqual(printed.succeeded, [s(0)])
      assert.notInclude(c.out(), "| succeeded")
      assert.match(c.err(), /\| succeeded\s+\|\s+1 \|/)
      assert.include(c.err(), `report written to ${report}`)
    }))

  it.scopedLive("--dry-run --json: the plan as JSON", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup()
      const stores = yield* file("stores.txt", [s(0), s(0), s(1)].join("\n"))
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--dry-run", "--json"], c), 0, c.err())
      assert.deepStrictEqual(JSON.parse(c.out()), {
        dryRun: {
          input: 3,
          unique: 2,
          duplicates: 1,
          invalid: [],
          calls: 1,
          maxStoresPerCall: 200,
          rate: 20,
          notes: {
            format: "text",
            skipped: { blank: { count: 0 }, emptyStoreId: { count: 0 } },
            normalised: { trimmed: { count: 0 } }
          }
        }
      })
    }))
})

describe("cli: a single call's failure says what to do", () => {
  const ids = { productCouponId: F.productCouponId, stockId: F.stockId, brandId: F.brandId }
  it("a redirect with an empty body: said so, no bare colon, and where to look", () => {
    const line = Explain.callFailure(new WechatPayError.UnexpectedResponseError({ status: 302, excerpt: "", verified: false }), ids)
    assert.strictEqual(
      line,
      "unexpected 302 response (request id none), with an empty body; that is not how WeChat Pay answers (a redirect, a " +
        "proxy's or gateway's page). Check WECHATPAY_BASE_URL and any proxy between here and WeChat Pay, then try again."
    )
  })

  it("an answer not signed by the configured key names the settings to check", () => {
    const line = Explain.callFailure(new WechatPayError.MissingSignatureHeadersError({ status: 200, missing: ["Wechatpay-Signature"] }), ids)
    assert.include(line, "Check WECHATPAY_PUBLIC_KEY_ID and WECHATPAY_PUBLIC_KEY_FILE")
  })
})

describe("cli: messages", () => {
  it.scopedLive("a stopping error: WeChat Pay's message, then what it means and what to do, in English; only the call sent counts", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", Array.from({ length: 600 }, (_, i) => s(i)).join("\n"))
      const c = capture()
      // --no-preflight: the stop after a call (the preflight would refuse this stock before sending).
      assert.strictEqual(yield* cli([...jobFor(F.expiredStockId), "--stores", stores, "--no-preflight"], c), 2)
      const lines = c.out().split("\n")
      const at = lines.indexOf(`stopped by INVALID_REQUEST: ${FakeWechatPay.MESSAGES.stockExpired}`)
      assert.isAtLeast(at, 0, c.out())
      assert.include(lines[at + 1], `stock ${F.expiredStockId} has expired`)
      assert.include(lines[at + 1], "Check --stock-id")
      // One call went out; the two chunks settled as "not sent" are not calls.
      assert.strictEqual(fake.log.length, 1)
      assert.match(c.out(), /\| calls sent\s+\|\s+1 \|/)
      assert.match(c.out(), /\| HTTP requests\s+\|\s+1 \|/)
    }))

  it.scopedLive("the checks around a job have a row of their own: calls sent never exceed their HTTP requests", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", Array.from({ length: 300 }, (_, i) => s(i)).join("\n"))
      const c = capture()
      // The preflight's stock query, then two calls; every store answered, so no listing.
      assert.strictEqual(yield* cli([...jobFor(F.stockId), "--stores", stores, "--no-journal"], c), 0, c.err())
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock", "disassociateStores", "disassociateStores"])
      assert.match(c.out(), /\| calls sent\s+\|\s+2 \|/)
      assert.match(c.out(), /\| HTTP requests\s+\|\s+2 \|/)
      assert.match(c.out(), /\| checks sent\s+\|\s+1 \|/)
    }))

  it.scopedLive("a stock WeChat Pay does not know, by default: the preflight refuses it in one line naming the ids to check, exit 1", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0))
      const c = capture()
      assert.strictEqual(yield* cli([...jobFor("987654321"), "--stores", stores], c), 1)
      assert.deepStrictEqual(fake.log.map((e) => e.operation), ["getStock"])
      assert.match(c.err(), /^wechatpay-stores: the stock check before the job refused it: .*WeChat Pay knows no stock 987654321 under product coupon 200000001\. Check --stock-id.*\n$/)
    }))

  it.scopedLive("a stock WeChat Pay does not know, --no-preflight: the job's first call stops it, explained, naming the ids to check", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup()
      const stores = yield* file("stores.txt", s(0))
      const c = capture()
      assert.strictEqual(yield* cli([...jobFor("987654321"), "--stores", stores, "--no-preflight"], c), 2)
      assert.match(c.out(), /^stopped by NOT_FOUND: .+\n {2}WeChat Pay knows no stock 987654321 under product coupon 200000001\. Check --stock-id/m)
    }))

  it.scopedLive("every missing WECHATPAY_* variable in one line", () =>
    Effect.gen(function*() {
      const { fake, file, cli } = yield* setup(10)
      const stores = yield* file("stores.txt", s(0))
      const c = capture()
      const without = ["WECHATPAY_MCHID", "WECHATPAY_MERCHANT_SERIAL_NO", "WECHATPAY_PUBLIC_KEY_ID"]
      assert.strictEqual(yield* cli([...job, "--stores", stores], c, { without }), 1)
      assert.strictEqual(
        c.err(),
        "wechatpay-stores: configuration: WECHATPAY_MCHID, WECHATPAY_MERCHANT_SERIAL_NO, WECHATPAY_PUBLIC_KEY_ID: are not set\n"
      )
      assert.strictEqual(fake.log.length, 0)
    }))

  for (const [inline, file] of [["WECHATPAY_PRIVATE_KEY", "WECHATPAY_PRIVATE_KEY_FILE"], ["WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_FILE"]] as const) {
    it.scopedLive(`${inline} and ${file} both set: refused in one line saying which to unset, nothing sent`, () =>
      Effect.gen(function*() {
        const { env, fake, file: write, cli } = yield* setup(10)
        const stores = yield* write("stores.txt", s(0))
        const pem = yield* Effect.promise(() => Fs.readFile(env[file]!, "utf8"))
        for (const dryRun of [[], ["--dry-run"]]) {
          const c = capture()
          assert.strictEqual(yield* cli([...job, "--stores", stores, ...dryRun], c, { extra: { [inline]: pem } }), 1)
          assert.strictEqual(
            c.err(),
            `wechatpay-stores: configuration: both ${inline} and ${file} are set: unset one of them ` +
              `(unset ${inline} to use the file, or ${file} to use the inline key)\n`
          )
          assert.notInclude(c.err(), "BEGIN")
        }
        assert.strictEqual(fake.log.length, 0)
      }))
  }

  it.scopedLive("one of a thing is singular: 1 request, 1 call, 1 duplicate, 1 store", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup()
      const stores = yield* file("stores.txt", [s(0), s(0), foreign(0)].join("\n"))
      const d = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--dry-run"], d), 0)
      assert.include(d.out(), "dry run: 3 ids, 2 unique, 1 duplicate, 0 invalid; would make 1 call of at most 200 stores")
      const c = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores], c), 2)
      assert.include(c.out(), "progress: 100% 2/2 stores · 1 ok · 1 failed · 0 unresolved · 1 request\n")
      assert.include(c.out(), "failed: 1 store\n")
      assert.notMatch(c.out() + c.err(), /\b1 (requests|calls|duplicates|stores|ids)\b/)
    }))
})

describe("cli: progress after a stop, and while waiting", () => {
  it.scopedLive("after a stopping error no progress line counts on to 100%", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup()
      const stores = yield* file("stores.txt", Array.from({ length: 1_000 }, (_, i) => s(i)).join("\n"))
      const plain = capture()
      // --no-preflight: a job that stops part-way (the preflight would refuse this stock before sending).
      assert.strictEqual(yield* cli([...jobFor(F.expiredStockId), "--stores", stores, "--no-preflight"], plain), 2)
      assert.include(plain.out(), "stopping (INVALID_REQUEST): no further calls are sent")
      assert.notInclude(plain.out(), "progress: 100%")
      assert.notInclude(plain.out(), "1,000/1,000")
      const tty = capture({ tty: true, columns: 80 })
      assert.strictEqual(yield* cli([...jobFor(F.expiredStockId), "--stores", stores, "--no-preflight"], tty), 2)
      const redraws = tty.out().split("\r").filter((x) => x.startsWith("[")).map((x) => x.split("\x1b[K")[0]!)
      assert.isAtLeast(redraws.length, 1)
      for (const line of redraws) assert.notInclude(line, "100%")
      assert.include(redraws.at(-1), "stopping (INVALID_REQUEST)")
    }))

  it.scopedLive("a 429 being retried: the bar says the job waits on a retry back-off", () =>
    Effect.gen(function*() {
      // The first call goes through; the next meets two 429s, retried after ~0.5 s and ~1 s.
      const { file, cli } = yield* setup(1_000, { faults: { script: ["none", "rateLimit", "rateLimit"] } })
      const stores = yield* file("stores.txt", Array.from({ length: 400 }, (_, i) => s(i)).join("\n"))
      const c = capture({ tty: true, columns: 80 })
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--concurrency", "1"], c), 0, c.err())
      const redraws = c.out().split("\r").map((x) => x.split("\x1b[K")[0]!)
      assert.isTrue(redraws.some((l) => l.includes("waiting: retry back-off after 429 rate limited")), c.out())
      assert.include(redraws.filter((l) => l.startsWith("[")).at(-1), "100% 400/400 stores")
      assert.match(c.out(), /\| retries: RateLimitExceededError\s+\|\s+2 \|/)
    }), 30_000)

  it.scopedLive("calls held by the client's rate limit: the bar says so", () =>
    Effect.gen(function*() {
      const { file, cli } = yield* setup()
      const stores = yield* file("stores.txt", Array.from({ length: 600 }, (_, i) => s(i)).join("\n"))
      const c = capture({ tty: true, columns: 80 })
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--rate", "1"], c), 0, c.err())
      assert.isTrue(c.out().split("\r").some((l) => l.includes("waiting: rate limit of 1/s")), c.out())
    }), 30_000)
})

describe("cli: plain progress while the job waits", () => {
  it.effect("without a terminal, a line every 10 s says what the job waits on; none once it stopped", () =>
    Effect.gen(function*() {
      let printed = ""
      let now = 0
      const waiting: Progress.Activity = { inFlight: 2, onWire: 0, backingOff: 1, waitingForPermit: 1, lastRetry: "429 rate limited" }
      let activity = waiting
      const bar = Progress.progress({ isTTY: false, write: (t) => void (printed += t) }, { total: 1_000, activity: () => activity, rate: 20, now: () => now })
      yield* bar.onProgress({ _tag: "ChunkSettled", chunk: 1, size: 200, done: 200, succeeded: 200, failed: 0, unresolved: 0, requests: 1 })
      assert.strictEqual(printed, "progress: 20% 200/1,000 stores · 200 ok · 0 failed · 0 unresolved · 1 request · waiting: retry back-off after 429 rate limited\n")
      printed = ""
      for (now = 1_000; now < 10_000; now += 1_000) bar.tick()
      assert.strictEqual(printed, "", "nothing new within 10 s")
      now = 10_000
      bar.tick()
      assert.strictEqual(printed, "progress: 20% 200/1,000 stores · 200 ok · 0 failed · 0 unresolved · 1 request · waiting: retry back-off after 429 rate limited\n")
      printed = ""
      activity = { ...waiting, backingOff: 0 }
      now = 20_000
      bar.tick()
      assert.include(printed, "· waiting: rate limit of 20/s\n")
      printed = ""
      activity = { ...waiting, onWire: 1 }
      now = 30_000
      bar.tick()
      assert.strictEqual(printed, "", "a call on the wire is not a wait")
      yield* bar.onProgress({ _tag: "Stopped", tag: "StoppedByCaller", code: "STOPPED", message: "stopped" })
      activity = waiting
      now = 40_000
      bar.tick()
      yield* bar.onProgress({ _tag: "ChunkSettled", chunk: 2, size: 200, done: 400, succeeded: 200, failed: 0, unresolved: 200, requests: 1 })
      assert.strictEqual(printed, "stopping (STOPPED): no further calls are sent; calls in flight finish\n")
    }))
})

describe("cli: a line printed while the bar is drawn", () => {
  it.effect("on a terminal, the bar is cleared, the line printed, the bar drawn again below it; without one, the line alone", () =>
    Effect.gen(function*() {
      let printed = ""
      const bar = Progress.progress({ isTTY: true, columns: () => 80, write: (t) => void (printed += t) }, { total: 400 })
      // Nothing drawn yet: the line alone.
      bar.note("journal: j.jsonl\n")
      assert.strictEqual(printed, "journal: j.jsonl\n")
      yield* bar.onProgress({ _tag: "ChunkSettled", chunk: 1, size: 200, done: 200, succeeded: 200, failed: 0, unresolved: 0, requests: 1 })
      printed = ""
      bar.note("journal: j.jsonl\n")
      const [cleared, redrawn] = printed.split("\n")
      assert.strictEqual(cleared, "\r\x1b[Kjournal: j.jsonl")
      assert.match(redrawn!, /^\r\[#+\.*\] 50% 200\/400 stores/)
      let plain = ""
      const lines = Progress.progress({ isTTY: false, write: (t) => void (plain += t) }, { total: 400 })
      yield* lines.onProgress({ _tag: "ChunkSettled", chunk: 1, size: 200, done: 200, succeeded: 200, failed: 0, unresolved: 0, requests: 1 })
      plain = ""
      lines.note("journal: j.jsonl\n")
      assert.strictEqual(plain, "journal: j.jsonl\n")
    }))
})
