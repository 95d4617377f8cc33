// The drift watch asks for a reconcile pass soon after one of this agent's containers dies
// or goes away (several events at once make one ask), ignores other agents' containers and
// events that need no repair, shares the hub's one subscription, watches again after the feed
// ends, and stops asking once stopped.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DriftWatch } from "../../agent/reconcile/drift-watch.ts";
import { EventHub } from "../../agent/runtime/event-hub.ts";
import type { RuntimeProvider } from "../../agent/runtime/provider.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { ev, scriptedRuntime } from "../helpers/scripted-events.ts";
import { until } from "../helpers/wait.ts";

const mine = (action: string) => {
  const e = ev("web", action);
  e.labels["mcp.agent"] = "agent-1";
  return e;
};

test("a death of this agent's container asks for one pass; others' and starts ask for none", async () => {
  const { runtime, state } = scriptedRuntime();
  const runtimes = { all: async () => ({ runtimes: [runtime], failed: new Map() }) } as unknown as RuntimeProvider;
  const hub = new EventHub({ "mcp.managed": "true" });
  let asked = 0;
  const watch = new DriftWatch({ runtimes, events: hub, labels: { "mcp.agent": "agent-1" }, onDrift: () => asked++, log: silentLogger() });
  watch.start();
  try {
    await until("the subscription", async () => (state.open === 1 ? true : undefined), 2000, 5);
    state.feed.push(mine("start"));
    state.feed.push(ev("web", "died")); // no mcp.agent: another agent's
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(asked, 0);
    state.feed.push(mine("stop"));
    state.feed.push(mine("died"));
    await until("a pass asked for", async () => (asked > 0 ? true : undefined), 2000, 10);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(asked, 1, "a stop and its death make one ask");
    // A second watcher (an Events stream) shares the subscription.
    const stop = new AbortController();
    void (async () => {
      for await (const _ of hub.watch(runtime, {}, stop.signal));
    })();
    assert.equal(hub.subscriptions, 1);
    assert.equal(state.subscriptions, 1);
    stop.abort();
    // The feed ends (podman's service restarts): watched again.
    state.feed.close();
    await until("a new subscription", async () => (state.subscriptions === 2 && state.open === 1 ? true : undefined), 5000, 20);
    state.feed.push(mine("remove"));
    await until("a second ask", async () => (asked === 2 ? true : undefined), 2000, 10);
  } finally {
    watch.stop();
  }
  await until("the subscription closed", async () => (state.open === 0 ? true : undefined), 2000, 5);
  state.feed.push(mine("died"));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(asked, 2, "no ask after stop");
});
