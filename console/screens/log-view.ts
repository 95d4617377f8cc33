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
    pieces.forEach((text, i) =>
      out.push({ source, component: l.component, prefix: i === 0 ? prefix : " ".repeat(prefix.length), text, stderr: l.stream === "stderr" }),
    );
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

/** The top line of a scrolled view: a log line (by seq, which never changes) and a piece of it. */
export interface Anchor {
  seq: number;
  piece: number;
}

/** Index in `lines` (sorted by seq) of the first line whose seq is at least `seq`. */
function lineAtOrAfter(lines: LogLine[], seq: number): number {
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The anchor of display line `index`. */
export function anchorAt(shown: DisplayLine[], lines: LogLine[], index: number): Anchor | null {
  const d = shown[index];
  if (!d) return null;
  let first = index;
  while (first > 0 && shown[first - 1]!.source === d.source) first--;
  return { seq: lines[d.source]!.seq, piece: index - first };
}

/**
 * The display index an anchor stands for now. New lines arriving below, or old ones dropped
 * from the buffer above, do not move it; a line that was dropped gives way to the oldest kept.
 */
export function indexOfAnchor(shown: DisplayLine[], lines: LogLine[], anchor: Anchor): number {
  const source = lineAtOrAfter(lines, anchor.seq);
  if (source >= lines.length) return Math.max(0, shown.length - 1);
  const exact = lines[source]!.seq === anchor.seq;
  let i = displayIndexOf(shown, source);
  if (exact) for (let p = 0; p < anchor.piece && shown[i + 1]?.source === source; p++) i++;
  return i;
}

/** The first display line of log line `source` (display lines are in source order). */
export function displayIndexOf(shown: DisplayLine[], source: number): number {
  let lo = 0;
  let hi = shown.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (shown[mid]!.source < source) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
