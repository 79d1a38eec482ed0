// The real `wechatpay-stores` process when its output, its report file or its parent fails it, and
// when it is signalled: stdout closed by its reader (`| head -2`) or full (`> /dev/full`), a report
// path that cannot be written, SIGHUP, SIGTERM with slow answers, a second SIGINT, and `npm run cli`
// killed under it. In every case the job ends on its own terms, within bounded time, and its report
// accounts for every store and agrees with the sandbox (an in-process loopback WeChat Pay).
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as NodeFs from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { Writable } from "node:stream"
import * as Output from "../packages/wechatpay-stores/src/Output.js"
import { FakeWechatPay, SandboxSettings } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"
import { keys } from "./support/Keys.js"
import { closedPort } from "./support/Sandbox.js"

const { exitWithin, readReport, ROOT, spawn, waitFor } = Cli
const F = FakeWechatPay.Fixture
type Report = Cli.Report

/** A sandbox with `stores` stores answering with `faults`, a directory, the ids in a file, and the job's flags. */
const setup = (stores: number, faults: FakeWechatPay.FaultOptions) =>
  Effect.gen(function*() {
    const { fake, dir, env, file } = yield* Cli.sandbox("wechatpay-signals-test-", { seed: FakeWechatPay.generate({ stores }), faults })
    // The child's working directory: where a fallback report lands, and nothing else.
    const cwd = Path.join(dir, "cwd")
    yield* Effect.promise(() => Fs.mkdir(cwd))
    const ids = Array.from({ length: stores }, (_, i) => FakeWechatPay.storeId(i))
    const list = yield* file("stores.txt", ids.join("\n") + "\n")
    return { fake, dir, cwd, ids, args: [...Cli.job, "--stores", list], env: { ...Cli.cleanEnv(), ...env } }
  })

/** The CLI itself: `node --conditions=wechatpay-source --import tsx packages/wechatpay-stores/src/main.ts …`. */
const cli = (args: ReadonlyArray<string>, options: { readonly env: Record<string, string>; readonly cwd: string; readonly stdout?: number }) =>
  Cli.spawnCli(args, options)

/**
 * The report accounts for every store exactly once and agrees with the sandbox: succeeded stores
 * are no longer associated, stores never sent still are, and every store the sandbox changed is
 * reported succeeded or unresolved (an answer that never arrived).
 */
const assertAgrees = (r: Report, ids: ReadonlyArray<string>, fake: FakeWechatPay.Service) => {
  const listed = [...r.succeeded, ...r.failed.map((f) => f.storeId), ...r.unresolved.map((u) => u.storeId)]
  assert.strictEqual(listed.length, ids.length)
  assert.sameMembers(listed, [...ids])
  assert.strictEqual(r.summary["unique"], ids.length)
  assert.strictEqual(r.summary["succeeded"], r.succeeded.length)
  assert.strictEqual(r.summary["unresolved"], r.unresolved.length)
  const known = new Set([...r.succeeded, ...r.unresolved.filter((u) => !u.reason.startsWith("not sent")).map((u) => u.storeId)])
  for (const id of r.succeeded) assert.isFalse(fake.isAssociated(F.stockId, id), id)
  for (const u of r.unresolved) if (u.reason.startsWith("not sent")) assert.isTrue(fake.isAssociated(F.stockId, u.storeId), u.storeId)
  for (const id of ids) if (!fake.isAssociated(F.stockId, id)) assert.isTrue(known.has(id), `${id} changed but not reported`)
}

/** No stack trace, no uncaught error. */
const assertNoCrash = (stderr: string) => {
  assert.notMatch(stderr, /\n\s+at /)
  assert.notMatch(stderr, /Error:|Unhandled|EPIPE\b.*\n.*node:/)
}

/**
 * The report file named on stderr (a fallback for a --report that failed, or the default file
 * when no --report was given and stdout failed), which must be in the child's working directory.
 */
