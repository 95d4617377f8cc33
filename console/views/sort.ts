// How the TUI's tables sort: each table screen declares its columns (the name its table
// shows, the Shift letter that sorts by it, the value it sorts by), and these functions turn
// a key into the screen's next sort and rows into sorted rows. Numbers (CPU, memory, sizes,
// counts, times, ages) sort by their value, not their text; a value that is not known sorts
// last in either direction; rows that tie keep the order the screen had them in.
import type { SortState } from "../store/state.ts";

/** What a row sorts by in a column: a number or text; null (or "") when not known. */
export type SortValue = string | number | null | undefined;

export interface SortColumn<R> {
  /** The table's column (as its section names it). */
  name: string;
  /** Shift + this letter sorts by the column; without one, `<` and `>` reach it. */
  key?: string;
  value: (row: R) => SortValue;
  /** The first sort by it is descending: the largest or newest first. */
  desc?: boolean;
}

/** A column of text (ascending first). */
export const byText = <R>(name: string, value: (row: R) => SortValue, key?: string): SortColumn<R> => ({ name, value, ...(key ? { key } : {}) });

/** A column of numbers: CPU, memory, sizes, counts (the largest first). */
export const byNumber = <R>(name: string, value: (row: R) => SortValue, key?: string): SortColumn<R> => ({
  name,
  value,
  desc: true,
  ...(key ? { key } : {}),
});

/** "2026-01-02T00:00:00Z" as ms since the epoch; null when empty or not a time. */
export function timeValue(time: string | undefined): number | null {
  const t = time ? Date.parse(time) : Number.NaN;
  return Number.isNaN(t) ? null : t;
}

/** A column of times (the newest first). */
export const byTime = <R>(name: string, time: (row: R) => string | undefined, key?: string): SortColumn<R> => byNumber(name, (r) => timeValue(time(r)), key);

/** A column of ages (uptime) from when each row started: the youngest first. */
export const byAge = <R>(name: string, startedAt: (row: R) => string | undefined, key?: string): SortColumn<R> =>
  byText(
    name,
    (r) => {
      const t = timeValue(startedAt(r));
      return t === null ? null : -t;
    },
    key,
  );

/** Keys that are not letters of a column: the sort column left and right, the order inverted. */
export const SORT_LEFT = "<";
export const SORT_RIGHT = ">";
export const SORT_INVERT = "I";

const text = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
const unknown = (v: SortValue): v is null | undefined | "" => v === null || v === undefined || v === "" || (typeof v === "number" && Number.isNaN(v));

function compare(a: SortValue, b: SortValue): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return text.compare(String(a), String(b));
}

/** `rows` in the order `sort` says (a new array; `rows` as they are when there is no sort or no such column). */
export function sortRows<R>(rows: readonly R[], columns: readonly SortColumn<R>[], sort: SortState | null): R[] {
  const column = sort ? columns.find((c) => c.name === sort.column) : undefined;
  if (!sort || !column) return [...rows];
  const keyed = rows.map((row, i) => ({ row, i, v: column.value(row) }));
  keyed.sort((x, y) => {
    const ux = unknown(x.v);
    const uy = unknown(y.v);
    if (ux || uy) return ux === uy ? x.i - y.i : ux ? 1 : -1;
    const c = compare(x.v, y.v);
    return (sort.desc ? -c : c) || x.i - y.i;
  });
  return keyed.map((k) => k.row);
}

/**
 * What a key does to a screen's sort: a column's letter sorts by it (again: the other way),
 * `<` and `>` sort by the column left or right of the current one (wrapping), `I` inverts.
 * Returns the new sort; "unsorted" for `I` while nothing is sorted; null when the key is not a sort key.
 */
export function nextSort<R>(columns: readonly SortColumn<R>[], current: SortState | null, input: string): SortState | "unsorted" | null {
  const first = (c: SortColumn<R>): SortState => ({ column: c.name, desc: c.desc ?? false });
  const byKey = columns.find((c) => c.key !== undefined && c.key === input);
  if (byKey) return current?.column === byKey.name ? { column: byKey.name, desc: !current.desc } : first(byKey);
  if (input === SORT_LEFT || input === SORT_RIGHT) {
    if (columns.length === 0) return null;
    const at = current ? columns.findIndex((c) => c.name === current.column) : -1;
    const step = input === SORT_RIGHT ? 1 : -1;
    const from = at < 0 ? (step > 0 ? -1 : columns.length) : at;
    return first(columns[(from + step + columns.length) % columns.length]!);
  }
  if (input === SORT_INVERT) return current ? { column: current.column, desc: !current.desc } : "unsorted";
  return null;
}

/** The footer's word on sorting: "N/S/C sort  < > I" (the letters of the columns that have one). */
export function sortKeys(columns: readonly { key?: string }[]): string {
  const letters = columns.flatMap((c) => (c.key ? [c.key] : []));
  return `${letters.length ? `${letters.join("/")} ` : ""}< > sort`;
}

/** Help's line for a screen: each letter with its column ("N service  C cpu"). */
export function sortHelp(columns: readonly { name: string; key?: string }[]): string {
  return columns.flatMap((c) => (c.key ? [`${c.key} ${c.name}`] : [])).join("  ");
}
