// Sorting the TUI's tables: Shift + a letter sorts by a column and again the other way, the
// header marks it (▲/▼), CPU and MEM sort by their numbers (not their text), < > and I, and
// the sort is the screen's for the session (left and opened again, it is as it was); the
// service screen's components and the registry's repositories sort the same way.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { ENTER, ESC, press, untilFrame } from "../helpers/ink-keys.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const K = 1024;
const M = K * K;
// CPU whose text order is not its number order (10.2% < 100.0% < 9.5% as text), likewise MEM.
const USE: Record<string, [number, number]> = { alpha: [9.5, 900 * K], beta: [100, 1024 * M], gamma: [10.2, 41 * M] };

function platform() {
  const started = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
  const containers = Object.keys(USE).map((service, i) => ({
    service,
    component: "api",
    container: `${service}-api`,
    image: `mcr.test:8443/${service}:v1`,
    version: `v${[9, 10, 1][i]}`,
    state: "running",
    startedAt: started([5, 50, 500][i]!),
    ports: [],
  }));
  return fixtureStore({
    rift: {
      health,
      list: async () => ({ containers }),
      status: async (req) => ({
        service: req.service,
        version: "v1",
        active: true,
        // solo (no container listed) is the service screen's: three components.
        components: (req.service === "solo" ? ["api", "web", "db"] : ["api"]).map((c) => ({
          component: c,
          container: `${req.service}-${c}`,
          desiredState: "running",
          observedState: "running",
          desiredImage: "i",
          observedImage: "i",
          drift: "",
          ports: [],
          startedAt: started(1),
        })),
      }),
      stats: async () => ({
        containers: [
          ...Object.entries(USE).map(([service, [cpu, mem]]) => usage(service, "api", cpu, mem)),
          usage("solo", "api", 9.5, 900 * K),
          usage("solo", "web", 55, 5 * M),
          usage("solo", "db", 7.2, 300 * M),
        ],
      }),
    },
  }).store;
}

const usage = (service: string, component: string, cpuPercent: number, mem: number) => ({
  service,
  component,
  container: `${service}-${component}`,
  cpuPercent,
  memUsedBytes: BigInt(mem),
  memLimitBytes: BigInt(2048 * M),
  netRxBytes: 0n,
  netTxBytes: 0n,
  blockReadBytes: 0n,
  blockWriteBytes: 0n,
  pids: 1,
});

/** The first word of each table row whose first word is one of `names`, top to bottom. */
const order = (frame: string, names: string[]) =>
  frame
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((w) => names.includes(w))
    .join(" ");

const SERVICES = Object.keys(USE);