const fallbackPath = (stderr: string, cwd: string): string => {
  const m = /the report was written to (\S+) instead|the report is in (\S+)$/m.exec(stderr)
  assert.isNotNull(m, stderr)
  const path = m![1] ?? m![2]!
  assert.strictEqual(Path.dirname(path), cwd)
  return path
}

/** 2,000 stores in ten sequential calls of ~150 ms each: long enough for output to break mid-job. */
const SLOWISH = { stores: 2_000, faults: { rates: { slow: 1 }, slowMillis: 150 } } as const

describe("wechatpay-stores: standard output failing never ends the job or loses its report", () => {
  for (const withReport of [true, false]) {
    it.scopedLive(`stdout closed by its reader after two lines (| head -2), ${withReport ? "with --report" : "no --report: a fallback file"}`, () =>
      Effect.gen(function*() {
        const { fake, dir, cwd, ids, args, env } = yield* setup(SLOWISH.stores, SLOWISH.faults)
        const report = Path.join(dir, "report.json")
        const p = yield* cli([...args, "--concurrency", "1", ...(withReport ? ["--report", report] : [])], { env, cwd })
        // `head -2`: read two lines, then close the read end while the job still prints.
        p.child.stdout!.on("data", () => {
          if (p.stdout().split("\n").length > 2) p.child.stdout!.destroy()
        })
        const exit = yield* exitWithin(p, 50)
        assert.strictEqual(exit.code, 0, p.stderr())
        assert.isBelow(p.stdout().split("\n").length, 6, "the reader went away early")
        assertNoCrash(p.stderr())
        assert.include(p.stderr(), "standard output failed (EPIPE)")
        const path = withReport ? report : fallbackPath(p.stderr(), cwd)
        if (withReport) assert.include(p.stderr(), `the report is in ${report}`)
        const r = yield* readReport(path)
        assert.strictEqual(r.succeeded.length, ids.length)
        assertAgrees(r, ids, fake)
      }), 60_000)

    it.scopedLive(`stdout is /dev/full, ${withReport ? "with --report" : "no --report: a fallback file"}`, () =>
      Effect.gen(function*() {
        const { fake, dir, cwd, ids, args, env } = yield* setup(SLOWISH.stores, SLOWISH.faults)
        const report = Path.join(dir, "report.json")
        const full = yield* Effect.acquireRelease(Effect.sync(() => NodeFs.openSync("/dev/full", "w")), (fd) => Effect.sync(() => NodeFs.closeSync(fd)))
        const p = yield* cli([...args, "--concurrency", "2", ...(withReport ? ["--report", report] : [])], { env, cwd, stdout: full })
        const exit = yield* exitWithin(p, 50)
        assert.strictEqual(exit.code, 0, p.stderr())
        assertNoCrash(p.stderr())
        assert.include(p.stderr(), "standard output failed (ENOSPC)")
        const r = yield* readReport(withReport ? report : fallbackPath(p.stderr(), cwd))
        assert.strictEqual(r.succeeded.length, ids.length)
        assertAgrees(r, ids, fake)
      }), 60_000)
  }
})

