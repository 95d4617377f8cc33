// The logs screen's pure parts: display lines (prefix, wrap or cut) and search matches.
import stringWidth from "string-width";
import type { LogLine } from "../store/types.ts";

export interface DisplayLine {
  /** Index of the log line it comes from. */
  source: number;
  component: string;
  /** Prefix shown on the first piece of a line ("api | "), empty on continuation pieces. */
  prefix: string;
  text: string;
  stderr: boolean;
}

/** Cuts `text` into pieces of at most `width` display columns. */
export function wrapText(text: string, width: number): string[] {
  if (width <= 0 || stringWidth(text) <= width) return [text];
  const out: string[] = [];
  let cur = "";
  for (const ch of text) {
    if (stringWidth(cur + ch) > width) {
      out.push(cur);
      cur = "";
    }
    cur += ch;
  }
  if (cur) out.push(cur);
  return out;
}

export function displayLines(lines: LogLine[], opts: { width: number; wrap: boolean; prefixed: boolean }): DisplayLine[] {
  const pad = opts.prefixed ? Math.max(0, ...lines.map((l) => l.component.length)) : 0;
  const out: DisplayLine[] = [];
  lines.forEach((l, source) => {
    const prefix = opts.prefixed ? `${l.component.padEnd(pad)} | ` : "";
    const room = Math.max(10, opts.width - prefix.length);
    const pieces = opts.wrap ? wrapText(l.line, room) : [l.line];
    pieces.forEach((text, i) => out.push({ source, component: l.component, prefix: i === 0 ? prefix : " ".repeat(prefix.length), text, stderr: l.stream === "stderr" }));
  });
  return out;
}

/** Indexes of the log lines containing `term` (case-insensitive). */
export function matches(lines: LogLine[], term: string): number[] {
  if (!term) return [];
  const t = term.toLowerCase();
  const out: number[] = [];
  lines.forEach((l, i) => l.line.toLowerCase().includes(t) && out.push(i));
  return out;
}

/** `text` split around case-insensitive occurrences of `term`: [plain, match, plain, match, …]. */
export function splitMatches(text: string, term: string): string[] {
  if (!term) return [text];
  const lower = text.toLowerCase();
  const t = term.toLowerCase();
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    const i = lower.indexOf(t, at);
    if (i < 0) break;
    parts.push(text.slice(at, i), text.slice(i, i + t.length));
    at = i + t.length;
  }
  parts.push(text.slice(at));
  return parts;
}
