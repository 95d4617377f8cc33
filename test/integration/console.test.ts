// `mcp` end to end: the real binary against a real mcr (registry and identity) and a real
// mcp-agent with real podman. Login, build of a busybox-based Containerfile, deploy with
// NDJSON progress, ps, logs -f while the container writes, stop/start, a failing deploy
// that rolls back, an unreachable second node, sync, logout and a revoked session.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
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
    writeFileSync(join(dir, "src", "hello", "Containerfile"), "FROM localhost/console-test/busybox:1\nARG VERSION\nRUN echo \"$VERSION\" > /version\nCMD [\"sh\", \"-c\", \"cat /version\"]\n");
    // A node whose agent accepts connections and never answers.
    hole = createServer(() => undefined);
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", () => r()));
    holePort = (hole.address() as { port: number }).port;
    env = { ...pm.env, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
    writeConfig();
    writeService("v1");
  });

  after(async () => {
    await new Promise((r) => hole?.close(r));
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
});
