// Keeps the services and node states fresh: each node is asked on its own schedule, every
// `everyMs` while it answers, backing off (doubling up to `maxMs`) while it does not, so a
// node that drops out never slows the others and is retried.
import type { ConsoleStore } from "../store/state.ts";

export function startPoller(store: ConsoleStore, opts: { everyMs?: number; maxMs?: number } = {}): () => void {
  const every = opts.everyMs ?? 3000;
  const max = opts.maxMs ?? 30_000;
  const timers = new Map<string, NodeJS.Timeout>();
  const delays = new Map<string, number>();
  let stopped = false;
  const poll = async (node: string) => {
    await store.getState().fetchStatus(undefined, [node]).catch(() => undefined);
    if (stopped) return;
    const ok = store.getState().nodes[node]?.state === "ok";
    const delay = ok ? every : Math.min(max, (delays.get(node) ?? every / 2) * 2);
    delays.set(node, ok ? every : delay);
    timers.set(node, setTimeout(() => void poll(node), delay));
  };
  // Health once: agent and podman versions (a node without podman says so in the header).
  void store.getState().refreshNodes().catch(() => undefined);
  for (const node of Object.keys(store.getState().nodes)) void poll(node);
  return () => {
    stopped = true;
    for (const t of timers.values()) clearTimeout(t);
  };
}
