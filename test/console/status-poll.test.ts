// The TUI's poll on a node with many services: the first poll asks every service's Status, at
// most 8 at a time; later polls ask none of them again unless an event named the service or its
// status is older than the poll's maximum age; `mcp status` (no poll) asks every one each time.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { startPoller } from "../../console/tui/poller.ts";
import { untilFrame } from "../helpers/ink-keys.ts";
import { type AgentImpl, fixtureStore, health, removeFixtures, runningContainer } from "./tui-fixture.ts";

after(removeFixtures);

const SERVICES = Array.from({ length: 40 }, (_, i) => `svc${String(i).padStart(2, "0")}`);

/** `unknown`: services the agent lists containers of but has no record of (Status: not_found). */
function platform(unknown = new Set<string>()) {
  const asked: string[] = [];
  let inFlight = 0;
  let most = 0;
  let emit: ((service: string) => void) | undefined;
  let lists = 0;
  let cut: (() => void) | undefined;
  const rift: AgentImpl = {
    health,
    list: async () => (lists++, { containers: SERVICES.map(runningContainer) }),
    status: async (req) => {
      asked.push(req.service);
      if (unknown.has(req.service)) throw new ConnectError(`service ${req.service} is not deployed here`, Code.NotFound);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { service: req.service, version: "v1", active: true, components: [] };
    },
    async *events(_req, ctx) {
      const queue: string[] = [];
      let wake: (() => void) | undefined;
      let broken = false;
      emit = (service) => (queue.push(service), wake?.());
      cut = () => ((broken = true), wake?.());
      while (!ctx.signal.aborted && !broken) {
        if (!queue.length) await new Promise<void>((r) => (wake = r));
        const service = queue.shift();
        if (service) yield { time: new Date().toISOString(), service, component: "api", container: `${service}-api`, action: "die" };
      }
    },
  };
  const fx = fixtureStore({ rift }, {});
  return { ...fx, asked, most: () => most, emit: (s: string) => emit?.(s), lists: () => lists, cut: () => cut?.() };
}

test("a poll asks Status again only for what an event named or what is too old, 8 at a time", async () => {
  const { store, asked, most } = platform();
  const poll = { changed: new Set<string>(), maxAgeMs: 60_000 };
  await store.getState().fetchStatus(undefined, ["rift"], poll);
  assert.equal(asked.length, 40);
  assert.ok(most() <= 8, `${most()} Status calls at once`);
  assert.equal(Object.keys(store.getState().statuses).length, 40);
  asked.length = 0;
  await store.getState().fetchStatus(undefined, ["rift"], poll);
  assert.deepEqual(asked, [], "nothing new: nothing asked");
  assert.equal(Object.keys(store.getState().statuses).length, 40, "and nothing forgotten");
  await store.getState().fetchStatus(undefined, ["rift"], { changed: new Set(["svc07"]), maxAgeMs: 60_000 });
  assert.deepEqual(asked, ["svc07"]);
  asked.length = 0;
  await store.getState().fetchStatus(undefined, ["rift"], { changed: new Set(), maxAgeMs: 0 });
  assert.equal(asked.length, 40, "too old: asked again");
  asked.length = 0;
  await store.getState().fetchStatus(undefined, ["rift"]);
  assert.equal(asked.length, 40, "without a poll (mcp status): every one");
});

test("the poller asks again at once for the service an event names, and only for it", async () => {
  const { store, asked, emit } = platform();
  const stop = startPoller(store, { everyMs: 60_000, settleMs: 20 });
  try {
    await untilFrame(() => String(asked.length), /^40$/);
    await new Promise((r) => setTimeout(r, 200)); // the Events stream is open
    asked.length = 0;
    emit("svc12");
    await untilFrame(() => asked.join(","), /^svc12$/, 3000);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(asked, ["svc12"]);
  } finally {
    stop();
  }
});

test("a service whose Status is not_found leaves the node and the others' statuses alone, and is not asked again at every poll", async () => {
  const { store, asked } = platform(new Set(["svc03", "svc30"]));
  const poll = { changed: new Set<string>(), maxAgeMs: 60_000 };
  const [out] = await store.getState().fetchStatus(undefined, ["rift"], poll);
  assert.equal(out!.ok, true);
  assert.equal(store.getState().nodes.rift!.state, "ok");
  assert.equal(Object.keys(store.getState().statuses).length, 38);
  assert.equal(store.getState().statuses.svc03, undefined);
  asked.length = 0;
  await store.getState().fetchStatus(undefined, ["rift"], poll);
  assert.deepEqual(asked, [], "what was not found is known not to be there until an event or its age says otherwise");
  await store.getState().fetchStatus(undefined, ["rift"], { changed: new Set(["svc03"]), maxAgeMs: 60_000 });
  assert.deepEqual(asked, ["svc03"]);
  assert.equal(store.getState().containers.rift!.length, 40, "its rows still show");
});

test("while a node's Events stream is up its List slows to the watched pace; a stream that breaks brings the fast pace back at once", async () => {
  const { store, lists, cut } = platform();
  const stop = startPoller(store, { everyMs: 100, watchedEveryMs: 60_000, settleMs: 20 });
  try {
    // The stream opens at once; polls that begin a second after it are the watched kind.
    await new Promise((r) => setTimeout(r, 1600));
    const settled = lists();
    assert.ok(settled >= 5 && settled <= 16, `${settled} Lists in the first 1.6 s at 100 ms`);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(lists(), settled, "no List while the stream is up");
    cut();
    await untilFrame(() => String(lists()), new RegExp(`^(?!${settled}$)`), 1000);
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(lists() >= settled + 3, `fast again after the break: ${lists() - settled} Lists in 0.5 s`);
  } finally {
    stop();
  }
});
