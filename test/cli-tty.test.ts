// The CLI in a real 80-column terminal (issue #13): the job runs under util-linux `script` in a
// pseudo-terminal sized with `stty cols 80`, and what it wrote is replayed through a small terminal
// model (auto-wrap at the last column, carriage return, erase to end of line, wide CJK characters)
// to get the final screen. The progress bar must stay on one line however often it is redrawn,
// and the summary after it must be readable: whole table rows, one line each.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Path from "node:path"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const COLUMNS = 80

/** East Asian wide characters take two columns. */
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/

/**
 * The screen (scrollback included) after `output`, as a terminal `columns` wide shows it:
 * text wraps after the last column, `\r` returns to the start of the row, `\n` moves down,
 * `ESC[K` erases to the end of the row; other escape sequences (colours) change nothing here.
 */
export const screen = (output: string, columns: number): Array<string> => {
  const rows: Array<Array<string>> = [[]]
  let row = 0
  let col = 0
  const at = (r: number) => (rows[r] ??= [])
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!
    if (ch === "\x1b" && output[i + 1] === "[") {
      let j = i + 2
      while (j < output.length && !/[@-~]/.test(output[j]!)) j++
      const params = output.slice(i + 2, j)
      if (output[j] === "K" && (params === "" || params === "0")) at(row).length = Math.min(at(row).length, col)
      i = j
      continue
    }
    if (ch === "\r") col = 0
    else if (ch === "\n") row++
    else if (ch === "\b") col = Math.max(0, col - 1)
    else if (ch >= " ") {
      const width = WIDE.test(ch) ? 2 : 1
      // The cursor waits past the last column; the next character goes to the next row.
      if (col + width > columns) {
        row++
        col = 0
      }
      const line = at(row)
      while (line.length < col) line.push(" ")
      line[col] = ch
      if (width === 2) line[col + 1] = ""
      col += width
    }
  }
  return Array.from({ length: Math.max(rows.length, row + 1) }, (_, r) => (rows[r] ?? []).join("").trimEnd())
}

/** Single-quoted for sh. */
const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`

describe("the terminal model", () => {
  it("wraps at the last column, returns with \\r and erases with ESC[K", () => {
    assert.deepStrictEqual(screen("abcdef\r12\x1b[K\n", 10), ["12", ""])
    assert.deepStrictEqual(screen(`${"x".repeat(12)}\ry`, 10), ["xxxxxxxxxx", "yx"])
    assert.deepStrictEqual(screen("门店\n", 3), ["门", "店", ""])
  })
})

describe("wechatpay-stores in an 80-column pseudo-terminal", () => {
  it.scopedLive("the bar is redrawn on one line and the summary after it is readable", () =>
    Effect.gen(function*() {
      // 3,000 stores and 20 of another brand in 16 calls of ~100 ms, two at a time: a few dozen redraws.
      const { dir, env, file } = yield* Cli.sandbox("wechatpay-cli-tty-test-", {
        seed: FakeWechatPay.generate({ stores: 3_000, otherBrandStores: 20 }),
        faults: { rates: { slow: 1 }, slowMillis: 100 }
      })
      const ids = [...Array.from({ length: 3_000 }, (_, i) => FakeWechatPay.storeId(i)), ...Array.from({ length: 20 }, (_, i) => FakeWechatPay.otherBrandStoreId(i))]
      const stores = yield* file("stores.txt", ids.join("\n"))
      const command = [process.execPath, ...Cli.nodeArgs([...Cli.job, "--stores", stores, "--concurrency", "2", "--report", "r.json"])]
      const p = yield* Cli.spawn("script", ["-q", "-e", "-c", `stty cols ${COLUMNS} rows 24; exec ${command.map(quote).join(" ")}`, "/dev/null"], {
        env: { ...Cli.cleanEnv(), ...env, TERM: "xterm" },
        cwd: dir
      })
      const exit = yield* Cli.exitWithin(p, 50)
      const raw = p.stdout()
      assert.strictEqual(exit.code, 2, JSON.stringify(raw.slice(-600)) + p.stderr())
      const lines = screen(raw, COLUMNS)

      // Redrawn in place: many draws, one bar left on the screen, at 100%, short of the last column.
      assert.isAtLeast(raw.split("\r[").length - 1, 10, raw)
      const bars = lines.filter((l) => /^\[[#.]+\] /.test(l) || /\d+% [\d,]+\/[\d,]+ stores/.test(l))
      assert.strictEqual(bars.length, 1, lines.join("\n"))
      assert.match(bars[0]!, /^\[#+\] 100% 3,020\/3,020 stores · 3,000 ok · 20 failed/)
      assert.isBelow(bars[0]!.length, COLUMNS)

      // The summary: the table whole, a row a line, right after the bar.
      const top = lines.indexOf(bars[0]!) + 1
      assert.match(lines[top]!, /^\+-+\+-+\+$/)
      const end = lines.indexOf(lines[top]!, top + 1)
      assert.isAbove(end, top + 8, lines.join("\n"))
      for (const row of lines.slice(top + 1, end)) assert.match(row, /^\| [\w:() ]+ +\| +[\d,]+ \|$/)
      assert.include(lines.slice(top + 1, end), lines.find((l) => /^\| succeeded +\| +3,000 \|$/.test(l)))
      assert.include(lines, "failed: 20 stores")
      assert.include(lines, "report written to r.json")
      assert.strictEqual((yield* Cli.readReport(Path.join(dir, "r.json"))).summary["succeeded"], 3_000)
    }), 60_000)
})
