// The TUI with ink-testing-library, against the store and in-memory agents: the services
// screen, filter, service detail with a confirmed action, logs (merged, search, pause,
// wrap), help, the `:` jump, Esc back, and an 80×24 frame that fits.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import stringWidth from "string-width";
import { Code, ConnectError, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { AgentService, LogStream } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AgentPool } from "../../console/clients/agents.ts";
import { Definitions } from "../../console/definitions.ts";
import { createConsoleStore } from "../../console/store/store.ts";
import { App } from "../../console/tui/app.tsx";
import { ENTER, ESC, press, untilFrame } from "../helpers/ink-keys.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
afterEach(() => cleanup());

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), "mcp-tui-"));
  dirs.push(dir);
  mkdirSync(join(dir, "services"));
  writeFileSync(
    join(dir, "services", "shop.toml"),
    'name = "shop"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n[[components]]\nname = "web"\n',
  );
  const stopped: string[] = [];
  const container = (component: string, state = "running") => ({
    service: "shop",
    component,
    container: `shop-${component}`,
    image: `mcr/shop-${component}:v1`,
    version: "v1",
    state,
    startedAt: new Date(Date.now() - 90_000).toISOString(),
    ports: [{ route: component === "api" ? "rest" : "", hostPort: component === "api" ? 31000 : 31001, hostIp: "127.0.0.1" }],
  });
  const rift: Partial<ServiceImpl<typeof AgentService>> = {
    health: async () => ({ status: "ok", version: "1", node: "rift", podmanVersion: "4.3.1" }),
    list: async () => ({ containers: [container("api"), container("web", stopped.includes("web") ? "exited" : "running")] }),
    status: async (req) => {
      if (req.service !== "shop") throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return {
        service: "shop",
        version: "v1",
        active: true,
        components: ["api", "web"].map((c) => ({
          component: c,
          container: `shop-${c}`,
          desiredState: "running",
          observedState: "running",
          desiredImage: "i",
          observedImage: "i",
          drift: c === "web" ? "image_mismatch" : "",
          ports: container(c).ports,
          startedAt: container(c).startedAt,
        })),
        recentEvents: [{ time: "2026-01-01T00:00:00Z", service: "shop", component: "api", kind: "started", message: "started shop-api" }],
        unknownContainers: [],
        placement: {
          sheet: "dynamicalsystem",
          sheetNumber: 1,
          machineNumber: 3,
          environment: "prod",
          uid: 10300,
          user: "shop-prod",
          ports: [10300, 10309],
          storageRoot: "/srv/shop-prod",
          isolation: "rootless",
          ephemeralPorts: [],
        },
      };
    },
    stop: async (req) => (stopped.push("web"), { components: [{ component: req.component || "web", container: "shop-web", state: "exited" }] }),
    async *logs(req) {
      for (let i = 1; i <= 40; i++)
        yield {
          component: req.component,
          stream: i === 7 ? LogStream.STDERR : LogStream.STDOUT,
          line: `${req.component} line ${i}${i === 40 ? " " + "x".repeat(150) : ""}`,
        };
    },
  };
  const down: Partial<ServiceImpl<typeof AgentService>> = {
    list: async () => {
      throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
    },
  };
  const agents: Record<string, Partial<ServiceImpl<typeof AgentService>>> = { rift, vade: down };
  const pool = new AgentPool({
    nodes: [
      { name: "rift", url: "https://rift" },
      { name: "vade", url: "https://vade" },
    ],
    token: () => "t",
    timeoutMs: 500,
    transport: (n) => createRouterTransport(({ service }) => service(AgentService, agents[n.name]!)),
  });
  const store = createConsoleStore({
    agents: pool,
    definitions: new Definitions(join(dir, "services")),
    registryHost: "mcr:8443",
    registry: () => ({ manifestExists: async () => true, close: () => undefined }),
    builder: () => ({ buildAndPush: async () => undefined }),
    workspace: dir,
    machineRegistry: () => ({}),
    logFlushMs: 10,
  });
  return { store, stopped };
}

