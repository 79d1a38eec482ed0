// What `--stores` reads, beyond the bytes (#13): what a pass skipped or normalised is counted with
// the first line of each kind, never dropped without a word; a report the CLI wrote is input too
// (its failed and unresolved stores, or the lists selected); file errors say what happened and what
// to do; and CSV reads as csv-parse, a well-kept parser, reads the same text.
import { assert, describe, it } from "@effect/vitest"
import { parse as csvParse } from "csv-parse/sync"
import { Effect, Either, FastCheck, Stream } from "effect"
import * as Fs from "node:fs/promises"
import * as Net from "node:net"
import * as Path from "node:path"
import { Readable } from "node:stream"
import * as FileProblem from "../packages/wechatpay-stores/src/input/FileProblem.js"
import * as StoreFile from "../packages/wechatpay-stores/src/StoreFile.js"
import type { BulkDisassociation } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as Cli from "./support/Cli.js"

const s = FakeWechatPay.storeId

/** One pass over `input` (a path, or the bytes as standard input), its ids and notes. */
const read = (input: string | { readonly stdin: ReadonlyArray<string | Uint8Array> }, options: Partial<StoreFile.OpenOptions> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const opened = typeof input === "string"
      ? yield* StoreFile.open(input, undefined, { rereadable: false, ...options })
      : yield* StoreFile.open("-", Readable.from(input.stdin.map((c) => typeof c === "string" ? Buffer.from(c) : c)), { rereadable: false, ...options })
    const ids = yield* Stream.runCollect(opened.ids)
    return { ids: [...ids], notes: yield* opened.notes }
  }))

/** The error of one pass over `path`. */
const failure = (path: string, options: Partial<StoreFile.OpenOptions> = {}) =>
  Effect.map(Effect.either(read(path, options)), (r) => {
    assert.isTrue(Either.isLeft(r), `read ${JSON.stringify(Either.isRight(r) ? r.right.ids : [])}`)
    return (r as Either.Left<StoreFile.StoreFileError, unknown>).left
  })

const none = { count: 0, firstLine: undefined }

describe("what a pass skipped or normalised is counted, with the first line of each kind", () => {
  it.scoped("one id a line: blank lines skipped and ids trimmed, counted and named", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-notes-")
      const path = Path.join(dir, "stores.txt")
      yield* Effect.promise(() => Fs.writeFile(path, `${s(0)}\n\n  ${s(1)}\t\n\n${s(2)}\n   \n\u3000${s(3)}\n`))
      const { ids, notes } = yield* read(path)
      assert.deepStrictEqual(ids, [s(0), s(1), s(2), s(3)])
      assert.deepStrictEqual(notes, {
        format: "text",
        skipped: { blank: { count: 3, firstLine: 2 }, emptyStoreId: none },
        normalised: { trimmed: { count: 2, firstLine: 3 } },
        report: undefined
      })
      assert.deepStrictEqual(StoreFile.describeNotes(notes), [
        "3 blank lines skipped (first: line 2)",
        "2 ids with surrounding spaces trimmed (first: line 3)"
      ])
    }))

  it.scoped("CSV: rows with an empty store_id, blank rows and trimmed ids; a quoted field spanning lines keeps the count right", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-notes-")
      const path = Path.join(dir, "stores.csv")
      const csv = [
        "name,store_id", //                   1
        `"first\nshop",${s(0)}`, //            2-3
        "second,", //                          4: empty store_id
        "", //                                 5: blank
        `third, ${s(1)} `, //                  6: trimmed
        "fourth,\"  \"", //                    7: empty store_id (spaces)
        `fifth,${s(2)}` //                     8
      ].join("\r\n")
      yield* Effect.promise(() => Fs.writeFile(path, csv))
      const { ids, notes } = yield* read(path)
      assert.deepStrictEqual(ids, [s(0), s(1), s(2)])
      assert.deepStrictEqual(notes, {
        format: "csv",
        skipped: { blank: { count: 1, firstLine: 5 }, emptyStoreId: { count: 2, firstLine: 4 } },
        normalised: { trimmed: { count: 1, firstLine: 6 } },
        report: undefined
      })
      assert.deepStrictEqual(StoreFile.describeNotes(notes), [
        "2 rows with an empty store_id skipped (first: line 4)",
        "1 blank row skipped (line 5)",
        "1 id with surrounding spaces trimmed (line 6)"
      ])
    }))

  it.scoped("the notes are the last finished pass's: none before it, the same after a second pass, not added up", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-notes-")
      const path = Path.join(dir, "stores.txt")
      yield* Effect.promise(() => Fs.writeFile(path, `\n ${s(0)}\n${s(1)}\n`))
      const input = yield* StoreFile.open(path, undefined, { rereadable: true })
      assert.deepStrictEqual(yield* input.notes, StoreFile.NO_NOTES)
      yield* Stream.runDrain(input.ids)
      const first = yield* input.notes
      assert.deepStrictEqual([first.skipped.blank, first.normalised.trimmed], [{ count: 1, firstLine: 1 }, { count: 1, firstLine: 2 }])
      yield* Stream.runDrain(input.ids)
      assert.deepStrictEqual(yield* input.notes, first)
    }))

  it.effect("a BOM, CRLF and a final line break are encoding, not changes to the ids: nothing to report", () =>
    Effect.gen(function*() {
      const { ids, notes } = yield* read({ stdin: [`\uFEFF${s(0)}\r\n${s(1)}\r\n`] })
      assert.deepStrictEqual(ids, [s(0), s(1)])
      assert.deepStrictEqual(StoreFile.describeNotes(notes), [])
      assert.strictEqual(notes.format, "text")
    }))
})

