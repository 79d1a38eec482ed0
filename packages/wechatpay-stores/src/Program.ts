/**
 * The CLI's frame on @effect/cli: how a command is declared (its options, its
 * help, a handler that gives an exit code), and how a command line is run with
 * the conventions every command follows — output through the `Io` sinks, exit
 * codes 0/2/1, one-line errors that say what to do next, never a stack trace.
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as Usage from "@effect/cli/Usage"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Context, Data, Effect, Either, type Layer, Option } from "effect"
import * as EffectConsole from "effect/Console"
import { Console as NodeConsole } from "node:console"
import { Writable } from "node:stream"
import { WechatPayClient } from "effect-wechatpay"
import * as Io from "./Io.js"
import * as Output from "./Output.js"

export const NAME = "wechatpay-stores"

/** A problem with how the command was called: exit 1, one line, then the command's usage. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** What a command's handler runs with. */
export class CliContext extends Context.Tag("wechatpay-stores/CliContext")<CliContext, {
  readonly io: Io.Io
  /** The transport for WeChat Pay (undici in the binary; the tests may pass another). */
  readonly http: Layer.Layer<HttpClient.HttpClient>
  readonly setExitCode: (code: number) => void
}>() {}

/** A command of this CLI: its handler gives the exit code, or fails with a `UsageError`. */
export type Cmd = Command.Command<any, CliContext, UsageError, any>

/**
 * Declares a command: `name`, its options (see @effect/cli's `Options`), and a handler
 * giving the exit code. What the handler logs goes to stderr: stdout is the command's output.
 */
export const command = <Name extends string, const Config extends Command.Command.Config>(
  name: Name,
  config: Config,
  handler: (args: Command.Command.ParseConfig<Config>) => Effect.Effect<number, UsageError, CliContext>
) =>
  Command.make(name, config, (args) =>
    Effect.flatMap(CliContext, (ctx) =>
      // The same type, spelt Simplify<Simplify<…>> by Command.make: TypeScript cannot see it through the generic.
      handler(args as unknown as Command.Command.ParseConfig<Config>).pipe(
        Effect.flatMap((code) => Effect.sync(() => ctx.setExitCode(code))),
        Effect.withConsole(consoleOf(ctx.io.err, ctx.io.err))
      )))

/** Help for a command: what it does, then examples, each a line to type. */
export const describe = (text: string, examples: ReadonlyArray<string>): HelpDoc.HelpDoc =>
  HelpDoc.blocks([
    ...text.split("\n\n").map((p) => HelpDoc.p(p)),
    HelpDoc.h1(examples.length === 1 ? "EXAMPLE" : "EXAMPLES"),
    ...examples.map((e) => HelpDoc.p(`  ${e}`))
  ])

/** Sets a command's help: what it does, then examples. */
export const withHelp = (text: string, examples: ReadonlyArray<string>) =>
  <Name extends string, R, E, A>(self: Command.Command<Name, R, E, A>): Command.Command<Name, R, E, A> =>
    Command.withDescription(self, describe(text, examples))

/** A flag's value refused when parsed, with one line saying why. */
export const invalid = (message: string): ValidationError.ValidationError =>
  ValidationError.invalidValue(HelpDoc.p(message))

/**
 * The placeholder of every whole number flag. @effect/cli reads their values with `Number`,
 * which takes `0x10`, `1e3` or `0b11`; `run` finds these flags in a command's usage by it
 * and refuses anything but decimal digits before @effect/cli parses.
 */
const NUMBER = "N"

/** A whole number flag with no default, checked when parsed: `--rate -5` says what is wrong with it, naming the flag. */
export const count = (name: string, options: { readonly min: number; readonly what: string }): Options.Options<number> =>
  Options.integer(name).pipe(
    Options.withPseudoName(NUMBER),
    Options.mapEffect((n) =>
      n >= options.min
        ? Effect.succeed(n)
        : Effect.fail(invalid(`--${name} must be ${options.what}, got ${n}`))
    )
  )

