/**
 * Primary/backup domain (主备域名). After a network-level failure on the primary
 * (no HTTP response: refused, reset, DNS, timeout) the next attempts go to the
 * backup for a window, then the primary is tried again — the shape of the
 * official APIv2 SDK's `WXPayDomainSimpleImpl` (back to primary after 3 minutes).
 * An HTTP response, whatever its status, proves the domain reachable and never
 * triggers failover. State lives in a `Ref`; time comes from effect's `Clock`.
 *
 * @since 0.1.0
 */
import { Clock, Duration, Effect, Ref } from "effect"
import type { HasBehaviour } from "../WechatPayError.js"

/** How long the backup stays in use after a failover. */
export const DEFAULT_WINDOW = Duration.minutes(3)

/**
 * Does this failure mean the domain itself is unreachable? The error says so
 * (`behaviour.triggersFailover`): transport failures before any response, and
 * timeouts (this endpoint's answers are tiny, so a timeout almost always means
 * nothing came back).
 */
export const triggersFailover = (error: HasBehaviour): boolean => error.behaviour.triggersFailover

export interface Options {
  readonly primary: string
  readonly backup: string
  /** Default {@link DEFAULT_WINDOW}. */
  readonly window?: Duration.DurationInput | undefined
}

/** @since 0.1.0 */
export interface DomainFailover {
  /** The base URL the next attempt should use. */
  readonly current: Effect.Effect<string>
  /** Reports a network-level failure of an attempt that went to `baseUrl`. */
  readonly reportFailure: (baseUrl: string) => Effect.Effect<void>
}

/** Which domain is in use; the backup only until a deadline. */
export type State =
  | { readonly _tag: "Primary" }
  | { readonly _tag: "Backup"; readonly untilMillis: number }

const PRIMARY: State = { _tag: "Primary" }

/** Pure: which domain is in use at `now`. */
export const select = (state: State, now: number): "primary" | "backup" =>
  state._tag === "Backup" && now < state.untilMillis ? "backup" : "primary"

/**
 * Pure: the state after a failure on `failed`. A failing primary switches to the
 * backup for `windowMillis`; a failing backup goes straight back to the primary
 * (both may be down, and the primary is the nearer one).
 */
export const onFailure = (state: State, failed: "primary" | "backup", now: number, windowMillis: number): State =>
  failed === "primary"
    ? { _tag: "Backup", untilMillis: now + windowMillis }
    : select(state, now) === "backup"
    ? PRIMARY
    : state

/** A failover whose state is shared by everyone holding it. */
export const make = (options: Options): Effect.Effect<DomainFailover> =>
  Effect.gen(function*() {
    const windowMillis = Duration.toMillis(Duration.decode(options.window ?? DEFAULT_WINDOW))
    const ref = yield* Ref.make<State>(PRIMARY)
    const current = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(Ref.get(ref), (state) => select(state, now) === "backup" ? options.backup : options.primary))
    const reportFailure = (baseUrl: string) =>
      options.primary === options.backup
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.update(ref, (state) =>
            baseUrl === options.primary
              ? onFailure(state, "primary", now, windowMillis)
              : baseUrl === options.backup
              ? onFailure(state, "backup", now, windowMillis)
              : state))
    return { current, reportFailure }
  })

/** No failover: always the primary. */
export const disabled = (primary: string): DomainFailover => ({ current: Effect.succeed(primary), reportFailure: () => Effect.void })