describe("wechatpay-stores list: standard output failing ends the listing, no further page is fetched", () => {
  /** A sandbox whose stock has 10,000 stores: a full walk is 50 pages of 200. */
  const STORES = 10_000
  const FULL_WALK = STORES / 200
  const listArgs = ["list", "--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId]
  const pagesAsked = (fake: FakeWechatPay.Service) => fake.log.filter((e) => e.operation === "listAssociatedStores").length

  it.scopedLive("list | head -1: one id through, the listing stops within a few pages, exit 141 and nothing on stderr", () =>
    Effect.gen(function*() {
      const { fake, dir, env } = yield* Cli.sandbox("wechatpay-list-pipe-test-", { seed: FakeWechatPay.generate({ stores: STORES }) })
      const errFile = Path.join(dir, "list.err")
      // A real pipe into a real head; the shell reports each side's exit.
      const script = `"$@" 2>"$LIST_ERR" | head -1; echo "list exit \${PIPESTATUS[0]}, head exit \${PIPESTATUS[1]}"`
      const p = yield* spawn("bash", ["-c", script, "bash", process.execPath, ...Cli.nodeArgs(listArgs)], {
        env: { ...Cli.cleanEnv(), ...env, LIST_ERR: errFile }
      })
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 0, p.stderr())
      assert.deepStrictEqual(p.stdout().split("\n"), [FakeWechatPay.storeId(0), "list exit 141, head exit 0", ""])
      assert.strictEqual(yield* Effect.promise(() => Fs.readFile(errFile, "utf8")), "")
      // The pages written before head went away, and at most the one in flight: far from a full walk.
      const pages = pagesAsked(fake)
      assert.isAtLeast(pages, 1)
      assert.isBelow(pages, 10, `${pages} of ${FULL_WALK} pages fetched after the reader went away`)
    }), 60_000)

  it.scopedLive("list > /dev/full: one line naming ENOSPC, the listing abandoned before any page is fetched, exit 1", () =>
    Effect.gen(function*() {
      const { fake, dir, env } = yield* Cli.sandbox("wechatpay-list-full-test-", { seed: FakeWechatPay.generate({ stores: STORES }) })
      const full = yield* Effect.acquireRelease(Effect.sync(() => NodeFs.openSync("/dev/full", "w")), (fd) => Effect.sync(() => NodeFs.closeSync(fd)))
      const p = yield* cli(listArgs, { env: { ...Cli.cleanEnv(), ...env }, cwd: dir, stdout: full })
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 1, p.stderr())
      // The first write (before the first page) already fails: /dev/full refuses every write.
      assert.strictEqual(p.stderr(), "wechatpay-stores: standard output failed (ENOSPC) after 0 store ids (0 pages); the listing was abandoned\n")
      assert.strictEqual(pagesAsked(fake), 0)
    }), 60_000)
})

