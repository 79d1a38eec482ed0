/**
 * A tiny seeded pseudo-random generator (mulberry32) for the sandbox's fault
 * injection: the same seed always gives the same sequence, on every platform,
 * which `Math.random` and effect's `Random` (seeded per fiber) do not promise
 * across runs of differently-scheduled code.
 *
 * @since 0.1.0
 */

/** A stateful stream of numbers in [0, 1). */
export interface Prng {
  /** The next number in [0, 1). */
  readonly next: () => number
  /** The next integer in [0, n). */
  readonly nextInt: (n: number) => number
}

/** mulberry32: 32 bits of state, period 2^32, good enough to pick faults. */
export const make = (seed: number): Prng => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, nextInt: (n) => Math.floor(next() * n) }
}
