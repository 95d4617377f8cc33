// The console's nodes are the config's [[nodes]] and the platform's joined nodes: a joined node
// is asked like a configured one (mcp nodes, mcp ps), a pending one is not, a config entry of
// the same name wins; a registry that cannot be asked, or no session, leaves the config's nodes
// and a note (never an error). The pool gains and loses nodes as the registry's list changes,
// and the TUI's poller follows it: a node that joins is polled, one removed is forgotten.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import nodesCommand from "../../console/commands/nodes.ts";
import ps from "../../console/commands/ps.ts";
import { startPoller } from "../../console/tui/poller.ts";
import { mergeNodes } from "../../console/store/platform.ts";
import { platformNodeRow } from "../../console/store/platform-types.ts";
import { type AgentImpl, commandContext, health, removeFixtures, runningContainer } from "./tui-fixture.ts";
import { fakeNodeService, joined, pending, platformStore } from "./node-fake.ts";

after(removeFixtures);

const agent = (service: string, calls: string[] = []): AgentImpl => ({
  health,
  list: async () => (calls.push("list"), { containers: [runningContainer(service)] }),
  status: async () => ({ service, version: "v1", active: true, components: [] }),
  stats: async () => ({ containers: [] }),
});

const until = async (ok: () => boolean, what: string, ms = 3000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("the platform's nodes among the console's", () => {
  test("mergeNodes: the config's first; joined nodes with a URL that the config does not name; never a pending one", () => {
    const rows = [joined("orbit", "https://orbit.example:9444"), joined("rift", "https://elsewhere:9444"), pending("nova")].map(platformNodeRow);
    assert.deepEqual(mergeNodes([{ name: "rift", url: "https://rift.test:9444" }], rows), [
      { name: "rift", url: "https://rift.test:9444" },
      { name: "orbit", url: "https://orbit.example:9444" },
    ]);
  });

  test("mcp nodes and mcp ps ask a joined node as they ask a configured one; the config's entry wins a shared name", async () => {
    const mcr = fakeNodeService({ nodes: [joined("orbit", "https://orbit.example:9444"), joined("rift", "https://elsewhere:9444", 80, 90), pending("nova")] });
    const fx = platformStore({ rift: agent("shop"), orbit: agent("blog"), nova: agent("never") }, { rift: "https://rift.test:9444" }, mcr);
    const config = join(fx.dir, "mcp.toml");
    writeFileSync(config, "");
    const nodes = commandContext(config, "json", fx.deps);
    assert.equal(await nodesCommand.run(nodes.ctx, [], {}), 0);
    const doc = JSON.parse(nodes.stdout());
    assert.deepEqual(
      doc.nodes.map((n: { name: string; url: string; state: string; source: string; certWarning: boolean }) => [
        n.name,
        n.url,
        n.state,
        n.source,
        n.certWarning,
      ]),
      [
        ["rift", "https://rift.test:9444", "ok", "config", true],
        ["orbit", "https://orbit.example:9444", "ok", "platform", false],
      ],
    );
    assert.match(doc.nodes[1].certExpiresAt, /^\d{4}-/);
    assert.deepEqual(doc.platform, { listed: true, note: "", pending: ["nova"] });
    assert.ok(!fx.transports.some((t) => t.startsWith("nova ")), "a pending node is never asked");
    assert.ok(!fx.transports.includes("rift https://elsewhere:9444"), "the config's URL wins");

    const plain = commandContext(config, "plain", fx.deps);
    await nodesCommand.run(plain.ctx, [], {});
    assert.match(plain.stdout(), /^NODE +URL +STATE +AGENT +PODMAN +CERT +REASON$/m);
    assert.match(plain.stdout(), /^orbit +https:\/\/orbit\.example:9444 +ok +1 +4\.3\.1 +in 80d0h$/m);
    assert.match(plain.stdout(), /node rift: its certificate expires in 10d0h, less than a third of its lifetime left/);
    assert.match(plain.stdout(), /node nova is waiting to join/);

    const list = commandContext(config, "json", fx.deps);
    await ps.run(list.ctx, [], {});
    assert.deepEqual(
      JSON.parse(list.stdout()).containers.map((c: { node: string; service: string }) => `${c.node}/${c.service}`),
      ["orbit/blog", "rift/shop"],
    );
  });

  test("a registry that cannot be reached, or no session: the config's nodes, and a note that says why", async () => {
    const mcr = fakeNodeService({ nodes: [joined("orbit", "https://orbit.example:9444")] });
    mcr.setDown(true);
    const down = platformStore({ rift: agent("shop"), orbit: agent("blog") }, { rift: "https://rift.test:9444" }, mcr);
    const config = join(down.dir, "mcp.toml");
    writeFileSync(config, "");
    const plain = commandContext(config, "plain", down.deps);
    assert.equal(await nodesCommand.run(plain.ctx, [], {}), 0);
    assert.match(plain.stdout(), /^rift +https:\/\/rift\.test:9444 +ok/m);
    assert.doesNotMatch(plain.stdout(), /^orbit/m);
    assert.match(
      plain.stdout(),
      /the registry's node list could not be read \(the registry is unreachable: .*ECONNREFUSED.*\): only the config's \[\[nodes\]\]/,
    );
    const json = commandContext(config, "json", down.deps);
    await ps.run(json.ctx, [], {});
    assert.deepEqual(
      JSON.parse(json.stdout()).nodes.map((n: { name: string }) => n.name),
      ["rift"],
    );
    assert.match(json.stderr(), /^mcp: note: the registry's node list could not be read/m);
    // A command that needs a node of the platform's says why it is not there.
    await assert.rejects(
      down.store.getState().refreshNodes(["orbit"]),
      /node "orbit" is not in the console config's \[\[nodes\]\] nor among the platform's joined nodes \(the registry's node list could not be read: the registry is unreachable/,
    );

    const out = platformStore({ rift: agent("shop") }, { rift: "https://rift.test:9444" }, "logged-out");
    assert.deepEqual(
      (await out.store.getState().refreshNodes()).map((n) => n.name),
      ["rift"],
    );
    assert.match(out.store.getState().platform.note, /not logged in to https:\/\/mcr\.test:8443: run `mcp login`.*only the config's \[\[nodes\]\]/);
    // No registry configured: nothing to say.
    const none = platformStore({ rift: agent("shop") }, { rift: "https://rift.test:9444" }, null);
    await none.store.getState().refreshNodes();
    assert.equal(none.store.getState().platform.note, "");
  });

  test("a name that only the platform has waits for its list; an unknown one says where nodes come from", async () => {
    const mcr = fakeNodeService({ nodes: [joined("orbit", "https://orbit.example:9444")] });
    const fx = platformStore({ rift: agent("shop"), orbit: agent("blog") }, { rift: "https://rift.test:9444" }, mcr);
    const st = fx.store.getState();
    await st.refreshStats(["orbit"]);
    assert.equal(mcr.lists(), 1);
    assert.ok(fx.pool.node("orbit"));
    await assert.rejects(st.refreshNodes(["nope"]), /node "nope" is not in the console config's \[\[nodes\]\] nor among the platform's joined nodes/);
    assert.equal(mcr.lists(), 1, "the list is asked once");
  });

  test("the pool gains a node that joins and loses one that is removed, with its rows", async () => {
    const mcr = fakeNodeService({ nodes: [pending("orbit", "https://orbit.example:9444")] });
    const fx = platformStore({ rift: agent("shop"), orbit: agent("blog") }, { rift: "https://rift.test:9444" }, mcr);
    const st = () => fx.store.getState();
    await st().loadPlatformNodes();
    assert.deepEqual(Object.keys(st().nodes), ["rift"]);
    mcr.nodes.set("orbit", joined("orbit", "https://orbit.example:9444"));
    await st().loadPlatformNodes();
    assert.deepEqual(Object.keys(st().nodes), ["rift", "orbit"]);
    assert.equal(st().nodes.orbit!.source, "platform");
    await st().refreshContainers();
    assert.deepEqual(Object.keys(st().containers).sort(), ["orbit", "rift"]);
    // Removed elsewhere: gone at the next refresh, rows and all.
    mcr.nodes.delete("orbit");
    await st().loadPlatformNodes();
    assert.deepEqual(Object.keys(st().nodes), ["rift"]);
    assert.equal(fx.pool.node("orbit"), undefined);
    assert.deepEqual(Object.keys(st().containers), ["rift"]);
    // A refresh that fails keeps what was listed.
    mcr.nodes.set("orbit", joined("orbit", "https://orbit.example:9444"));
    await st().loadPlatformNodes();
    mcr.setDown(true);
    await st().loadPlatformNodes();
    assert.deepEqual(Object.keys(st().nodes), ["rift", "orbit"]);
    assert.match(st().platform.note, /could not be read again .*: its nodes as last listed/);
  });

  test("the TUI's poller polls a node that joins within the refresh and forgets one that is removed", async () => {
    const mcr = fakeNodeService({ nodes: [] });
    const calls: string[] = [];
    let streams = 0;
    const orbit: AgentImpl = {
      ...agent("blog", calls),
      async *events(_req, ctx) {
        streams++;
        await new Promise((r) => ctx.signal.addEventListener("abort", r, { once: true }));
        streams--;
      },
    };
    const fx = platformStore({ rift: agent("shop"), orbit }, { rift: "https://rift.test:9444" }, mcr);
    const stop = startPoller(fx.store, { everyMs: 50, platformEveryMs: 100 });
    try {
      await until(() => fx.store.getState().nodes.rift?.state === "ok", "rift polled");
      assert.equal(calls.length, 0);
      mcr.nodes.set("orbit", joined("orbit", "https://orbit.example:9444"));
      await until(() => calls.length > 0 && streams === 1, "orbit polled and watched");
      await until(() => fx.store.getState().nodes.orbit?.version === "1", "orbit's health asked");
      mcr.nodes.delete("orbit");
      await until(() => !fx.store.getState().nodes.orbit && streams === 0, "orbit forgotten, its stream closed");
      const after = calls.length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(calls.length, after, "orbit is asked no more");
    } finally {
      stop();
    }
  });
});
