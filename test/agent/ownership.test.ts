// Agents that share one podman: each labels its containers with its id and node, names them
// with its own prefix, and deploys, stops, starts, removes and reconciles only its own. A
// container another agent (or none) holds under a name it wants fails the operation naming
// the holder. Containers made before the label are adopted only when they are exactly what
// this agent deployed. The id is made once per state database; the prefix is checked.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Kysely, MigrationProvider } from "kysely";
import { ConfigError } from "../../lib/config/load.ts";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { validateDefinition } from "../../lib/services/definition.ts";
import { loadAgentConfig } from "../../agent/config.ts";
import { ServiceController, type DeployProgress } from "../../agent/controller/controller.ts";
import { ForeignContainerError } from "../../agent/controller/ownership.ts";
import { Reconciler } from "../../agent/reconcile/reconciler.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore } from "../../agent/state/store.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";

const hello = (cmd = ["sleep", "1000"]) =>
  validateDefinition({ name: "hello", node: "n1", version: "v1", components: [{ name: "api", image: "reg.local/hello", cmd }] });

const dirs: string[] = [];
const dbs: Kysely<AgentDatabase>[] = [];
after(async () => {
  for (const db of dbs) await db.destroy();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** An agent (its own state database and folders) on the shared fake podman `rt`. */
async function agentOn(rt: FakeRuntime, id: string, containerPrefix: string, node = "n1") {
  const dir = mkdtempSync(join(tmpdir(), "agent-owner-"));
  dirs.push(dir);
  const { db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations);
  dbs.push(db);
  const store = new StateStore(db);
  const runtimes = new SharedRuntime(rt, {});
  const ctl = new ServiceController({
    runtimes,
    store,
    log: silentLogger(),
    startGraceMs: 0,
    stopTimeoutSeconds: 1,
    ports: { start: 20000, end: 20010, address: "127.0.0.1" }, // hello has no routes: no port is asked for
    plan: {
      identity: { id, node, containerPrefix },
      registryHost: "reg.local",
      publishAddress: "127.0.0.1",
      defaultNetwork: "",
      storageRoot: join(dir, "srv"),
      allowedVolumeRoots: [join(dir, "srv")],
      envDir: join(dir, "env"),
    },
  });
  const reconciler = new Reconciler({ runtimes, store, controller: ctl, log: silentLogger() });
  const deploy = async (def = hello()) => {
    const out: DeployProgress[] = [];
    for await (const p of ctl.deploy(def.name, def)) out.push(p);
    return out;
  };
  const listed = async () => (await ctl.ownership.mine(await rt.list({ "mcp.managed": "true" }))).map((c) => c.name).sort();
  return { store, ctl, reconciler, deploy, listed };
}

/** Makes `name` look like a container from before agents labelled theirs. */
function unlabel(rt: FakeRuntime, name: string): void {
  const c = rt.containers.get(name)!;
  for (const labels of [c.info.labels, c.spec.labels]) {
    delete labels["mcp.agent"];
    delete labels["mcp.node"];
  }
}

describe("agents sharing one podman", () => {
  test("each with its own prefix: both run hello; each lists, reconciles, stops and removes only its own", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "a1-");
    const b = await agentOn(rt, "bbbbbbbbbbbb", "b2-", "laptop");
    await a.deploy();
    await b.deploy();
    assert.deepEqual([...rt.containers.keys()].sort(), ["a1-hello-api", "b2-hello-api"]);
    const labels = rt.containers.get("b2-hello-api")!.info.labels;
    assert.deepEqual([labels["mcp.agent"], labels["mcp.node"], labels["mcp.service"]], ["bbbbbbbbbbbb", "laptop", "hello"]);
    assert.deepEqual(await a.listed(), ["a1-hello-api"]);
    assert.deepEqual(await b.listed(), ["b2-hello-api"]);

    rt.kill("b2-hello-api");
    assert.deepEqual(await a.reconciler.reconcileOnce(), [], "b's stopped container is neither a's drift nor an unknown container of a's");
    assert.equal((await rt.inspect("b2-hello-api")).state, "exited");
    assert.deepEqual(
      (await b.reconciler.reconcileOnce()).map((d) => [d.container, d.kind, d.action]),
      [["b2-hello-api", "stopped", "started"]],
    );

    assert.deepEqual(
      (await a.ctl.stop("hello")).map((c) => [c.container, c.state]),
      [["a1-hello-api", "exited"]],
    );
    assert.equal((await rt.inspect("b2-hello-api")).state, "running");
    assert.deepEqual(await a.ctl.remove("hello"), ["a1-hello-api"]);
    assert.deepEqual([...rt.containers.keys()], ["b2-hello-api"]);
    assert.equal((await rt.inspect("b2-hello-api")).state, "running");
  });

  test("the same name held by another agent: deploy and start fail naming the holder; stop, remove and reconcile leave it alone", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "");
    const b = await agentOn(rt, "bbbbbbbbbbbb", "", "laptop");
    await b.deploy();
    const theirs = await rt.inspect("hello-api");
    const from = rt.calls.length;
    await assert.rejects(
      a.deploy(hello(["sleep", "5"])),
      (e: unknown) =>
        e instanceof ForeignContainerError &&
        /^deploy of hello failed at api: container hello-api is held by agent bbbbbbbbbbbb \(node laptop\), not by this agent \(aaaaaaaaaaaa\); not replaced; agents that share a podman need a \[runtime\] container_prefix each$/.test(
          e.message,
        ),
    );
    assert.equal(await a.store.definition("hello"), undefined, "a failed first deploy leaves a's state as it was");

    // a has hello in its state (deployed once, say) while b holds the name.
    await a.store.putDefinition(hello());
    await a.store.recordDeployed("hello", "api", "0123456789abcdef", "reg.local/hello:v1");
    await assert.rejects(
      a.ctl.start("hello"),
      (e: unknown) => e instanceof ForeignContainerError && /container hello-api is held by agent bbbbbbbbbbbb \(node laptop\).*; not started/.test(e.message),
    );
    assert.deepEqual(
      (await a.ctl.stop("hello")).map((c) => [c.container, c.state]),
      [["hello-api", "missing"]],
    );
    // b's container is not a's: a's own is missing (desired stopped: reported; desired running: not recreated over b's).
    assert.deepEqual(
      (await a.reconciler.reconcileOnce()).map((d) => [d.container, d.kind, d.action]),
      [["hello-api", "missing", "reported"]],
    );
    await a.store.setDesired("hello", "api", "running");
    const repair = await a.reconciler.reconcileOnce();
    assert.deepEqual(
      repair.map((d) => [d.container, d.kind, d.action]),
      [["hello-api", "missing", "repair_failed"]],
    );
    assert.match(repair[0]!.message, /held by agent bbbbbbbbbbbb \(node laptop\).*; not recreated/);
    assert.deepEqual(await a.ctl.remove("hello"), []);
    const leftAlone = (await a.store.recentEvents("hello")).find((e) => e.kind === "left_alone");
    assert.match(leftAlone?.message ?? "", /container hello-api is held by agent bbbbbbbbbbbb \(node laptop\).*; not removed/);

    assert.deepEqual(
      rt.calls.slice(from).filter((c) => c.includes("hello-api")),
      [],
      "a never created, stopped, started or removed hello-api",
    );
    const now = await rt.inspect("hello-api");
    assert.deepEqual([now.id, now.state], [theirs.id, "running"]);
  });

  test("a container of no agent under the name: the deploy fails saying so", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "");
    await rt.run({ name: "hello-api", image: "someone/else", ports: [], volumes: [], labels: {}, cmd: [] });
    await assert.rejects(
      a.deploy(),
      /container hello-api is held by something other than an mcp-agent \(no mcp\.managed label\), not by this agent \(aaaaaaaaaaaa\); not replaced$/,
    );
    assert.equal((await rt.inspect("hello-api")).image, "someone/else");
  });

  test("containers from before agent labels: adopted when exactly what this agent deployed, and relabelled by its next deploy; another agent's are left alone", async () => {
    const rt = new FakeRuntime();
    const a = await agentOn(rt, "aaaaaaaaaaaa", "");
    await a.deploy();
    unlabel(rt, "hello-api"); // as an agent before this change made it
    assert.deepEqual(await a.listed(), ["hello-api"], "an upgraded agent keeps its running service");
    rt.kill("hello-api");
    assert.deepEqual(
      (await a.reconciler.reconcileOnce()).map((d) => [d.container, d.kind, d.action]),
      [["hello-api", "stopped", "started"]],
    );

    // A new agent that never deployed hello does not take it over.
    const fresh = await agentOn(rt, "cccccccccccc", "");
    assert.deepEqual(await fresh.listed(), []);
    await assert.rejects(
      fresh.deploy(),
      /container hello-api is held by an agent from before containers carried their agent's id \(no mcp\.agent label, and not what this agent deployed\), not by this agent \(cccccccccccc\); not replaced$/,
    );
    assert.deepEqual(await fresh.reconciler.reconcileOnce(), []);

    // The same definition again: replaced once, so that it carries a's label; then unchanged.
    const progress = await a.deploy();
    const phases = progress.filter((p) => p.component === "api").map((p) => p.phase);
    assert.ok(phases.includes("creating") && phases.at(-1) === "running", phases.join(", "));
    assert.equal((await rt.inspect("hello-api")).labels["mcp.agent"], "aaaaaaaaaaaa");
    assert.deepEqual(
      (await a.deploy()).filter((p) => p.component === "api").map((p) => p.phase),
      ["unchanged"],
    );
  });
});

