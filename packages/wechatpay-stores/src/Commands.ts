/**
 * The commands of `wechatpay-stores`. A command is one file in ./commands/ that
 * declares it with `Program.command` (its options, help and handler) and exports
 * it as `command`, plus one line here.
 */
import * as Associate from "./commands/associate.js"
import * as Demo from "./commands/demo.js"
import * as Disassociate from "./commands/disassociate.js"
import * as List from "./commands/list.js"
import * as Resume from "./commands/resume.js"
import * as Sandbox from "./commands/sandbox.js"
import * as Stock from "./commands/stock.js"
import * as Sync from "./commands/sync.js"
import * as Undo from "./commands/undo.js"
import type * as Program from "./Program.js"

export const all: readonly [Program.Cmd, ...Array<Program.Cmd>] = [
  Disassociate.command,
  Associate.command,
  Sync.command,
  Resume.command,
  Undo.command,
  List.command,
  Stock.command,
  Sandbox.command,
  Demo.command
]

/**
 * The commands that run a job and write its report: the first stop signal lets their calls in flight
 * finish and the second abandons them, and either way the report is still written.
 */
export const reporting: ReadonlyArray<Program.Cmd> = [
  Disassociate.command,
  Associate.command,
  Sync.command,
  Resume.command,
  Undo.command,
  Demo.command
]

/** The root's help: one line on what the tool is. */
export const SUMMARY =
  "Add and remove the stores of WeChat Pay product-coupon stocks in bulk (journaled: resume after a crash, undo), " +
  "sync a stock to a list, list them, query a stock, and try it all against a local sandbox."
