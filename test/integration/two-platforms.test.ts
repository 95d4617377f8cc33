// Two platforms made by `mcp up --home A` and `mcp up --home B` on one host, with the real
// binaries and one podman between them (the test's own containers.conf and storage, handed to
// `mcp up` in the environment, as an operator's would be): both build, push and deploy a
// service `hello` through their own registry and agent, both containers run at once, and each
// platform's `mcp ps` shows only its own. Stopping and removing `hello` on one leaves the
// other's container as it was (same id, running). `mcp down` stops both; after() removes every
// container, process and folder the test made, whatever failed.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mcp, type McpResult } from "../helpers/console.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { alive, processesUnder } from "../helpers/processes.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

const BASE = "localhost/two-platforms/busybox:1";

interface Platform {
  home: string;
  config: string;
  prefix: string;
  registryHost: string;
  pids: number[];
}

describe("two platforms from mcp up on one host", { skip: skipUnlessTools("podman", "busybox", "runc") }, () => {
  let dir: string;
  let pm: PodmanEnv;
  let env: NodeJS.ProcessEnv;
  const platforms: Platform[] = [];
  let a: Platform;
  let b: Platform;

  const ok = (r: McpResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const on = (p: Platform, args: string[]) => mcp(["--config", p.config, ...args], env);
  const helloOf = (p: Platform) => `${p.prefix}hello-api`;

  async function up(name: string): Promise<Platform> {
    const home = join(dir, name);
    // Pushed before `up` runs, so that after() stops whatever part of it started.
    const p: Platform = { home, config: join(home, "mcp.toml"), prefix: "", registryHost: "", pids: [] };
    platforms.push(p);
    const r = await mcp(["up", "--json", "--home", home], env);
    ok(r);
    const doc = r.json();
    assert.deepEqual([doc.registry.started, doc.agent.started], [true, true]);
    assert.deepEqual(
      doc.nodes.map((n: { name: string; state: string; runtime: string }) => [n.name, n.state, n.runtime]),
      [["local", "ok", "ok"]],
    );
    p.prefix = /^container_prefix = "([^"]+)"$/m.exec(readFileSync(doc.agent.config, "utf8"))?.[1] ?? "";
    p.registryHost = doc.registry.host;
    p.pids = [doc.registry.pid, doc.agent.pid];
    // The service `hello`, built from the test's busybox and pushed to this platform's registry.
    mkdirSync(join(doc.console.workspace, "hello"), { recursive: true });
    writeFileSync(join(doc.console.workspace, "hello", "Containerfile"), `FROM ${BASE}\n`);
    writeFileSync(
      join(doc.console.services, "hello.toml"),
      [
        'name = "hello"',
        'node = "local"',
        'version = "v1"',
        "",
        "[build.images]",
        'hello = "Containerfile"',
        "",
        "[[components]]",
        'name = "api"',
        // The shell leaves on SIGTERM, so a stop need not wait for the kill.
        `cmd = ["sh", "-c", ${JSON.stringify(`echo hello from ${name}; trap "exit 0" TERM; while :; do sleep 1; done`)}]`,
        "",
      ].join("\n"),
    );
    return p;
  }

  /** What podman itself says of a container: id, state, start time and owner. */
  async function inspect(name: string): Promise<{ id: string; state: string; startedAt: string; agent: string; image: string }> {
    const out = await pm.podman([
      "inspect",
      "--type",
      "container",
      "--format",
      '{{.Id}}|{{.State.Status}}|{{.State.StartedAt}}|{{index .Config.Labels "mcp.agent"}}|{{.ImageName}}',
      name,
    ]);
    const [id, state, startedAt, agent, image] = out.trim().split("|");
    return { id: id!, state: state!, startedAt: startedAt!, agent: agent!, image: image! };
  }

  const exists = async (name: string) => (await pm.podman(["ps", "--all", "--format", "{{.Names}}"])).split("\n").includes(name);

  /** `mcp ps --json` of a platform: [container, service, component, state] of each container it lists. */
  async function ps(p: Platform): Promise<string[][]> {
    const r = await on(p, ["ps", "--json"]);
    ok(r);
    assert.deepEqual(
      r.json().nodes.map((n: { name: string; state: string }) => [n.name, n.state]),
      [["local", "ok"]],
    );
    return r
      .json()
      .containers.map((c: { container: string; service: string; component: string; state: string }) => [c.container, c.service, c.component, c.state]);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "mcp-two-platforms-"));
    pm = createPodmanEnv();
    await pm.importBusybox(BASE);
    // One user's console on one machine: the same config, state and data folders for both
    // platforms (two sessions in one credentials file), and the test's podman for everything
    // `mcp up` starts.
    env = { ...pm.env, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), XDG_DATA_HOME: join(dir, "data"), NO_COLOR: "1" };
    a = await up("a");
    b = await up("b");
  });

  after(async () => {
    // `mcp down` stops only a home's own daemons, by pid file; then what a failed test left.
    for (const p of platforms) await mcp(["down", "--home", p.home], env);
    await pm?.cleanup();
    for (const pid of processesUnder(...[dir, pm?.dir].filter((d): d is string => !!d))) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("each platform has its own ports, prefix and daemons", () => {
    assert.notEqual(a.registryHost, b.registryHost);
    for (const p of [a, b]) assert.match(p.prefix, /^mcp-[0-9a-f]{6}-$/);
    assert.notEqual(a.prefix, b.prefix);
    assert.equal(new Set([...a.pids, ...b.pids]).size, 4);
    for (const pid of [...a.pids, ...b.pids]) assert.ok(alive(pid), `pid ${pid}`);
  });

  test("both deploy hello; both containers run at once; each mcp ps shows only its own", async () => {
    for (const p of [a, b]) {
      const r = await on(p, ["deploy", "hello", "--json"]);
      ok(r);
      const records = r.records();
      assert.ok(
        records.some((x) => x.type === "build" && x.phase === "pushed" && x.ref === `${p.registryHost}/hello:v1`),
        JSON.stringify(records.filter((x) => x.type === "build").slice(-3)),
      );
      assert.equal(records.at(-1).phase, "done", JSON.stringify(records.slice(-3)));
    }
    const [ia, ib] = [await inspect(helloOf(a)), await inspect(helloOf(b))];
    assert.deepEqual([ia.state, ib.state], ["running", "running"]);
    assert.notEqual(ia.id, ib.id);
    assert.notEqual(ia.agent, ib.agent);
    // The agents' podman works with the test's containers.conf, given to `mcp up` as
    // $CONTAINERS_CONF: their containers' events are in the event log that file names.
    const events = readFileSync(join(pm.dir, "tmp", "events.log"), "utf8");
    for (const p of [a, b]) assert.ok(events.includes(helloOf(p)), `no event of ${helloOf(p)} in ${join(pm.dir, "tmp", "events.log")}`);
    // Each agent pulled from its own registry.
    assert.deepEqual([ia.image, ib.image], [`${a.registryHost}/hello:v1`, `${b.registryHost}/hello:v1`]);
    assert.deepEqual(await ps(a), [[helloOf(a), "hello", "api", "running"]]);
    assert.deepEqual(await ps(b), [[helloOf(b), "hello", "api", "running"]]);
    const logs = await on(b, ["logs", "hello", "--tail", "5", "--json"]);
    ok(logs);
    assert.deepEqual(
      logs.records().map((l: { line: string }) => l.line),
      ["hello from b"],
    );
  });

  test("stopping and removing hello on one platform leaves the other's container untouched", async () => {
    const theirs = await inspect(helloOf(b));
    const stop = await on(a, ["stop", "hello", "--json"]);
    ok(stop);
    assert.deepEqual(
      stop.json().components.map((c: { container: string; state: string }) => [c.container, c.state]),
      [[helloOf(a), "exited"]],
    );
    assert.equal((await inspect(helloOf(a))).state, "exited");
    assert.deepEqual(await inspect(helloOf(b)), theirs);
    assert.deepEqual(await ps(a), [[helloOf(a), "hello", "api", "exited"]]);
    assert.deepEqual(await ps(b), [[helloOf(b), "hello", "api", "running"]]);

    const remove = await on(a, ["remove", "hello", "--json"]);
    ok(remove);
    assert.deepEqual(remove.json().removedContainers, [helloOf(a)]);
    assert.equal(await exists(helloOf(a)), false);
    assert.deepEqual(await inspect(helloOf(b)), theirs);
    assert.deepEqual(await ps(a), []);
    assert.deepEqual(await ps(b), [[helloOf(b), "hello", "api", "running"]]);
    // B's own status knows nothing of A's service, and a's remove left nothing of B's in it.
    const status = await on(b, ["status", "hello", "--json"]);
    ok(status);
    assert.deepEqual(status.json().services[0].unknownContainers, []);
  });

  test("mcp down stops each platform's daemons and no other; containers keep running", async () => {
    const theirs = await inspect(helloOf(b));
    for (const p of [a, b]) {
      const r = await mcp(["down", "--home", p.home, "--json"], env);
      ok(r);
      assert.deepEqual(
        r.json().daemons.map((d: { daemon: string; outcome: string }) => [d.daemon, d.outcome]),
        [
          ["mcp-agent", "stopped"],
          ["mcr", "stopped"],
        ],
      );
      for (const pid of p.pids) assert.ok(!alive(pid), `pid ${pid}`);
      // The other platform's daemons are still up until their own down.
      if (p === a) for (const pid of b.pids) assert.ok(alive(pid), `pid ${pid}`);
    }
    assert.deepEqual(processesUnder(dir), []);
    assert.deepEqual(await inspect(helloOf(b)), theirs);
  });
});
