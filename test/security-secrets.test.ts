// Secrets under a whole faulty run: a bulk job and single calls over the in-memory sandbox with
// every fault kind (forged, probed, stale and wrong signatures, resets, truncation, gateway pages),
// with every log line (all levels), every span (names, attributes, events, exits), the report and
// every error captured. None may contain private-key material, a request or response signature
// (or a 40-character piece of one), or an Authorization header. core-secrets.test.ts checks single
// execute calls; this checks the service, the bulk job and its report.
import { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Logger, LogLevel, Option, Redacted } from "effect"
import { BulkDisassociation, ProductCouponStores } from "../packages/effect-wechatpay/src/index.js"
import { FakeWechatPay, SandboxHttpClient, TestKeys } from "../packages/effect-wechatpay/src/testing/index.js"
import { keys } from "./support/Keys.js"
import * as RecordingTracer from "./support/RecordingTracer.js"

const F = FakeWechatPay.Fixture

/** Private-key material: every 24-character piece of the PEM body, at every offset modulo 8. */
const keyPieces = (() => {
  const body = Redacted.value(keys.merchantPrivateKeyPem).replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")
  const out: Array<string> = []
  for (let i = 0; i + 24 <= body.length; i += 8) out.push(body.slice(i, i + 24))
  return out
})()

interface Captured {
  readonly signatures: Array<string>
  readonly authorizations: Array<string>
  readonly texts: Array<string>
  readonly spans: Array<RecordingTracer.RecordingSpan>
}

/** The service over the sandbox, with the HTTP layer noting every signature that crossed it. */
const setup = (faults: FakeWechatPay.FaultOptions, captured: Captured, retry = true) => {
  const fake = FakeWechatPay.makeWith(keys, {
    seed: FakeWechatPay.generate({ stores: 2_000, otherBrandStores: 20 }),
    rateLimit: false,
    faults
  })
  const sandbox = SandboxHttpClient.make(fake)
  const http = HttpClient.make((request) => {
    const auth = request.headers["authorization"]
    if (auth !== undefined) {
      captured.authorizations.push(auth)
      const sig = /signature="([^"]+)"/.exec(auth)?.[1]
      if (sig !== undefined) captured.signatures.push(sig)
    }
    return Effect.tap(sandbox.execute(request), (response) =>
      Effect.sync(() => {
        const sig = response.headers["wechatpay-signature"]
        if (sig !== undefined) captured.signatures.push(sig.replace(/^WECHATPAY\/SIGNTEST\//, ""))
      }))
  })
  const tracer = RecordingTracer.make(captured.spans)
  const logger = Logger.make(({ annotations, cause, logLevel, message }) => {
    captured.texts.push(`${logLevel.label} ${JSON.stringify(message)} ${JSON.stringify([...annotations])} ${Cause.pretty(cause)}`)
  })
  const layer = ProductCouponStores.layerMerchant(TestKeys.merchantOptions(keys), {
    rateLimit: false,
    retry: retry ? { baseDelay: "1 millis", maxDelay: "5 millis" } : false
  }).pipe(
    Layer.provide(Layer.succeed(HttpClient.HttpClient, http)),
    Layer.merge(Logger.replace(Logger.defaultLogger, logger)),
    Layer.merge(Logger.minimumLogLevel(LogLevel.All)),
    Layer.merge(Layer.setTracer(tracer))
  )
  return { fake, layer }
}

const assertClean = (captured: Captured) => {
  const haystack = [...captured.texts, ...captured.spans.map(RecordingTracer.spanText)].join("\n")
  assert.isAbove(captured.signatures.length, 10, "the run must have produced signatures to look for")
  for (const piece of keyPieces) assert.notInclude(haystack, piece, "private-key material leaked")
  for (const sig of captured.signatures) {
    if (sig.length >= 40) assert.notInclude(haystack, sig.slice(0, 40), "a signature leaked")
  }
  for (const auth of captured.authorizations) assert.notInclude(haystack, auth, "an Authorization header leaked")
  assert.notInclude(haystack, "WECHATPAY2-SHA256-RSA2048 mchid=")
}

