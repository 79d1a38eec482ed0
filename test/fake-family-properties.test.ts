// Properties of the fake's listing and store calls. The big sizes (thousands of stores, page size
// 1) run on the rules alone, what both sandbox forms run after authentication; a smaller run of the
// same properties goes through the in-memory form with every request signed and every answer verified.
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { FakeWechatPay } from "../packages/effect-wechatpay/src/testing/index.js"
import * as State from "../packages/effect-wechatpay/src/testing/fake/State.js"
import {
  associate,
  bundleAssociate,
  bundleDisassociate,
  disassociate,
  F,
  type Form,
  idsOf,
  listPage,
  memory,
  rulesOnly,
  s,
  walk
} from "./support/Family.js"
import { keys } from "./support/Keys.js"

/** Stores of the brand that no stock starts with: room for additions. */
const SPARE = 300

const countArb = FastCheck.oneof(
  { weight: 3, arbitrary: FastCheck.constantFrom(0, 1, 199, 200, 201, 1_000, 5_000, 10_000) },
  { weight: 2, arbitrary: FastCheck.integer({ min: 0, max: 3_000 }) }
)
const pageSizeArb = FastCheck.oneof(
  { weight: 1, arbitrary: FastCheck.constantFrom(1, 2, 199, 200) },
  { weight: 2, arbitrary: FastCheck.integer({ min: 1, max: 200 }) }
)

/**
 * A store a change names: anywhere among the brand's stores (an index, reduced modulo their
 * number), or next to the walk's cursor (an offset from the last store returned, the cursor itself
 * at 0), where a cursor that is not stable goes wrong.
 */
type Pick = { readonly near: false; readonly index: number } | { readonly near: true; readonly offset: number }
/** A change another caller makes between two pages: which page it follows, and the stores it names. */
interface Mod {
  readonly afterPage: number
  readonly kind: "associate" | "disassociate"
  readonly picks: ReadonlyArray<Pick>
}
const pickArb: FastCheck.Arbitrary<Pick> = FastCheck.oneof(
  FastCheck.nat().map((index): Pick => ({ near: false, index })),
  FastCheck.integer({ min: -3, max: 3 }).map((offset): Pick => ({ near: true, offset }))
)
const modsArb = (maxPage: number) =>
  FastCheck.array(
    FastCheck.record({
      afterPage: FastCheck.integer({ min: 0, max: maxPage }),
      kind: FastCheck.constantFrom<Mod["kind"]>("associate", "disassociate"),
      picks: FastCheck.array(pickArb, { minLength: 1, maxLength: 200 })
    }),
    { maxLength: 20 }
  )

/** The generated index of a main-brand store id (`storeId(i)` → `i`). */
const indexOf = (id: string) => Number(id) - Number(s(0))

const seedWith = (n: number) => FakeWechatPay.generate({ stores: n + SPARE, associated: n })

const sorted = (ids: Iterable<string>) => [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/**
 * A full walk of F.stockId with `mods` applied between pages (through the same form), checked
 * against the guarantee: strictly increasing ids (so none twice), every store associated at the
 * start and never disassociated during the walk returned, nothing returned that was never associated.
 */
const walkUnderChanges = (
  form: Form,
  isAssociated: (id: string) => boolean,
  n: number,
  pageSize: number,
  mods: ReadonlyArray<Mod>
) =>
  Effect.gen(function*() {
    const universe = n + SPARE
    const initial = new Set<string>()
    for (let i = 0; i < n; i++) initial.add(s(i))
    const removedDuring = new Set<string>()
    const addedDuring = new Set<string>()
    const between = (page: number, seen: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        for (const mod of mods) {
          if (mod.afterPage !== page) continue
          const cursor = seen.length === 0 ? 0 : indexOf(seen[seen.length - 1]!)
          const ids = mod.picks
            .map((p) => (p.near ? cursor + p.offset : p.index % universe))
            .filter((i) => i >= 0 && i < universe)
            .map((i) => s(i))
          if (ids.length === 0) continue
          for (const id of ids) {
            const before = isAssociated(id)
            if (mod.kind === "disassociate" && before) removedDuring.add(id)
            if (mod.kind === "associate" && !before) addedDuring.add(id)
          }
          const answer = mod.kind === "associate"
            ? yield* associate(form, F.stockId, ids)
            : yield* disassociate(form, F.stockId, ids)
          assert.strictEqual(answer.status, 200, answer.text)
        }
      })
    const seen = yield* walk(form, F.stockId, pageSize, between)
    for (let i = 1; i < seen.length; i++) assert.isTrue(seen[i - 1]! < seen[i]!, `sorted and never twice at ${i}`)
    const returned = new Set(seen)
    for (const id of initial) {
      if (!removedDuring.has(id)) assert.isTrue(returned.has(id), `${id} was associated throughout but not returned`)
    }
    for (const id of seen) assert.isTrue(initial.has(id) || addedDuring.has(id), `${id} was never associated`)
    return { seen, changed: removedDuring.size + addedDuring.size }
  })

