// While a screen that shows CPU and MEM is open, its nodes' Stats are asked every 2 s: one
// RPC per node, and on the agent one podman call per podman. A node is first asked once its
// containers are known (its List or a Status answered): at start, Stats (podman's sampling of
// every container) would otherwise compete with the Lists the first rows wait for. A node
// still answering the last ask, or unreachable (the poller retries it), is skipped.
import { useEffect } from "react";
import type { ConsoleStore } from "../store/state.ts";

export const STATS_EVERY_MS = 2000;

/**
 * Polls Stats of `nodes` (every node when absent) while the calling screen is mounted; of
 * only the containers `only` names for a node it has an entry for (the rows on screen).
 */
export function useStatsPoll(store: ConsoleStore, nodes?: string[], only?: Record<string, string[]>, everyMs = STATS_EVERY_MS): void {
  const key = `${nodes ? nodes.join(",") : "*"} ${only ? JSON.stringify(only) : ""}`;
  useEffect(() => {
    if (nodes && nodes.length === 0) return;
    const listed = () => {
      const s = store.getState();
      const known = new Set([...Object.keys(s.containers), ...Object.values(s.statuses).map((st) => st.node)]);
      return (nodes ?? Object.keys(s.nodes)).filter((n) => known.has(n));
    };
    const asked = new Set<string>();
    const ask = (names: string[]) => {
      for (const n of names) asked.add(n);
      if (names.length) void store.getState().refreshStats(names, only);
    };
    ask(listed());
    // A node whose containers become known between two rounds is asked at once.
    const unsubscribe = store.subscribe(() => ask(listed().filter((n) => !asked.has(n))));
    const timer = setInterval(() => ask(listed()), everyMs);
    return () => {
      unsubscribe();
      clearInterval(timer);
    };
  }, [store, key, everyMs]);
}
