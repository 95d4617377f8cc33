// A table screen's sort, kept in the store per screen for the session: the keys that change
// it (views/sort.ts says what each does) and the sort to render.
import { useStore } from "zustand";
import type { ConsoleStore, SortState } from "../store/state.ts";
import { useNav } from "../tui/nav.ts";
import { nextSort, type SortColumn } from "../views/sort.ts";

export function useSort<R>(
  store: ConsoleStore,
  screen: string,
  columns: readonly SortColumn<R>[],
): { sort: SortState | null; sortKey: (input: string) => boolean } {
  const nav = useNav();
  const sort = useStore(store, (s) => s.sorts[screen] ?? null);
  /** Changes the sort on a sort key; true when it used the key. */
  const sortKey = (input: string): boolean => {
    // From the store, not the last render: a second key read at once reverses the first.
    const next = nextSort(columns, store.getState().sorts[screen] ?? null, input);
    if (next === null) return false;
    if (next === "unsorted") nav.flash("nothing to invert: sort by a column first (its letter, < or >)");
    else store.getState().setSort(screen, next);
    return true;
  };
  return { sort, sortKey };
}