describe("wechatpay-stores list, stock and jobs: standard output closed (>&-) or full", () => {
  const ids = ["--product-coupon-id", F.productCouponId, "--stock-id", F.stockId, "--brand-id", F.brandId]

  /** `wechatpay-stores ARGS REDIRECT` run by bash against a sandbox; what bash said (its exit line) and the CLI's stderr. */
  const redirected = (sandbox: { readonly dir: string; readonly env: Record<string, string> }, args: ReadonlyArray<string>, redirect: string) =>
    Effect.gen(function*() {
      const errFile = Path.join(sandbox.dir, "cli.err")
      const p = yield* spawn("bash", ["-c", `"$@" ${redirect} 2>"$CLI_ERR"; echo "exit $?"`, "bash", process.execPath, ...Cli.nodeArgs(args)], {
        env: { ...Cli.cleanEnv(), ...sandbox.env, CLI_ERR: errFile }
      })
      assert.strictEqual((yield* exitWithin(p, 50)).code, 0, p.stderr())
      return { said: p.stdout(), stderr: yield* Effect.promise(() => Fs.readFile(errFile, "utf8")) }
    })

  /** The same against a fresh sandbox of 500 stores, and its fake. */
  const shell = (args: ReadonlyArray<string>, redirect: string) =>
    Effect.gen(function*() {
      const sandbox = yield* Cli.sandbox("wechatpay-closed-stdout-test-", { seed: FakeWechatPay.generate({ stores: 500 }) })
      return { ...(yield* redirected(sandbox, args, redirect)), fake: sandbox.fake }
    })

  for (const [command, instead] of [["list", "pass --output FILE, or redirect it to a file or a pipe"], ["stock", "redirect it to a file or a pipe"]] as const) {
    it.scopedLive(`${command} >&-: Node opens /dev/null in its place; refused in one line before anything is sent, exit 1`, () =>
      Effect.gen(function*() {
        const { said, stderr, fake } = yield* shell([command, ...ids], ">&-")
        assert.strictEqual(said, "exit 1\n")
        assert.strictEqual(
          stderr,
          `wechatpay-stores: standard output is closed (>&-), so what this prints would go nowhere; ${instead}; nothing was sent\n`
        )
        assert.deepStrictEqual(fake.log, [])
      }), 60_000)

    it.scopedLive(`${command} > /dev/null is asked for, not closed: it runs, exit 0`, () =>
      Effect.gen(function*() {
        const { said, fake } = yield* shell([command, ...ids], ">/dev/null")
        assert.strictEqual(said, "exit 0\n")
        assert.isAbove(fake.log.length, 0)
      }), 60_000)
  }

  it.scopedLive("a job >&-: its journal's path, progress and summary would go nowhere; refused in one line, nothing sent, exit 1", () =>
    Effect.gen(function*() {
      const sandbox = yield* Cli.sandbox("wechatpay-closed-stdout-test-", { seed: FakeWechatPay.generate({ stores: 500 }) })
      const { fake, dir } = sandbox
      const stores = Path.join(dir, "stores.txt")
      yield* Effect.promise(() => Fs.writeFile(stores, FakeWechatPay.storeId(0) + "\n"))
      const run = (redirect: string) =>
        redirected(sandbox, ["disassociate", ...ids, "--stores", stores, "--no-journal", "--report", Path.join(dir, "r.json")], redirect)
      const closed = yield* run(">&-")
      assert.strictEqual(closed.said, "exit 1\n")
      assert.strictEqual(
        closed.stderr,
        "wechatpay-stores: standard output is closed (>&-), so what this prints would go nowhere; redirect it to a file " +
          "(> job.log), or to /dev/null to discard it; nothing was sent\n"
      )
      assert.deepStrictEqual(fake.log, [])
      const discarded = yield* run(">/dev/null")
      assert.strictEqual(discarded.said, "exit 0\n", discarded.stderr)
      assert.isFalse(fake.isAssociated(F.stockId, FakeWechatPay.storeId(0)))
    }), 60_000)

  it.scopedLive("--stores - with standard input closed (<&-): said so in one line, nothing sent, exit 1; < /dev/null is an empty input", () =>
    Effect.gen(function*() {
      const sandbox = yield* Cli.sandbox("wechatpay-closed-stdin-test-", { seed: FakeWechatPay.generate({ stores: 50 }) })
      const { fake, dir } = sandbox
      const run = (redirect: string) =>
        redirected(sandbox, ["disassociate", ...ids, "--stores", "-", "--allow-empty", "--no-journal", "--report", Path.join(dir, "r.json")], `${redirect} >/dev/null`)
      const closed = yield* run("<&-")
      assert.strictEqual(closed.said, "exit 1\n")
      assert.strictEqual(
        closed.stderr,
        "wechatpay-stores: <stdin>: standard input is closed (<&-), so it holds no store ids; pipe them in " +
          "(… | wechatpay-stores … --stores -) or give a file; nothing was sent\n"
      )
      // Asked for: an empty input, which --allow-empty runs as a job of no stores.
      const empty = yield* run("</dev/null")
      assert.strictEqual(empty.said, "exit 0\n", empty.stderr)
      // (Its stock check is the one request either run sent.)
      assert.deepStrictEqual(fake.log.map((e) => e.changedStores.length), [0])
    }), 60_000)

  it.scopedLive("stock > /dev/full: one line naming ENOSPC, exit 1", () =>
    Effect.gen(function*() {
      const { said, stderr } = yield* shell(["stock", ...ids], ">/dev/full")
      assert.strictEqual(said, "exit 1\n")
      assert.strictEqual(stderr, "wechatpay-stores: standard output failed (ENOSPC); the stock was queried but not printed\n")
    }), 60_000)
})

