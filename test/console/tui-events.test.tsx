// The TUI's events screen (:events): every node's container events as they arrive, newest
// at the top; / filters by service or kind; Enter opens the event's service (the one the
// selection is on, even after newer events arrived above it); the store keeps the last 1,000.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import type { EventsRequest } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { App } from "../../console/tui/app.tsx";
import { ENTER, ESC, press, untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

interface Ev {
  service: string;
  component: string;
  action: string;
}

/** An agent's Events stream that yields what a test sends it, with times one second apart. */
class EventFeed {
  private queued: Ev[] = [];
  private waiting: (() => void)[] = [];
  private n = 0;

  send(...events: Ev[]): void {
    this.queued.push(...events);
    for (const w of this.waiting.splice(0)) w();
  }

  async *events(_req: EventsRequest, ctx: { signal: AbortSignal }) {
    for (;;) {
      for (const e of this.queued.splice(0)) {
        const time = new Date(Date.UTC(2026, 0, 1, 0, 0, this.n++)).toISOString();
        yield { time, container: `${e.service}-${e.component}`, ...e };
      }
      if (ctx.signal.aborted) return;
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }
}

function platform() {
  const rift = new EventFeed();
  const vade = new EventFeed();
  const status = async (req: { service: string }) => ({ service: req.service, version: "v1", active: true, components: [] });
  const { store } = fixtureStore({
    rift: { health, list: async () => ({ containers: [] }), status, events: (req, ctx) => rift.events(req, ctx) },
    vade: { health, list: async () => ({ containers: [] }), status, events: (req, ctx) => vade.events(req, ctx) },
  });
  // What the TUI's poller does from the start: follow every node's Events stream.
  const abort = new AbortController();
  void store.getState().followEvents(undefined, abort.signal);
  return { store, rift, vade, stop: () => abort.abort() };
}

/** The table's rows as "service component action", top to bottom. */
const rows = (frame: string) =>
  frame
    .split("\n")
    .filter((l) => /^2026-/.test(l))
    .map((l) => l.split(/\s+/).slice(2).join(" "));

describe("the events screen", () => {
  test("events arrive at the top, from every node; / filters by service or kind; esc clears nothing it should not", async () => {
    const { store, rift, vade, stop } = platform();
    try {
      const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
      await press(ui.stdin, ":", ..."events", ENTER);
      let f = await untilFrame(ui.lastFrame, /^mcp events/m);
      assert.match(f, /no events yet/);
      rift.send({ service: "shop", component: "api", action: "start" });
      f = await untilFrame(ui.lastFrame, /^TIME +NODE +SERVICE +COMPONENT +ACTION/m);
      f = await untilFrame(ui.lastFrame, /shop +api +start/);
      assert.match(f, /^2026-01-01T00:00:00Z +rift +shop +api +start$/m);
      vade.send({ service: "blog", component: "web", action: "died" });
      f = await untilFrame(ui.lastFrame, /blog +web +died/);
      assert.deepEqual(rows(f), ["blog web died", "shop api start"]);
      assert.match(f, /2 events, newest first/);
      rift.send({ service: "shop", component: "web", action: "died" }, { service: "shop", component: "web", action: "start" });
      f = await untilFrame(ui.lastFrame, /4 events/);
      assert.deepEqual(rows(f), ["shop web start", "shop web died", "blog web died", "shop api start"]);

      await press(ui.stdin, "/", ..."died", ENTER);
      f = await untilFrame(ui.lastFrame, /filter: died +2 events of 4/);
      assert.deepEqual(rows(f), ["shop web died", "blog web died"]);
      await press(ui.stdin, "/", "\x15", ..."shop", ENTER);
      f = await untilFrame(ui.lastFrame, /filter: shop +3 events of 4/);
      assert.deepEqual(rows(f), ["shop web start", "shop web died", "shop api start"]);
      // Filtered events still arrive at the top.
      rift.send({ service: "shop", component: "api", action: "stop" });
      f = await untilFrame(ui.lastFrame, /4 events of 5/);
      assert.deepEqual(rows(f)[0], "shop api stop");
      await press(ui.stdin, "/", "\x15", ..."zzz", ENTER);
      await untilFrame(ui.lastFrame, /nothing matches the filter/);
    } finally {
      stop();
    }
  });

  test("Enter opens the selected event's service, the same event after newer ones arrived; sorted by node and back", async () => {
    const { store, rift, vade, stop } = platform();
    try {
      rift.send({ service: "shop", component: "api", action: "start" });
      vade.send({ service: "blog", component: "web", action: "died" });
      const ui = render(<App store={store} width={100} height={24} color={false} poll={false} initial={{ screen: "events" }} />);
      let f = await untilFrame(ui.lastFrame, /2 events/);
      const first = rows(f);
      // The second row selected (the prompt opened after it shows the key was taken); then a
      // newer event arrives above it.
      await press(ui.stdin, "j", "/");
      await untilFrame(ui.lastFrame, /^\/█$/m);
      await press(ui.stdin, ESC);
      await untilFrame(ui.lastFrame, /enter service +\/ filter/);
      rift.send({ service: "cart", component: "api", action: "create" });
      f = await untilFrame(ui.lastFrame, /3 events/);
      assert.equal(rows(f)[0], "cart api create");
      await press(ui.stdin, ENTER);
      const service = first[1]!.split(" ")[0];
      await untilFrame(ui.lastFrame, new RegExp(`^mcp service ${service}`, "m"));
      await press(ui.stdin, ESC);
      await untilFrame(ui.lastFrame, /^mcp events/m);

      await press(ui.stdin, "O");
      f = await untilFrame(ui.lastFrame, /NODE▲/);
      assert.deepEqual(
        f
          .split("\n")
          .filter((l) => /^2026-/.test(l))
          .map((l) => l.split(/\s+/)[1]),
        ["rift", "rift", "vade"],
      );
      await press(ui.stdin, "A");
      f = await untilFrame(ui.lastFrame, /TIME▼/);
      assert.equal(rows(f)[0], "cart api create");
      await press(ui.stdin, "?", "G");
      await untilFrame(ui.lastFrame, /^events +↑↓\/jk move +enter service +\/ filter.*\n +sort: A time +O node +N service +K action/m);
    } finally {
      stop();
    }
  });

  test("the store keeps the last 1,000 events", async () => {
    const { store, rift, stop } = platform();
    try {
      rift.send(...Array.from({ length: 1005 }, (_, i) => ({ service: `s${i}`, component: "api", action: "start" })));
      await untilFrame(() => String(store.getState().eventSeq), /^1005$/);
      const events = store.getState().events;
      assert.equal(events.length, 1000);
      assert.deepEqual([events[0]!.service, events.at(-1)!.service], ["s5", "s1004"]);
    } finally {
      stop();
    }
  });
});