describe("the listing's cursor (rules alone, up to 10,000 stores)", () => {
  it.effect.prop(
    "an undisturbed walk returns exactly the associated set, in full pages of page_size but the last",
    [countArb, pageSizeArb],
    ([n, pageSize]) =>
      Effect.gen(function*() {
        const { form } = rulesOnly(seedWith(n))
        const sizes: Array<number> = []
        const totals = new Set<unknown>()
        let token: string | undefined
        const seen: Array<string> = []
        for (;;) {
          const page = yield* listPage(form, F.stockId, { pageSize, pageToken: token })
          assert.strictEqual(page.status, 200)
          totals.add(page.json?.["total_count"])
          sizes.push(idsOf(page).length)
          seen.push(...idsOf(page))
          const next = page.json?.["next_page_token"]
          if (next === undefined) break
          token = String(next)
        }
        assert.deepStrictEqual(seen, sorted(Array.from({ length: n }, (_, i) => s(i))))
        assert.deepStrictEqual([...totals], [n])
        assert.strictEqual(sizes.length, Math.max(1, Math.ceil(n / pageSize)))
        sizes.slice(0, -1).forEach((size) => assert.strictEqual(size, pageSize))
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it.effect.prop(
    "with associations and disassociations between pages: stores there throughout appear exactly once, none twice",
    [countArb, pageSizeArb, modsArb(60)],
    ([n, pageSize, mods]) =>
      Effect.gen(function*() {
        const { form, state } = rulesOnly(seedWith(n))
        yield* walkUnderChanges(form, (id) => State.isAssociated(state, F.stockId, id), n, pageSize, mods)
      }),
    { fastCheck: { numRuns: 80 } }
  )

  it.effect("the property is not vacuous: changes on both sides of the cursor, and of the cursor's own store", () =>
    Effect.gen(function*() {
      const { form, state } = rulesOnly(seedWith(400))
      const at = (index: number): Pick => ({ near: false, index })
      // After page 0 (stores 0..99): take out 50 (behind the cursor), 99 (the cursor's own store) and
      // 350 (ahead), put 98 back in after taking it out, and add 420 (ahead) and 399 + 300 (last spare).
      const mods: ReadonlyArray<Mod> = [
        { afterPage: 0, kind: "disassociate", picks: [at(50), { near: true, offset: 0 }, at(350), at(98)] },
        { afterPage: 0, kind: "associate", picks: [at(420), at(98), at(699)] }
      ]
      const { changed, seen } = yield* walkUnderChanges(form, (id) => State.isAssociated(state, F.stockId, id), 400, 100, mods)
      assert.strictEqual(changed, 7)
      assert.isTrue(seen.includes(s(50)), "returned before it was removed")
      assert.isTrue(seen.includes(s(99)), "the cursor's store, returned before it was removed")
      assert.isFalse(seen.includes(s(350)), "removed before its page")
      assert.isTrue(seen.includes(s(420)), "added ahead of the cursor")
      assert.isTrue(seen.includes(s(699)), "added at the very end")
      assert.strictEqual(seen.filter((id) => id === s(98)).length, 1, "removed and put back behind the cursor: once")
      assert.strictEqual(seen.length, 400 - 1 + 2)
    }))
})

/** Distinct brand stores not associated at the start, plus foreign ids that must fail per store. */
const batchArb = (n: number) =>
  FastCheck.tuple(
    FastCheck.array(FastCheck.integer({ min: n, max: n + SPARE - 1 }), { minLength: 1, maxLength: 190 }),
    FastCheck.array(FastCheck.constantFrom(FakeWechatPay.otherBrandStoreId(0), "999999999"), { maxLength: 10 })
  )

const restores = (form: Form, listing: () => ReadonlyArray<string>, n: number, brandPicks: ReadonlyArray<number>, foreign: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const before = listing()
    const own = brandPicks.map((i) => s(i))
    const batch = [...own, ...foreign]
    const distinctOwn = new Set(own)
    const there = yield* associate(form, F.stockId, batch)
    assert.strictEqual(there.status, 200)
    const thereOk = ((there.json?.["success_store_list"] ?? []) as Array<{ store_id: string }>).map((e) => e.store_id)
    const thereFailed = ((there.json?.["failed_store_list"] ?? []) as Array<{ store_id: string }>).map((e) => e.store_id)
    assert.deepStrictEqual(new Set(thereOk), distinctOwn)
    assert.deepStrictEqual(new Set(thereFailed), new Set(foreign))
    assert.strictEqual(listing().length, n + distinctOwn.size)
    const back = yield* disassociate(form, F.stockId, batch)
    assert.strictEqual(back.status, 200)
    assert.deepStrictEqual(listing(), before)
    // And the other way round: the stores that were there, taken out and put back.
    const present = before.slice(0, Math.min(before.length, 150))
    if (present.length > 0) {
      assert.strictEqual((yield* disassociate(form, F.stockId, present)).status, 200)
      assert.strictEqual(listing().length, n - present.length)
      assert.strictEqual((yield* associate(form, F.stockId, present)).status, 200)
      assert.deepStrictEqual(listing(), before)
    }
  })

describe("associate then disassociate restores the original set (rules alone)", () => {
  it.effect.prop(
    "for a stock",
    [FastCheck.integer({ min: 0, max: 2_000 }).chain((n) => FastCheck.tuple(FastCheck.constant(n), batchArb(n)))],
    ([[n, [picks, foreign]]]) =>
      Effect.gen(function*() {
        const { form, state } = rulesOnly(seedWith(n))
        yield* restores(form, () => State.associatedStores(state, F.stockId), n, picks, foreign)
      }),
    { fastCheck: { numRuns: 60 } }
  )

  it.effect.prop(
    "for a stock bundle: both stocks",
    [FastCheck.array(FastCheck.integer({ min: 0, max: 499 }), { minLength: 1, maxLength: 200 })],
    ([picks]) =>
      Effect.gen(function*() {
        const { form, state } = rulesOnly(FakeWechatPay.generate({ stores: 500 }))
        const both = () => [State.associatedStores(state, F.bundleStockId), State.associatedStores(state, F.bundleSecondStockId)]
        const before = both()
        const ids = picks.map((i) => s(i))
        assert.strictEqual((yield* bundleAssociate(form, ids)).status, 200)
        for (const stock of both()) for (const id of ids) assert.include(stock, id)
        assert.strictEqual((yield* bundleDisassociate(form, ids)).status, 200)
        const after = both()
        // The first 10 stores were associated at the start: those among `ids` are now out of both stocks.
        const expected = before[0]!.filter((id) => !ids.includes(id))
        assert.deepStrictEqual(after, [expected, expected])
        // Putting the disassociated first ten back restores the start exactly.
        const taken = before[0]!.filter((id) => ids.includes(id))
        if (taken.length > 0) assert.strictEqual((yield* bundleAssociate(form, taken)).status, 200)
        assert.deepStrictEqual(both(), before)
      }),
    { fastCheck: { numRuns: 40 } }
  )
})

describe("the same properties through the in-memory form (signed requests, verified answers)", () => {
  it.effect.prop(
    "walks under changes between pages, and associate-then-disassociate, for 0, 1, 199, 200 and 201 stores",
    [FastCheck.constantFrom(0, 1, 199, 200, 201), pageSizeArb, modsArb(12)],
    ([n, pageSize, mods]) =>
      Effect.gen(function*() {
        const fake = FakeWechatPay.makeWith(keys, { seed: seedWith(n), rateLimit: false })
        const form = memory(fake)
        yield* walkUnderChanges(form, (id) => fake.isAssociated(F.stockId, id), n, Math.max(pageSize, 20), mods)
        const now = fake.associatedStores(F.stockId)
        assert.deepStrictEqual(yield* walk(form, F.stockId, pageSize), now, "an undisturbed walk: exactly the set")
        const fresh = [s(n + 1), s(n + 2), s(n + 2)]
        yield* associate(form, F.stockId, fresh)
        yield* disassociate(form, F.stockId, fresh.filter((id) => !now.includes(id)))
        assert.deepStrictEqual(fake.associatedStores(F.stockId), now)
        assert.isTrue(fake.log.every((e) => e.status === 200))
      }),
    { fastCheck: { numRuns: 12 } }
  )
})