/** A whole number flag with a default. */
export const wholeNumber = (
  name: string,
  options: { readonly min: number; readonly what: string; readonly fallback: number }
): Options.Options<number> => count(name, options).pipe(Options.withDefault(options.fallback))

/** The flags of a usage that take a whole number (their placeholder is {@link NUMBER}). */
const numberFlagsOf = (usage: Usage.Usage): ReadonlyArray<string> =>
  flagsOf(usage, (named) => Option.getOrUndefined(named.acceptedValues) === NUMBER)

/** The first number flag of `argv` whose value is not written in decimal digits (a sign allowed), said in one line. */
const notDecimal = (argv: ReadonlyArray<string>, command: Cmd | undefined): string | undefined => {
  if (command === undefined) return undefined
  const numberFlags = numberFlagsOf(Command.getUsage(command))
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === "--") return undefined
    const eq = token.indexOf("=")
    const flag = eq < 0 ? token : token.slice(0, eq)
    if (!numberFlags.includes(flag)) continue
    const value = eq < 0 ? argv[i + 1] : token.slice(eq + 1)
    // A missing value is @effect/cli's to report.
    if (value === undefined || (eq < 0 && value.startsWith("--"))) continue
    if (!/^[+-]?[0-9]+$/.test(value)) return `${flag} must be a whole number, got ${JSON.stringify(value)}`
  }
  return undefined
}

/**
 * A flag naming a file. Plain text, not @effect/cli's `Options.file`: that one refuses
 * what is not a regular file, and a FIFO, `-`, `/dev/stdin` or `<(…)` are inputs here.
 */
export const file = (name: string): Options.Options<string> => text(name, "FILE")

/** A text flag with a placeholder name. */
export const text = (name: string, placeholder: string): Options.Options<string> =>
  Options.text(name).pipe(Options.withPseudoName(placeholder))

/** The Effect console over a sink: what @effect/cli prints (help, version, completions), without colours off a terminal. */
const consoleOf = (out: Output.Sink, err: Output.Sink | undefined, edit: (text: string) => string = (t) => t) => {
  const sink = (s: Output.Sink | undefined) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        const text = edit(chunk.toString())
        s?.write(s.isTTY && process.env["NO_COLOR"] === undefined ? text : Output.stripAnsi(text))
        callback()
      }
    })
  const c = new NodeConsole({ stdout: sink(out), stderr: sink(err) })
  const console: EffectConsole.Console = {
    [EffectConsole.TypeId]: EffectConsole.TypeId,
    assert: (condition, ...args) => Effect.sync(() => c.assert(condition, ...args)),
    clear: Effect.sync(() => c.clear()),
    count: (label) => Effect.sync(() => c.count(label)),
    countReset: (label) => Effect.sync(() => c.countReset(label)),
    debug: (...args) => Effect.sync(() => c.debug(...args)),
    dir: (item, options) => Effect.sync(() => c.dir(item, options)),
    dirxml: (...args) => Effect.sync(() => c.dirxml(...args)),
    error: (...args) => Effect.sync(() => c.error(...args)),
    group: (options) => Effect.sync(() => options?.collapsed === true ? c.groupCollapsed(options.label) : c.group(options?.label)),
    groupEnd: Effect.sync(() => c.groupEnd()),
    info: (...args) => Effect.sync(() => c.info(...args)),
    log: (...args) => Effect.sync(() => c.log(...args)),
    table: (data, properties) => Effect.sync(() => c.table(data, properties as Array<string> | undefined)),
    time: (label) => Effect.sync(() => c.time(label)),
    timeEnd: (label) => Effect.sync(() => c.timeEnd(label)),
    timeLog: (label, ...args) => Effect.sync(() => c.timeLog(label, ...args)),
    trace: (...args) => Effect.sync(() => c.trace(...args)),
    warn: (...args) => Effect.sync(() => c.warn(...args)),
    unsafe: c
  }
  return console
}

