// How the CLI is called (issue #13): each command's own --help with its defaults and an example,
// --version, shell completions that complete a command's flags, --rate checked with a clear message
// and refused above the documented 20/s unless --allow-over-limit, one-line usage errors, and a
// sandbox banner whose command works where it was run and that lists the faults it injects.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import { invocation } from "../packages/wechatpay-stores/src/commands/sandbox.js"
import { run } from "../packages/wechatpay-stores/src/main.js"
import { WechatPayClient } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const s = FakeWechatPay.storeId
const { capture, job } = Cli

describe("cli --help, --version", () => {
  const help = (argv: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const c = capture()
      assert.strictEqual(yield* run(argv, c.io), 0, c.err())
      assert.strictEqual(c.err(), "")
      assert.notInclude(c.out(), "\x1b[", "no colours when the output is not a terminal")
      return c.out()
    })

  it.effect("each command has its own help, naming its options, with the defaults and an example", () =>
    Effect.gen(function*() {
      const disassociate = yield* help(["disassociate", "--help"])
      const sandbox = yield* help(["sandbox", "--help"])
      const demo = yield* help(["demo", "--help"])
      assert.notStrictEqual(disassociate, sandbox)
      assert.notStrictEqual(sandbox, demo)
      assert.match(disassociate, /^\$ wechatpay-stores disassociate --product-coupon-id ID --stock-id ID\|--stock-bundle-id ID --brand-id ID --stores FILE /m)
      assert.match(disassociate, /--concurrency N\n(.*\n)*? {2}Calls in flight at once\. Default: 4\./)
      assert.match(disassociate, /--rate N\n(.*\n)*? {2}Requests a second, retries included\. Default: 20/)
      assert.match(disassociate, /^EXAMPLES\n\n {2}wechatpay-stores disassociate --product-coupon-id \d+ --stock-id \d+ --brand-id \d+ --stores stores\.csv$/m)
      assert.notInclude(disassociate, "--backup-port")
      assert.match(sandbox, /^\$ wechatpay-stores sandbox \[--port N\]/m)
      assert.include(sandbox, "Default: 10000.")
      assert.match(sandbox, /^EXAMPLES\n\n {2}wechatpay-stores sandbox --stores 30000/m)
      assert.notInclude(sandbox, "--product-coupon-id")
      assert.match(demo, /^\$ wechatpay-stores demo$/m)
      assert.match(demo, /^EXAMPLE\n\n {2}wechatpay-stores demo$/m)
      // -h is --help; no line of the help has trailing blanks.
      assert.strictEqual(yield* help(["disassociate", "-h"]), disassociate)
      assert.notMatch(disassociate, /[ \t]$/m)
    }))

  it.effect("--version prints the library's version", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* help(["--version"])).trim(), WechatPayClient.VERSION)
    }))
})

describe("cli --completions", () => {
  it.effect("bash: sourced, it completes the commands and a command's flags", () =>
    Effect.gen(function*() {
      const c = capture()
      assert.strictEqual(yield* run(["--completions", "bash"], c.io), 0, c.err())
      // Complete `wechatpay-stores <TAB>` and `wechatpay-stores disassociate --st<TAB>` as bash would.
      const complete = (words: ReadonlyArray<string>) => {
        const script = `${c.out()}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}\n` +
          `_wechatpay-stores_bash_completions wechatpay-stores '${words.at(-1)}' '${words.at(-2)}'\nprintf '%s\\n' "\${COMPREPLY[@]}"\n`
        const r = ChildProcess.spawnSync("bash", ["-c", script], { encoding: "utf8" })
        assert.strictEqual(r.status, 0, r.stderr)
        return r.stdout.split("\n").filter((l) => l !== "")
      }
      assert.includeMembers(complete(["wechatpay-stores", ""]), ["disassociate", "sandbox", "demo"])
      assert.sameMembers(complete(["wechatpay-stores", "disassociate", "--st"]), ["--stock-id", "--stock-bundle-id", "--stores"])
      assert.sameMembers(complete(["wechatpay-stores", "sandbox", "--ba"]), ["--backup-port"])
    }))

  it.effect("zsh and fish scripts name every command; an unknown shell is one line", () =>
    Effect.gen(function*() {
      for (const shell of ["zsh", "fish"]) {
        const c = capture()
        assert.strictEqual(yield* run(["--completions", shell], c.io), 0, c.err())
        for (const name of ["disassociate", "sandbox", "demo", "product-coupon-id"]) assert.include(c.out(), name, shell)
      }
      const c = capture()
      assert.strictEqual(yield* run(["--completions", "tcsh"], c.io), 1)
      assert.strictEqual(c.err().split("\n").filter((l) => l !== "").length, 1)
      assert.include(c.err(), "--completions takes bash, zsh, fish or sh")
    }))
})

