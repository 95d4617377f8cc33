// Keeps the services and node states fresh. Each node is asked on its own schedule, every
// `everyMs` while it answers, backing off (doubling up to `maxMs`) while it does not, so a
// node that drops out never slows the others and is retried. Between polls, each node's
// Events stream says when something changed there (a container started, stopped, was
// removed): that node is asked again at once (`settleMs` later, so that a burst of events
// is one ask), and the views change when what they show changes. While a node's stream is
// up, its schedule slows to `watchedEveryMs`: the polls are then only a safety net (k9s
// watches instead of polling). Each poll lists the node's
// containers; a service's Status is asked again only after an event names it or when it is
// 30 s old (5 min while the stream is up), so that a node with hundreds of services is not
// asked hundreds of Status a poll.
import type { ConsoleStore } from "../store/state.ts";

export function startPoller(
  store: ConsoleStore,
  opts: { everyMs?: number; watchedEveryMs?: number; maxMs?: number; settleMs?: number; statusMaxAgeMs?: number; watchedStatusMaxAgeMs?: number } = {},
): () => void {
  const every = opts.everyMs ?? 3000;
  const watchedEvery = Math.max(every, opts.watchedEveryMs ?? 30_000);
  const max = opts.maxMs ?? 30_000;
  const settle = opts.settleMs ?? 150;
  // Drift and desired state can change without a container event (a sync, the reconciler): asked again this often.
  const statusMaxAge = opts.statusMaxAgeMs ?? 30_000;
  // While the node's stream is up, what changes a status comes with an event: this is a safety net.
  const watchedStatusMaxAge = Math.max(statusMaxAge, opts.watchedStatusMaxAgeMs ?? 300_000);
  const timers = new Map<string, NodeJS.Timeout>();
  const delays = new Map<string, number>();
  const soon = new Map<string, NodeJS.Timeout>();
  const abort = new AbortController();
  let stopped = false;
  // The services an event named since each node's last poll: their status is asked again.
  const changed = new Map<string, Set<string>>();
  // When each node's Events stream was opened (absent: not open). A poll counts the node as
  // watched only if the stream opened a while before it began, so that what changed while
  // the stream was being opened is seen by the poll after it.
  const openedAt = new Map<string, number>();
  const watched = (node: string, since: number) => (openedAt.get(node) ?? Number.POSITIVE_INFINITY) <= since - 1000;
  const poll = async (node: string) => {
    const began = Date.now();
    const names = changed.get(node) ?? new Set<string>();
    changed.set(node, new Set());
    await store
      .getState()
      .fetchStatus(undefined, [node], { changed: names, maxAgeMs: watched(node, began) ? watchedStatusMaxAge : statusMaxAge })
      .catch(() => undefined);
    if (stopped) return;
    const ok = store.getState().nodes[node]?.state === "ok";
    const delay = !ok ? Math.min(max, (delays.get(node) ?? every / 2) * 2) : watched(node, began) ? watchedEvery : every;
    delays.set(node, ok ? every : delay);
    // One timer per node, whichever ask (the schedule's or an event's) ended last.
    clearTimeout(timers.get(node));
    timers.set(
      node,
      setTimeout(() => void poll(node), delay),
    );
  };
  // One Events stream per node, opened again after it breaks (at the pace of the polls).
  const watch = async (node: string) => {
    while (!stopped) {
      openedAt.set(node, Date.now());
      await store
        .getState()
        .followEvents(undefined, abort.signal, [node])
        .catch(() => undefined);
      const wasWatched = watched(node, Date.now());
      openedAt.delete(node);
      // A stream that was up broke: the node is polled at once, and at the fast pace again.
      if (wasWatched && !stopped) void poll(node);
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delays.get(node) ?? every));
    }
  };
  let seen = store.getState().eventSeq;
  const unsubscribe = store.subscribe((s) => {
    if (s.eventSeq === seen) return;
    const fresh = s.events.filter((e) => e.seq > seen);
    const nodes = new Set(fresh.map((e) => e.node));
    for (const e of fresh) changed.set(e.node, (changed.get(e.node) ?? new Set()).add(e.service));
    seen = s.eventSeq;
    for (const node of nodes) {
      if (soon.has(node)) continue;
      soon.set(
        node,
        setTimeout(() => (soon.delete(node), void poll(node)), settle),
      );
    }
  });
  // Health once: agent and podman versions (a node without podman says so in the header).
  void store
    .getState()
    .refreshNodes()
    .catch(() => undefined);
  for (const node of Object.keys(store.getState().nodes)) {
    void poll(node);
    void watch(node);
  }
  return () => {
    stopped = true;
    abort.abort();
    unsubscribe();
    for (const t of [...timers.values(), ...soon.values()]) clearTimeout(t);
  };
}
