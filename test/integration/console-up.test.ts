// `mcp up` / `mcp down` with the real binaries: a fresh platform home, both daemons in the
// background and healthy, the console logged in; a second `mcp up` reuses the home and the
// running daemons; `mcp down` stops them and leaves no process behind. Also an agent with no
// podman: it starts, and `mcp nodes` says what to install.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mcp, type McpResult } from "../helpers/console.ts";
import { alive, processesUnder } from "../helpers/processes.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { MCR_SERVER_NODE_FLAGS } from "../../lib/process/node-flags.ts";

/** Binds 127.0.0.1:`port` when it is free; resolves to the listening server, or undefined when something holds it. */
function holdIfFree(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(undefined));
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}

describe("mcp up and mcp down", { skip: skipUnlessTools("podman") }, () => {
  const dirs: string[] = [];
  const homes: string[] = [];
  const ok = (r: McpResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

  function setup() {
    const dir = mkdtempSync(join(tmpdir(), "mcp-up-it-"));
    dirs.push(dir);
    const home = join(dir, "home");
    homes.push(home);
    const env = { XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), XDG_DATA_HOME: join(dir, "data"), NO_COLOR: "1" };
    return { dir, home, env };
  }

  after(async () => {
    // Whatever a failed test left running: `mcp down` stops only this home's daemons, by pid file.
    for (const home of homes) if (existsSync(home)) await mcp(["down", "--home", home], {});
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("up creates the home and starts both daemons; nodes and ps answer; a second up reuses them; down stops them", async () => {
    const { dir, home, env } = setup();
    const up = await mcp(["up", "--json", "--home", home], env);
    ok(up);
    const doc = up.json();
    assert.equal(doc.home, home);
    assert.equal(doc.registry.started, true);
    assert.equal(doc.agent.started, true);
    assert.match(doc.registry.url, /^https:\/\/localhost:\d+$/);
    assert.match(doc.agent.url, /^https:\/\/localhost:\d+$/);
    for (const f of [
      doc.registry.config,
      doc.registry.log,
      doc.registry.pidFile,
      doc.agent.config,
      doc.agent.log,
      doc.agent.pidFile,
      doc.ca.cert,
      doc.console.config,
      doc.console.credentials,
    ])
      assert.ok(existsSync(f), f);
    assert.equal(Number(readFileSync(doc.registry.pidFile, "utf8")), doc.registry.pid);
    assert.ok(alive(doc.registry.pid) && alive(doc.agent.pid));
    // mcr runs under node with the server's flags, as the systemd unit starts it.
    const mcrArgs = readFileSync(`/proc/${doc.registry.pid}/cmdline`, "utf8").split("\0");
    for (const flag of MCR_SERVER_NODE_FLAGS) assert.ok(mcrArgs.includes(flag), `${flag} in ${mcrArgs.join(" ")}`);
    // The CA key lives in its own folder, in neither daemon's home.
    assert.ok(existsSync(join(doc.ca.dir, "ca-key.pem")));
    assert.equal(statSync(doc.ca.dir).mode & 0o777, 0o700);
    for (const h of [join(home, "mcr"), join(home, "agent")]) assert.ok(!existsSync(join(h, "certs", "ca-key.pem")), h);
    // The agent pulls with its own system account, logged in at start.
    assert.match(readFileSync(doc.agent.log, "utf8"), /logged in to the registry/);
    // It shares the machine's podman with any other platform: its containers get a prefix of this home's own.
    assert.match(readFileSync(doc.agent.config, "utf8"), /^container_prefix = "mcp-[0-9a-f]{6}-"$/m);
    assert.deepEqual(
      doc.nodes.map((n: { name: string; state: string; runtime: string }) => [n.name, n.state, n.runtime]),
      [["local", "ok", "ok"]],
    );
    assert.equal(doc.console.username, "admin");

    const nodes = await mcp(["--config", doc.console.config, "nodes", "--json"], env);
    ok(nodes);
    assert.equal(nodes.json().nodes[0].state, "ok");
    const ps = await mcp(["--config", doc.console.config, "ps", "--json"], env);
    ok(ps);
    assert.deepEqual(ps.json().containers, []);

    const again = await mcp(["up", "--json", "--home", home], env);
    ok(again);
    const doc2 = again.json();
    assert.equal(doc2.registry.started, false);
    assert.equal(doc2.agent.started, false);
    assert.equal(doc2.registry.pid, doc.registry.pid);
    assert.equal(doc2.agent.pid, doc.agent.pid);
    assert.deepEqual(doc2.created, []);

    const down = await mcp(["down", "--home", home], env);
    ok(down);
    assert.match(down.stdout, /^mcp-agent: stopped \(pid \d+/m);
    assert.match(down.stdout, /^mcr: stopped \(pid \d+/m);
    assert.ok(!alive(doc.registry.pid) && !alive(doc.agent.pid));
    assert.ok(!existsSync(doc.registry.pidFile) && !existsSync(doc.agent.pidFile));
    assert.deepEqual(processesUnder(dir), []);
    const twice = await mcp(["down", "--home", home, "--json"], env);
    ok(twice);
    assert.deepEqual(
      twice.json().daemons.map((d: { outcome: string }) => d.outcome),
      ["not running", "not running"],
    );
  });

  test("the default home is $XDG_DATA_HOME/metacircular, and other commands use its config when the console has none", async () => {
    const { dir, env } = setup();
    homes.push(join(dir, "data", "metacircular"));
    // The default home takes the usual ports only when they are free. The test holds them
    // (when a platform on this machine does not) so that its daemons never take them.
    const held = await Promise.all([holdIfFree(8443), holdIfFree(9444)]);
    let up: McpResult;
    try {
      up = await mcp(["up", "--json"], env);
    } finally {
      await Promise.all(held.map((s) => s && new Promise((resolve) => s.close(resolve))));
    }
    ok(up);
    assert.equal(up.json().home, join(dir, "data", "metacircular"));
    assert.ok(![up.json().registry.url, up.json().agent.url].some((u: string) => /:(8443|9444)$/.test(u)), `${up.json().registry.url} ${up.json().agent.url}`);
    const nodes = await mcp(["nodes", "--json"], env);
    ok(nodes);
    assert.equal(nodes.json().nodes[0].url, up.json().agent.url);
    ok(await mcp(["down"], env));
    assert.deepEqual(processesUnder(dir), []);
  });

  test("without podman the agent still starts, and mcp nodes says podman is missing and how to install it", async () => {
    const { dir, home, env } = setup();
    const up = await mcp(["up", "--json", "--home", home], { ...env, MCP_AGENT_RUNTIME_PODMAN: join(dir, "no-such-podman") });
    ok(up);
    assert.equal(up.json().nodes[0].runtime, "missing");
    const nodes = await mcp(["--config", up.json().console.config, "nodes"], env);
    ok(nodes);
    assert.match(nodes.stdout, /^local .* ok +\S+ +missing/m);
    assert.match(nodes.stdout, /podman is not installed on the node .*apt-get install podman/);
    ok(await mcp(["down", "--home", home], env));
    assert.deepEqual(processesUnder(dir), []);
  });
});
