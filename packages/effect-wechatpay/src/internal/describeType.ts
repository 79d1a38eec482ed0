/** What a value is, for a message: "a number", "null", "an object", … */
export const describeType = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "an array"
    : typeof value === "object"
    ? "an object"
    : typeof value === "undefined"
    ? "undefined"
    : `a ${typeof value}`
