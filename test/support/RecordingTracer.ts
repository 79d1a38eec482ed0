// A tracer for tests that keeps every span's name, attributes, events and exit.
import { Cause, type Context, Exit, type Option, Tracer } from "effect"

export class RecordingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = Math.random().toString(16).slice(2)
  readonly traceId = "trace"
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  readonly links: Array<Tracer.SpanLink> = []
  readonly events: Array<string> = []
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    readonly kind: Tracer.SpanKind,
    startTime: bigint
  ) {
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown) {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>) {
    this.events.push(`${name} ${JSON.stringify(attributes ?? {})}`)
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    this.links.push(...links)
  }
}

/** A tracer that pushes every span it makes onto `spans`. */
export const make = (spans: Array<RecordingSpan>): Tracer.Tracer =>
  Tracer.make({
    span: (name, parent, context, _links, startTime, kind) => {
      const span = new RecordingSpan(name, parent, context, kind, startTime)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })

/** Everything a span carries, as one text to search for secrets. */
export const spanText = (span: RecordingSpan): string => {
  const attrs = Array.from(span.attributes, ([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join("\n")
  const exit = span.status._tag === "Ended" && Exit.isFailure(span.status.exit) ? Cause.pretty(span.status.exit.cause) : ""
  return `span ${span.name}\n${attrs}\n${span.events.join("\n")}\n${exit}`
}
