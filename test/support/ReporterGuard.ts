// Vitest's stack parser takes an error whose stack has no V8 frame (what @effect/vitest throws for a
// failure value that is not an Error: its JSON, quotes included) for a Firefox/Safari stack, and its
// regex ((.*".+"[^@]*)?[^@]*)(@) backtracks without end on a long line with quotes and no "@": the
// default reporter then spins at 100% CPU and ignores SIGTERM instead of reporting the failure. A
// failure's quotes are made single before it is reported, which keeps that regex linear.
import { beforeEach } from "vitest"

beforeEach(({ onTestFailed }) => {
  onTestFailed(({ task }) => {
    for (const error of task.result?.errors ?? []) {
      const e = error as { message?: unknown; stack?: unknown }
      if (typeof e.stack === "string") e.stack = e.stack.replaceAll("\"", "'")
      if (typeof e.message === "string") e.message = e.message.replaceAll("\"", "'")
    }
  })
})
