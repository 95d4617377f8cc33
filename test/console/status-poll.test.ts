// The TUI's poll on a node with many services: the first poll asks every service's Status, at
// most 8 at a time; later polls ask none of them again unless an event named the service or its
// status is older than the poll's maximum age; `mcp status` (no poll) asks every one each time.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startPoller } from "../../console/tui/poller.ts";
import { untilFrame } from "../helpers/ink-keys.ts";
import { type AgentImpl, fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);

const SERVICES = Array.from({ length: 40 }, (_, i) => `svc${String(i).padStart(2, "0")}`);

function platform() {
  const asked: string[] = [];
  let inFlight = 0;
  let most = 0;
  let emit: ((service: string) => void) | undefined;
  const rift: AgentImpl = {
    health,
    list: async () => ({
      containers: SERVICES.map((service) => ({
        service,
        component: "api",
        container: `${service}-api`,
        image: "i",
        version: "v1",
        state: "running",
        startedAt: "",
        ports: [],
      })),
    }),
    status: async (req) => {
      asked.push(req.service);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { service: req.service, version: "v1", active: true, components: [] };
    },
    async *events(_req, ctx) {
      const queue: string[] = [];
      let wake: (() => void) | undefined;
      emit = (service) => (queue.push(service), wake?.());
      while (!ctx.signal.aborted) {
        if (!queue.length) await new Promise<void>((r) => (wake = r));
        const service = queue.shift();
        if (service) yield { time: new Date().toISOString(), service, component: "api", container: `${service}-api`, action: "die" };
      }
    },
  };
  const fx = fixtureStore({ rift }, {});
  return { ...fx, asked, most: () => most, emit: (s: string) => emit?.(s) };
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
