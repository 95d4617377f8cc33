// A runtime whose event feed the test writes (for the event hub and what listens to it).
import type { Runtime, RuntimeEvent } from "../../agent/runtime/runtime.ts";
import { Channel } from "../../lib/sync/channel.ts";

/** A runtime whose events() is a channel the test pushes into; counts subscriptions. */
export function scriptedRuntime() {
  const state = { subscriptions: 0, open: 0, feed: new Channel<RuntimeEvent>() };
  const runtime = {
    events(_labels: Record<string, string>, signal: AbortSignal): AsyncIterable<RuntimeEvent> {
      state.subscriptions++;
      state.open++;
      state.feed = new Channel<RuntimeEvent>();
      const feed = state.feed;
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
