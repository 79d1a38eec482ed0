/**
 * A journal's records as tests read them: a call or an outcome written by position (`from`, `count`
 * into its part's `ids`) gets the lists it stands for, so assertions name stores whatever the form.
 */
import { createHash } from "node:crypto"

/**
 * A header's line sealed as a job seals it (version 3: SHA-256 of the line without `check`, then the
 * check appended): for a test that changes a header on purpose and wants the journal's other checks to see it.
 */
export const sealHeader = (header: Record<string, unknown>): string => {
  const { check: _check, ...rest } = header
  const text = JSON.stringify(rest)
  const check = `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`
  return `${text.slice(0, -1)},"check":${JSON.stringify(check)}}`
}

/** Every record of a journal with the stores it names spelled out. */
export const expand = <T extends Record<string, any>>(recs: ReadonlyArray<T>): Array<T> => {
  const ids = new Map<number, Array<string>>()
  return recs.map((r): T => {
    if (r.t === "ids") {
      const part = ids.get(r.part) ?? []
      for (const id of r.ids) part.push(id)
      ids.set(r.part, part)
      return r
    }
    if ((r.t !== "call" && r.t !== "outcome") || typeof r.from !== "number") return r
    // The same record as a version 1 journal writes it: written back, it reads the same.
    const { count, from, ...rest } = r
    const stores = (ids.get(r.part) ?? []).slice(from, from + count)
    if (stores.length !== count) throw new Error(`a ${r.t} names ids ${from}+${count} the journal does not hold`)
    if (r.t === "call") return { ...rest, stores } as unknown as T
    return (r.sent === true
      ? { ...rest, succeeded: stores, failed: [], unresolved: [] }
      : { ...rest, succeeded: [], failed: [], unresolved: stores.map((storeId) => ({ storeId, reason: "not sent" })) }) as unknown as T
  })
}

/** The stores an outcome record names, in any of its three lists: those a crash did not lose. */
export const withOutcome = (recs: ReadonlyArray<Record<string, any>>): Set<string> =>
  new Set(recs.filter((r) => r.t === "outcome").flatMap((r) => [
    ...(r.succeeded as ReadonlyArray<string>),
    ...(r.failed as ReadonlyArray<{ storeId: string }>).map((f) => f.storeId),
    ...(r.unresolved as ReadonlyArray<{ storeId: string }>).map((u) => u.storeId)
  ]))

/** A journal's text (complete lines only) as expanded records. */
export const parse = (text: string): Array<Record<string, any>> =>
  expand(text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as Record<string, any>))
