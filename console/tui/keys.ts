// Keys as the TUI's dispatcher takes them: one at a time. Ink hands over what one read of
// the terminal holds, so pasted or fast text ("registry\r", three backspaces) arrives as one
// string; it is split here into the keys it is made of. And the prompt line's editing:
// a cursor, left/right/Home/End (Ctrl-A/Ctrl-E), Ctrl-U, Ctrl-W.
import type { Key } from "ink";

export const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** One character of a multi-character read, as Ink would have reported it alone. */
function keyOf(ch: string): [string, Key] {
  const code = ch.codePointAt(0)!;
  if (ch === "\r" || ch === "\n") return ["", { ...NO_KEY, return: true }];
  if (ch === "\x7f") return ["", { ...NO_KEY, delete: true }];
  if (ch === "\b") return ["", { ...NO_KEY, backspace: true }];
  if (ch === "\t") return ["", { ...NO_KEY, tab: true }];
  if (ch === "\x1b") return ["", { ...NO_KEY, escape: true, meta: true }];
  if (code < 0x20) return [String.fromCharCode(code + 96), { ...NO_KEY, ctrl: true }];
  return [ch, { ...NO_KEY, shift: /^[A-Z]$/.test(ch) }];
}

/** The keys in one of Ink's input events: itself, or each character of a pasted or fast read. */
export function splitKeys(input: string, key: Key): [string, Key][] {
  const chars = Array.from(input);
  if (chars.length <= 1 || key.meta || key.ctrl) return [[input, key]];
  return chars.map(keyOf);
}

export interface PromptLine {
  value: string;
  /** Characters (code points) before the cursor. */
  cursor: number;
}

/** What a key does to the prompt line: a new line, "submit", "cancel", or null when the key is not the prompt's. */
export function editPrompt(line: PromptLine, input: string, key: Key): PromptLine | "submit" | "cancel" {
  const chars = Array.from(line.value);
  const at = Math.max(0, Math.min(line.cursor, chars.length));
  const make = (before: string[], after: string[]) => ({ value: [...before, ...after].join(""), cursor: before.length });
  if (key.return) return "submit";
  if (key.escape) return "cancel";
  if (key.backspace || key.delete) return make(chars.slice(0, Math.max(0, at - 1)), chars.slice(at));
  if (key.leftArrow) return { ...line, cursor: Math.max(0, at - 1) };
  if (key.rightArrow) return { ...line, cursor: Math.min(chars.length, at + 1) };
  if (key.home || (key.ctrl && input === "a")) return { ...line, cursor: 0 };
  if (key.end || (key.ctrl && input === "e")) return { ...line, cursor: chars.length };
  if (key.ctrl && input === "u") return make([], chars.slice(at));
  if (key.ctrl && input === "w") {
    let from = at;
    while (from > 0 && chars[from - 1] === " ") from--;
    while (from > 0 && chars[from - 1] !== " ") from--;
    return make(chars.slice(0, from), chars.slice(at));
  }
  if (!input || key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.pageUp || key.pageDown) return line;
  const typed = Array.from(input);
  return make([...chars.slice(0, at), ...typed], chars.slice(at));
}
