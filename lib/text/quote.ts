// Quoting a value that came from a request or a file in an error message: at most a short
// prefix, so that an invalid 10 MB name is not sent back (or logged) whole.

export const QUOTE_MAX = 64;

/** JSON-quoted, cut to `max` characters with the full length said: `"aaa…" (10485760 characters)`. */
export function quote(value: unknown, max = QUOTE_MAX): string {
  const s = typeof value === "string" ? value : String(value);
  if (s.length <= max) return JSON.stringify(s);
  return `${JSON.stringify(s.slice(0, max))}… (${s.length} characters)`;
}
