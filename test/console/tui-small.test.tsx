// Small terminals (60×15): every screen fits (no line wider than the terminal, no line past
// its height), tables leave out their least needed columns before cutting names, and help
// scrolls instead of dropping or overdrawing rows.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import stringWidth from "string-width";
import { App } from "../../console/tui/app.tsx";
import type { Route } from "../../console/tui/nav.ts";
import { columnLayout } from "../../console/output/screen.ts";
import { press, untilFrame } from "../helpers/ink-keys.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";
import { fixtureStore, health, LogFeed, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const W = 60;
const H = 15;

function fits(frame: string) {
  const lines = frame.split("\n");
  assert.ok(lines.length <= H - 1, `${lines.length} lines:\n${frame}`);
  for (const l of lines) assert.ok(stringWidth(l) <= W, `too wide (${stringWidth(l)}): ${l}`);
}

function agentStore() {
  const started = new Date(Date.now() - 90_000).toISOString();
  const row = (service: string, component: string) => ({
    service,
    component,
    container: `${service}-${component}`,
    image: `mcr.test:8443/${service}-${component}:v1.2.3`,
    version: "v1.2.3",
    state: "running",
    startedAt: started,
    ports: [{ route: "rest", hostPort: 31000, hostIp: "127.0.0.1" }],
  });
  const feed = new LogFeed(60);
  return fixtureStore({
    rift: {
      health,
      list: async () => ({ containers: [row("ncnoisy", "hello"), row("ncnoisy", "gen"), row("shop", "api")] }),
      status: async (req) => ({
        service: req.service,
        version: "v1.2.3",
        active: true,
        components: ["hello", "gen"].map((c) => ({
          component: c,
          container: `${req.service}-${c}`,
          desiredState: "running",
          observedState: "running",
          desiredImage: `mcr.test:8443/${req.service}-${c}:v1.2.3`,
          observedImage: `mcr.test:8443/${req.service}-${c}:v1.2.3`,
          drift: "",
          ports: row(req.service, c).ports,
          startedAt: started,
        })),
        recentEvents: [
          {
            time: "2026-01-01T00:00:00Z",
            service: req.service,
            component: "gen",
            kind: "started",
            message: `started ${req.service}-gen with a long message that goes on`,
          },
        ],
        unknownContainers: [],
        placement: {
          sheet: "dynamicalsystem",
          sheetNumber: 1,
          machineNumber: 3,
          environment: "prod",
          uid: 10300,
          user: `${req.service}-prod`,
          ports: [10300, 10309],
          storageRoot: `/srv/${req.service}-prod`,
          isolation: "rootless",
          ephemeralPorts: [],
        },
      }),
      logs: (req, ctx) => feed.logs(req, ctx.signal),
    },
    vade: {},
  }).store;
}

describe("TUI at 60×15", () => {
  test("services: names whole, least needed columns left out; service and logs fit", async () => {
    const store = agentStore();
    await store
      .getState()
      .fetchStatus()
      .catch(() => undefined);
    for (const [initial, ready] of [
      [{ screen: "services" }, /ncnoisy +hello/],
      [{ screen: "service", service: "ncnoisy" }, /ncnoisy v1\.2\.3 on rift/],
      [{ screen: "logs", target: "ncnoisy" }, /gen line 60/],
    ] as [Route, RegExp][]) {
      const ui = render(<App store={store} width={W} height={H} color={false} poll={false} initial={initial} />);
      const f = await untilFrame(ui.lastFrame, ready);
      fits(f);
      if (initial.screen === "services") {
        // CPU and MEM ("-" here: these agents have no Stats) go before VERSION and NODE when they do not fit.
        assert.match(f, /^SERVICE +COMPONENT +NODE +VERSION +STATE +CPU +MEM +DRIFT$/m);
        assert.match(f, /^ncnoisy +gen +rift +v1\.2\.3 +running +- +- +-$/m);
      }
      ui.unmount();
    }
  });

  test("help: wrapped to the width and scrolled, nothing dropped or overdrawn", async () => {
    const store = agentStore();
    const ui = render(<App store={store} width={W} height={H} color={false} poll={false} initial={{ screen: "help" }} />);
    let f = await untilFrame(ui.lastFrame, /keys of each screen +\(1-11 of \d+, ↑↓ scroll\)/);
    fits(f);
    assert.doesNotMatch(f, /everywhere/);
    await press(ui.stdin, "G");
    f = await untilFrame(ui.lastFrame, /^everywhere +esc back +q quit/m);
    fits(f);
    assert.match(f, /^prompt +/m);
    assert.match(f, /NO_COLOR/);
    assert.doesNotMatch(f, /helpcies/);
  });

  test("the registry screens fit", async () => {
    const store = mcrStore(fakeMcr());
    for (const [initial, ready] of [
      [{ screen: "registry" }, /team\/web/],
      [{ screen: "repository", repo: "team/app" }, /v2 +111111111111/],
      [{ screen: "manifest", repo: "team/app", reference: "v1" }, /^config/m],
      [{ screen: "audit" }, /manifest_pushed/],
      [{ screen: "policies" }, /registry:push/],
      [{ screen: "gc" }, /no run since/],
    ] as [Route, RegExp][]) {
      const ui = render(<App store={store} width={W} height={H} color={false} poll={false} initial={initial} />);
      fits(await untilFrame(ui.lastFrame, ready));
      ui.unmount();
    }
  });

  test("a table leaves out its drop columns in order before cutting, and keeps every column when it fits", () => {
    const section = {
      columns: ["service", "component", "node", "uptime", "ports"],
      rows: [["ncnoisy", "hello", "rift", "1m30s", "rest:31000"].map((text) => ({ text }))],
      drop: ["uptime", "ports", "node"],
    };
    const names = (w: number) => columnLayout(section, w).kept.map((i) => section.columns[i]);
    assert.deepEqual(names(80), ["service", "component", "node", "uptime", "ports"]);
    assert.deepEqual(names(40), ["service", "component", "node", "ports"]);
    assert.deepEqual(names(30), ["service", "component", "node"]);
    const narrow = columnLayout(section, 12);
    assert.deepEqual(
      narrow.kept.map((i) => section.columns[i]),
      ["service", "component"],
    );
    const message = { columns: ["component", "message"], rows: [[{ text: "api" }, { text: "x".repeat(100) }]], drop: [] };
    assert.deepEqual(columnLayout(message, 60).widths, [9, 49], "free text takes the room there is");
  });
});