describe("a column's name is never sent as a store id", () => {
  it.effect("a store_id header in any case or with spaces around it is a CSV header", () =>
    Effect.gen(function*() {
      for (const header of ["Store_ID", " STORE_ID ", "name,Store_Id"]) {
        const row = (id: string) => header.startsWith("name") ? `x,${id}` : id
        const { ids, notes } = yield* read({ stdin: [`${header}\n${row(s(0))}\n${row(s(1))}\n`] })
        assert.deepStrictEqual(ids, [s(0), s(1)], header)
        assert.strictEqual(notes.format, "csv", header)
      }
    }))

  it.effect("a list whose first line is another column name is refused on line 1, naming it; an id that merely starts so is not", () =>
    Effect.gen(function*() {
      for (const [first, named] of [["id", "id"], ["Store ID", "Store ID"], ["store-ids", "store-ids"], ["\"门店ID\"", "门店ID"], ["门店编号", "门店编号"], ["Stores", "Stores"]]) {
        const e = yield* Effect.flip(read({ stdin: [`${first}\n${s(0)}\n`] }))
        assert.strictEqual(
          e.message,
          `<stdin>:1: the first line ${JSON.stringify(named)} looks like a column name, not a store id: name the column store_id (a CSV header), or remove the line`
        )
      }
      const { ids } = yield* read({ stdin: ["id7\nstore1\n"] })
      assert.deepStrictEqual(ids, ["id7", "store1"])
    }))

  it.effect("a header whose columns are split by ';' or a tab is refused on line 1, not sent as a store id", () =>
    Effect.gen(function*() {
      for (const header of ["store_id;name", "Store ID\tname", "name;门店编号"]) {
        const e = yield* Effect.flip(read({ stdin: [`${header}\n${s(0)};Shop A\n`] }))
        assert.strictEqual(
          e.message,
          `<stdin>:1: the first line ${JSON.stringify(header)} looks like a header whose columns are not separated by commas: ` +
            "save the CSV comma-separated, with a store_id column",
          header
        )
      }
    }))
})

