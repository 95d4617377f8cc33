// What the list screens share: a selection moved by the usual keys and the window of rows
// that fits, keeping the selection in view.
import { useState } from "react";
import type { Key } from "ink";
import { movement } from "../tui/nav.ts";

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
  return { sel, start, end: Math.min(count, start + page), move, select: setSelected };
}

/** "(11-30 of 40)" when the rows do not all fit. */
export const range = (start: number, end: number, count: number) => (count > end - start ? `  (${start + 1}-${end} of ${count})` : "");