describe("cli --rate", () => {
  /** A sandbox and a file of three stores: enough for a dry run. */
  const setup = Effect.gen(function*() {
    const sandbox = yield* Cli.sandbox("wechatpay-cli-usage-test-", { seed: FakeWechatPay.generate({ stores: 10 }) })
    const stores = yield* sandbox.file("stores.txt", [s(0), s(1), s(2)].join("\n"))
    return { ...sandbox, stores }
  })

  for (const [value, says] of [["-5", "--rate must be a whole number of requests a second ≥ 1, got -5"], ["0", "got 0"], ["1.5", "--rate must be a whole number, got \"1.5\""]] as const) {
    it.scopedLive(`--rate ${value}: exit 1, one line saying what is wrong, then the usage`, () =>
      Effect.gen(function*() {
        const { cli, fake, stores } = yield* setup
        const c = capture()
        assert.strictEqual(yield* cli([...job, "--stores", stores, "--rate", value], c), 1)
        const [first, second] = c.err().split("\n")
        assert.strictEqual(first, `wechatpay-stores: ${says.startsWith("--") ? says : `--rate must be a whole number of requests a second ≥ 1, ${says}`}`)
        assert.match(second!, /^usage: wechatpay-stores disassociate /)
        assert.strictEqual(c.out(), "")
        assert.strictEqual(fake.log.length, 0)
      }))
  }

  it.scopedLive("above the documented 20/s: refused unless --allow-over-limit", () =>
    Effect.gen(function*() {
      const { cli, fake, stores } = yield* setup
      const refused = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--rate", "21"], refused), 1)
      assert.strictEqual(
        refused.err().split("\n")[0],
        "wechatpay-stores: --rate 21 is above WeChat Pay's documented limit of 20 requests a second; pass --allow-over-limit to send that fast anyway"
      )
      const allowed = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--rate", "21", "--allow-over-limit", "--dry-run"], allowed), 0, allowed.err())
      assert.include(allowed.out(), "at up to 21/s")
      const documented = capture()
      assert.strictEqual(yield* cli([...job, "--stores", stores, "--rate", "20", "--dry-run"], documented), 0, documented.err())
      assert.strictEqual(fake.log.length, 0)
    }))
})

describe("cli number flags", () => {
  // Each command's own number flags, found by their N placeholder: sandbox's --stores is a number, a job's a file.
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["sandbox", "--stores", "1e3"], "--stores must be a whole number, got \"1e3\""],
    [["resume", "journal.jsonl", "--concurrency", "0x2"], "--concurrency must be a whole number, got \"0x2\""],
    [["sync", "--product-coupon-id", "1", "--stock-id", "2", "--brand-id", "3", "--stores", "x", "--max-removals=1e9"], "--max-removals must be a whole number, got \"1e9\""]
  ]
  for (const [argv, says] of cases) {
    it.effect(`${argv[0]}: ${says}`, () =>
      Effect.gen(function*() {
        const c = capture()
        assert.strictEqual(yield* run(argv, c.io), 1)
        assert.strictEqual(c.err().split("\n")[0], `wechatpay-stores: ${says}`)
        assert.include(c.err(), `wechatpay-stores ${argv[0]} --help explains each option`)
        assert.strictEqual(c.out(), "")
      }))
  }

  it.effect("a job's --stores may be named like a number: it is a file, not refused as one", () =>
    Effect.gen(function*() {
      const c = capture()
      // It fails later, for want of the file (or of configuration), never on the flag's form.
      assert.strictEqual(yield* run([...job, "--stores", "1e3", "--dry-run"], c.io), 1)
      assert.notInclude(c.err(), "must be a whole number")
      assert.notMatch(c.err(), /^wechatpay-stores: --stores/)
    }))
})

