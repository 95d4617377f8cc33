// Views that show ages (uptimes, "5m ago") and live figures: derived from the store and the
// clock, and drawn again only when what they show changes. Each draw of the TUI costs Ink a
// full pass over the screen, so a store change nobody sees (a poll that found a figure in a
// row off screen, a Stats answer within the same rounding) or a clock tick that changes no
// age must not cause one.
import { useEffect, useReducer, useRef } from "react";
import type { ConsoleState, ConsoleStore } from "../store/state.ts";
import { samePlain } from "../store/wire.ts";

/** How often ages are worked out again (they change once a second only in their first minute). */
export const CLOCK_MS = 4000;

/**
 * `derive(state, now)`, worked out again when the store changes, when `deps` change and every
 * CLOCK_MS; the calling component renders again only when the result differs from the last.
 */
export function useView<T>(store: ConsoleStore, derive: (s: ConsoleState, now: number) => T, deps: readonly unknown[]): T {
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const deriveRef = useRef(derive);
  deriveRef.current = derive;
  const last = useRef<{ deps: readonly unknown[]; value: T } | null>(null);
  // New deps (a filter typed, a sort chosen): worked out in this render, not one frame later.
  if (!last.current || deps.length !== last.current.deps.length || deps.some((d, i) => !Object.is(d, last.current!.deps[i]))) {
    last.current = { deps, value: derive(store.getState(), Date.now()) };
  }
  useEffect(() => {
    const update = () => {
      const next = deriveRef.current(store.getState(), Date.now());
      if (samePlain(last.current!.value, next)) return;
      last.current = { deps: last.current!.deps, value: next };
      redraw();
    };
    update(); // what changed between the render and this effect
    const unsubscribe = store.subscribe(update);
    const clock = setInterval(update, CLOCK_MS);
    return () => {
      unsubscribe();
      clearInterval(clock);
    };
  }, [store, ...deps]);
  return last.current.value;
}
