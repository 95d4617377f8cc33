// EventHub: one podman subscription per runtime however many watch; each watcher
// sees the events carrying its labels; the subscription ends with the last
// watcher; a watcher that falls behind is cut off; podman's end reaches all.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EventHub, MAX_QUEUED, SlowWatcherError } from "../../agent/runtime/event-hub.ts";
import { ev, scriptedRuntime } from "../helpers/scripted-events.ts";

const tick = () => new Promise((r) => setImmediate(r));

test("50 watchers share one subscription and each gets its own service's events", async () => {
  const { runtime, state } = scriptedRuntime();
  const hub = new EventHub({ "mcp.managed": "true" });
  const stop = new AbortController();
  const seen: string[][] = [];
  const loops = Array.from({ length: 50 }, (_, i) => {
    const got: string[] = [];
    seen.push(got);
    const labels: Record<string, string> = i % 2 ? { "mcp.service": "a" } : {};
    return (async () => {
      for await (const e of hub.watch(runtime, labels, stop.signal)) got.push(e.labels["mcp.service"]!);
    })();
  });
  await tick();
  assert.equal(state.subscriptions, 1);
  assert.equal(hub.subscriptions, 1);
  state.feed.push(ev("a"));
  state.feed.push(ev("b"));
  await tick();
  stop.abort();
  await Promise.all(loops);
  assert.deepEqual(seen[0], ["a", "b"], "no labels: everything managed");
  assert.deepEqual(seen[1], ["a"], "service a only");
  await tick();
  assert.equal(state.open, 0, "the subscription ends with the last watcher");
  assert.equal(hub.subscriptions, 0);
});

test("a watcher more than MAX_QUEUED events behind is cut off; the others go on", async () => {
  const { runtime, state } = scriptedRuntime();
  const hub = new EventHub({ "mcp.managed": "true" });
  const stop = new AbortController();
  const slow = hub.watch(runtime, {}, stop.signal)[Symbol.asyncIterator]();
  let fastCount = 0;
  const fast = (async () => {
    for await (const _ of hub.watch(runtime, {}, stop.signal)) fastCount++;
  })();
  await tick();
  for (let i = 0; i <= MAX_QUEUED + 5; i++) {
    state.feed.push(ev("a"));
    if (i % 100 === 0) await tick();
  }
  await tick();
  let err: unknown;
  try {
    for (;;) if ((await slow.next()).done) break;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof SlowWatcherError);
  assert.equal(fastCount, MAX_QUEUED + 6);
  stop.abort();
  await fast;
});

test("when podman's stream fails, every watcher's stream fails with it; the next watcher subscribes anew", async () => {
  const { runtime, state } = scriptedRuntime();
  const hub = new EventHub({ "mcp.managed": "true" });
  const stop = new AbortController();
  const results = Array.from({ length: 3 }, () =>
    (async () => {
      for await (const _ of hub.watch(runtime, {}, stop.signal));
    })().then(
      () => "ended",
      (e: Error) => e.message,
    ),
  );
  await tick();
  state.feed.close(new Error("podman events exited 125"));
  assert.deepEqual(await Promise.all(results), ["podman events exited 125", "podman events exited 125", "podman events exited 125"]);
  const again = (async () => {
    for await (const _ of hub.watch(runtime, {}, stop.signal));
  })();
  await tick();
  assert.equal(state.subscriptions, 2);
  stop.abort();
  await again;
});
