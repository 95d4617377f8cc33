// `mcp` end to end: the real binary against a real mcr (registry and identity) and a real
// mcp-agent with real podman. Login, build of a busybox-based Containerfile, deploy with
// NDJSON progress, ps, logs -f while the container writes, stop/start, a failing deploy
// that rolls back, an unreachable second node, sync, logout and a revoked session.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { initAgentHome, removeAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { mcp, mcpStream, type McpResult } from "../helpers/console.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

describe("mcp against a real mcr and mcp-agent", { skip: skipUnlessTools("podman", "skopeo", "runc", "busybox") }, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let home: AgentHome;
  let agent: AgentProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let hole: Server;
  let holePort: number;
  const holeSockets = new Set<Socket>();

  const configDir = () => join(dir, "config", "mcp");
  const services = () => join(configDir(), "services");
  const run = (args: string[], input?: string) => mcp(args, env, input);
  const ok = (r: McpResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

  function writeConfig(extraNodes = ""): void {
    writeFileSync(
      join(configDir(), "mcp.toml"),
      `ca_cert = "${mcrHome.caPath}"\nnode_timeout = "2s"\n\n[[nodes]]\nname = "node1"\nurl = "${agent.url}"\n${extraNodes}\n[registry]\nurl = "${mcr.url}"\n\n[build]\nworkspace = "${join(dir, "src")}"\n`,
    );
  }

  function writeService(version: string, cmd?: string): void {
    const command = cmd ?? 'i=0; while true; do i=$((i+1)); echo "$NAME tick $i"; sleep 0.1; done';
    writeFileSync(
      join(services(), "hello.toml"),
      [
        'name = "hello"',
        'node = "node1"',
        `version = "${version}"`,
        "",
        "[build.images]",
        'hello = "Containerfile"',
        "",
        "[[components]]",
        'name = "api"',
        `cmd = ["sh", "-c", ${JSON.stringify(command)}]`,
        'env = { NAME = "api" }',
        "",
        "[[components]]",
        'name = "worker"',
        `image = "${mcr.host}/hello"`,
        `cmd = ["sh", "-c", ${JSON.stringify(command)}]`,
        'env = { NAME = "worker" }',
        "",
      ].join("\n"),
    );
  }

  before(async () => {
    mcrHome = await initHome();
    const agentPassword = await addAccount(mcrHome, "agent-node1", "human", ["user"]);
    await addAccount(mcrHome, "viewer", "human", ["user"]);
    mcr = await startMcr(mcrHome, {}, { auth: true });
    pm = createPodmanEnv();
    await pm.importBusybox("localhost/console-test/busybox:1");
    home = await initAgentHome({ mcr, mcrHome, podmanDir: pm.dir, registryUser: { username: "agent-node1", password: agentPassword } });
    agent = await startAgentProcess(home);

    dir = mkdtempSync(join(tmpdir(), "mcp-console-it-"));
    mkdirSync(services(), { recursive: true });
    mkdirSync(join(dir, "src", "hello"), { recursive: true });
    writeFileSync(
      join(dir, "src", "hello", "Containerfile"),
      'FROM localhost/console-test/busybox:1\nARG VERSION\nRUN echo "$VERSION" > /version\nCMD ["sh", "-c", "cat /version"]\n',
    );
    // A node whose agent accepts connections and never answers.
    hole = createServer((sock) => {
      holeSockets.add(sock);
      sock.on("close", () => holeSockets.delete(sock));
    });
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", () => r()));
    holePort = (hole.address() as { port: number }).port;
    env = { ...pm.env, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
    writeConfig();
    writeService("v1");
  });

  after(async () => {
    for (const sock of holeSockets) sock.destroy();
    await new Promise((r) => (hole ? hole.close(r) : r(undefined)));
    await agent?.stop();
    await pm?.cleanup();
    await mcr?.stop();
    if (mcrHome) removeHome(mcrHome);
    if (home) removeAgentHome(home);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("without a session every agent command exits 4 and says to run mcp login", async () => {
    const r = await run(["ps", "--json"]);
    assert.equal(r.code, 4);
    assert.equal(r.json().error.code, "unauthenticated");
    assert.match(r.json().error.message, /run `mcp login`/);
    const plain = await run(["ps"]);
    assert.equal(plain.code, 4);
    assert.equal(plain.stdout, "");
    assert.equal(plain.stderr.trim().split("\n").length, 1);
  });

  test("mcp login keeps one token per service in a 0600 file, never the password; a wrong password exits 4", async () => {
    const bad = await run(["login", "--username", "admin", "--password-stdin", "--json"], "wrong-password");
    assert.equal(bad.code, 4);
    assert.equal(bad.json().error.code, "unauthenticated");
    const r = await run(["login", "--username", "admin", "--password-stdin", "--json"], mcrHome.adminPassword + "\n");
    ok(r);
    const doc = r.json();
    assert.equal(doc.username, "admin");
    assert.deepEqual(Object.keys(doc.services).sort(), ["mcp-agent", "mcr"]);
    const file = join(dir, "state", "mcp", "credentials.json");
    assert.equal(doc.credentials, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const text = readFileSync(file, "utf8");
    assert.ok(!text.includes(mcrHome.adminPassword));
    assert.ok(!r.stdout.includes(JSON.parse(text).sessions[mcr.url].tokens.mcr.token), "tokens are not printed");
  });

  test("nodes and ps ask every node at once; a node that does not answer is unreachable and does not hold up the others", async () => {
    writeConfig(`[[nodes]]\nname = "node2"\nurl = "https://127.0.0.1:${holePort}"\n`);
    try {
      const started = Date.now();
      const r = await run(["ps", "--json"]);
      const took = Date.now() - started;
      assert.equal(r.code, 6, r.stderr);
      const doc = r.json();
      const byName = Object.fromEntries(doc.nodes.map((n: { name: string }) => [n.name, n]));
      assert.equal(byName.node1.state, "ok");
      assert.equal(byName.node2.state, "unreachable");
      assert.match(byName.node2.reason, /timed out|deadline/i);
      assert.ok(Array.isArray(doc.containers));
      assert.ok(took < 2000 + 4000, `ps took ${took} ms with a 2 s node timeout`);
      const plain = await run(["nodes"]);
      assert.equal(plain.code, 6);
      assert.match(plain.stdout, /^NODE +URL +STATE/m);
      assert.match(plain.stdout, /node1 .* ok /);
      assert.match(plain.stdout, /node2 .* unreachable/);
      assert.doesNotMatch(plain.stdout, /\x1b\[/, "no ANSI when stdout is not a terminal");
    } finally {
      writeConfig();
    }
  });

  test("mcp build builds the Containerfile with VERSION and pushes it with the session's token (no password written)", async () => {
    const r = await run(["build", "hello", "--json"]);
    ok(r);
    const records = r.records();
    assert.ok(records.every((e) => e.type === "build" && e.image === "hello"));
    const phases = [...new Set(records.map((e) => e.phase))];
    assert.deepEqual(phases, ["building", "pushing", "pushed"]);
    assert.ok(
      records.some((e) => e.layer && /^[0-9a-f]{12}$/.test(e.layer.digest)),
      "push progress per layer",
    );
    assert.equal(records.at(-1).ref, `${mcr.host}/hello:v1`);
    const registry = new RegistryClient(mcr.url, mcrHome.caPem, await login(new RegistryClient(mcr.url, mcrHome.caPem), "admin", mcrHome.adminPassword));
    try {
      assert.equal(
        (
          await registry.request("HEAD", "/v2/hello/manifests/v1", {
            headers: { Accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" },
          })
        ).status,
        200,
      );
    } finally {
      registry.close();
    }
    // The image carries the version it was built with.
    assert.equal((await pm.podman(["run", "--rm", `${mcr.host}/hello:v1`])).trim(), "v1");
    // No temporary auth folder is left behind.
    assert.deepEqual(
      readdirSync(tmpdir()).filter((f) => f.startsWith("mcp-push-")),
      [],
    );
    const unknown = await run(["build", "hello/nope", "--json"]);
    assert.equal(unknown.code, 3);
  });

  test("mcp deploy streams NDJSON progress per component and ends with done", async () => {
    const r = await run(["deploy", "hello", "--json"]);
    ok(r);
    const deploy = r.records().filter((e) => e.type === "deploy");
    const phases = (c: string) => deploy.filter((e) => e.component === c).map((e) => e.phase);
    assert.deepEqual(phases("api"), ["pulling", "creating", "starting", "running"]);
    assert.deepEqual(phases("worker"), ["pulling", "creating", "starting", "running"]);
    assert.equal(deploy.at(-1).phase, "done");
    // The image was in the registry: nothing was built.
    assert.ok(
      r
        .records()
        .filter((e) => e.type === "build")
        .every((e) => e.phase === "checking" || e.phase === "exists"),
    );
  });

  test("mcp ps --json lists the containers with node, version, state and start time", async () => {
    const r = await run(["ps", "--json"]);
    ok(r);
    const doc = r.json();
    assert.deepEqual(
      doc.nodes.map((n: { name: string; state: string }) => [n.name, n.state]),
      [["node1", "ok"]],
    );
    const rows = doc.containers.filter((c: { service: string }) => c.service === "hello");
    assert.deepEqual(
      rows.map((c: { component: string; state: string; version: string; node: string }) => [c.component, c.state, c.version, c.node]),
      [
        ["api", "running", "v1", "node1"],
        ["worker", "running", "v1", "node1"],
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(rows[0].startedAt)));
    const plain = await run(["ps"]);
    ok(plain);
    assert.match(plain.stdout, /^SERVICE +COMPONENT +NODE +VERSION +STATE +CPU +MEM +UPTIME +PORTS/m);
    assert.match(plain.stdout, /^hello +api +node1 +v1 +running +\d+\.\d+% +\d+(\.\d+)?[KMG]\/\d+(\.\d+)?[KMG]/m);
  });

  test("mcp logs -f --json follows every component merged while the containers write", async () => {
    const follow = mcpStream(["logs", "hello", "-f", "--tail", "5", "--json"], env);
    try {
      const api = await follow.waitFor((r) => r.component === "api" && /tick/.test(r.line));
      await follow.waitFor((r) => r.component === "worker" && /tick/.test(r.line));
      const first = Number(/tick (\d+)/.exec(api.line)![1]);
      // New lines keep coming while we follow.
      await follow.waitFor((r) => r.component === "api" && Number(/tick (\d+)/.exec(r.line)?.[1] ?? 0) >= first + 10);
      const r0 = follow.records[0];
      assert.deepEqual(Object.keys(r0).sort(), ["component", "line", "node", "service", "stream"]);
      assert.equal(r0.service, "hello");
      const apiTicks = follow.records.filter((r) => r.component === "api").map((r) => Number(/tick (\d+)/.exec(r.line)![1]));
      assert.deepEqual(
        apiTicks,
        [...apiTicks].sort((a, b) => a - b),
        "lines of a component stay in order",
      );
      assert.equal(new Set(apiTicks).size, apiTicks.length, "no line twice");
    } finally {
      assert.equal(await follow.stop(), 0, follow.stderr());
    }
    // One component, no follow, plain text: the lines without a prefix.
    const one = await run(["logs", "hello/worker", "--tail", "3"]);
    ok(one);
    const lines = one.stdout.trim().split("\n");
    assert.equal(lines.length, 3);
    assert.ok(
      lines.every((l) => /^worker tick \d+$/.test(l)),
      one.stdout,
    );
  });

  test("stop and start a component; status shows desired and observed state", async () => {
    const stopped = await run(["stop", "hello/worker", "--json"]);
    ok(stopped);
    assert.deepEqual(
      stopped.json().components.map((c: { component: string; state: string }) => [c.component, c.state]),
      [["worker", "exited"]],
    );
    let status = (await run(["status", "hello", "--json"])).json().services[0];
    let worker = status.components.find((c: { component: string }) => c.component === "worker");
    assert.deepEqual([worker.desiredState, worker.observedState], ["stopped", "exited"]);
    ok(await run(["start", "hello", "--json"]));
    status = (await run(["status", "hello", "--json"])).json().services[0];
    worker = status.components.find((c: { component: string }) => c.component === "worker");
    assert.deepEqual([worker.desiredState, worker.observedState], ["running", "running"]);
    const missing = await run(["stop", "nope", "--json"]);
    assert.equal(missing.code, 3);
    assert.equal(missing.json().error.code, "not_found");
  });

  test("a failing deploy builds the new version, rolls back, exits 1 and says why; v1 keeps running", async () => {
    writeService("v2", "echo bad config >&2; exit 3");
    try {
      const r = await run(["deploy", "hello", "--json"]);
      assert.equal(r.code, 1, r.stderr);
      const records = r.records();
      assert.ok(
        records.some((e) => e.type === "build" && e.phase === "pushed" && e.ref === `${mcr.host}/hello:v2`),
        "the missing v2 image was built and pushed",
      );
      assert.ok(
        records.some((e) => e.type === "build" && e.ref === `${mcr.host}/hello:v2` && e.layer?.status === "done"),
        "a successful push marks its layers done",
      );
      assert.ok(
        records.some((e) => e.type === "deploy" && e.phase === "creating" && /^stopping the old container/.test(e.message)),
        "the wait for the old container is said",
      );
      assert.ok(records.some((e) => e.type === "deploy" && e.phase === "failed"));
      const last = records.at(-1);
      assert.equal(last.error.code, "failed");
      assert.match(last.error.message, /bad config/);
      const ps = (await run(["ps", "--json"])).json();
      const api = ps.containers.find((c: { service: string; component: string }) => c.service === "hello" && c.component === "api");
      assert.deepEqual([api.version, api.state], ["v1", "running"]);
    } finally {
      writeService("v1");
    }
  });

  test("mcp history lists each deploy; mcp rollback --yes puts the previous release back, pinned by digest", async () => {
    let doc = (await run(["history", "hello", "--json"])).json();
    assert.deepEqual([doc.releases[0].version, doc.releases[0].result], ["v2", "failed"]);
    assert.match(doc.releases[0].message, /bad config/);
    const v1 = doc.releases.find((r: { version: string; result: string }) => r.version === "v1" && r.result === "deployed");
    assert.match(v1.images[0].digest, new RegExp(`^${mcr.host}/hello@sha256:[0-9a-f]{64}$`));
    writeService("v3");
    try {
      ok(await run(["deploy", "hello", "--json"]));
      const back = await run(["rollback", "hello", "--yes", "--json"]);
      ok(back);
      assert.ok(
        back.records().some((e) => e.phase === "running" && e.image === v1.images[0].digest),
        back.stdout,
      );
      const status = (await run(["status", "hello", "--json"])).json();
      assert.equal(status.services[0].components.find((c: { component: string }) => c.component === "api").observedImage, v1.images[0].digest);
      doc = (await run(["history", "hello", "--json"])).json();
      assert.deepEqual([doc.releases[0].version, doc.releases[0].rollbackOf, doc.releases[1].version], ["v1", v1.number, "v3"]);
      const plain = await run(["history", "hello"]);
      assert.match(
        plain.stdout,
        new RegExp(
          `^${doc.releases[0].number} +\\S+ ago +admin +v1 +deployed +api=${mcr.host}/hello@[0-9a-f]{12} worker=${mcr.host}/hello@[0-9a-f]{12} +rollback to ${v1.number}$`,
          "m",
        ),
      );
    } finally {
      writeService("v1");
    }
  });

  test("mcp sync ships every definition to its node", async () => {
    const r = await run(["sync", "--json"]);
    ok(r);
    const doc = r.json();
    assert.equal(doc.services.length, 1);
    assert.deepEqual([doc.services[0].service, doc.services[0].node], ["hello", "node1"]);
    assert.match(doc.services[0].outcome, /^(created|updated|unchanged)$/);
    assert.deepEqual(
      doc.images.map((i: { ref: string; phase: string }) => [i.ref, i.phase]),
      [[`${mcr.host}/hello:v1`, "exists"]],
    );
  });

  test("mcp logout revokes and deletes the tokens; a revoked session gets one line: run mcp login", async () => {
    // A fresh session: the agent has not cached these tokens (it caches validations 30 s).
    ok(await run(["login", "-u", "admin", "--password-stdin"], mcrHome.adminPassword));
    const file = join(dir, "state", "mcp", "credentials.json");
    const saved = join(dir, "credentials.saved");
    copyFileSync(file, saved);
    const r = await run(["logout", "--json"]);
    ok(r);
    assert.equal(r.json().loggedOut, true);
    assert.ok(!existsSync(file));
    // The old tokens, put back by hand, are revoked: the agent refuses them.
    copyFileSync(saved, file);
    rmSync(saved);
    const ps = await run(["ps"]);
    assert.equal(ps.code, 4);
    assert.match(ps.stderr, /run `mcp login`/);
    assert.equal(ps.stderr.trim().split("\n").length, 1);
    ok(await run(["login", "-u", "admin", "--password-stdin"], mcrHome.adminPassword));
  });

  test("mcp remove removes the service's containers", async () => {
    const r = await run(["remove", "hello", "--json"]);
    ok(r);
    assert.deepEqual(r.json().removedContainers.sort(), [`${home.containerPrefix}hello-api`, `${home.containerPrefix}hello-worker`]);
    assert.deepEqual((await run(["ps", "--json"])).json().containers, []);
  });
});