describe("wechatpay-stores: a report that cannot be written where asked goes to a printed fallback file (exit 2)", () => {
  it.scopedLive("--report /dev/full", () =>
    Effect.gen(function*() {
      const { fake, cwd, ids, args, env } = yield* setup(SLOWISH.stores, SLOWISH.faults)
      const p = yield* cli([...args, "--concurrency", "2", "--report", "/dev/full"], { env, cwd })
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 2, p.stderr())
      assertNoCrash(p.stderr())
      assert.include(p.stderr(), "cannot write the report to /dev/full: no space left on the device; free some, or give --report a path on another disk (ENOSPC); the report was written to ")
      // The job itself went fine, and says so.
      assert.match(p.stdout(), /\| succeeded\s+\|\s+2,000 \|/)
      const r = yield* readReport(fallbackPath(p.stderr(), cwd))
      assert.strictEqual(r.succeeded.length, ids.length)
      assertAgrees(r, ids, fake)
    }), 60_000)

  it.scopedLive("a report directory removed during the job", () =>
    Effect.gen(function*() {
      const { fake, dir, cwd, ids, args, env } = yield* setup(SLOWISH.stores, SLOWISH.faults)
      const out = Path.join(dir, "out")
      yield* Effect.promise(() => Fs.mkdir(out))
      const report = Path.join(out, "report.json")
      const p = yield* cli([...args, "--concurrency", "1", "--report", report], { env, cwd })
      // The up-front check passed; the directory goes away while the calls are made.
      yield* waitFor(p, p.stdout, /^progress: /m, "the first progress line")
      yield* Effect.promise(() => Fs.rm(out, { recursive: true }))
      const exit = yield* exitWithin(p, 50)
      assert.strictEqual(exit.code, 2, p.stderr())
      assertNoCrash(p.stderr())
      assert.include(p.stderr(), `cannot write the report to ${report}: its directory does not exist; create it, or give --report another path (ENOENT); the report was written to `)
      const r = yield* readReport(fallbackPath(p.stderr(), cwd))
      assert.strictEqual(r.succeeded.length, ids.length)
      assertAgrees(r, ids, fake)
    }), 60_000)
})

