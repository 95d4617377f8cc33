// The List RPC's cache of podman's listing: reused only while the hub's subscription is open
// and silent and the agent has changed nothing; any event, a change of the agent's (even one
// under way while podman answered), the feed closing or the age limit: listed again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EventHub } from "../../agent/runtime/event-hub.ts";
import { ContainerListCache, MAX_AGE_MS } from "../../agent/runtime/list-cache.ts";
import type { ContainerInfo, Runtime } from "../../agent/runtime/runtime.ts";
import { ev, scriptedRuntime } from "../helpers/scripted-events.ts";

const tick = () => new Promise((r) => setImmediate(r));
const MANAGED = { "mcp.managed": "true" };
const box = (name: string, state = "running") => ({ name, state, labels: MANAGED }) as unknown as ContainerInfo;

/** A hub watching the scripted runtime (as the drift watch does in the agent), and the cache on it. */
async function setUp(opts: { confirmsOpen?: boolean } = {}) {
  const { runtime, state } = scriptedRuntime(opts);
  const hub = new EventHub(MANAGED);
  const stop = new AbortController();
  const watching = (async () => {
    for await (const _ of hub.watch(runtime, {}, stop.signal));
  })();
  let now = 1_000;
  const cache = new ContainerListCache(hub, MANAGED, () => now);
  await tick();
  const names = async () => (await cache.list(runtime)).map((c) => `${c.name}:${c.state}`);
  const close = async () => {
    stop.abort();
    await watching;
  };
  return { runtime, state, hub, cache, names, close, advance: (ms: number) => (now += ms) };
}

test("a second List while podman's feed is silent answers from the first listing", async () => {
  const t = await setUp();
  t.state.containers = [box("a")];
  assert.deepEqual(await t.names(), ["a:running"]);
  t.state.containers = [box("a"), box("b")]; // podman's answer would differ, but nothing said so
  assert.deepEqual(await t.names(), ["a:running"]);
  assert.equal(t.state.lists, 1);
  assert.ok(Object.isFrozen(await t.cache.list(t.runtime)), "callers cannot change the kept listing");
  await t.close();
});

test("an event makes the next List ask podman", async () => {
  const t = await setUp();
  t.state.containers = [box("a")];
  await t.names();
  t.state.containers = [box("a", "exited")];
  t.state.feed.push(ev("a", "died"));
  await tick();
  assert.deepEqual(await t.names(), ["a:exited"]);
  assert.equal(t.state.lists, 2);
  await t.close();
});

test("a change made by the agent makes the next List ask podman, even before its event", async () => {
  const t = await setUp();
  await t.names();
  t.state.changes += 2; // a stop began and ended; podman's event is still on the way
  t.state.containers = [box("a", "exited")];
  assert.deepEqual(await t.names(), ["a:exited"]);
  assert.equal(t.state.lists, 2);
  await t.close();
});

test("a listing during which an event or a change came is not kept", async () => {
  const t = await setUp();
  for (const during of [() => t.state.feed.push(ev("a", "start")), () => (t.state.changes += 1)]) {
    let answer!: () => void;
    t.state.listing = new Promise<void>((r) => (answer = r));
    const first = t.names();
    await tick();
    during();
    await tick();
    answer();
    await first;
    t.state.listing = Promise.resolve();
    const before = t.state.lists;
    await t.names();
    assert.equal(t.state.lists, before + 1, "listed again");
    await t.names();
    assert.equal(t.state.lists, before + 1, "and that listing is kept");
  }
  await t.close();
});

test("no listing is reused without an open subscription, from a runtime with no change count, or past the age limit", async () => {
  const unconfirmed = await setUp({ confirmsOpen: false });
  await unconfirmed.names();
  await unconfirmed.names();
  assert.equal(unconfirmed.state.lists, 2, "podman never said it subscribed");
  await unconfirmed.close();

  const closed = await setUp();
  await closed.names();
  await closed.close(); // the feed ended: nothing would tell of a change
  await tick();
  await closed.names();
  assert.equal(closed.state.lists, 2);

  const uncounted = await setUp();
  (uncounted.runtime as { changes?: unknown }).changes = undefined;
  await uncounted.names();
  await uncounted.names();
  assert.equal(uncounted.state.lists, 2, "a runtime that keeps no change count");
  await uncounted.close();

  const aged = await setUp();
  await aged.names();
  aged.advance(MAX_AGE_MS - 1);
  await aged.names();
  assert.equal(aged.state.lists, 1);
  aged.advance(1);
  await aged.names();
  assert.equal(aged.state.lists, 2, "at MAX_AGE_MS");
  await aged.close();
});

test("a new subscription after one ended never matches a listing of the old one", async () => {
  const t = await setUp();
  await t.names();
  const mark = t.hub.seen(t.runtime);
  await t.close();
  await tick();
  assert.equal(t.hub.seen(t.runtime), undefined);
  const again = new AbortController();
  const watching = (async () => {
    for await (const _ of t.hub.watch(t.runtime as Runtime, {}, again.signal));
  })();
  await tick();
  assert.notEqual(t.hub.seen(t.runtime), undefined);
  assert.notEqual(t.hub.seen(t.runtime), mark);
  await t.names();
  assert.equal(t.state.lists, 2);
  again.abort();
  await watching;
});
