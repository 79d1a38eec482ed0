/**
 * The sandbox as a real HTTP server on loopback (node:http): a primary and a
 * backup listener over one `FakeWechatPay`, started and stopped as a scoped
 * resource. For end-to-end tests, the CLI's embedded default and benchmarks:
 * keep-alive works, each answer is signed once, and the rules are O(1) per store.
 *
 * The signature is checked over the request line's target byte for byte
 * (`req.url`: path, `?` and query string exactly as the client sent them, no
 * URL parsing or re-encoding on the way).
 *
 * On the wire: a connection reset destroys the socket with a TCP RST and no
 * answer; a down primary refuses connections (`setPrimaryDown` closes the
 * listener) or, when only the fake's flag is set, resets every request that
 * arrives on it; a truncated body announces its full length and drops the
 * connection half-way; a slow answer is sent `slowMillis` later.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Schema, type Scope } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"
import { FakeWechatPay, type Endpoint, type Service as Fake } from "./FakeWechatPay.js"

/** The sandbox could not listen, or could not write its settings. */
export class SandboxError extends Schema.TaggedError<SandboxError>("effect-wechatpay/testing/SandboxError")(
  "SandboxError",
  { operation: Schema.String, reason: Schema.String }
) {
  override get message(): string {
    return `sandbox: ${this.operation}: ${this.reason}`
  }
}

export interface Options {
  /** Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** 0 (the default) picks a free port. */
  readonly primaryPort?: number | undefined
  /** 0 (the default) picks a free port. */
  readonly backupPort?: number | undefined
  /** The server's clock in milliseconds; default `Date.now`. */
  readonly now?: (() => number) | undefined
  /** Larger request bodies get the connection dropped; default 1 MiB. */
  readonly maxBodyBytes?: number | undefined
}

/** @since 0.1.0 */
export interface Service {
  readonly fake: Fake
  /** `http://127.0.0.1:<port>` (an IPv6 host in brackets), no trailing slash. */
  readonly baseUrl: string
  readonly backupBaseUrl: string
  readonly primaryPort: number
  readonly backupPort: number
  /** `true` closes the primary listener (connections are refused); `false` listens again on the same port. */
  readonly setPrimaryDown: (down: boolean) => Effect.Effect<void, SandboxError>
}

/** @since 0.1.0 */
export class SandboxServer extends Context.Tag("effect-wechatpay/testing/SandboxServer")<SandboxServer, Service>() {}

const flattenHeaders = (raw: Http.IncomingHttpHeaders): Record<string, string | undefined> => {
  const out: Record<string, string | undefined> = {}
  for (const name in raw) {
    const v = raw[name]
    out[name] = Array.isArray(v) ? v.join(", ") : v
  }
  return out
}

const reset = (socket: Net.Socket) => {
  // An RST, as a crashed peer or a middlebox would send, rather than a polite FIN.
  if (!socket.destroyed) socket.resetAndDestroy()
}

interface Listener {
  readonly server: Http.Server
  readonly port: number
}

const errorReason = (cause: unknown) =>
  cause instanceof Error ? ("code" in cause ? `${String(cause.code)}: ${cause.message}` : cause.message) : "failed"

const listen = (server: Http.Server, host: string, port: number, operation: string) =>
  Effect.async<number, SandboxError>((resume) => {
    const onError = (cause: unknown) => {
      server.off("listening", onListening)
      resume(Effect.fail(new SandboxError({ operation, reason: errorReason(cause) })))
    }
    const onListening = () => {
      server.off("error", onError)
      const address = server.address()
      resume(
        address !== null && typeof address === "object"
          ? Effect.succeed(address.port)
          : Effect.fail(new SandboxError({ operation, reason: "no TCP address" }))
      )
    }
    server.once("error", onError)
    server.once("listening", onListening)
    server.listen(port, host)
  })

const close = (server: Http.Server) =>
  Effect.async<void>((resume) => {
    if (!server.listening) {
      server.closeAllConnections()
      return resume(Effect.void)
    }
    server.close(() => resume(Effect.void))
    server.closeAllConnections()
  })

const isPort = (port: unknown): boolean => typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535