/** A command's name. */
const nameOf = (cmd: Cmd): string => [...Command.getNames(cmd)][0]!

/** The command an argument list runs: its first argument that names one (root flags may come before it). */
export const commandIn = (commands: ReadonlyArray<Cmd>, argv: ReadonlyArray<string>): Cmd | undefined => {
  for (const arg of argv) {
    const found = find(commands, arg)
    if (found !== undefined) return found
  }
  return undefined
}

/** The command named `name`, if there is one. */
const find = (commands: ReadonlyArray<Cmd>, name: string | undefined): Cmd | undefined =>
  commands.find((c) => nameOf(c) === name)

/** Every flag name a command takes (or those of the options `keep` accepts), read from its usage. */
const flagsOf = (usage: Usage.Usage, keep: (named: Usage.Named) => boolean = () => true): ReadonlyArray<string> => {
  switch (usage._tag) {
    case "Named":
      return keep(usage) ? usage.names : []
    case "Optional":
    case "Repeated":
      return flagsOf(usage.usage, keep)
    case "Alternation":
    case "Concat":
      return [...flagsOf(usage.left, keep), ...flagsOf(usage.right, keep)]
    default:
      return []
  }
}

const CONFIG = CliConfig.make({ isCaseSensitive: true, showBuiltIns: true, finalCheckBuiltIn: false })

/** A help document as plain text. */
const plain = (doc: HelpDoc.HelpDoc): string => Output.stripAnsi(HelpDoc.toAnsiText(doc)).trim()

/** `usage: wechatpay-stores disassociate --product-coupon-id ID …`, and where the rest is explained. */
const usageOf = (commands: ReadonlyArray<Cmd>, name: string | undefined): string => {
  const cmd = find(commands, name)
  if (cmd === undefined) {
    const names = commands.map(nameOf).join("|")
    return `usage: ${NAME} ${names} [options]; ${NAME} --help lists the commands, ${NAME} COMMAND --help explains one\n`
  }
  const spans = Usage.enumerate(Command.getUsage(cmd), CONFIG)
  const line = spans.map((span) => plain(HelpDoc.p(span))).join(" | ")
  return `usage: ${NAME} ${line}\n       ${NAME} ${name} --help explains each option, with the defaults and an example\n`
}

/**
 * @effect/cli's messages for a command line it refused (one per problem), made into one
 * line that names the flags or argument at fault.
 */
const usageMessage = (
  error: ValidationError.ValidationError,
  argv: ReadonlyArray<string>,
  commands: ReadonlyArray<Cmd>
): string => {
  const name = argv.find((a) => !a.startsWith("-"))
  if (ValidationError.isCommandMismatch(error) && name !== undefined) return `unknown command "${name}"`
  const own = flagsOf(Command.getUsage(find(commands, name) ?? commands[0]!))
  // A flag given twice can make @effect/cli report others as missing (an id flag of a "one of two" pair does):
  // the repetition is the mistake, so it is the one named.
  const repeated = own.find((flag) => flag.startsWith("--") && argv.filter((a) => a.split("=")[0] === flag).length > 1)
  if (repeated !== undefined) return `${repeated} was given more than once`
  const required: Array<string> = []
  const problems: Array<string> = []
  for (const message of plain(error.error).split(/\n+/).map(Output.oneLine).filter((m) => m !== "")) {
    const missing = /^Expected to find option: '(.*)'$/.exec(message)
    if (missing !== null) required.push(missing[1]!)
    else problems.push(describeProblem(message, argv, name, own, commands))
  }
  // Two flags of which one is needed (--stock-id | --stock-bundle-id) are reported missing as two.
  for (const [first, second] of alternativesOf(Command.getUsage(find(commands, name) ?? commands[0]!))) {
    // One of them given (with a value that was refused): the other is not missing.
    const given = (flag: string) => argv.some((a) => a.split("=")[0] === flag)
    for (const [missing, other] of [[first, second], [second, first]] as const) {
      if (required.includes(missing) && given(other)) required.splice(required.indexOf(missing), 1)
    }
    const at = required.indexOf(first)
    if (at >= 0 && required.includes(second)) {
      required.splice(required.indexOf(second), 1)
      required[at] = `${first} (or ${second})`
    }
  }
  if (required.length > 0) {
    const list = required.length === 1 ? required[0]! : `${required.slice(0, -1).join(", ")} and ${required.at(-1)}`
    const stdin = !required.includes("--stores") ? "" : required.length === 1
      ? " (a file, or - for standard input)"
      : " (--stores: a file, or - for standard input)"
    problems.unshift(`${list} ${required.length === 1 ? "is" : "are"} required${stdin}`)
  }
  return problems.join("; ")
}