describe("TUI", () => {
  test("services: every service-component with node, version, state, CPU, MEM, uptime, ports and drift; the header shows node states", async () => {
    const { store } = fixture();
    await store
      .getState()
      .fetchStatus()
      .catch(() => undefined);
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
    const f = await untilFrame(ui.lastFrame, /shop +web/);
    assert.match(f, /^mcp services +● rift +✗ vade unreachable/);
    assert.match(f, /SERVICE +COMPONENT +NODE +VERSION +STATE +CPU +MEM +UPTIME +PORTS +DRIFT/);
    assert.match(f, /shop +api +rift +v1 +running +- +- +1m +rest:31000 +-/, "no Stats from this agent: CPU and MEM show -");
    assert.match(f, /shop +web +rift +v1 +running .*image_mismatch/);
    assert.match(f, /↑↓\/jk move/);
  });

  test("/ filters; Enter opens the service: components, routes, placement, events", async () => {
    const { store } = fixture();
    await store
      .getState()
      .fetchStatus()
      .catch(() => undefined);
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
    await untilFrame(ui.lastFrame, /shop +web/);
    await press(ui.stdin, "/", "w", "e");
    let f = await untilFrame(ui.lastFrame, /filter: we/);
    assert.doesNotMatch(f, /shop +api/);
    assert.match(f, /^\/we█$/m);
    await press(ui.stdin, ENTER, ENTER);
    f = await untilFrame(ui.lastFrame, /service shop/);
    assert.match(f, /shop v1 on rift/);
    assert.match(f, /api\/rest → 127\.0\.0\.1:31000/);
    assert.match(f, /shop-prod +10300 +dynamicalsystem S=1 +03 +prod +\/srv\/shop-prod +rootless/);
    assert.match(f, /started shop-api/);
    await press(ui.stdin, ESC);
    await untilFrame(ui.lastFrame, /mcp services/);
  });

  test("an action asks first: s then y stops the service; n or anything else does nothing", async () => {
    const { store, stopped } = fixture();
    await store
      .getState()
      .fetchStatus()
      .catch(() => undefined);
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} initial={{ screen: "service", service: "shop" }} />);
    await untilFrame(ui.lastFrame, /shop v1 on rift/);
    await press(ui.stdin, "s");
    await untilFrame(ui.lastFrame, /Stop shop\? \[y\/N\]/);
    await press(ui.stdin, "n");
    await untilFrame(ui.lastFrame, /^(?![\s\S]*\[y\/N\])/);
    assert.deepEqual(stopped, []);
    await press(ui.stdin, "s", "y");
    await untilFrame(ui.lastFrame, /stop shop: done/);
    assert.deepEqual(stopped, ["web"]);
  });

  test("logs: components merged and prefixed; search highlights and n jumps; pause and wrap", async () => {
    const { store } = fixture();
    const ui = render(<App store={store} width={80} height={24} color={false} poll={false} />);
    await press(ui.stdin, ":", ..."logs shop", ENTER);
    let f = await untilFrame(ui.lastFrame, /api +\| api line 40/);
    assert.match(f, /logs shop/);
    assert.match(f, /web +\| web line \d+/);
    // Wrapped: the long line continues on the next line, indented past the prefix.
    assert.match(f, /^ {6}x+/m);
    await press(ui.stdin, "w");
    f = await untilFrame(ui.lastFrame, /shop {2}· {2}following$/m);
    assert.doesNotMatch(f, /^ {6}x+/m);
    await press(ui.stdin, "/", ..."line 7", ENTER);
    f = await untilFrame(ui.lastFrame, /\/line 7 2 matches/);
    await press(ui.stdin, "n");
    f = await untilFrame(ui.lastFrame, /scrolled/);
    assert.match(f, /api +\| api line 7$/m);
    await press(ui.stdin, "p");
    await untilFrame(ui.lastFrame, /PAUSED/);
    await press(ui.stdin, "G", "p");
    await untilFrame(ui.lastFrame, /following(?![\s\S]*PAUSED)/);
  });

  test("? shows every screen's keys; Esc goes back; : with an unknown screen says so", async () => {
    const { store } = fixture();
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
    await press(ui.stdin, "?");
    const f = await untilFrame(ui.lastFrame, /mcp help/);
    assert.match(f, /logs +f follow +p pause/);
    // The jumps come after every screen's keys: at the end of help, which scrolls.
    await press(ui.stdin, "G");
    await untilFrame(ui.lastFrame, /jump +:services +:service NAME +:logs NAME/);
    await press(ui.stdin, ESC);
    await untilFrame(ui.lastFrame, /mcp services/);
    await press(ui.stdin, ":", ..."nope", ENTER);
    await untilFrame(ui.lastFrame, /unknown screen "nope"/);
  });

  test("an 80×24 frame fits: no line wider than 80 columns, at most 23 lines", async () => {
    const { store } = fixture();
    await store
      .getState()
      .fetchStatus()
      .catch(() => undefined);
    const ui = render(<App store={store} width={80} height={24} color={false} poll={false} />);
    // Each step waits for the screen it opens, then measures that frame.
    for (const [keys, screen] of [
      [[], /mcp services/],
      [["?"], /mcp help/],
      [[ESC, ENTER], /mcp service \S/],
    ] as const) {
      await press(ui.stdin, ...keys);
      const lines = (await untilFrame(ui.lastFrame, screen)).split("\n");
      assert.ok(lines.length <= 23, `${lines.length} lines`);
      for (const l of lines) assert.ok(stringWidth(l) <= 80, `too wide (${stringWidth(l)}): ${l}`);
    }
  });
});
