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
// The nodes can change while it runs: the platform's node list is asked at the start (without
// holding up the config's nodes) and every `platformEveryMs`; a node that joins the list is
// polled and watched at once, one that leaves it is forgotten (its stream closed). The
// registry's own readiness (its database and blob store) is asked every `healthEveryMs`.
import type { ConsoleStore } from "../store/state.ts";

export function startPoller(
  store: ConsoleStore,
  opts: {
    everyMs?: number;
    watchedEveryMs?: number;
    maxMs?: number;
    settleMs?: number;
    statusMaxAgeMs?: number;
    watchedStatusMaxAgeMs?: number;
    platformEveryMs?: number;
    healthEveryMs?: number;
  } = {},
): () => void {
  const every = opts.everyMs ?? 3000;
  const watchedEvery = Math.max(every, opts.watchedEveryMs ?? 30_000);
  const max = opts.maxMs ?? 30_000;
  const settle = opts.settleMs ?? 150;
  // Drift and desired state can change without a container event (a sync, the reconciler): asked again this often.
  const statusMaxAge = opts.statusMaxAgeMs ?? 30_000;
  // While the node's stream is up, what changes a status comes with an event: this is a safety net.
  const watchedStatusMaxAge = Math.max(statusMaxAge, opts.watchedStatusMaxAgeMs ?? 300_000);
  const platformEvery = opts.platformEveryMs ?? 30_000;
  const healthEvery = opts.healthEveryMs ?? 10_000;
  const timers = new Map<string, NodeJS.Timeout>();
  const delays = new Map<string, number>();
  const soon = new Map<string, NodeJS.Timeout>();
  // The nodes being polled, each with what closes its Events stream.
  const active = new Map<string, AbortController>();
  let platformTimer: NodeJS.Timeout | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  // The services an event named since each node's last poll: their status is asked again.
  const changed = new Map<string, Set<string>>();
  // When each node's Events stream was opened (absent: not open). A poll counts the node as
  // watched only if the stream opened a while before it began, so that what changed while
  // the stream was being opened is seen by the poll after it.
  const openedAt = new Map<string, number>();
  const watched = (node: string, since: number) => (openedAt.get(node) ?? Number.POSITIVE_INFINITY) <= since - 1000;
  const poll = async (node: string) => {
    if (!active.has(node)) return;
    const began = Date.now();
    const names = changed.get(node) ?? new Set<string>();
    changed.set(node, new Set());
    await store
      .getState()
      .fetchStatus(undefined, [node], { changed: names, maxAgeMs: watched(node, began) ? watchedStatusMaxAge : statusMaxAge })
      .catch(() => undefined);
    if (stopped || !active.has(node)) return;
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
  const watch = async (node: string, signal: AbortSignal) => {
    while (!signal.aborted) {
      openedAt.set(node, Date.now());
      await store
        .getState()
        .followEvents(undefined, signal, [node])
        .catch(() => undefined);
      const wasWatched = watched(node, Date.now());
      openedAt.delete(node);
      // A stream that was up broke: the node is polled at once, and at the fast pace again.
      if (wasWatched && !signal.aborted) void poll(node);
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, delays.get(node) ?? every));
    }
  };
  const start = (node: string) => {
    const abort = new AbortController();
    active.set(node, abort);
    void poll(node);
    void watch(node, abort.signal);
  };
  const forget = (node: string) => {
    active.get(node)?.abort();
    active.delete(node);
    for (const m of [timers, soon]) clearTimeout(m.get(node)), m.delete(node);
    delays.delete(node);
    changed.delete(node);
    openedAt.delete(node);
  };
  let known = store.getState().nodes;
  let seen = store.getState().eventSeq;
  const unsubscribe = store.subscribe((s) => {
    if (s.nodes !== known) {
      known = s.nodes;
      for (const node of [...active.keys()]) if (!s.nodes[node]) forget(node);
      const added = Object.keys(s.nodes).filter((n) => !active.has(n));
      for (const node of added) start(node);
      // Health of the new ones: agent and podman versions.
      if (added.length && !stopped)
        void store
          .getState()
          .refreshNodes(added)
          .catch(() => undefined);
    }
    if (s.eventSeq === seen) return;
    const fresh = s.events.filter((e) => e.seq > seen);
    const touched = new Set(fresh.map((e) => e.node));
    for (const e of fresh) changed.set(e.node, (changed.get(e.node) ?? new Set()).add(e.service));
    seen = s.eventSeq;
    for (const node of touched) {
      if (soon.has(node) || !active.has(node)) continue;
      soon.set(
        node,
        setTimeout(() => (soon.delete(node), void poll(node)), settle),
      );
    }
  });
  // The platform's nodes: asked first, every platformEvery again; the config's are polled meanwhile.
  const platform = () =>
    void store
      .getState()
      .loadPlatformNodes()
      .finally(() => {
        if (!stopped) platformTimer = setTimeout(platform, platformEvery);
      });
  platform();
  // The registry's health for the header: asked again while there is a registry to ask (mcr probes its store at most every 2 s).
  const health = () =>
    void store
      .getState()
      .registryHealth()
      .then((h) => {
        if (h && !stopped) healthTimer = setTimeout(health, healthEvery);
      });
  health();
  // Health once: agent and podman versions (a node without podman says so in the header).
  const first = Object.keys(known);
  if (first.length)
    void store
      .getState()
      .refreshNodes(first)
      .catch(() => undefined);
  for (const node of first) start(node);
  return () => {
    stopped = true;
    unsubscribe();
    clearTimeout(platformTimer);
    clearTimeout(healthTimer);
    for (const node of [...active.keys()]) forget(node);
  };
}