/** The pairs of flags a command takes one of (an alternation of two named flags). */
const alternativesOf = (usage: Usage.Usage): ReadonlyArray<readonly [string, string]> => {
  switch (usage._tag) {
    case "Alternation":
      return usage.left._tag === "Named" && usage.right._tag === "Named"
        ? [[usage.left.names[0]!, usage.right.names[0]!]]
        : [...alternativesOf(usage.left), ...alternativesOf(usage.right)]
    case "Concat":
      return [...alternativesOf(usage.left), ...alternativesOf(usage.right)]
    case "Optional":
    case "Repeated":
      return alternativesOf(usage.usage)
    default:
      return []
  }
}

/** Edit distance between two short strings (for "did you mean"). */
const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length]!
}

/** One problem @effect/cli reported, said as this CLI says it. */
const describeProblem = (
  message: string,
  argv: ReadonlyArray<string>,
  name: string | undefined,
  own: ReadonlyArray<string>,
  commands: ReadonlyArray<Cmd>
): string => {
  const unknown = /^Received unknown argument: '(.*)'$/.exec(message)
  if (unknown !== null) {
    const token = unknown[1]!
    if (!token.startsWith("-")) return `unexpected argument "${token}"`
    const flag = token.split("=")[0]!
    if (own.includes(flag)) {
      return argv.filter((a) => a.split("=")[0] === flag).length > 1 ? `${flag} was given more than once` : `${flag} needs a value`
    }
    const elsewhere = commands.find((c) => flagsOf(Command.getUsage(c)).includes(flag))
    if (elsewhere !== undefined && name !== undefined) return `${flag} does not apply to ${name}`
    const near = own.filter((f) => f.startsWith("--") && distance(f, flag) <= 2)
    return `unknown option '${flag}'${near.length === 1 ? `; did you mean ${near[0]}?` : ""}`
  }
  // A required flag mistyped is refused by @effect/cli itself, in its own words: said as for every other unknown option.
  const corrected = /^The flag '(.*)' is not recognized\. Did you mean '(.*)'\?$/.exec(message)
  if (corrected !== null) return `unknown option '${corrected[1]}'; did you mean ${corrected[2]}?`
  const collision = /^Collision between two options detected - you can only specify one of either: \['(.*)', '(.*)'\]$/.exec(message)
  if (collision !== null) return `${collision[1]} and ${collision[2]} cannot both be given; pass one of them`
  const missingArgument = /^Missing argument <(.*)>$/.exec(message)
  if (missingArgument !== null) return `${missingArgument[1]} is required${name === undefined ? "" : ` (see ${NAME} ${name} --help)`}`
  const missingValue = /^Expected a value following option: '(.*)'$/.exec(message)
  if (missingValue !== null) return `${missingValue[1]} needs a value`
  const notNumber = /^'(.*)' is not a (integer|number)$/.exec(message)
  if (notNumber !== null) {
    const at = argv.findIndex((a, i) => a.endsWith(`=${notNumber[1]}`) || (a === notNumber[1] && argv[i - 1]?.startsWith("--") === true))
    const flag = at < 0 ? "a number flag" : argv[at]!.includes("=") ? argv[at]!.split("=")[0]! : argv[at - 1]!
    return `${flag} must be a whole number, got "${notNumber[1]}"`
  }
  return message
}

