/**
 * The commands of `wechatpay-stores`. A command is one file in ./commands/ that
 * declares it with `Program.command` (its options, help and handler) and exports
 * it as `command`, plus one line here.
 */
import * as Demo from "./commands/demo.js"
import * as Disassociate from "./commands/disassociate.js"
import * as Sandbox from "./commands/sandbox.js"
import type * as Program from "./Program.js"

export const all: readonly [Program.Cmd, ...Array<Program.Cmd>] = [
  Disassociate.command,
  Sandbox.command,
  Demo.command
]

/** The root's help: one line on what the tool is. */
export const SUMMARY = "Remove stores from WeChat Pay product-coupon stocks in bulk, and try it against a local sandbox."