describe("the agent's identity and prefix", () => {
  test("made once per state database, kept across restarts, and added to a database made before it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "agent-id-"));
    dirs.push(dir);
    const older: MigrationProvider = {
      async getMigrations() {
        const all = await agentMigrations.getMigrations();
        return Object.fromEntries(Object.entries(all).filter(([name]) => name < "0004"));
      },
    };
    const first = await openSqlite<AgentDatabase>(join(dir, "agent.db"), older);
    await first.db.destroy();
    const upgraded = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations);
    const id = await new StateStore(upgraded.db).agentId();
    assert.match(id, /^[0-9a-f]{12}$/);
    await upgraded.db.destroy();
    const again = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations);
    assert.equal(await new StateStore(again.db).agentId(), id);
    await again.db.destroy();
    const other = await openSqlite<AgentDatabase>(join(dir, "other.db"), agentMigrations);
    assert.notEqual(await new StateStore(other.db).agentId(), id);
    await other.db.destroy();
  });

  test("[runtime] container_prefix: empty by default; a bad one is an error naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "agent-prefix-"));
    dirs.push(dir);
    const base = '[server]\nlisten_addr = "127.0.0.1:0"\ntls_cert = "c.pem"\ntls_key = "k.pem"\n[database]\npath = "agent.db"\n[auth]\ndisabled = true\n';
    const load = (runtime: string) => {
      const path = join(dir, "mcp-agent.toml");
      writeFileSync(path, `${base}[runtime]\n${runtime}\n`);
      return loadAgentConfig(path, {});
    };
    assert.equal(load("").runtime.container_prefix, "");
    assert.equal(load('container_prefix = "t1a2b3-"').runtime.container_prefix, "t1a2b3-");
    for (const bad of ["-x", "Upper-", "a/b", "x".repeat(33)]) {
      assert.throws(
        () => load(`container_prefix = ${JSON.stringify(bad)}`),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.message.includes("[runtime] container_prefix") &&
          e.message.includes(JSON.stringify(bad).slice(0, 20)) &&
          /is not a container name prefix/.test(e.message),
        bad,
      );
    }
  });
});
