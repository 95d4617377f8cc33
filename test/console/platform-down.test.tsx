// The platform down: `mcp ps` and the TUI say that no node answered (not "no managed
// containers"), why, and what to do: `mcp up` for a node on this machine.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { Code, ConnectError } from "@connectrpc/connect";
import psCommand from "../../console/commands/ps.ts";
import { App } from "../../console/tui/app.tsx";
import { untilFrame } from "../helpers/ink-keys.ts";
import { commandContext, fixtureStore, health, removeFixtures, type AgentImpl } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const refused = () => {
  throw new ConnectError("connect ECONNREFUSED 127.0.0.1:9444", Code.Unavailable);
};
const down: AgentImpl = { health: refused, list: refused, status: refused };

function ps(agents: Record<string, AgentImpl>, urls: Record<string, string>) {
  const { dir, deps } = fixtureStore(agents, {}, {}, urls);
  const config = join(dir, "mcp.toml");
  writeFileSync(config, "");
  const c = commandContext(config, "plain", deps);
  return { ...c, run: () => psCommand.run(c.ctx, [], {}) };
}

describe("the platform down", () => {
  test("mcp ps with the local node down: no node answered, why, and `mcp up`", async () => {
    const { run, stdout } = ps({ local: down }, { local: "https://127.0.0.1:9444" });
    assert.equal(await run(), 6);
    const out = stdout();
    assert.doesNotMatch(out, /no managed containers/);
    assert.match(out, /^no node answered \(local unreachable\)$/m);
    assert.match(out, /^node local is unreachable: connect ECONNREFUSED 127\.0\.0\.1:9444$/m);
    assert.match(out, /^node local runs on this machine: `mcp up` starts the platform here$/m);
  });

  test("mcp ps with one node of two down: what the others have, and a hint for the remote one", async () => {
    const { run, stdout } = ps({ rift: { health, list: async () => ({ containers: [] }) }, vade: down }, {});
    assert.equal(await run(), 6);
    const out = stdout();
    assert.match(out, /^no managed containers on the nodes that answered \(rift\)$/m);
    assert.match(out, /^is mcp-agent running on vade\.test, and is https:\/\/vade\.test:9444 reachable from here\?$/m);
  });

  test("the TUI's services screen with every node down says so and how to start the local one", async () => {
    const { store } = fixtureStore({ local: down }, {}, {}, { local: "https://localhost:9444" });
    await store
      .getState()
      .fetchStatus()
      .catch(() => undefined);
    const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
    const f = await untilFrame(ui.lastFrame, /no node answered \(local unreachable\)/);
    assert.doesNotMatch(f, /no services/);
    assert.match(f, /`mcp up` starts the platform here/);
  });
});
