// The services screen asks Stats only about the containers on screen (scrolling brings a
// node's rows, and its Stats, in), and about every container while the rows are sorted by CPU or MEM.
import assert from "node:assert/strict";
import { after, afterEach, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { press, untilFrame } from "../helpers/ink-keys.ts";
import { type AgentImpl, fixtureStore, health, removeFixtures, runningContainer } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

/** An agent running `prefix`00..`prefix`19, counting its Stats calls. */
function agent(prefix: string, asked: Record<string, number>, named: Record<string, string[][]> = {}): AgentImpl {
  const names = Array.from({ length: 20 }, (_, i) => `${prefix}${String(i).padStart(2, "0")}`);
  return {
    health,
    list: async () => ({
      containers: names.map(runningContainer),
    }),
    status: async (req) => ({ service: req.service, version: "v1", active: true, components: [] }),
    stats: async (req) => {
      asked[prefix] = (asked[prefix] ?? 0) + 1;
      (named[prefix] ??= []).push(req.containers);
      return {
        containers: names.map((service) => ({
          service,
          component: "api",
          container: `${service}-api`,
          cpuPercent: 1,
          memUsedBytes: 1n,
          memLimitBytes: 2n,
          netRxBytes: 0n,
          netTxBytes: 0n,
          blockReadBytes: 0n,
          blockWriteBytes: 0n,
          pids: 1,
        })),
      };
    },
  };
}

test("Stats go to the nodes whose rows are on screen; to all of them when sorted by CPU", async () => {
  const asked: Record<string, number> = {};
  const named: Record<string, string[][]> = {};
  const { store } = fixtureStore({ alpha: agent("aaa", asked, named), zulu: agent("zzz", asked, named) }, {});
  await store.getState().fetchStatus();
  const ui = render(<App store={store} width={100} height={14} color={false} poll={false} />);
  await untilFrame(ui.lastFrame, /aaa00 +api +alpha .*1\.0%/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(asked.zzz, undefined, "zulu's rows are below the screen: not asked");
  const rows = ui.lastFrame()!.match(/^aaa\d\d/gm)!;
  assert.deepEqual(
    named.aaa![0],
    rows.map((s) => `${s}-api`),
    "only the containers on screen",
  );
  await press(ui.stdin, "G");
  await untilFrame(ui.lastFrame, /zzz19 +api +zulu .*1\.0%/);
  assert.equal(asked.zzz, 1);
  const alpha = asked.aaa!;
  await press(ui.stdin, "C");
  await untilFrame(() => String(asked.aaa), new RegExp(`^(?!${alpha}$)`));
  assert.equal(asked.aaa, alpha + 1, "sorted by CPU: alpha is asked again although none of its rows is on screen");
  assert.deepEqual(named.aaa!.at(-1), [], "and about every container");
});
