// What the TUI's screens keep for the session, in the one store: each table screen's sort
// (by screen name), so that a screen left and opened again is sorted as it was.
import type { SetState, ViewActions } from "./state.ts";

export function viewActions(set: SetState): ViewActions {
  return {
    setSort(screen, sort) {
      set((s) => {
        const { [screen]: _old, ...rest } = s.sorts;
        return { sorts: sort ? { ...rest, [screen]: sort } : rest };
      });
    },
  };
}