/** `--completions bash|zsh|fish|sh`: the script @effect/cli generates, with its bash script fixed for a name with a dash. */
const completions = (root: Command.Command<any, any, any, any>, shell: string): Effect.Effect<string | undefined> => {
  switch (shell) {
    case "bash":
    case "sh":
      // The generated bash script names the program's state "wechatpay__stores" in one place and
      // "wechatpay-stores" in another, so subcommands' flags would never complete.
      return Effect.map(Command.getBashCompletions(root, NAME), (lines) =>
        lines.join("\n").replaceAll(`cmd="${NAME}"`, `cmd="${NAME.replaceAll("-", "__")}"`).replace(
          new RegExp(`^(\\s+)${NAME}\\)$`, "m"),
          `$1${NAME.replaceAll("-", "__")})`
        ))
    case "zsh":
      return Effect.map(Command.getZshCompletions(root, NAME), (lines) => lines.join("\n"))
    case "fish":
      return Effect.map(Command.getFishCompletions(root, NAME), (lines) => lines.join("\n"))
    default:
      return Effect.succeed(undefined)
  }
}

/** Runs one command line; gives the exit code. */
export const run = (
  argv: ReadonlyArray<string>,
  io: Io.Io,
  commands: readonly [Cmd, ...Array<Cmd>],
  http: Layer.Layer<HttpClient.HttpClient>,
  summary: string
): Effect.Effect<number> =>
  Effect.gen(function*() {
    const root = Command.make(NAME, {}, () => Effect.fail(new UsageError({ message: "a command is required" }))).pipe(
      Command.withDescription(summary),
      Command.withSubcommands(commands)
    )
    const shellAt = argv.findIndex((a) => a === "--completions" || a.startsWith("--completions="))
    if (shellAt >= 0) {
      const shell = argv[shellAt]!.includes("=") ? argv[shellAt]!.split("=")[1]! : argv[shellAt + 1] ?? ""
      const script = yield* completions(root, shell)
      if (script === undefined) {
        return Io.fail(io, `--completions takes bash, zsh, fish or sh, got "${shell}"; e.g. source <(${NAME} --completions bash)`)
      }
      io.out.write(script + "\n")
      return 0
    }
    const named = argv.find((a) => !a.startsWith("-"))
    const notNumber = notDecimal(argv, find(commands, named))
    if (notNumber !== undefined) {
      io.err.write(`${NAME}: ${notNumber}\n${usageOf(commands, named)}`)
      return Io.CANNOT_RUN
    }
    let code = 0
    const cli = Command.run(root, { name: NAME, version: WechatPayClient.VERSION, executable: NAME })
    // The help's usage lines name the program, not only the command.
    const names = new Set(commands.map(nameOf))
    const helpEdit = (text: string) =>
      text.replace(/^\$ ([\w-]+)/gm, (line, first: string) => names.has(first) ? `$ ${NAME} ${first}` : line).replace(/[ \t]+$/gm, "")
    const result = yield* cli(["node", NAME, ...argv]).pipe(
      Effect.provideService(CliContext, { io, http, setExitCode: (n) => void (code = n) }),
      Effect.provide(NodeContext.layer),
      Effect.provideService(CliConfig.CliConfig, CONFIG),
      // @effect/cli prints its own error first; this one replaces it (below).
      Effect.withConsole(consoleOf(io.out, undefined, helpEdit)),
      Effect.either
    )
    if (Either.isRight(result)) return code
    const error = result.left
    const message = error instanceof UsageError ? error.message : usageMessage(error, argv, commands)
    io.err.write(`${NAME}: ${message}\n${usageOf(commands, named)}`)
    return Io.CANNOT_RUN
  })
