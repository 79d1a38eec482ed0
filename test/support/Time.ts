// The one fixed "now" of the tests. Tests that sign or verify start the TestClock here, and
// every other time they use is relative to it.
import { TestClock } from "effect"

/** Seconds since the epoch. */
export const NOW = 1_760_000_000

/** Sets the TestClock to {@link NOW} (or `NOW + offsetSeconds`). */
export const setNow = (offsetSeconds = 0) => TestClock.setTime((NOW + offsetSeconds) * 1000)