describe("a report the CLI wrote is input: its failed and unresolved stores, or the lists selected", () => {
  // Typed as the library's report, so a change to its shape shows here.
  const report: BulkDisassociation.Report = {
    summary: { input: 6, unique: 5, duplicates: 1, succeeded: 2, failed: 1, unresolved: 2, chunks: 1, requests: 2, retries: {} },
    succeeded: [s(0), s(1)],
    failed: [{ storeId: s(2), code: "RESOURCE_NOT_EXISTS", message: "门店不存在" }],
    unresolved: [{ storeId: s(3), reason: "not sent: the job was stopped before this call" }, { storeId: s(4), reason: "aborted", requestId: "r-1" }],
    anomalies: [],
    stoppedBy: { tag: "StoppedByCaller", code: "STOPPED", message: "stopped by the caller; calls in flight finish" }
  }
  const withReport = <A, E>(f: (path: string, dir: string) => Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-report-")
      const path = Path.join(dir, "report.json")
      yield* Effect.promise(() => Fs.writeFile(path, JSON.stringify(report, null, 2) + "\n"))
      return yield* f(path, dir)
    })

  it.scoped("by default the failed and unresolved stores, in the report's order, and which lists were taken", () =>
    withReport((path) =>
      Effect.gen(function*() {
        const { ids, notes } = yield* read(path)
        assert.deepStrictEqual(ids, [s(2), s(3), s(4)])
        assert.strictEqual(notes.format, "report")
        assert.deepStrictEqual(notes.report, { selected: ["failed", "unresolved"], lists: { succeeded: 2, failed: 1, unresolved: 2 } })
        assert.deepStrictEqual(StoreFile.describeNotes(notes), [
          "taken from the report: 1 failed and 2 unresolved (3 stores); left out: 2 succeeded (--select chooses the lists)"
        ])
      })))

  it.effect("a sync's report is refused, saying how to take one of its parts; that part is then an input", () =>
    Effect.gen(function*() {
      const sync = { job: { operation: "sync" }, plan: {}, dryRun: false, associate: report, disassociate: report }
      const e = yield* Effect.flip(read({ stdin: [JSON.stringify(sync)] }))
      assert.include(e.message, "a sync's report holds two parts that went opposite ways")
      assert.include(e.message, "jq .disassociate REPORT > part.json")
      const { ids } = yield* read({ stdin: [JSON.stringify(sync.disassociate)] })
      assert.deepStrictEqual(ids, [s(2), s(3), s(4)])
    }))

  it.scoped("select: any lists, taken in the report's order whatever the order asked; none gives no ids", () =>
    withReport((path) =>
      Effect.gen(function*() {
        assert.deepStrictEqual((yield* read(path, { select: ["succeeded"] })).ids, [s(0), s(1)])
        assert.deepStrictEqual((yield* read(path, { select: ["unresolved", "succeeded"] })).ids, [s(0), s(1), s(3), s(4)])
        assert.deepStrictEqual((yield* read(path, { select: ["unresolved"] })).notes.report?.selected, ["unresolved"])
        assert.deepStrictEqual((yield* read(path, { select: [] })).ids, [])
      })))

  it.scoped("a report piped in (standard input) and a report's list on its own (jq .unresolved) read the same", () =>
    Effect.gen(function*() {
      const text = JSON.stringify(report)
      assert.deepStrictEqual((yield* read({ stdin: [text.slice(0, 50), text.slice(50)] })).ids, [s(2), s(3), s(4)])
      assert.deepStrictEqual((yield* read({ stdin: [JSON.stringify(report.unresolved)] })).ids, [s(3), s(4)])
    }))

  it.scoped("select given for anything but a report is refused, not ignored", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-report-")
      for (const [name, content, what] of [
        ["ids.txt", `\n${s(0)}\n`, ":2: selecting lists (--select) needs a report the CLI wrote as input, and this input is a list of ids"],
        ["ids.csv", `store_id\n${s(0)}\n`, ":1: selecting lists (--select) needs a report the CLI wrote as input, and this input is a CSV"],
        ["ids.json", JSON.stringify([s(0)]), "ids.json: selecting lists (--select) needs a report the CLI wrote as input, and this input is a JSON array"]
      ] as const) {
        const path = Path.join(dir, name)
        yield* Effect.promise(() => Fs.writeFile(path, content))
        assert.include((yield* failure(path, { select: ["failed"] })).message, what)
        assert.deepStrictEqual((yield* read(path)).ids, [s(0)])
      }
    }))

  it.scoped("a report missing a list or with a malformed store is refused, naming what", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-report-")
      const cases: ReadonlyArray<[unknown, string]> = [
        [{ ...report, unresolved: undefined }, "a report must hold unresolved list; give a report the CLI wrote, unchanged"],
        [{ ...report, summary: undefined }, "a report must hold summary"],
        [{ ...report, failed: [{ store: s(2) }] }, "the report's failed[0] is neither a string nor an object with a string store_id (or storeId)"],
        [{ ...report, unresolved: [{ storeId: "7".repeat(300) }] }, "the report's unresolved[0]: a store id of 300 characters"],
        [{ stores: [s(0)] }, "JSON input must be an array of store ids, or a report the CLI wrote"]
      ]
      for (const [json, reason] of cases) {
        const path = Path.join(dir, "report.json")
        yield* Effect.promise(() => Fs.writeFile(path, JSON.stringify(json)))
        assert.include((yield* failure(path)).message, `${path}: ${reason}`)
      }
      // A malformed list that is not taken is not read.
      yield* Effect.promise(() => Fs.writeFile(Path.join(dir, "r.json"), JSON.stringify({ ...report, succeeded: [1] })))
      assert.deepStrictEqual((yield* read(Path.join(dir, "r.json"))).ids, [s(2), s(3), s(4)])
    }))
})

