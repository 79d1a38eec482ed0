/**
 * How far an attempt got, for what its timeout means: past the answer's status line and headers, a
 * timeout is a slow body from a host that answered, not a host that cannot be reached (no failover).
 * Kept per request object: the core hands the client a fresh request for every attempt.
 */
const answered = new WeakSet<object>()

/** The answer to `request` has its status line and headers. */
export const markAnswered = (request: object): void => {
  answered.add(request)
}

/** Whether the answer to `request` got as far as its headers. */
export const isAnswered = (request: object): boolean => answered.has(request)