describe("wechatpay-stores: signals", () => {
  it.scopedLive("SIGHUP mid-job (an ssh session dropping): a graceful stop, the report written, exit 2", () =>
    Effect.gen(function*() {
      const { fake, dir, cwd, ids, args, env } = yield* setup(2_000, { rates: { slow: 1 }, slowMillis: 300 })
      const report = Path.join(dir, "report.json")
      const p = yield* cli([...args, "--concurrency", "1", "--report", report], { env, cwd })
      yield* waitFor(p, p.stdout, /^progress: /m, "the first progress line")
      p.child.kill("SIGHUP")
      const exit = yield* exitWithin(p, 20)
      assert.strictEqual(exit.code, 2, p.stderr())
      assert.isNull(exit.signal)
      assert.include(p.stderr(), "SIGHUP: stopping")
      assertNoCrash(p.stderr())
      const r = yield* readReport(report)
      assert.strictEqual(r.stoppedBy?.code, "STOPPED")
      assert.isAbove(r.unresolved.length, 0, "the job must stop, not run to the end")
      assertAgrees(r, ids, fake)
      assert.include(p.stdout(), `report written to ${report}`)
    }), 60_000)

  it.scopedLive("SIGTERM while answers are slow (2 s) and calls are retrying 429s: ends within one attempt timeout (10 s), report written", () =>
    Effect.gen(function*() {
      // The first call goes out alone and is answered at once; then four calls at a time meet
      // mostly 429s (retried with back-off growing to 8 s, up to 30 s a call) and slow answers.
      const { fake, dir, cwd, ids, args, env } = yield* setup(4_000, {
        script: ["none"],
        rates: { rateLimit: 0.9, slow: 0.1 },
        slowMillis: 2_000
      })
      const report = Path.join(dir, "report.json")
      const p = yield* cli([...args, "--concurrency", "4", "--report", report], { env, cwd })
      yield* waitFor(p, p.stdout, /^progress: /m, "the first progress line")
      yield* Effect.sleep("1500 millis")
      const signalled = Date.now()
      p.child.kill("SIGTERM")
      const exit = yield* exitWithin(p, 20)
      assert.isBelow(exit.at - signalled, 10_000, "a graceful stop must end within one per-attempt timeout")
      assert.strictEqual(exit.code, 2, p.stderr())
      assert.include(p.stderr(), "SIGTERM: stopping")
      assertNoCrash(p.stderr())
      const r = yield* readReport(report)
      assert.strictEqual(r.stoppedBy?.code, "STOPPED")
      assertAgrees(r, ids, fake)
    }), 60_000)

  // Root flags may come before the command (`--log-level error disassociate …`): it is still a job's.
  for (const root of [[], ["--log-level", "error"]]) {
    it.scopedLive(`a second SIGINT while calls are in flight aborts them: the report is still written, those stores unresolved "aborted…"${root.length > 0 ? `, with ${root.join(" ")} before the command` : ""}`, () =>
      Effect.gen(function*() {
        // After the first call, every answer takes 30 s: the calls in flight outlive both signals.
        const { fake, dir, cwd, ids, args, env } = yield* setup(2_000, { script: ["none"], rates: { slow: 1 }, slowMillis: 30_000 })
        const report = Path.join(dir, "report.json")
        // --no-preflight: the scripted answers are for the job's calls, not the stock query.
        const p = yield* cli([...root, ...args, "--concurrency", "2", "--report", report, "--no-preflight"], { env, cwd })
        yield* waitFor(p, p.stdout, /^progress: /m, "the first progress line")
        // Both calls after the first are at the sandbox.
        while (fake.log.length < 3) yield* Effect.sleep("20 millis")
        p.child.kill("SIGINT")
        yield* waitFor(p, p.stderr, /stopping/, "the first SIGINT's notice")
        // Later than 500 ms: a second Ctrl-C, not the same one relayed twice.
        yield* Effect.sleep("800 millis")
        const signalled = Date.now()
        p.child.kill("SIGINT")
        const exit = yield* exitWithin(p, 20)
        assert.isBelow(exit.at - signalled, 5_000, "an abort must not wait for the answers")
        assert.strictEqual(exit.code, 2, p.stderr())
        assert.include(p.stderr(), "SIGINT: aborting")
        assertNoCrash(p.stderr())
        const r = yield* readReport(report)
        assert.strictEqual(r.stoppedBy?.code, "ABORTED")
        assert.strictEqual(r.succeeded.length, 200)
        const aborted = r.unresolved.filter((u) => u.reason.startsWith("aborted"))
        assert.strictEqual(aborted.length, 400, JSON.stringify(r.unresolved.slice(0, 2)))
        assertAgrees(r, ids, fake)
      }), 60_000)
  }
})

/** Every live process whose parent chain leads to `ancestor`, with its argv. */
const descendants = (ancestor: number): ReadonlyArray<{ readonly pid: number; readonly argv: ReadonlyArray<string> }> => {
  const parents = new Map<number, number>()
  for (const entry of NodeFs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = NodeFs.readFileSync(`/proc/${entry}/stat`, "utf8")
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]))
    } catch {
      // It exited meanwhile.
    }
  }
  const found: Array<{ pid: number; argv: ReadonlyArray<string> }> = []
  for (const pid of parents.keys()) {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p !== ancestor) continue
      try {
        found.push({ pid, argv: NodeFs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0") })
      } catch {
        // It exited meanwhile.
      }
      break
    }
  }
  return found
}

/** Whether `pid` has exited (gone, or a zombie nobody reaps: init here does not). */
const hasExited = (pid: number): boolean => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")
  } catch {
    return true
  }
}

