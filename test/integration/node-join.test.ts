// Nodes that join with one-time tokens (docs/nodes.md): a platform of three nodes on one
// machine — mcr and agents on 127.0.0.2, 127.0.0.3 and 127.0.0.4, each agent with its own
// folder and podman storage. The console knows only the registry: it takes the nodes from it.
// A CA-digest mismatch stops a join before anything is sent; a reused and an expired token
// are refused; a service deploys to each node and `mcp ps` shows all three; certificates that
// live 20 s renew under an open log follow; a removed node is refused within 30 s by mcr, the
// console and the other nodes, and its containers are left as they were.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect as h2connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { mcp, mcpStream, type McpResult } from "../helpers/console.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { login } from "../helpers/identity.ts";
import { MCR_BIN, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { freePortOn, joinAgent, joinAndStart, type JoinedNode } from "../helpers/nodes.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { sleep, until } from "../helpers/wait.ts";

const run = promisify(execFile);
const ADDRESSES = { n1: "127.0.0.2", n2: "127.0.0.3", n3: "127.0.0.4" } as const;
type Name = keyof typeof ADDRESSES;

describe("nodes join with tokens", { skip: skipUnlessTools("podman", "runc", "busybox") }, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let registryUrl: string;
  let pm: PodmanEnv;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const nodes = new Map<Name, JoinedNode>();
  const ports = new Map<Name, number>();
  const tokens = new Map<string, string>();
  const console_ = (args: string[], input?: string) => mcp(args, env, input);
  const ok = (r: McpResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const agentEnv = { MCP_AGENT_AUTH_POLICY_REFRESH: "2s" };

  /** `registryCa`: a CA the console trusts for the registry alone (one that did not sign it makes the registry unreadable). */
  function writeConsoleConfig(extra = "", registryCa = ""): void {
    writeFileSync(
      join(dir, "config", "mcp", "mcp.toml"),
      `ca_cert = "${mcrHome.caPath}"\nnode_timeout = "3s"\n${extra}\n[registry]\nurl = "${registryUrl}"\n${registryCa ? `ca_cert = "${registryCa}"\n` : ""}`,
    );
  }

  async function addNode(name: string, url: string, expires = "10m"): Promise<string> {
    const r = await console_(["node", "add", name, "--url", url, "--expires", expires, "--json"]);
    ok(r);
    const token = r.json().token as string;
    assert.match(token, /^MCPJOIN-1-[0-9a-f]{64}-[0-9a-f]{64}$/);
    tokens.set(name, token);
    return token;
  }

  before(async () => {
    const home = mkdtempSync(join(tmpdir(), "mcr-nodes-"));
    rmSync(home, { recursive: true });
    await run(MCR_BIN, ["init", "--dir", home, "--listen", `${ADDRESSES.n1}:0`, "--hostname", ADDRESSES.n1]);
    const caPath = join(home, "certs", "ca.pem");
    mcrHome = {
      dir: home,
      config: join(home, "mcr.toml"),
      caPath,
      caDir: `${home}-ca`,
      caPem: readFileSync(caPath, "utf8"),
      adminPassword: readFileSync(join(home, "admin.password"), "utf8").trim(),
      backend: "embedded",
    };
    // Node certificates live 20 s here, so renewals happen while the tests run.
    mcr = await startMcr(mcrHome, { MCR_NODES_CERT_LIFETIME: "20s" }, { auth: true });
    registryUrl = `https://${ADDRESSES.n1}:${mcr.port}`;
    dir = mkdtempSync(join(tmpdir(), "mcp-nodes-it-"));
    mkdirSync(join(dir, "config", "mcp", "services"), { recursive: true });
    pm = createPodmanEnv();
    env = { ...pm.env, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
    writeConsoleConfig();
    ok(await console_(["login", "--username", "admin", "--password-stdin"], `${mcrHome.adminPassword}\n`));
    // The image every node pulls from mcr with its own account.
    await pm.importBusybox("localhost/nodes-test/hello:1");
    const certDir = join(dir, "push-certs");
    mkdirSync(certDir);
    writeFileSync(join(certDir, "ca.crt"), mcrHome.caPem);
    await pm.podman([
      "push",
      "--cert-dir",
      certDir,
      "--creds",
      `admin:${mcrHome.adminPassword}`,
      "localhost/nodes-test/hello:1",
      `docker://${ADDRESSES.n1}:${mcr.port}/nodes-test/hello:1`,
    ]);
    for (const name of Object.keys(ADDRESSES) as Name[]) ports.set(name, await freePortOn(ADDRESSES[name]));
  });

  after(async () => {
    for (const n of nodes.values()) await n.stop().catch(() => undefined);
    await pm?.cleanup();
    await mcr?.stop();
    if (mcrHome) removeHome(mcrHome);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const urlOf = (name: Name) => `https://${ADDRESSES[name]}:${ports.get(name)}`;

  test("a token whose CA digest is not the registry's stops the join before anything is sent", async () => {
    const token = await addNode("n3", urlOf("n3"));
    const forged = token.replace(/^(MCPJOIN-1-)[0-9a-f]{64}/, `$1${"ab".repeat(32)}`);
    const target = mkdtempSync(join(tmpdir(), "node-forged-"));
    try {
      await assert.rejects(
        joinAgent(forged, registryUrl, target),
        /presents a CA whose digest is [0-9a-f]{64}, not the a{0}(ab){32} the token names.*nothing was sent/s,
      );
      assert.deepEqual(readdirSync(target), [], "nothing is written on the node");
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
    // Nothing reached mcr: the real token still works (below) and n3 is still pending.
    const list = await console_(["node", "list", "--json"]);
    ok(list);
    assert.equal(list.json().nodes.find((n: { name: string }) => n.name === "n3").state, "pending");
  });

  test("nodes join with their tokens; a reused and an expired token are refused", async () => {
    await addNode("n1", urlOf("n1"));
    await addNode("n2", urlOf("n2"));
    for (const name of ["n1", "n2", "n3"] as Name[])
      nodes.set(name, await joinAndStart(name, ADDRESSES[name], ports.get(name)!, tokens.get(name)!, registryUrl, agentEnv));
    const again = mkdtempSync(join(tmpdir(), "node-again-"));
    try {
      await assert.rejects(joinAgent(tokens.get("n2")!, registryUrl, again), /this join token is unknown or has been used/);
      const late = await addNode("late", "https://127.0.0.5:9444", "1s");
      await sleep(1500);
      await assert.rejects(joinAgent(late, registryUrl, again, ["--force"]), /this join token has expired/);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
    const list = (await console_(["node", "list", "--json"])).json();
    const states = Object.fromEntries(list.nodes.map((n: { name: string; state: string }) => [n.name, n.state]));
    assert.deepEqual(states, { late: "pending", n1: "joined", n2: "joined", n3: "joined" });
  });

  test("no file on a joined node holds the CA key or the signer's", () => {
    const secrets = [readFileSync(join(mcrHome.caDir, "ca-key.pem"), "utf8"), readFileSync(join(mcrHome.dir, "signer", "signer-key.pem"), "utf8")].map((k) =>
      k.replace(/-----[A-Z ]+-----|\s/g, ""),
    );
    for (const n of nodes.values()) {
      for (const file of walk(n.home.dir)) {
        const text = readFileSync(file, "latin1").replace(/\s/g, "");
        for (const s of secrets) assert.ok(!text.includes(s), `${file} holds a CA key`);
      }
    }
  });

  test("a service deploys to each node and mcp ps shows all three, from the registry's node list", async () => {
    for (const name of nodes.keys()) {
      writeFileSync(
        join(dir, "config", "mcp", "services", `hello-${name}.toml`),
        `name = "hello-${name}"\nnode = "${name}"\nversion = "1"\n\n[[components]]\nname = "api"\nimage = "${ADDRESSES.n1}:${mcr.port}/nodes-test/hello"\ncmd = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]\n`,
      );
      ok(await console_(["deploy", `hello-${name}`, "--json"]));
    }
    const ps = await console_(["ps", "--json"]);
    ok(ps);
    const rows = ps.json().containers as { node: string; service: string; state: string }[];
    assert.deepEqual(rows.map((r) => `${r.node}/${r.service}/${r.state}`).sort(), ["n1/hello-n1/running", "n2/hello-n2/running", "n3/hello-n3/running"]);
    const listed = (await console_(["nodes", "--json"])).json().nodes as { name: string; state: string }[];
    assert.deepEqual(listed.map((n) => `${n.name}:${n.state}`).sort(), ["n1:ok", "n2:ok", "n3:ok"]);
  });

  test("certificates renew themselves under an open log follow", async () => {
    const n2 = nodes.get("n2")!;
    const serialBefore = await peerSerial(n2.url);
    const follow = mcpStream(["logs", "-f", "hello-n2", "--json"], env);
    try {
      await follow.waitFor((r) => /tick/.test(r.line ?? r.message ?? ""), 20_000);
      const renewed = () => n2.agent.logs().match(/"msg":"node certificate renewed"/g)?.length ?? 0;
      const start = renewed();
      await until("two renewals", async () => (renewed() >= start + 2 ? true : undefined), 60_000, 500);
      const seen = follow.records.length;
      await until("lines after the renewals", async () => (follow.records.length > seen + 5 ? true : undefined), 10_000);
      assert.equal(follow.child.exitCode, null, "the follow is still open");
      assert.doesNotMatch(follow.stderr(), /reconnecting/, "the follow never had to reconnect");
      assert.notEqual(await peerSerial(n2.url), serialBefore, "new connections get the new certificate");
    } finally {
      await follow.stop();
    }
  });

  test("a removed node is refused within 30 s by mcr, the console and the other nodes; its containers stay", async () => {
    const n3 = nodes.get("n3")!;
    const cert = readFileSync(join(n3.home.dir, "certs", "cert.pem"));
    const key = readFileSync(join(n3.home.dir, "certs", "key.pem"));
    const password = readFileSync(join(n3.home.dir, "registry.password"), "utf8").trim();
    assert.equal(await healthWithClientCert(nodes.get("n1")!.url, cert, key), "ok", "before: n1 takes a connection with n3's certificate");
    const removed = await console_(["node", "remove", "n3", "--yes", "--json"]);
    ok(removed);
    const t0 = Date.now();
    // mcr: the account is refused at once.
    const rc = new RegistryClient(registryUrl, mcrHome.caPem);
    await assert.rejects(login(rc, "node-n3", password), /HTTP 401/);
    // The other nodes: n1 refuses a handshake with n3's certificate.
    await until(
      "n1 refuses n3's certificate",
      async () => ((await healthWithClientCert(nodes.get("n1")!.url, cert, key)) === "refused" ? true : undefined),
      30_000,
      500,
    ).catch((err: Error) => {
      // What n1 said about its revoked list, for the one run in several where this timed out.
      const said = nodes
        .get("n1")!
        .agent.logs()
        .split("\n")
        .filter((l) => /revoked|registry|token|mcr/i.test(l));
      throw new Error(`${err.message}; n1's log on it:\n${said.slice(-20).join("\n")}`);
    });
    // The console: n3 is gone from the platform's nodes, and a hand-written entry for it is refused.
    writeConsoleConfig(`\n[[nodes]]\nname = "n3"\nurl = "${n3.url}"\n`);
    const listed = (await console_(["nodes", "--json"])).json().nodes as { name: string; state: string; reason: string }[];
    const n3row = listed.find((n) => n.name === "n3")!;
    assert.notEqual(n3row.state, "ok");
    assert.match(n3row.reason, /revoked/);
    assert.deepEqual(
      listed.filter((n) => n.name !== "n3").map((n) => n.state),
      ["ok", "ok"],
    );
    assert.ok(Date.now() - t0 < 30_000, `refused everywhere within ${Date.now() - t0} ms`);
    process.stderr.write(`removed node refused everywhere within ${Date.now() - t0} ms\n`);
    // With the registry out of the console's reach (its certificate no longer trusted), the
    // revoked serial kept from the last list still refuses n3 before the token is sent.
    writeConsoleConfig(`\n[[nodes]]\nname = "n3"\nurl = "${n3.url}"\n`, join(n3.home.dir, "certs", "cert.pem"));
    const offline = (await console_(["nodes", "--json"])).json() as { nodes: { name: string; state: string; reason: string }[]; platform: { note: string } };
    assert.match(offline.platform.note, /node list could not be read .*the \d+ revoked node certificates? it listed at \S+ (is|are) still refused/);
    const n3offline = offline.nodes.find((n) => n.name === "n3")!;
    assert.notEqual(n3offline.state, "ok");
    // Refused before the token is sent. n3's certificate lives 20 s here and cannot be renewed
    // once the node is removed, so by now TLS may refuse it as expired before the revoked check
    // runs; the note above shows the kept serials in force either way.
    assert.match(n3offline.reason, /revoked|certificate has expired/);
    writeConsoleConfig();
    // Its containers are left as they are.
    const running = await n3.pm.podman(["ps", "--filter", "status=running", "--format", "{{.Names}}"]);
    assert.deepEqual(running.trim().split("\n"), [`${n3.home.containerPrefix}hello-n3-api`]);
  });
});

/** Every file below `dir`. */
function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    const s = statSync(p);
    return s.isDirectory() ? walk(p) : s.isFile() && s.size < 16 * 1024 * 1024 ? [p] : [];
  });
}

/** The serial of the certificate a new TLS connection to `url` is shown. */
async function peerSerial(url: string): Promise<string> {
  const { connect } = await import("node:tls");
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, ALPNProtocols: ["h2"] }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.on("error", reject);
  });
}

/** Health over HTTP/2 presenting `cert` as the client certificate: "ok", or "refused" when the connection is cut. */
function healthWithClientCert(url: string, cert: Buffer, key: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const session = h2connect(url, { rejectUnauthorized: false, cert, key });
    const done = (v: string) => {
      session.destroy();
      resolve(v);
    };
    session.on("error", () => done("refused"));
    session.on("close", () => done("refused"));
    const req = session.request({ ":method": "POST", ":path": "/mcp.agent.v1.AgentService/Health", "content-type": "application/json" });
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => done(/"status":"ok"/.test(body) ? "ok" : `answered ${body.slice(0, 100)}`));
    req.on("error", () => done("refused"));
    req.end("{}");
  });
}
