// Views change when what they show changes, not on the next poll or `r`: a deleted tag's
// repository header, a repository pushed elsewhere (mcr's audit stream), a removed service,
// a node's containers after one of its events (the agent's Events stream); and a service
// that cannot be found says so, without "asking…" beside the error.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { Code, ConnectError } from "@connectrpc/connect";
import { App } from "../../console/tui/app.tsx";
import { startPoller } from "../../console/tui/poller.ts";
import { ENTER, ESC, press, untilFrame } from "../helpers/ink-keys.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const row = (component: string, state = "running") => ({
  service: "shop",
  component,
  container: `shop-${component}`,
  image: "i",
  version: "v1",
  state,
  startedAt: "",
  ports: [],
});

describe("views that follow what they show", () => {
  test("a deleted tag: the repository's header counts it at once", async () => {
    const mcr = fakeMcr();
    const ui = render(<App store={mcrStore(mcr)} width={100} height={24} color={false} poll={false} initial={{ screen: "repository", repo: "team/app" }} />);
    await untilFrame(ui.lastFrame, /team\/app: 2 tags/);
    await press(ui.stdin, "j", "x", "y");
    await untilFrame(ui.lastFrame, /delete team\/app:v2: done/);
    await untilFrame(ui.lastFrame, /team\/app: 1 tag,/);
  });

  test("a repository pushed elsewhere appears on the registry screen without r (mcr's audit stream)", async () => {
    const mcr = fakeMcr();
    const ui = render(<App store={mcrStore(mcr)} width={100} height={24} color={false} poll={false} initial={{ screen: "registry" }} />);
    await untilFrame(ui.lastFrame, /team\/web/);
    mcr.addRepo("team/new");
    mcr.addEvent("manifest_pushed", "team/new");
    await untilFrame(ui.lastFrame, /team\/new/);
  });

  test("a removed service leaves the services screen at once", async () => {
    const { store } = fixtureStore({
      rift: {
        health,
        list: async () => ({ containers: [row("api"), row("web")] }),
        status: async () => ({ service: "shop", version: "v1", active: true, components: [], recentEvents: [], unknownContainers: [] }),
        remove: async () => ({ removedContainers: ["shop-api", "shop-web"] }),
      },
    });
    await store.getState().fetchStatus();
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
    await untilFrame(ui.lastFrame, /shop +web/);
    await press(ui.stdin, ENTER);
    await untilFrame(ui.lastFrame, /mcp service shop/);
    await press(ui.stdin, "x", "y");
    const f = await untilFrame(ui.lastFrame, /^mcp services[\s\S]*remove shop: done/);
    assert.doesNotMatch(f, /shop +(api|web)/);
  });

  test(':service zzz says why, without "asking zzz\'s node…" beside it', async () => {
    const notFound = async () => {
      throw new ConnectError("unknown service zzz", Code.NotFound);
    };
    const { store } = fixtureStore({ rift: { health, status: notFound } });
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
    await press(ui.stdin, ":", ..."service zzz", ENTER);
    const f = await untilFrame(ui.lastFrame, /service zzz: no definition/);
    assert.doesNotMatch(f, /asking/);
    await press(ui.stdin, ESC);
  });

  test("the poller asks a node again as soon as its Events stream says something changed there", async () => {
    let web = "running";
    let emit: (() => void) | null = null;
    const { store } = fixtureStore({
      rift: {
        health,
        list: async () => ({ containers: [row("api"), row("web", web)] }),
        status: async () => ({ service: "shop", version: "v1", active: true, components: [], recentEvents: [], unknownContainers: [] }),
        async *events(_req, ctx) {
          while (!ctx.signal.aborted) {
            await new Promise<void>((r) => ((emit = r), ctx.signal.addEventListener("abort", () => r(), { once: true })));
            if (!ctx.signal.aborted) yield { time: "2026-01-01T00:00:00Z", service: "shop", component: "web", container: "shop-web", action: "died" };
          }
        },
      },
    });
    const stop = startPoller(store, { everyMs: 60_000, settleMs: 20 });
    try {
      const webState = () => store.getState().containers.rift?.find((c) => c.component === "web")?.state;
      await untilFrame(() => `${webState()} ${emit ? "watching" : ""}`, /running watching/);
      web = "exited";
      emit!();
      await untilFrame(() => String(webState()), /exited/, 2000);
    } finally {
      stop();
    }
  });
});
