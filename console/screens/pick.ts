// What the list screens share: a selection moved by the usual keys and the window of rows
// that fits, keeping the selection in view; a click on a row shown selects it (the table
// reports where its rows are), a second click on the selected row opens it as Enter does.
import { useContext, useEffect, useRef, useState } from "react";
import type { Key } from "ink";
import { movement, NavContext, type RowClick } from "../tui/nav.ts";

export function useSelection(count: number, page: number) {
  const [selected, setSelected] = useState(0);
  const sel = Math.min(selected, Math.max(0, count - 1));
  const start = Math.max(0, Math.min(sel - Math.floor(page / 2), count - page));
  /** Moves on a movement key; true when it used the key. */
  const move = (input: string, key: Key): boolean => {
    const m = movement(input, key, page);
    if (m === null) return false;
    // From the latest selection: several keys of one pasted or fast read each move it.
    setSelected((prev) => (m === "top" ? 0 : m === "bottom" ? count - 1 : Math.max(0, Math.min(count - 1, Math.min(prev, count - 1) + m))));
    return true;
  };
  const click: RowClick = (row) => {
    const at = start + row;
    if (row < 0 || at >= Math.min(count, start + page)) return false;
    if (at === sel) return "open";
    setSelected(at);
    return true;
  };
  useRowClicks(click);
  return { sel, start, end: Math.min(count, start + page), move, select: setSelected };
}

/** "(11-30 of 40)" when the rows do not all fit. */
export const range = (start: number, end: number, count: number) => (count > end - start ? `  (${start + 1}-${end} of ${count})` : "");

/** Registers the screen's row clicks; the latest closure is always the one called. */
function useRowClicks(click: RowClick): void {
  const nav = useContext(NavContext);
  const latest = useRef(click);
  latest.current = click;
  useEffect(() => {
    if (!nav) return;
    const h: RowClick = (row) => latest.current(row);
    nav.rowClick.current = h;
    return () => {
      if (nav.rowClick.current === h) nav.rowClick.current = null;
    };
  }, [nav?.rowClick]);
}
