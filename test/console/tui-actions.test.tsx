// Long TUI actions say that they run: "restart shop…" with a spinner in the footer until the
// agent answers (not the last action's result), and the service screen says the states it
// shows meanwhile are the agent's mid-restart.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { press, untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

describe("TUI actions in progress", () => {
  test('a restart shows "restart shop…" until it ends, then its result', async () => {
    let release!: () => void;
    const { store } = fixtureStore({
      rift: {
        health,
        status: async () => ({
          service: "shop",
          version: "v1",
          active: true,
          components: [
            {
              component: "api",
              container: "shop-api",
              desiredState: "running",
              observedState: "running",
              desiredImage: "i",
              observedImage: "i",
              drift: "",
              ports: [],
              startedAt: "",
            },
          ],
          recentEvents: [],
          unknownContainers: [],
        }),
        stop: async () => ({ components: [{ component: "api", container: "shop-api", state: "exited" }] }),
        restart: () => new Promise((resolve) => (release = () => resolve({ components: [{ component: "api", container: "shop-api", state: "running" }] }))),
      },
    });
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} initial={{ screen: "service", service: "shop" }} />);
    await untilFrame(ui.lastFrame, /shop v1 on rift/);
    await press(ui.stdin, "s", "y");
    await untilFrame(ui.lastFrame, /stop shop: done/);
    await press(ui.stdin, "r", "y");
    let f = await untilFrame(ui.lastFrame, /restart shop…$/m);
    assert.doesNotMatch(f, /stop shop: done/, "the last result is not left standing while another action runs");
    assert.match(f, /restart shop in progress: the agent stops, then starts each component; the states below are as it reports/);
    release();
    f = await untilFrame(ui.lastFrame, /restart shop: done/);
    assert.doesNotMatch(f, /in progress/);
  });
});