describe("file errors say what happened and what to do, keeping the input's name", () => {
  it.scoped("no such file, a directory, a file used as a directory, a link loop, a socket", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-errors-")
      const file = Path.join(dir, "stores.txt")
      yield* Effect.promise(() => Fs.writeFile(file, `${s(0)}\n`))
      yield* Effect.promise(() => Fs.symlink(Path.join(dir, "loop-b"), Path.join(dir, "loop-a")))
      yield* Effect.promise(() => Fs.symlink(Path.join(dir, "loop-a"), Path.join(dir, "loop-b")))
      const socket = Path.join(dir, "stores.sock")
      yield* Effect.acquireRelease(
        Effect.async<Net.Server>((resume) => {
          const server = Net.createServer()
          server.listen(socket, () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const cases: ReadonlyArray<[string, string]> = [
        [Path.join(dir, "nope.txt"), "no such file; check the path (ENOENT)"],
        [dir, "is a directory, not a file; give the path of the file of store ids inside it (EISDIR)"],
        [Path.join(file, "stores.txt"), "a part of the path is a file, not a directory; check the path (ENOTDIR)"],
        [Path.join(dir, "loop-a"), "too many levels of symbolic links (a link that points back to itself?); check the path (ELOOP)"],
        [socket, "is a socket, which cannot be opened by name; send its data to standard input instead"]
      ]
      for (const [path, reason] of cases) {
        const e = yield* failure(path)
        assert.strictEqual(e.message.split(": ")[0], path)
        assert.include(e.message, `${path}: ${reason}`)
        assert.notMatch(e.message, /cannot read: E[A-Z]+$/)
      }
    }))

  it.scoped("a one-pass input whose spool cannot be made names the directory and says to set TMPDIR", () =>
    Effect.gen(function*() {
      const dir = yield* Cli.tempDir("wechatpay-input-errors-")
      const missing = Path.join(dir, "no-such-tmp")
      const previous = process.env["TMPDIR"]
      yield* Effect.acquireRelease(
        Effect.sync(() => void (process.env["TMPDIR"] = missing)),
        () => Effect.sync(() => previous === undefined ? delete process.env["TMPDIR"] : void (process.env["TMPDIR"] = previous))
      )
      const e = yield* Effect.flip(StoreFile.open("-", Readable.from([`${s(0)}\n`]), { rereadable: true }))
      assert.strictEqual(
        e.message,
        `<stdin>: cannot copy the input to a private file in ${missing}: the directory does not exist; set TMPDIR to an existing directory (ENOENT)`
      )
    }))

  it("each code the system gives is told as what happened and what to do; an unknown one keeps the system's words", () => {
    const errno = (code: string, message = `${code}: something, open 'stores.txt'`) => Object.assign(new Error(message), { code })
    assert.strictEqual(
      FileProblem.describe(errno("EACCES")),
      "permission denied; check the file's permissions (ls -l) or run as a user who can read it (EACCES)"
    )
    assert.include(FileProblem.describe(errno("EIO")), "input/output error")
    assert.include(FileProblem.describe(errno("EMFILE")), "ulimit -n")
    assert.strictEqual(
      FileProblem.describe(errno("ENOSPC"), FileProblem.spool("/tmp")),
      "cannot copy the input to a private file in /tmp: no space left on the device; free some space or set TMPDIR to a directory with room (ENOSPC)"
    )
    assert.strictEqual(
      FileProblem.describe(errno("EWEIRD", "EWEIRD: weird failure,\n read")),
      "cannot be read: EWEIRD: weird failure, read; check that it is a readable file, a pipe or -"
    )
    assert.strictEqual(FileProblem.describe("gone"), "cannot be read: gone; check that it is a readable file, a pipe or -")
  })
})

describe("CSV quoting left in a store id", () => {
  it.effect("a quote not doubled (\"1000\"00001\") or left over is refused at its line, not sent as an id", () =>
    Effect.gen(function*() {
      for (const row of ['"1000"00001"', '100000001"', '"1000""00001"']) {
        const refused = yield* Effect.flip(read({ stdin: [`store_id\n100000002\n${row}\n100000003\n`] }))
        assert.strictEqual(refused.line, 3, row)
        assert.include(refused.reason, "store_id holds a \" character, which no store id has (a field misquoted, or a quote left over)")
      }
    }))
})

describe("CSV reads as csv-parse reads it", () => {
  // Fields from characters that matter to CSV: quotes, commas, line breaks, spaces, and text.
  const field = FastCheck.string({
    unit: FastCheck.constantFrom("1", "2", "a", "门", "店", " ", "\t", ",", "\"", "\n", "\u3000"),
    maxLength: 8
  })
  const quoteIfNeeded = (quoteAll: boolean) => (f: string) =>
    quoteAll || /[",\n\r]/.test(f) || f === "" ? `"${f.replaceAll("\"", "\"\"")}"` : f
  const document = FastCheck.record({
    // A row is four fields (a blank line when none), so the store_id column is always there.
    rows: FastCheck.array(FastCheck.oneof(FastCheck.array(field, { minLength: 4, maxLength: 4 }), FastCheck.constant([])), { maxLength: 30 }),
    column: FastCheck.integer({ min: 0, max: 2 }),
    crlf: FastCheck.boolean(),
    quoteAll: FastCheck.boolean(),
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 6 })
  })

  it.effect.prop("the same ids, the same skipped rows and the same first lines, whatever the reads' boundaries", [document], ([d]) =>
    Effect.gen(function*() {
      const header = ["name", "other", "more"]
      header.splice(d.column, 0, "store_id")
      const eol = d.crlf ? "\r\n" : "\n"
      const text = [header.join(","), ...d.rows.map((r) => r.map(quoteIfNeeded(d.quoteAll)).join(","))].join(eol) + eol
      const bytes = Buffer.from(text)
      const cuts = [...new Set(d.cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
      const chunks = [0, ...cuts].map((c, i, all) => bytes.subarray(c, all[i + 1] ?? bytes.length))

      // What csv-parse makes of the text, with the input's rules: a row of one blank field is blank,
      // an empty store_id is skipped, ids are trimmed; a row starts one line after the last ended.
      const records = csvParse(text, { info: true, relax_column_count: true, skip_empty_lines: false }) as unknown as ReadonlyArray<
        { readonly record: ReadonlyArray<string>; readonly info: { readonly lines: number } }
      >
      const expected = { ids: [] as Array<string>, blank: [] as Array<number>, empty: [] as Array<number>, trimmed: [] as Array<number> }
      let line = 2
      // A store_id with a quote in it is refused at its row: nothing is read past it.
      let refusedAt: number | undefined
      for (const { record, info } of records.slice(1)) {
        const start = line
        line = info.lines + 1
        if (record.length === 1 && record[0]!.trim() === "") expected.blank.push(start)
        else if (record[d.column] === undefined) return assert.fail(`the generator made a short row: ${JSON.stringify(record)}`)
        else if (record[d.column]!.replaceAll("\r\n", "\n").trim() === "") expected.empty.push(start)
        else {
          const raw = record[d.column]!.replaceAll("\r\n", "\n")
          if (raw.includes("\"")) {
            refusedAt = start
            break
          }
          if (raw.trim() !== raw) expected.trimmed.push(start)
          expected.ids.push(raw.trim())
        }
      }
      const tally = (lines: ReadonlyArray<number>) => ({ count: lines.length, firstLine: lines[0] })
      if (refusedAt !== undefined) {
        const refused = yield* Effect.flip(read({ stdin: chunks }))
        assert.strictEqual(refused.line, refusedAt)
        assert.include(refused.reason, "store_id holds a \"")
        return
      }
      const { ids, notes } = yield* read({ stdin: chunks })
      assert.deepStrictEqual(ids, expected.ids)
      assert.deepStrictEqual(notes.skipped, { blank: tally(expected.blank), emptyStoreId: tally(expected.empty) })
      assert.deepStrictEqual(notes.normalised, { trimmed: tally(expected.trimmed) })
    }), { fastCheck: { numRuns: 300 } })
})
