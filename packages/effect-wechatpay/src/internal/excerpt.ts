/** How much of a foreign text (an answer body, a header) an error quotes. */
import { EXCERPT_LIMIT } from "../WechatPayError.js"

/** The start of `text`, at most {@link EXCERPT_LIMIT} characters, saying how long it was. */
export const excerpt = (text: string): string =>
  text.length <= EXCERPT_LIMIT ? text : `${text.slice(0, EXCERPT_LIMIT)}… (${text.length} chars)`