describe("cli usage errors", () => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
    [["disassociate", "--stores", "x"], "--product-coupon-id, --stock-id (or --stock-bundle-id) and --brand-id are required"],
    [[...job, "--stores", "a", "--stores", "b"], "--stores was given more than once"],
    [[...job, "--stock-id", "999", "--stores", "a", "--dry-run"], "--stock-id was given more than once"],
    [[...job, "--product-coupon-id=1", "--stores", "a"], "--product-coupon-id was given more than once"],
    [[...job, "--stores"], "--stores needs a value"],
    [[...job, "--stores", "x", "--concurrency", "many"], "--concurrency must be a whole number, got \"many\""],
    // @effect/cli reads a number with Number(): these would be 16, 1000 and 3.
    [[...job, "--stores", "x", "--rate", "0x10"], "--rate must be a whole number, got \"0x10\""],
    [[...job, "--stores", "x", "--concurrency=1e3"], "--concurrency must be a whole number, got \"1e3\""],
    [[...job, "--stores", "x", "--concurrency", " 3"], "--concurrency must be a whole number, got \" 3\""],
    [[...job, "--stores", "x", "--strores", "y"], "unknown option '--strores'; did you mean --stores?"],
    // A required flag mistyped: @effect/cli says it its own way ("The flag … is not recognized"); said as above.
    [[...job, "--strores", "y"], "unknown option '--strores'; did you mean --stores?"],
    [["disassociate", "--product-coupon-id", "1", "--stok-id", "2", "--brand-id", "3", "--stores", "x"], "unknown option '--stok-id'; did you mean --stock-id?"]
  ]
  for (const [argv, says] of cases) {
    it.effect(`${argv.slice(7).join(" ") || argv.join(" ")}: ${says}`, () =>
      Effect.gen(function*() {
        const c = capture()
        assert.strictEqual(yield* run(argv, c.io), 1)
        assert.strictEqual(c.err().split("\n")[0], `wechatpay-stores: ${says}`)
        assert.include(c.err(), "wechatpay-stores disassociate --help explains each option")
        assert.strictEqual(c.out(), "")
      }))
  }
})

describe("cli sandbox: the banner", () => {
  it.scopedLive("a command that works where it was run, with a ready store list, and the faults it injects", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-cli-usage-test-")
      const keys = Path.join(dir, "keys")
      // The stop comes at once: the banner is printed, then the sandbox closes.
      const c = capture({ stop: Effect.void })
      const argv = ["sandbox", "--stores", "50", "--faults", "rateLimit=0.2,systemError=0.05", "--seed", "3", "--dir", keys]
      assert.strictEqual(yield* run(argv, c.io), 130, c.err())
      const F = FakeWechatPay.Fixture
      assert.include(
        c.out(),
        `\n  npx wechatpay-stores disassociate --product-coupon-id ${F.productCouponId} --stock-id ${F.stockId} --brand-id ${F.brandId} --stores ${keys}/stores.txt\n`
      )
      assert.include(c.out(), "faults injected (seed 3): rateLimit 20%, systemError 5%; rate limit 20/s\n")
      const listed = (yield* Effect.promise(() => Fs.readFile(Path.join(keys, "stores.txt"), "utf8"))).trim().split("\n")
      assert.deepStrictEqual(listed, Array.from({ length: 50 }, (_, i) => s(i)))
      const quiet = capture({ stop: Effect.void })
      assert.strictEqual(yield* run(["sandbox", "--stores", "5", "--rate", "0", "--dir", keys], quiet.io), 130)
      assert.include(quiet.out(), "faults injected: none (add some with --faults rateLimit=0.2,systemError=0.05); rate limit off\n")
    }))

  it("the command starts with npm run cli -- only under this repository's own npm run cli", () => {
    assert.strictEqual(invocation({ npm_lifecycle_event: "cli", npm_package_name: "effect-wechatpay-workspace" }), "npm run cli --")
    assert.strictEqual(invocation({ npm_lifecycle_event: "start", npm_package_name: "my-shop" }), "npx wechatpay-stores")
    assert.strictEqual(invocation({}), "npx wechatpay-stores")
  })

  it.scopedLive("--json: one object with the variables, the URLs and the fixture's ids", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-cli-usage-test-")
      const c = capture({ stop: Effect.void })
      assert.strictEqual(yield* run(["sandbox", "--stores", "20", "--json", "--dir", dir], c.io), 130, c.err())
      const printed = JSON.parse(c.out()) as { env: Record<string, string>; baseUrl: string; stockId: string; storesFile: string }
      assert.strictEqual(printed.env["WECHATPAY_BASE_URL"], printed.baseUrl)
      assert.includeMembers(Object.keys(printed.env), ["WECHATPAY_MCHID", "WECHATPAY_PRIVATE_KEY_FILE", "WECHATPAY_PUBLIC_KEY_FILE"])
      assert.strictEqual(printed.stockId, FakeWechatPay.Fixture.stockId)
      assert.strictEqual(printed.storesFile, Path.join(dir, "stores.txt"))
    }))
})