const ALL_FAULTS: Partial<Record<FakeWechatPay.Fault, number>> = {
  rateLimit: 0.1,
  systemError: 0.05,
  badGateway: 0.04,
  serviceUnavailable: 0.04,
  connectionReset: 0.04,
  connectionResetAfterApply: 0.03,
  probeSignature: 0.06,
  wrongSignature: 0.06,
  staleTimestamp: 0.06,
  truncatedBody: 0.04,
  nonJsonBody: 0.04
}

describe("no secret in logs, spans, reports or errors across a faulty run", () => {
  it.live("a bulk job with every fault kind: report, logs and spans are clean", () =>
    Effect.gen(function*() {
      const captured: Captured = { signatures: [], authorizations: [], texts: [], spans: [] }
      const { layer } = setup({ seed: 11, rates: ALL_FAULTS }, captured)
      const ids = Array.from({ length: 2_000 }, (_, i) => FakeWechatPay.storeId(i))
      const report = yield* BulkDisassociation.disassociateAll(ids, {
        productCouponId: F.productCouponId,
        stockId: F.stockId,
        brandId: F.brandId
      }).pipe(
        Effect.tap(() => Effect.logDebug("job done")),
        Effect.withSpan("test.job"),
        Effect.provide(layer)
      )
      assert.strictEqual(report.summary.unique, 2_000)
      assert.isAbove(report.unresolved.length, 0, "the faults must have left something unresolved (reasons carry error text)")
      captured.texts.push(JSON.stringify(report), JSON.stringify(report, null, 2))
      assertClean(captured)
    }))

  it.live("single calls failing with each fault: the errors (message, JSON, String, pretty cause) are clean", () =>
    Effect.gen(function*() {
      const captured: Captured = { signatures: [], authorizations: [], texts: [], spans: [] }
      const script: Array<FakeWechatPay.Fault> = [
        "probeSignature", "wrongSignature", "staleTimestamp", "truncatedBody", "nonJsonBody", "badGateway",
        "serviceUnavailable", "connectionResetAfterApply"
      ]
      const { layer } = setup({ script }, captured, false)
      const exits = yield* Effect.gen(function*() {
        const service = yield* ProductCouponStores.ProductCouponStores
        const out: Array<Exit.Exit<unknown, unknown>> = []
        for (let i = 0; i < script.length; i++) {
          out.push(yield* Effect.exit(service.disassociateStores({
            productCouponId: F.productCouponId,
            stockId: F.stockId,
            brandId: F.brandId,
            storeList: [{ storeId: FakeWechatPay.storeId(i) }]
          }).pipe(Effect.tapError((e) => Effect.logError("call failed", e)))))
        }
        return out
      }).pipe(Effect.provide(layer))
      const failures = exits.filter(Exit.isFailure)
      assert.strictEqual(failures.length, script.length)
      for (const exit of failures) {
        const error = Cause.failureOption(exit.cause)
        captured.texts.push(Cause.pretty(exit.cause))
        if (Option.isSome(error)) {
          const e = error.value
          captured.texts.push(String(e), JSON.stringify(e), e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : "")
        }
      }
      assertClean(captured)
    }))
})

describe("the checker itself", () => {
  it("finds a signature piece, a key piece or an Authorization header when one is there", () => {
    const signature = "A".repeat(20) + "bcdefghijklmnopqrstuvwxyz0123456789+/=".repeat(8)
    const auth = `WECHATPAY2-SHA256-RSA2048 mchid="1",signature="${signature}"`
    const base = { signatures: Array.from({ length: 11 }, () => signature), authorizations: [auth], spans: [] }
    assert.throws(() => assertClean({ ...base, texts: [`oops ${signature.slice(0, 40)}`] }))
    assert.throws(() => assertClean({ ...base, texts: [`oops ${keyPieces[7]}`] }))
    assert.throws(() => assertClean({ ...base, texts: [`oops ${auth}`] }))
    assert.doesNotThrow(() => assertClean({ ...base, texts: ["nothing secret here"] }))
  })
})
