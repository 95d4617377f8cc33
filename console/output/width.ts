// How many terminal columns text takes. Printable ASCII, nearly every table cell, is its
// length. Anything else is measured by string-width, loaded the first time it is needed:
// setting it up (Intl.Segmenter and its Unicode tables) costs about 20 ms, which a command
// that prints JSON, or only ASCII, never pays (docs/performance.md, "Console").
import { createRequire } from "node:module";

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
let measure: ((text: string) => number) | undefined;

export function textWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  measure ??= (createRequire(import.meta.url)("string-width") as { default: (text: string) => number }).default;
  return measure(text);
}
