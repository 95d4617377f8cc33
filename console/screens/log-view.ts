// The logs screen's pure parts: display lines (prefix, wrap or cut) and search matches.
import stringWidth from "string-width";
import type { LogLine } from "../store/types.ts";

export interface DisplayLine {
  /** The log line it comes from. */
  line: LogLine;
  /** Prefix shown on the first piece of a line ("api | "), blanks on continuation pieces. */
  prefix: string;
  text: string;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Cuts `text` into pieces of at most `width` display columns. */
export function wrapText(text: string, width: number): string[] {
  if (width <= 0) return [text];
  // The common case, one column a character: cut by length.
  if (PRINTABLE_ASCII.test(text)) {
    if (text.length <= width) return [text];
    const out: string[] = [];
    for (let i = 0; i < text.length; i += width) out.push(text.slice(i, i + width));
    return out;
  }
  if (stringWidth(text) <= width) return [text];
  const out: string[] = [];
  let cur = "";
  let used = 0;
  for (const ch of text) {
    const w = stringWidth(ch);
    if (used + w > width && cur) {
      out.push(cur);
      cur = "";
      used = 0;
    }
    cur += ch;
    used += w;
  }
  if (cur) out.push(cur);
  return out;
}

// A log line's display pieces, kept with the line: lines never change, so each is cut once,
// not again at each of the ~20 batches a second. A line that fits the width is one piece
// whether or not wrap is on, so turning wrap on and off cuts only the long lines again.
interface Cut {
  /** The prefix the pieces were made with (the component's name padded to the widest). */
  prefix: string;
  whole: DisplayLine;
  /** The pieces of a line wider than the room, and the room they were cut for. */
  wrapped?: { room: number; pieces: DisplayLine[] };
}
const cuts = new WeakMap<LogLine, Cut>();

export function displayLines(lines: LogLine[], opts: { width: number; wrap: boolean; prefixed: boolean }): DisplayLine[] {
  let pad = 0;
  if (opts.prefixed) for (const l of lines) pad = Math.max(pad, l.component.length);
  const prefixes = new Map<string, string>(); // one string per component, not one per line
  const out: DisplayLine[] = [];
  for (const l of lines) {
    let prefix = "";
    if (opts.prefixed) {
      prefix = prefixes.get(l.component) ?? `${l.component.padEnd(pad)} | `;
      prefixes.set(l.component, prefix);
    }
    let cut = cuts.get(l);
    if (cut?.prefix !== prefix) {
      cut = { prefix, whole: { line: l, prefix, text: l.line } };
      cuts.set(l, cut);
    }
    if (!opts.wrap) {
      out.push(cut.whole);
      continue;
    }
    const room = Math.max(10, opts.width - prefix.length);
    if (cut.wrapped?.room !== room) {
      const texts = wrapText(l.line, room);
      const blank = " ".repeat(prefix.length);
      cut.wrapped = { room, pieces: texts.length === 1 ? [cut.whole] : texts.map((text, i) => ({ line: l, prefix: i === 0 ? prefix : blank, text })) };
    }
    for (const d of cut.wrapped.pieces) out.push(d);
  }
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

/** The anchor of display line `index`. */
export function anchorAt(shown: DisplayLine[], index: number): Anchor | null {
  const d = shown[index];
  if (!d) return null;
  let first = index;
  while (first > 0 && shown[first - 1]!.line === d.line) first--;
  return { seq: d.line.seq, piece: index - first };
}

/**
 * The display index an anchor stands for now. New lines arriving below, or old ones dropped
 * from the buffer above, do not move it; a line that was dropped gives way to the oldest kept.
 */
export function indexOfAnchor(shown: DisplayLine[], anchor: Anchor): number {
  let i = displayIndexOf(shown, anchor.seq);
  if (i >= shown.length) return Math.max(0, shown.length - 1);
  const line = shown[i]!.line;
  if (line.seq === anchor.seq) for (let p = 0; p < anchor.piece && shown[i + 1]?.line === line; p++) i++;
  return i;
}

/** The first display line of the first log line whose seq is at least `seq` (display lines are in seq order). */
export function displayIndexOf(shown: DisplayLine[], seq: number): number {
  let lo = 0;
  let hi = shown.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (shown[mid]!.line.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