describe("sorting the TUI's tables", () => {
  test("services: C by CPU's number, again the other way; M by memory; N by name; the header says which", async () => {
    const store = platform();
    await store.getState().fetchStatus();
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} />);
    let f = await untilFrame(ui.lastFrame, /gamma +api +rift +v1 +running +10\.2%/);
    assert.equal(order(f, SERVICES), "alpha beta gamma", "by name until sorted");
    assert.match(f, /^SERVICE +COMPONENT +NODE/m, "no mark until sorted");

    await press(ui.stdin, "C");
    f = await untilFrame(ui.lastFrame, /CPU▼/);
    assert.equal(order(f, SERVICES), "beta gamma alpha", "100% > 10.2% > 9.5%");
    await press(ui.stdin, "C");
    f = await untilFrame(ui.lastFrame, /CPU▲/);
    assert.equal(order(f, SERVICES), "alpha gamma beta");
    assert.doesNotMatch(f, /CPU▼|SERVICE▲/);

    await press(ui.stdin, "M");
    f = await untilFrame(ui.lastFrame, /MEM▼/);
    assert.equal(order(f, SERVICES), "beta gamma alpha", "1.0G > 41M > 900K");
    await press(ui.stdin, "M");
    f = await untilFrame(ui.lastFrame, /MEM▲/);
    assert.equal(order(f, SERVICES), "alpha gamma beta");

    await press(ui.stdin, "N", "N");
    f = await untilFrame(ui.lastFrame, /SERVICE▼/);
    assert.equal(order(f, SERVICES), "gamma beta alpha");

    // Age: the youngest first (alpha started 5 minutes ago); version by its number (v9 < v10).
    await press(ui.stdin, "A");
    f = await untilFrame(ui.lastFrame, /UPTIME▲/);
    assert.equal(order(f, SERVICES), "alpha beta gamma");
    await press(ui.stdin, "V");
    f = await untilFrame(ui.lastFrame, /VERSION▲/);
    assert.equal(order(f, SERVICES), "gamma alpha beta");
    await press(ui.stdin, "I");
    f = await untilFrame(ui.lastFrame, /VERSION▼/);
    assert.equal(order(f, SERVICES), "beta alpha gamma");

    // < and >: the column left and right of the current one.
    await press(ui.stdin, "<");
    f = await untilFrame(ui.lastFrame, /NODE▲/);
    await press(ui.stdin, ">", ">");
    f = await untilFrame(ui.lastFrame, /STATE▲/);
  });

  test("the sort is remembered: left for a service and for another screen, and back", async () => {
    const store = platform();
    await store.getState().fetchStatus();
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} />);
    await untilFrame(ui.lastFrame, /gamma +api +rift +v1 +running +10\.2%/);
    await press(ui.stdin, "C");
    let f = await untilFrame(ui.lastFrame, /CPU▼/);
    assert.equal(order(f, SERVICES), "beta gamma alpha");

    // Enter opens the selected row's service: the first in this order.
    await press(ui.stdin, ENTER);
    await untilFrame(ui.lastFrame, /^mcp service beta/m);
    await press(ui.stdin, ESC);
    f = await untilFrame(ui.lastFrame, /^mcp services[\s\S]*CPU▼/m);
    assert.equal(order(f, SERVICES), "beta gamma alpha");

    await press(ui.stdin, ":", ..."nodes", ENTER);
    await untilFrame(ui.lastFrame, /^mcp nodes/m);
    await press(ui.stdin, ":", ..."services", ENTER);
    f = await untilFrame(ui.lastFrame, /^mcp services[\s\S]*CPU▼/m);
    assert.equal(order(f, SERVICES), "beta gamma alpha");
    assert.deepEqual(store.getState().sorts.services, { column: "cpu", desc: true });
  });

  test("the service screen's components sort by CPU's number, and stay sorted for the next service", async () => {
    const store = platform();
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} initial={{ screen: "service", service: "solo" }} />);
    let f = await untilFrame(ui.lastFrame, /db +running +running +7\.2%/);
    assert.equal(order(f, ["api", "web", "db"]), "api web db", "the agent's order until sorted");
    await press(ui.stdin, "C");
    f = await untilFrame(ui.lastFrame, /CPU▼/);
    assert.equal(order(f, ["api", "web", "db"]), "web api db", "55% > 9.5% > 7.2%");
    await press(ui.stdin, "M");
    f = await untilFrame(ui.lastFrame, /MEM▼/);
    assert.equal(order(f, ["api", "web", "db"]), "db web api", "300M > 5M > 900K");
    await press(ui.stdin, ":", ..."service gamma", ENTER);
    f = await untilFrame(ui.lastFrame, /^mcp service gamma[\s\S]*MEM▼/m);
  });

  test("the registry's repositories sort by size's bytes; the screen's keys and help say how", async () => {
    const ui = render(<App store={mcrStore(fakeMcr())} width={100} height={30} color={false} poll={false} initial={{ screen: "registry" }} />);
    let f = await untilFrame(ui.lastFrame, /team\/web/);
    assert.equal(order(f, ["team/app", "team/web"]), "team/app team/web");
    await press(ui.stdin, "S");
    f = await untilFrame(ui.lastFrame, /SIZE▼/);
    assert.equal(order(f, ["team/app", "team/web"]), "team/app team/web", "3.3 MiB before 1.2 KiB");
    await press(ui.stdin, "S");
    f = await untilFrame(ui.lastFrame, /SIZE▲/);
    assert.equal(order(f, ["team/app", "team/web"]), "team/web team/app");
    assert.match(f, /N\/T\/M\/S\/A < > sort$/m, "the footer's letters");
    await press(ui.stdin, "?");
    await untilFrame(ui.lastFrame, /^registry +↑↓\/jk move.*\n +sort: N repository +T tags +M manifests +S size +A pushed +< > I$/m);
    await press(ui.stdin, "G");
    await untilFrame(ui.lastFrame, /^sort +shift\+letter sort by that column/m);
  });
});