describe("wechatpay-stores under `npm run cli`: killing npm stops the job instead of orphaning it", () => {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it.scopedLive(`npm gets ${signal}: the CLI stops gracefully within a few seconds and writes its report`, () =>
      Effect.gen(function*() {
        // Twenty sequential calls of 400 ms: about 8 s of job left when npm is killed.
        const { fake, dir, ids, args, env } = yield* setup(4_000, { rates: { slow: 1 }, slowMillis: 400 })
        const report = Path.join(dir, "report.json")
        // Its own process group, so the finalizer kills whatever is left of the tree.
        // npm runs the CLI in the repository's root: its journal goes beside the report, not there.
        const journal = Path.join(dir, "job.jsonl")
        const npm = yield* spawn("npm", ["run", "--silent", "cli", "--", ...args, "--concurrency", "1", "--report", report, "--journal", journal], {
          env,
          cwd: ROOT,
          detached: true
        })
        yield* waitFor(npm, npm.stdout, /^progress: /m, "the first progress line")
        // The node process running main.ts (not a shell, nor a tsx wrapper that spawns one).
        const node = descendants(npm.child.pid!).filter((p) =>
          p.argv.some((a) => a.endsWith("wechatpay-stores/src/main.ts")) && Path.basename(p.argv[0]!) === "node" &&
          !p.argv.some((a) => a.endsWith("/.bin/tsx") || a.endsWith("tsx/dist/cli.mjs"))
        )
        assert.strictEqual(node.length, 1, JSON.stringify(descendants(npm.child.pid!)))
        const cliPid = node[0]!.pid
        const killed = Date.now()
        process.kill(npm.child.pid!, signal)
        while (!hasExited(cliPid)) {
          assert.isBelow(Date.now() - killed, 6_000, `the CLI still runs: ${npm.stdout()} / ${npm.stderr()}`)
          yield* Effect.sleep("50 millis")
        }
        // The CLI's output pipes (shared with npm's) close once it is gone.
        yield* exitWithin(npm, 10)
        assert.match(npm.stderr(), /wechatpay-stores: .*stopping/)
        assertNoCrash(npm.stderr())
        const r = yield* readReport(report)
        assert.strictEqual(r.stoppedBy?.code, "STOPPED")
        assert.isAbove(r.unresolved.length, 2_000, "the job must stop, not run to the end")
        assertAgrees(r, ids, fake)
      }), 60_000)
  }
})

describe("wechatpay-stores run directly does not watch its parent", () => {
  it.scopedLive("started with & by a shell that exits while it runs, it still runs its job to the end", () =>
    Effect.gen(function*() {
      // Twenty sequential calls of 300 ms: the shell exits (after 3 s, once the CLI is up and
      // watching whatever its parent is) long before the job ends.
      const { fake, dir, ids, args, env } = yield* setup(4_000, { rates: { slow: 1 }, slowMillis: 300 })
      const report = Path.join(dir, "report.json")
      const { npm_lifecycle_event: _, ...direct } = env
      const line = [process.execPath, ...Cli.nodeArgs([...args, "--concurrency", "1", "--report", report])]
        .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")
      const shell = yield* spawn("sh", ["-c", `${line} > cli.log 2>&1 & echo $!; sleep 3`], { env: direct, cwd: dir, detached: true })
      yield* exitWithin(shell, 10)
      const pid = Number(shell.stdout().trim())
      assert.isTrue(Number.isInteger(pid) && pid > 1, shell.stdout())
      yield* Effect.addFinalizer(() => Effect.sync(() => { try { process.kill(pid, "SIGKILL") } catch { /* gone */ } }))
      const started = Date.now()
      while (!hasExited(pid)) {
        assert.isBelow(Date.now() - started, 50_000, "the job did not end")
        yield* Effect.sleep("100 millis")
      }
      const r = yield* readReport(report)
      assert.strictEqual(r.stoppedBy, undefined)
      assert.strictEqual(r.succeeded.length, ids.length)
      assertAgrees(r, ids, fake)
    }), 60_000)
})

describe("the CLI's line about contradictory answers", () => {
  it("nothing when every answer was consistent; otherwise one line with the count, the stores, the first reason and its Request-ID", () => {
    assert.strictEqual(Output.anomalyLine([]), "")
    const line = Output.anomalyLine([
      { requestId: "REQ-1", reason: "contradictory answer: total_count is 7\nbut 5 distinct stores were sent", stores: ["1", "2", "3", "4", "5"] },
      { requestId: undefined, reason: "contradictory answer: listed as both succeeded and failed", stores: ["9"] }
    ])
    assert.strictEqual(line.split("\n").length, 2, "one line")
    assert.include(line, "2 answers from WeChat Pay contradicted themselves or the request (6 stores left unresolved)")
    assert.include(line, "first: contradictory answer: total_count is 7 but 5 distinct stores were sent (Request-ID REQ-1)")
    assert.include(line, `"anomalies"`)
    assert.include(Output.anomalyLine([{ requestId: undefined, reason: "r", stores: ["1"] }]), "1 answer from WeChat Pay contradicted itself or the request (1 store left unresolved); first: r;")
  })
})

