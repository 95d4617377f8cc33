// The mouse, where the terminal reports it: SGR mouse reporting (`ESC [ ? 1000 h` and
// `ESC [ ? 1006 h`) makes the terminal send `ESC [ < b ; x ; y M` for a press and `… m` for a
// release. Ink hands such a sequence over as input text (its ESC taken off), sometimes split
// across two reads, sometimes with keys around it: the reader takes the sequences out, so
// that they never reach the prompt line or a screen as text, and leaves the rest as keys.
// Wheel notches (buttons 64 and 65) and left-button presses (0) are kept; releases, other
// buttons and motion are dropped.
import type { DOMElement, Key } from "ink";
import { NO_KEY } from "./keys.ts";
import type { RowClick } from "./nav.ts";

export const MOUSE_ON = "\x1b[?1000h\x1b[?1006h";
export const MOUSE_OFF = "\x1b[?1006l\x1b[?1000l";

/** A wheel notch (-1 up, 1 down), or a left click at a cell (0-based column and line). */
export type MouseEvent = { kind: "wheel"; dir: -1 | 1 } | { kind: "click"; x: number; y: number };

const SEQUENCE = /\x1b?\[<(\d+);(\d+);(\d+)([Mm])/g;
/** The start of a sequence that the next read completes. */
const PARTIAL = /\x1b?\[<[\d;]*$/;

function eventOf(button: number, x: number, y: number, press: boolean): MouseEvent | null {
  if (!press) return null;
  if (button === 64) return { kind: "wheel", dir: -1 };
  if (button === 65) return { kind: "wheel", dir: 1 };
  if (button === 0) return { kind: "click", x: x - 1, y: y - 1 };
  return null;
}

/** Splits reads into text and mouse events; keeps a sequence cut at the end of a read for the next one. */
export class MouseReader {
  private pending = "";

  /** The read as pieces in order: text (keys) and mouse events. A read without a sequence is one piece, itself. */
  read(input: string): (string | MouseEvent)[] {
    if (!this.pending && !input.includes("[<")) return [input]; // Esc, Enter: keys with no text stay keys
    const text = this.pending + input;
    this.pending = "";
    const out: (string | MouseEvent)[] = [];
    let at = 0;
    for (const m of text.matchAll(SEQUENCE)) {
      if (m.index > at) out.push(text.slice(at, m.index));
      const e = eventOf(Number(m[1]), Number(m[2]), Number(m[3]), m[4] === "M");
      if (e) out.push(e);
      at = m.index + m[0].length;
    }
    let rest = text.slice(at);
    const cut = PARTIAL.exec(rest);
    if (cut) {
      this.pending = cut[0];
      rest = rest.slice(0, cut.index);
    }
    if (rest) out.push(rest);
    return out;
  }
}

/** Which of the rows shown a click is on (0 the first), from where Ink laid out the table's rows; null off them. */
export function rowAt(rows: DOMElement | null, event: MouseEvent): number | null {
  if (!rows || event.kind !== "click") return null;
  let top = 0;
  for (let n: DOMElement | undefined = rows; n; n = n.parentNode) top += n.yogaNode?.getComputedTop() ?? 0;
  const height = rows.yogaNode?.getComputedHeight() ?? 0;
  const row = event.y - Math.round(top);
  return row >= 0 && row < height ? row : null;
}

/**
 * The keys a mouse event stands for: a wheel notch is three rows up or down (a page on the
 * logs screen, as PgUp/PgDn); a click selects the row under it (rowClick), and a click on the
 * row already selected is Enter.
 */
export function mouseKeys(event: MouseEvent, screen: string, row: number | null, rowClick: RowClick | null): [string, Key][] {
  if (event.kind === "wheel") {
    if (screen === "logs") return [["", { ...NO_KEY, ...(event.dir < 0 ? { pageUp: true } : { pageDown: true }) }]];
    const arrow: [string, Key] = ["", { ...NO_KEY, ...(event.dir < 0 ? { upArrow: true } : { downArrow: true }) }];
    return [arrow, arrow, arrow];
  }
  if (row === null || !rowClick) return [];
  return rowClick(row) === "open" ? [["", { ...NO_KEY, return: true }]] : [];
}
