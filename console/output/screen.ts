// What a command shows, independent of how: sections of tables and notes. Plain text
// renders it once (no ANSI), the TTY renders it live with Ink (console/tty/).
import { textWidth } from "./width.ts";

/** How a cell is shown on a TTY: ok (green), warn (yellow), bad (red), dim; plain text ignores it. */
export type Tone = "ok" | "warn" | "bad" | "dim" | "";

export interface Cell {
  text: string;
  tone?: Tone;
}

export interface Section {
  title?: string;
  columns: string[];
  rows: Cell[][];
  /** Shown when there are no rows. */
  empty?: string;
  /** Columns (by name) left out, in this order, when the table does not fit the width. */
  drop?: string[];
  /** The column (by name) the rows are sorted by, marked in the header (the TUI's tables). */
  sort?: { column: string; desc: boolean };
}

export interface Screen {
  sections: Section[];
  /** Lines under the tables: unreachable nodes, things that could not be done. */
  notes: Cell[];
  /** While work is in progress: what it is waiting for (a spinner on a TTY). */
  pending?: string;
}

export const cell = (text: string | number, tone: Tone = ""): Cell => ({ text: String(text), tone });

/** Tone of a container or node state. */
export function stateTone(state: string): Tone {
  if (/^(running|ok|done|pushed|exists|created|updated|unchanged|healthy)$/.test(state)) return "ok";
  if (/^(unreachable|failed|error|exited|missing|dead|cannot_build)/.test(state)) return "bad";
  if (/^(stopped|paused|checking|pulling|creating|starting|building|pushing|connecting|unknown)$/.test(state)) return "warn";
  return "";
}

/** Fits `text` in `width` display columns, with … when cut. */
export function truncate(text: string, width: number): string {
  if (textWidth(text) <= width) return text;
  let out = "";
  for (const ch of text) {
    if (textWidth(out + ch) > width - 1) break;
    out += ch;
  }
  return out + "…";
}

/** A column's header: its name in capitals, and ▲ (ascending) or ▼ (descending) when the rows are sorted by it. */
export function headerText(section: Section, i: number): string {
  const name = section.columns[i] ?? "";
  const mark = section.sort?.column === name ? (section.sort.desc ? "▼" : "▲") : "";
  return name.toUpperCase() + mark;
}

/** Free text (messages, references) narrows to this before a column is left out. */
const LONG = 24;
/** Below this a column is cut only once every droppable column is gone. */
const COMFORT = 10;

/** Narrows the widest of `widths` (at `kept`) one column at a time, none below `floor`, until they fit. */
function shrink(widths: number[], kept: number[], maxWidth: number, floor: (i: number) => number): void {
  const total = () => kept.reduce((a, i) => a + widths[i]!, 0) + 2 * (kept.length - 1);
  while (total() > maxWidth) {
    const wide = kept.filter((i) => widths[i]! > floor(i));
    if (wide.length === 0) return;
    const i = wide.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[i]!--;
  }
}

/**
 * The columns shown and their widths, to fit `maxWidth`: long free text narrows first (to
 * LONG columns); then the section's `drop` columns go, in order; then the widest columns
 * are cut, to a readable width and then further. Returns the kept column indexes and every
 * column's width.
 */
export function columnLayout(section: Section, maxWidth = Infinity): { kept: number[]; widths: number[] } {
  const natural = section.columns.map((_, i) => Math.max(textWidth(headerText(section, i)), ...section.rows.map((r) => textWidth(r[i]?.text ?? ""))));
  const header = (i: number) => textWidth(headerText(section, i));
  const fits = (widths: number[], kept: number[]) => kept.reduce((a, i) => a + widths[i]!, 0) + 2 * (kept.length - 1) <= maxWidth;
  const droppable = (section.drop ?? []).map((name) => section.columns.indexOf(name)).filter((i) => i >= 0);
  let kept = section.columns.map((_, i) => i);
  for (let dropped = 0; ; dropped++) {
    const widths = [...natural];
    shrink(widths, kept, maxWidth, (i) => Math.min(natural[i]!, Math.max(header(i), LONG)));
    if (fits(widths, kept)) return { kept, widths };
    if (dropped >= droppable.length) {
      shrink(widths, kept, maxWidth, (i) => Math.min(natural[i]!, Math.max(header(i), COMFORT)));
      shrink(widths, kept, maxWidth, () => 4);
      return { kept, widths };
    }
    kept = kept.filter((i) => i !== droppable[dropped]);
  }
}

/** Column widths that fit `maxWidth` (every column kept): the widest column gives way first. */
export function columnWidths(section: Section, maxWidth = Infinity): number[] {
  return columnLayout({ ...section, drop: [] }, maxWidth).widths;
}

const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - textWidth(text)));

/** A table as aligned plain text (no ANSI). */
export function plainTable(section: Section, maxWidth = Infinity): string {
  const widths = columnWidths(section, maxWidth);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(truncate(c, widths[i]!), widths[i]!))
      .join("  ")
      .trimEnd();
  const out: string[] = [];
  if (section.title) out.push(section.title);
  out.push(line(section.columns.map((_, i) => headerText(section, i))));
  for (const r of section.rows) out.push(line(r.map((c) => c.text)));
  if (section.rows.length === 0 && section.empty) out.push(section.empty);
  return out.join("\n");
}

export function plainScreen(screen: Screen): string {
  const parts = screen.sections.map((s) => plainTable(s));
  const notes = screen.notes.map((n) => n.text);
  return [...parts, ...(notes.length ? [notes.join("\n")] : [])].join("\n\n") + "\n";
}
