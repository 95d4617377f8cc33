// A runtime whose event feed the test writes (for the event hub and what listens to it), and
// whose container list and change count the test sets (for the List cache).
import type { ContainerInfo, Runtime, RuntimeEvent } from "../../agent/runtime/runtime.ts";
import { Channel } from "../../lib/sync/channel.ts";

/**
 * A runtime whose events() is a channel the test pushes into (and says it has subscribed at
 * once, unless `confirmsOpen` is false); counts subscriptions. list() answers `state.containers`
 * after `state.listing` resolves (counted in `state.lists`); changes() is `state.changes`.
 */
export function scriptedRuntime(opts: { confirmsOpen?: boolean } = {}) {
  const state = {
    subscriptions: 0,
    open: 0,
    feed: new Channel<RuntimeEvent>(),
    containers: [] as ContainerInfo[],
    lists: 0,
    listing: Promise.resolve(),
    changes: 0,
  };
  const runtime = {
    async list() {
      state.lists++;
      await state.listing;
      return state.containers;
    },
    changes: () => state.changes,
    events(_labels: Record<string, string>, signal: AbortSignal, opened?: () => void): AsyncIterable<RuntimeEvent> {
      state.subscriptions++;
      state.open++;
      state.feed = new Channel<RuntimeEvent>();
      const feed = state.feed;
      if (opts.confirmsOpen !== false) queueMicrotask(() => opened?.());
      signal.addEventListener("abort", () => feed.close(), { once: true });
      return (async function* () {
        try {
          yield* feed;
        } finally {
          state.open--;
        }
      })();
    },
  } as unknown as Runtime;
  return { runtime, state };
}

export const ev = (service: string, action = "start"): RuntimeEvent => ({
  time: new Date().toISOString(),
  action,
  containerId: "id",
  containerName: service,
  image: "img",
  labels: { "mcp.managed": "true", "mcp.service": service },
});