describe("the CLI's output sinks (in-process)", () => {
  it.effect("a stream that fails (EPIPE) is never thrown at the caller: writes stop, failure says why", () =>
    Effect.gen(function*() {
      let received = ""
      let calls = 0
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          calls++
          // The reader goes away after two lines.
          if (received.split("\n").length > 2) return callback(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }))
          received += chunk.toString("utf8")
          callback()
        }
      })
      const sink = Output.streamSink(stream)
      assert.strictEqual(yield* sink.failure!, undefined)
      for (let i = 0; i < 5; i++) sink.write(`line ${i}\n`)
      assert.strictEqual(yield* sink.failure!, "EPIPE")
      const before = calls
      sink.write("more\n")
      assert.strictEqual(calls, before, "nothing is written once the output failed")
      assert.strictEqual(received, "line 0\nline 1\n")
    }))

  it("a stop message is printed on one line", () => {
    assert.strictEqual(Output.oneLine("no answer from\n  api.mch.weixin.qq.com:\r\n\u0007refused"), "no answer from api.mch.weixin.qq.com: refused")
  })
})

describe("cli disassociate: WeChat Pay unreachable (in-process)", () => {
  it.scopedLive("the job stops: exit 2, one readable \"stopped by UNREACHABLE\" line naming the hosts, the report written", () =>
    Effect.gen(function*() {
      // Two loopback ports nobody listens on: every attempt is refused at once.
      const primary = `http://127.0.0.1:${yield* closedPort}`
      const backup = `http://127.0.0.1:${yield* closedPort}`
      const dir = yield* Cli.tempDir("wechatpay-unreachable-test-")
      const settings = yield* SandboxSettings.write(keys, { baseUrl: primary, backupBaseUrl: backup }, Path.join(dir, "keys"))
      const ids = Array.from({ length: 2_000 }, (_, i) => FakeWechatPay.storeId(i))
      const stores = Path.join(dir, "stores.txt")
      yield* Effect.promise(() => Fs.writeFile(stores, ids.join("\n")))
      const report = Path.join(dir, "report.json")
      const c = Cli.capture({ cwd: dir })
      const code = yield* Cli.runWith(settings.env, [...Cli.job, "--stores", stores, "--report", report], c)
      const [out, err] = [c.out(), c.err()]
      assert.strictEqual(code, 2, err)
      const r = yield* readReport(report)
      assert.strictEqual(r.stoppedBy?.code, "UNREACHABLE")
      assert.strictEqual(r.succeeded.length, 0)
      assert.strictEqual(r.unresolved.length, ids.length)
      const lines = out.split("\n").filter((l) => l.startsWith("stopped by "))
      assert.deepStrictEqual(lines, [`stopped by UNREACHABLE: ${Output.oneLine(r.stoppedBy!.message)}`])
      assert.include(lines[0], "127.0.0.1")
      // The message is printed once: the line written when the job stops names only the code.
      assert.strictEqual(out.split(r.stoppedBy!.message).length - 1, 1, out)
      assert.include(out, "stopping (UNREACHABLE)")
      // The checks on by default: the stock query got no answer (the job ran unchecked), and a stopped job is not listed.
      assert.match(out, /^stock check skipped: the stock query failed: TransportError: .*; the job ran unchecked$/m)
      assert.include(out, "listing not checked (skipped: the job stopped, UNREACHABLE); unresolved stores stay unresolved\n")
      assert.strictEqual(err, "")
    }), 60_000)
})