/** The first option that cannot work, as the error `make` fails with (node:http would throw on a bad port). */
const checkOptions = (options: Options): SandboxError | undefined => {
  const refuse = (reason: string) => new SandboxError({ operation: "check options", reason })
  if (typeof options !== "object" || options === null) return refuse("options must be an object")
  if (options.host !== undefined && (typeof options.host !== "string" || options.host === "")) {
    // "" would make node listen on every interface, and the base URL would have no host.
    return refuse("host must be a non-empty string")
  }
  for (const name of ["primaryPort", "backupPort"] as const) {
    if (options[name] !== undefined && !isPort(options[name])) return refuse(`${name} must be an integer from 0 to 65535`)
  }
  const max = options.maxBodyBytes
  if (max !== undefined && !(typeof max === "number" && Number.isSafeInteger(max) && max > 0)) {
    return refuse("maxBodyBytes must be a positive integer")
  }
  if (options.now !== undefined && typeof options.now !== "function") return refuse("now must be a function")
  return undefined
}

/** Starts both listeners over `fake`; they close, with every socket, when the scope closes. */
export const make = (fake: Fake, options: Options = {}): Effect.Effect<Service, SandboxError, Scope.Scope> =>
  Effect.gen(function*() {
    const refused = checkOptions(options)
    if (refused !== undefined) return yield* refused
    const host = options.host ?? "127.0.0.1"
    const now = options.now ?? Date.now
    const maxBody = options.maxBodyBytes ?? 1024 * 1024
    const timers = new Set<ReturnType<typeof setTimeout>>()

    const handler = (endpoint: Endpoint) => (req: Http.IncomingMessage, res: Http.ServerResponse) => {
      if (endpoint === "primary" && fake.isPrimaryDown()) return reset(req.socket)
      const chunks: Array<Buffer> = []
      let size = 0
      req.on("data", (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBody) return reset(req.socket)
        chunks.push(chunk)
      })
      req.on("end", () => {
        if (size > maxBody) return
        const bytes = Buffer.concat(chunks, size)
        const outcome = fake.handle({
          endpoint,
          method: req.method ?? "GET",
          target: req.url ?? "/",
          headers: flattenHeaders(req.headers),
          bodyText: bytes.toString("utf8"),
          bodyBytes: bytes
        }, now())
        const act = () => {
          if (outcome._tag === "Reset") return reset(req.socket)
          const { body, truncateAt } = outcome
          res.writeHead(outcome.status, { ...outcome.headers, "content-length": String(body.length) })
          if (truncateAt === undefined) return void res.end(body)
          res.write(body.subarray(0, truncateAt), () => reset(req.socket))
        }
        if (outcome.delayMillis <= 0) return act()
        const timer = setTimeout(() => {
          timers.delete(timer)
          act()
        }, outcome.delayMillis)
        timers.add(timer)
        res.on("close", () => {
          clearTimeout(timer)
          timers.delete(timer)
        })
      })
    }

    const start = (endpoint: Endpoint, port: number) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const server = Http.createServer({ keepAlive: true }, handler(endpoint))
          return Effect.map(listen(server, host, port, `listen ${endpoint} on ${host}:${port}`), (bound): Listener => ({
            server,
            port: bound
          }))
        }),
        ({ server }) =>
          Effect.suspend(() => {
            for (const t of timers) clearTimeout(t)
            timers.clear()
            return close(server)
          })
      )

    const primary = yield* start("primary", options.primaryPort ?? 0)
    const backup = yield* start("backup", options.backupPort ?? 0)

    const setPrimaryDown = (down: boolean) =>
      Effect.gen(function*() {
        if (down) {
          // The flag first: requests already on an open connection are reset, not served.
          yield* fake.setPrimaryDown(true)
          if (primary.server.listening) yield* close(primary.server)
          return
        }
        // The flag last: if the port cannot be had again, the primary stays down for the fake too.
        if (!primary.server.listening) {
          yield* listen(primary.server, host, primary.port, `listen primary again on ${host}:${primary.port}`)
        }
        yield* fake.setPrimaryDown(false)
      })

    // An IPv6 address goes in brackets in a URL (RFC 3986), or the URL does not parse.
    const urlHost = Net.isIPv6(host) ? `[${host}]` : host
    return SandboxServer.of({
      fake,
      baseUrl: `http://${urlHost}:${primary.port}`,
      backupBaseUrl: `http://${urlHost}:${backup.port}`,
      primaryPort: primary.port,
      backupPort: backup.port,
      setPrimaryDown
    })
  })

/** The server over the `FakeWechatPay` in context. */
export const layer = (options: Options = {}): Layer.Layer<SandboxServer, SandboxError, FakeWechatPay> =>
  Layer.scoped(SandboxServer, Effect.flatMap(FakeWechatPay, (fake) => make(fake, options)))
