// While a screen that shows CPU and MEM is open, its nodes' Stats are asked every 2 s: one
// RPC per node, and on the agent one podman call per podman. A node still answering the
// last ask, or unreachable (the poller retries it with backoff), is skipped by the store.
import { useEffect } from "react";
import type { ConsoleStore } from "../store/state.ts";

export const STATS_EVERY_MS = 2000;

/** Polls Stats of `nodes` (every node when absent) while the calling screen is mounted. */
export function useStatsPoll(store: ConsoleStore, nodes?: string[], everyMs = STATS_EVERY_MS): void {
  const key = nodes ? nodes.join(",") : "*";
  useEffect(() => {
    if (nodes && nodes.length === 0) return;
    const ask = () => void store.getState().refreshStats(nodes);
    ask();
    const timer = setInterval(ask, everyMs);
    return () => clearInterval(timer);
  }, [store, key, everyMs]);
}
