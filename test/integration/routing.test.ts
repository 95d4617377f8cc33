// Routes through a real HAProxy and records through a real PowerDNS, both started here on
// loopback; a real agent deploys real containers with podman (docs/routing.md).
// `shop` has an l4 route to an openssl s_server holding its own certificate and an l7 route
// to busybox httpd behind the proxy's certificate. Requests are counted through a redeploy.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { AgentService, ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { createCA, issueServerCert, type PemPair } from "../../lib/tls/certs.ts";
import { agentClient, initAgentHome, removeAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { bearer, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { BUSYBOX, createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { freePort, startHaproxy, startPowerDns, type HaproxyServer, type PowerDnsServer } from "../helpers/servers.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { sleep, until } from "../helpers/wait.ts";

const run = promisify(execFile);
const ZONE = "test.zone";
const L4_HOST = `shop.svc.${ZONE}`;
const L7_HOST = `www.${ZONE}`;
const IMAGE = "localhost/routing-test/tls:1";

describe("routes through HAProxy, records through PowerDNS", {
  skip: skipUnlessTools("podman", "busybox", "runc", "haproxy", "pdns_server", "dig", "curl", "openssl"),
}, () => {
  let mcrHome: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let home: AgentHome;
  let agent: AgentProcess;
  let haproxy: HaproxyServer;
  let pdns: PowerDnsServer;
  let client: Client<typeof AgentService>;
  let admin: ReturnType<typeof bearer>;
  let work: string;
  let ca: PemPair;
  let p4: number;
  let p7: number;

  const shop = (greeting = "v1", over: Partial<ServiceDefinition> = {}): ServiceDefinition =>
    ({
      name: "shop",
      node: "node1",
      version: "v1",
      components: [
        {
          name: "tls",
          image: IMAGE,
          env: { GREETING: greeting },
          cmd: ["sh", "-c", "cd /srv/shop && exec openssl s_server -quiet -accept $PORT -cert tls.pem -key tls.pem -WWW"],
          routes: [{ port: p4, mode: "l4" }],
        },
        {
          name: "web",
          image: IMAGE,
          env: { GREETING: greeting },
          cmd: ["sh", "-c", "exec busybox httpd -f -p $PORT -h /srv/shop"],
          routes: [{ port: p7, mode: "l7", hostname: L7_HOST }],
        },
      ],
      ...over,
    }) as ServiceDefinition;

  async function deploy(def: ServiceDefinition): Promise<void> {
    for await (const _ of client.deploy({ service: def.name, definition: def }, admin));
  }

  /** curl through the proxy: body and the subject of the certificate it was shown. */
  async function curl(host: string, port: number): Promise<{ body: string; subject: string }> {
    const { stdout, stderr } = await run("curl", [
      "-sS",
      "-v",
      "--max-time",
      "10",
      "--cacert",
      join(work, "ca.pem"),
      "--resolve",
      `${host}:${port}:127.0.0.1`,
      `https://${host}:${port}/index.html`,
    ]);
    return { body: stdout.trim(), subject: /subject: (.*)/.exec(stderr)?.[1] ?? "" };
  }

  async function dig(name: string, type: "A" | "AAAA"): Promise<string> {
    return (await run("dig", ["@127.0.0.1", "-p", String(pdns.dnsPort), name, type, "+short", "+time=2", "+tries=1"])).stdout.trim();
  }

  /** One GET on a fresh connection, as a browser's first request would be. */
  function get(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, servername: host, path: "/index.html", ca: ca.certPem, agent: false, timeout: 30_000, headers: { Host: host } },
        (res) => {
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () =>
            res.statusCode === 200 && body.includes("hello-from-shop") ? resolve() : reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 80)}`)),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end();
    });
  }

  /** Sequential GETs until `stop` resolves; the failures among them. */
  async function loop(host: string, port: number, stop: Promise<unknown>): Promise<{ total: number; failed: string[] }> {
    let done = false;
    void stop.finally(() => (done = true));
    const out = { total: 0, failed: [] as string[] };
    while (!done) {
      out.total++;
      await get(host, port).catch((err: Error) => out.failed.push(err.message));
    }
    return out;
  }

  /** busybox, plus openssl with the libraries it loads, at their own paths. */
  async function buildImage(): Promise<void> {
    const root = join(work, "rootfs");
    mkdirSync(join(root, "bin"), { recursive: true });
    copyFileSync(BUSYBOX, join(root, "bin", "busybox"));
    for (const tool of ["sh", "cat", "ls", "sleep"]) symlinkSync("busybox", join(root, "bin", tool));
    const libs = execFileSync("ldd", ["/usr/bin/openssl"]).toString().match(/\/\S+/g) ?? [];
    for (const file of ["/usr/bin/openssl", ...libs]) {
      mkdirSync(join(root, dirname(file)), { recursive: true });
      copyFileSync(realpathSync(file), join(root, file));
    }
    execFileSync("chmod", ["755", join(root, "bin", "busybox"), join(root, "usr/bin/openssl")]);
    await run("tar", ["-C", root, "-cf", join(work, "rootfs.tar"), "."]);
    await pm.podman(["import", "--change", 'CMD ["/bin/sh"]', join(work, "rootfs.tar"), IMAGE]);
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "routing-test-"));
    [p4, p7] = [await freePort(), await freePort()];
    mcrHome = await initHome();
    pm = createPodmanEnv();
    [mcr, haproxy, pdns] = await Promise.all([startMcr(mcrHome, {}, { auth: true }), startHaproxy(), startPowerDns(), buildImage()]);
    admin = bearer(await login(new RegistryClient(mcr.url, mcrHome.caPem), "admin", mcrHome.adminPassword, "mcp-agent"));
    await pdns.createZone(ZONE);

    // The test CA; the container's own certificate (l4) and the proxy's (l7).
    ca = await createCA("routing test CA");
    writeFileSync(join(work, "ca.pem"), ca.certPem);
    const pem = (p: PemPair) => `${p.certPem}\n${p.keyPem}\n`;
    mkdirSync(join(work, "certs"));
    writeFileSync(join(work, "certs", "shop.pem"), pem(await issueServerCert(ca, [L7_HOST])), { mode: 0o600 });

    home = await initAgentHome({
      mcr,
      mcrHome,
      podmanDir: pm.dir,
      extraToml: `
[proxy]
config_file = "${haproxy.routesFile}"
master_socket = "${haproxy.masterSocket}"
bind_address = "127.0.0.1"
cert_path = "${join(work, "certs")}/{service}.pem"
retry_window = "20s"

[dns]
api_url = "${pdns.apiUrl}"
api_key_file = "${pdns.apiKeyFile}"
server = "127.0.0.1:${pdns.dnsPort}"
addresses = ["192.0.2.10", "2001:db8::10"]
`,
    });
    writeFileSync(
      home.config,
      readFileSync(home.config, "utf8").replace("[node]\n", `[node]\nzone = "${ZONE}"\n`).replace("stop_timeout = 2", "stop_timeout = 1"),
    );
    mkdirSync(join(home.storageRoot, "shop"));
    writeFileSync(join(home.storageRoot, "shop", "index.html"), "hello-from-shop\n");
    writeFileSync(join(home.storageRoot, "shop", "tls.pem"), pem(await issueServerCert(ca, [L4_HOST])));
    agent = await startAgentProcess(home);
    client = agentClient(agent.url, mcrHome.caPem);
  });

  after(async () => {
    await agent?.stop();
    await Promise.all([pm?.cleanup(), mcr?.stop(), haproxy?.cleanup(), pdns?.cleanup()]);
    if (mcrHome) removeHome(mcrHome);
    if (home) removeAgentHome(home);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("deploy: l4 passes the container's certificate through, l7 terminates with the proxy's; DNS answers; Status shows both", async () => {
    await deploy(shop());
    const l4 = await curl(L4_HOST, p4);
    assert.equal(l4.body, "hello-from-shop");
    assert.match(l4.subject, new RegExp(`CN=${L4_HOST}`), "the container's own certificate");
    const l7 = await curl(L7_HOST, p7);
    assert.equal(l7.body, "hello-from-shop");
    assert.match(l7.subject, new RegExp(`CN=${L7_HOST}`), "the proxy's certificate");

    assert.equal(await dig(L4_HOST, "A"), "192.0.2.10");
    assert.equal(await dig(L4_HOST, "AAAA"), "2001:db8::10");
    assert.equal(await dig(L7_HOST, "A"), "192.0.2.10");

    const s = await client.status({ service: "shop" }, admin);
    const hostPort = (component: string) => s.components.find((c) => c.component === component)!.ports[0]!.hostPort;
    assert.deepEqual(
      s.routes.map((r) => [r.component, r.hostname, r.port, r.mode, r.target, r.state]),
      [
        ["tls", L4_HOST, p4, "l4", `127.0.0.1:${hostPort("tls")}`, "applied"],
        ["web", L7_HOST, p7, "l7", `127.0.0.1:${hostPort("web")}`, "applied"],
      ].sort((a, b) => Number(a[2]) - Number(b[2])),
    );
    assert.equal(s.routes.find((r) => r.mode === "l7")!.certificate, join(work, "certs", "shop.pem"));
    assert.deepEqual(
      s.dnsRecords.map((r) => `${r.name} ${r.type} ${r.addresses.join(",")} ${r.state}`),
      [`${L4_HOST} A 192.0.2.10 in_sync`, `${L4_HOST} AAAA 2001:db8::10 in_sync`, `${L7_HOST} A 192.0.2.10 in_sync`, `${L7_HOST} AAAA 2001:db8::10 in_sync`],
    );
    assert.equal(s.proxy!.state, "in_sync");
    assert.equal(s.dns!.state, "in_sync");
  });

  test("a redeploy under load: requests through the routes while both containers are replaced", async (t) => {
    const before = (await client.list({}, admin)).containers.map((c) => c.startedAt);
    const deployed = deploy(shop("v2"));
    const [l7, l4] = await Promise.all([
      loop(
        L7_HOST,
        p7,
        deployed.then(() => sleep(500)),
      ),
      loop(
        L4_HOST,
        p4,
        deployed.then(() => sleep(500)),
      ),
      deployed,
    ]);
    const after = (await client.list({}, admin)).containers.map((c) => c.startedAt);
    assert.ok(
      after.every((s) => !before.includes(s)),
      "both containers were replaced",
    );
    const report = `l7: ${l7.failed.length} failed of ${l7.total}; l4: ${l4.failed.length} failed of ${l4.total}`;
    t.diagnostic(report);
    const kinds = (failed: string[]) => [...new Set(failed)].map((f) => `${failed.filter((x) => x === f).length}× ${f}`).join("; ");
    process.stderr.write(`routing redeploy: ${report}${l4.failed.length ? ` (l4: ${kinds(l4.failed)})` : ""}\n`);
    assert.equal(l7.failed.length, 0, `l7 failures: ${kinds(l7.failed)}`);
    assert.ok(l7.total > 5 && l4.total > 5);
  });

  test("refused before anything is switched: a missing certificate names the file; a hostname:port another service holds", async () => {
    const file = readFileSync(haproxy.routesFile, "utf8");
    const blog = {
      name: "blog",
      node: "node1",
      version: "v1",
      components: [
        { name: "web", image: IMAGE, cmd: ["sh", "-c", "exec busybox httpd -f -p $PORT"], routes: [{ port: p7, mode: "l7", hostname: `blog.${ZONE}` }] },
      ],
    } as ServiceDefinition;
    await assert.rejects(
      deploy(blog),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.FailedPrecondition &&
        e.rawMessage.includes(`certificate ${join(work, "certs", "blog.pem")} for blog's l7 route blog.${ZONE}:${p7} is missing`),
    );
    const copy = {
      ...blog,
      name: "copy",
      components: [{ ...blog.components[0]!, routes: [{ port: p7, mode: "l7", hostname: L7_HOST }] }],
    } as ServiceDefinition;
    writeFileSync(join(work, "certs", "copy.pem"), readFileSync(join(work, "certs", "shop.pem")));
    await assert.rejects(
      deploy(copy),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.FailedPrecondition &&
        e.rawMessage.includes(`route ${L7_HOST}:${p7} of copy (web/default) is already claimed by shop (web/default)`),
    );
    assert.equal(readFileSync(haproxy.routesFile, "utf8"), file);
    assert.deepEqual((await client.list({}, admin)).containers.map((c) => c.service).sort(), ["shop", "shop"]);
  });

  test("drift: an HAProxy restarted without the table and a record deleted behind the agent's back are repaired", async () => {
    await haproxy.stop();
    writeFileSync(haproxy.routesFile, ""); // a replaced HAProxy with a fresh, empty file
    haproxy = await startHaproxy(haproxy.dir);
    await assert.rejects(curl(L7_HOST, p7));
    await fetch(`${pdns.apiUrl}/api/v1/servers/localhost/zones/${ZONE}.`, {
      method: "PATCH",
      headers: { "X-API-Key": pdns.apiKey, "Content-Type": "application/json" },
      body: JSON.stringify({ rrsets: [{ name: `${L4_HOST}.`, type: "A", changetype: "DELETE" }] }),
    });
    await agent.nextPass();
    assert.equal((await curl(L7_HOST, p7)).body, "hello-from-shop");
    assert.equal(await dig(L4_HOST, "A"), "192.0.2.10");
    const kinds = (await client.status({ service: "shop" }, admin)).recentEvents.map((e) => e.kind);
    assert.ok(kinds.includes("drift_proxy_out_of_sync") && kinds.includes("drift_dns_out_of_sync"), kinds.join(", "));
  });

  test("HAProxy down: a deploy fails before anything is switched; the table returns with HAProxy", async () => {
    await haproxy.stop();
    const before = (await client.list({}, admin)).containers.map((c) => c.startedAt).sort();
    await assert.rejects(
      deploy(shop("v3")),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.code === Code.Unavailable &&
        /HAProxy cannot take the routes of shop: .*master socket .* does not answer/.test(e.rawMessage),
    );
    assert.deepEqual((await client.list({}, admin)).containers.map((c) => c.startedAt).sort(), before);
    assert.equal((await client.status({ service: "shop" }, admin)).proxy!.state, "unreachable");
    haproxy = await startHaproxy(haproxy.dir); // the agent's file is still there: HAProxy starts with the table
    assert.equal((await curl(L4_HOST, p4)).body, "hello-from-shop");
    await until("Status in sync", async () => ((await client.status({ service: "shop" }, admin)).proxy!.state === "in_sync" ? true : undefined));
  });

  test("stop takes the route away (connection refused: no route is left on that port); start brings it back", async () => {
    await client.stop({ service: "shop", component: "web" }, admin);
    await assert.rejects(curl(L7_HOST, p7), /Failed to connect|Connection refused|exit code 7/);
    assert.deepEqual(
      (await client.status({ service: "shop" }, admin)).routes.map((r) => r.component),
      ["tls"],
    );
    await client.start({ service: "shop", component: "web" }, admin);
    assert.equal((await until("l7 back", () => curl(L7_HOST, p7))).body, "hello-from-shop");
  });

  test("remove: routes and records go", async () => {
    await client.remove({ service: "shop" }, admin);
    await assert.rejects(curl(L4_HOST, p4));
    assert.equal(await dig(L4_HOST, "A"), "");
    assert.equal(await dig(L7_HOST, "A"), "");
    assert.doesNotMatch(readFileSync(haproxy.routesFile, "utf8"), /frontend/);
  });
});
