// The one fixed "now" of the tests, in seconds since the epoch. Tests that sign or verify start
// the TestClock here (`TestClock.setTime(NOW * 1000)`), and every other time they use is relative to it.
export const NOW = 1_760_000_000
