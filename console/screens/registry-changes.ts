// The registry screens change when the registry does: while one is open, mcr's audit stream
// is followed and the screen reloads after a push, a delete or a GC, wherever it was made.
// An account that may not read the audit log (not an admin) goes without: `r` reloads.
import { useEffect, useRef } from "react";
import { useStore } from "zustand";
import type { ConsoleStore } from "../store/state.ts";

export function useRegistryChanges(store: ConsoleStore, reload: () => void): void {
  const changes = useStore(store, (s) => s.mcr.changes);
  const latest = useRef(reload);
  latest.current = reload;
  const seen = useRef(changes);
  useEffect(() => {
    const abort = new AbortController();
    void store
      .getState()
      .followChanges(abort.signal)
      .catch(() => undefined);
    return () => abort.abort();
  }, [store]);
  useEffect(() => {
    if (changes === seen.current) return;
    seen.current = changes;
    latest.current();
  }, [changes]);
}
