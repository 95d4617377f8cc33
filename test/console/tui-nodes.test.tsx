// The TUI's nodes screen with the platform's nodes, against an in-memory NodeService: joined
// nodes with their certificate's expiry (warned when due), pending ones marked; `a` adds a node
// and shows its join command until a key is pressed; `x` removes one after y/N (a config node is
// not the platform's to remove); a non-admin sees the registry's refusal; help lists the keys.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { health, removeFixtures } from "./tui-fixture.ts";
import { fakeNodeService, joined, pending, platformStore, TOKEN } from "./node-fake.ts";

after(removeFixtures);
afterEach(() => cleanup());

function app(admin = true) {
  const mcr = fakeNodeService({ admin, nodes: [joined("orbit", "https://orbit.test:9444", 80, 90), pending("nova")] });
  const { store } = platformStore({ rift: { health }, orbit: { health } }, { rift: "https://rift.test:9444" }, mcr);
  const ui = render(<App store={store} width={160} height={30} color={false} poll={false} initial={{ screen: "nodes" }} />);
  return { ui, mcr, store };
}

describe("TUI: the nodes screen and the platform's nodes", () => {
  test("the registry's nodes are listed: a joined one with its certificate (warned), a pending one marked", async () => {
    const { ui } = app();
    const f = await untilFrame(ui.lastFrame, /orbit +https:\/\/orbit\.test:9444 +ok +1 +4\.3\.1 +in 10d0h +platform/);
    assert.match(f, /^mcp nodes +● rift +● orbit/);
    assert.match(f, /NODE +URL +STATE +AGENT +PODMAN +CERT +FROM +REASON/);
    assert.match(f, /rift +https:\/\/rift\.test:9444 +ok +1 +4\.3\.1 +- +config/);
    assert.match(f, /nova +https:\/\/nova:9444 +pending +- +- +- +platform +waiting to join: its token works until/);
    assert.match(f, /node orbit: its certificate expires in 10d0h, less than a third of its lifetime left/);
    assert.match(f, /3 nodes/);
  });

  test("a asks for a name, adds the node and shows the join command until a key is pressed", async () => {
    const { ui, mcr } = app();
    await untilFrame(ui.lastFrame, /nova +https/);
    await press(ui.stdin, "a");
    await untilFrame(ui.lastFrame, /add node \(NAME \[URL\]\):/);
    await press(ui.stdin, ..."lyra https://lyra.lan:9555", ENTER);
    const f = await untilFrame(ui.lastFrame, /any key closes this/);
    assert.match(f, /node lyra added: pending until it joins/);
    // Cut to the width, each line ending in a backslash: a shell reads the lines back as the one command.
    const lines = f.split("\n").filter((l) => /^(mcp-agent join|MCPJOIN|[ab-]+\\?$|https:)/.test(l));
    assert.ok(lines.length >= 2 && lines.every((l) => l.length <= 160), lines.join("\n"));
    const echoed = execFileSync("sh", ["-c", `echo ${lines.join("\n")}`], { encoding: "utf8" });
    assert.equal(echoed, `mcp-agent join --token ${TOKEN} https://mcr.test:8443\n`);
    assert.deepEqual(
      mcr.added.map((a) => [a.name, a.url]),
      [["lyra", "https://lyra.lan:9555"]],
    );
    await press(ui.stdin, "j");
    const table = await untilFrame(ui.lastFrame, /lyra +https:\/\/lyra\.lan:9555 +pending/);
    assert.doesNotMatch(table, /any key closes this/);
    assert.match(table, /4 nodes/);
  });

  test("x removes the selected node after y/N, saying its containers keep running; a config node is not the platform's", async () => {
    const { ui, mcr, store } = app();
    await untilFrame(ui.lastFrame, /orbit +https/);
    await press(ui.stdin, "x");
    await untilFrame(ui.lastFrame, /node rift is in the console config \(mcp\.toml\), not the platform's/);
    await press(ui.stdin, "j", "x");
    await untilFrame(ui.lastFrame, /Remove node orbit\? Its containers keep running as they are, no longer managed by the platform .*\[y\/N\]/);
    await press(ui.stdin, "n");
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(mcr.removed, []);
    await press(ui.stdin, "x", "y");
    await untilFrame(ui.lastFrame, /remove node orbit: done/);
    const f = await untilFrame(ui.lastFrame, /2 nodes/);
    assert.doesNotMatch(f, /^orbit/m);
    assert.doesNotMatch(f, /● orbit/);
    assert.deepEqual(mcr.removed, ["orbit"]);
    assert.equal(store.getState().commands.records.at(-1)?.target, "orbit");
  });

  test("an account without the admin role: the registry's refusal in the footer", async () => {
    const { ui, mcr } = app(false);
    await untilFrame(ui.lastFrame, /nova +https/);
    await press(ui.stdin, "a", ..."lyra", ENTER);
    await untilFrame(ui.lastFrame, /add node lyra: the registry: permission denied: adding and removing nodes needs the admin role/);
    assert.deepEqual(mcr.added, []);
  });

  test("the config's nodes are polled at once while the registry's list is on its way; theirs are added when it comes", async () => {
    const mcr = fakeNodeService({ nodes: [joined("orbit", "https://orbit.test:9444")] });
    const release = mcr.hold();
    const { store } = platformStore(
      { rift: { health, list: async () => ({ containers: [] }) }, orbit: { health, list: async () => ({ containers: [] }) } },
      { rift: "https://rift.test:9444" },
      mcr,
    );
    const ui = render(<App store={store} width={160} height={30} color={false} initial={{ screen: "nodes" }} />);
    const f = await untilFrame(ui.lastFrame, /rift +https:\/\/rift\.test:9444 +ok/);
    assert.doesNotMatch(f, /orbit/);
    release();
    await untilFrame(ui.lastFrame, /orbit +https:\/\/orbit\.test:9444 +ok .* platform/);
    await untilFrame(ui.lastFrame, /● rift +● orbit/);
  });

  test("a registry that cannot be reached: the config's nodes and why the platform's are missing", async () => {
    const mcr = fakeNodeService({ nodes: [joined("orbit", "https://orbit.test:9444")] });
    mcr.setDown(true);
    const { store } = platformStore({ rift: { health } }, { rift: "https://rift.test:9444" }, mcr);
    const ui = render(<App store={store} width={160} height={30} color={false} poll={false} initial={{ screen: "nodes" }} />);
    const f = await untilFrame(ui.lastFrame, /the registry's node list could not be read/);
    assert.match(f, /rift +https:\/\/rift\.test:9444 +ok/);
    assert.doesNotMatch(f, /^orbit/m);
  });

  test("help lists the keys", async () => {
    const { ui } = app();
    await untilFrame(ui.lastFrame, /nova +https/);
    await press(ui.stdin, "?");
    await untilFrame(ui.lastFrame, /nodes +↑↓\/jk move +p prune images +d dry run +a add node +x remove node/);
  });
});
