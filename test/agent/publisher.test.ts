// The publisher's rules on a real state database with a stand-in HAProxy and DNS server:
// what a deploy does when a server is down (required or not), that a refused table is put
// back, that stop never fails for a server, and what Status reports; the [proxy]/[dns] config.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { ConfigError } from "../../lib/config/load.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { validateDefinition } from "../../lib/services/definition.ts";
import { loadAgentConfig } from "../../agent/config.ts";
import { ServiceController, type DeployProgress } from "../../agent/controller/controller.ts";
import { Publisher, PublishUnavailableError } from "../../agent/controller/publisher.ts";
import { DnsError, type DnsChange, type RecordSet } from "../../agent/dns/driver.ts";
import { DnsManager } from "../../agent/dns/manager.ts";
import { HaproxyError, type Haproxy } from "../../agent/routes/haproxy.ts";
import { RouteManager } from "../../agent/routes/manager.ts";
import { digestOf } from "../../agent/routes/haproxy-config.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import { RoutingStore } from "../../agent/state/routing-store.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore } from "../../agent/state/store.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";
import { freePort } from "../helpers/servers.ts";

/** HAProxy as the manager sees it: a loaded digest, reloads that read the file, and a switch to make it go away. */
class FakeHaproxy {
  down = false;
  refuseReload = false;
  loaded: string | undefined;
  reloads = 0;
  constructor(readonly file: string) {}
  get socket() {
    return "/fake/master.sock";
  }
  private up() {
    if (this.down) throw new HaproxyError("HAProxy's master socket /fake/master.sock does not answer: connect ECONNREFUSED");
  }
  async procs() {
    this.up();
    return { reloads: this.reloads, failed: 0, workers: 1 };
  }
  async loadedDigest() {
    this.up();
    return this.loaded;
  }
  async check() {}
  async reload(digest: string) {
    this.up();
    this.reloads++;
    if (this.refuseReload)
      throw new HaproxyError("HAProxy could not load the new route table (a port already in use? see HAProxy's log); it keeps serving the previous one");
    assert.equal(digestOf(readFileSync(this.file, "utf8")), digest);
    this.loaded = digest;
  }
}

class FakeDns {
  down = false;
  sets: RecordSet[] = [];
  readonly description = "fake DNS zone example.net";
  async read(names: string[]) {
    if (this.down) throw new DnsError("fake DNS: the API does not answer");
    return this.sets.filter((s) => names.includes(s.name));
  }
  async apply(changes: DnsChange[]) {
    if (this.down) throw new DnsError("fake DNS: the API does not answer");
    for (const c of changes) {
      const [name, type] = c.action === "replace" ? [c.set.name, c.set.type] : [c.name, c.type];
      this.sets = this.sets.filter((s) => !(s.name === name && s.type === type));
      if (c.action === "replace") this.sets.push(c.set);
    }
  }
}

/** The route's external port: one the OS had free (the deploy checks that it is), never a port a platform on this machine may hold. */
let externalPort: number;
const shop = (port = externalPort) =>
  validateDefinition({ name: "shop", node: "n1", version: "v1", components: [{ name: "web", image: "reg.local/shop-web", routes: [{ port, mode: "l4" }] }] });

async function collect(it: AsyncIterable<DeployProgress>) {
  const out: DeployProgress[] = [];
  for await (const p of it) out.push(p);
  return out;
}

describe("publisher", () => {
  let dir: string;
  let db: Kysely<AgentDatabase>;
  let store: StateStore;
  let rt: FakeRuntime;
  let haproxy: FakeHaproxy;
  let dns: FakeDns;
  const setup = (required: boolean) => {
    const routing = new RoutingStore(db);
    const routes = new RouteManager(
      haproxy as unknown as Haproxy,
      routing,
      {
        configFile: haproxy.file,
        render: { bindAddress: "127.0.0.1", connectTimeoutMs: 250, retryWindowMs: 1000 },
        table: { zone: "example.net", publishAddress: "127.0.0.1", certPath: "/c/{service}.pem" },
      },
      silentLogger(),
    );
    const dnsManager = new DnsManager(dns, routing, { serviceZone: "example.net", zone: "example.net", addresses: ["192.0.2.1"], ttl: 60 }, silentLogger());
    const publisher = new Publisher({ routes, dns: dnsManager, proxyRequired: required, dnsRequired: required, store, routing, log: silentLogger() });
    const ctl = new ServiceController({
      runtimes: new SharedRuntime(rt, {}),
      store,
      log: silentLogger(),
      startGraceMs: 0,
      stopTimeoutSeconds: 1,
      hooks: publisher,
      ports: { start: 20200, end: 20210, address: "127.0.0.1" },
      plan: {
        identity: { id: "a1b2c3d4e5f6", node: "n1", containerPrefix: "" },
        registryHost: "reg.local",
        publishAddress: "127.0.0.1",
        defaultNetwork: "",
        storageRoot: join(dir, "srv"),
        allowedVolumeRoots: [join(dir, "srv")],
        envDir: join(dir, "env"),
      },
    });
    return { publisher, ctl, routing };
  };

  beforeEach(async () => {
    externalPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), "publisher-"));
    ({ db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations));
    store = new StateStore(db);
    rt = new FakeRuntime();
    haproxy = new FakeHaproxy(join(dir, "routes.cfg"));
    dns = new FakeDns();
  });
  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a deploy publishes its route and records; Status reports both in sync", async () => {
    const { ctl, publisher } = setup(true);
    await collect(ctl.deploy("shop", shop()));
    assert.match(readFileSync(haproxy.file, "utf8"), /use_backend mcp:route:shop:web:default if \{ req\.ssl_sni -i shop\.svc\.example\.net \}/);
    assert.deepEqual(dns.sets, [{ name: "shop.svc.example.net", type: "A", ttl: 60, addresses: ["192.0.2.1"] }]);
    const s = await publisher.status("shop");
    assert.deepEqual(
      [s.proxy.state, s.dns.state, s.routes.map((r) => r.state), s.records.map((r) => r.state)],
      ["in_sync", "in_sync", ["applied"], ["in_sync"]],
    );
  });

  test("required: HAProxy down fails the deploy before anything runs", async () => {
    const { ctl } = setup(true);
    haproxy.down = true;
    await assert.rejects(
      collect(ctl.deploy("shop", shop())),
      (e: unknown) => e instanceof PublishUnavailableError && /HAProxy cannot take the routes of shop: .*ECONNREFUSED/.test(e.message),
    );
    assert.deepEqual(rt.calls, []);
  });

  test("not required: the deploy succeeds with warning events; the next reconciliation publishes", async () => {
    const { ctl, publisher, routing } = setup(false);
    haproxy.down = true;
    dns.down = true;
    await collect(ctl.deploy("shop", shop()));
    assert.equal((await rt.inspect("shop-web")).state, "running");
    const kinds = (await store.recentEvents("shop")).map((e) => e.kind);
    assert.ok(kinds.includes("proxy_unavailable") && kinds.includes("dns_unavailable"), kinds.join(", "));
    assert.equal((await routing.routes("shop")).length, 1, "the route is in the table, waiting for HAProxy");
    assert.equal((await publisher.status("shop")).proxy.state, "unreachable");
    haproxy.down = false;
    dns.down = false;
    assert.match((await publisher.d.routes!.apply()) ?? "", /reloaded HAProxy/);
    assert.equal((await publisher.d.dns!.sync()).length, 1);
    assert.equal((await publisher.status("shop")).proxy.state, "in_sync");
  });

  test("a reload HAProxy refuses puts the previous table back and fails", async () => {
    const { ctl, routing } = setup(true);
    await collect(ctl.deploy("shop", shop()));
    const before = readFileSync(haproxy.file, "utf8");
    haproxy.refuseReload = true;
    await assert.rejects(collect(ctl.deploy("shop", shop(await freePort()))), /could not load the new route table/);
    assert.deepEqual(
      (await routing.routes("shop")).map((r) => r.port),
      [externalPort],
    );
    assert.equal(readFileSync(haproxy.file, "utf8"), before);
  });

  test("stop is never blocked by a server that is down: the table and the file lose the route at once", async () => {
    const { ctl, routing } = setup(true);
    await collect(ctl.deploy("shop", shop()));
    haproxy.down = true;
    await ctl.stop("shop");
    assert.equal((await rt.inspect("shop-web")).state, "exited");
    assert.deepEqual(await routing.routes("shop"), []);
    assert.doesNotMatch(readFileSync(haproxy.file, "utf8"), /frontend/);
    assert.ok((await store.recentEvents("shop")).some((e) => e.kind === "proxy_unavailable"));
  });

  test("remove deletes the records; a DNS server that is down gets them deleted later", async () => {
    const { ctl, publisher, routing } = setup(true);
    await collect(ctl.deploy("shop", shop()));
    dns.down = true;
    await ctl.remove("shop");
    assert.deepEqual(
      (await routing.dnsNames()).map((n) => [n.name, n.present]),
      [["shop.svc.example.net", false]],
    );
    dns.down = false;
    await publisher.d.dns!.sync();
    assert.deepEqual(dns.sets, []);
    assert.deepEqual(await routing.dnsNames(), []);
  });
});

describe("[proxy] and [dns] config", () => {
  const dir = mkdtempSync(join(tmpdir(), "publisher-cfg-"));
  const base = '[server]\nlisten_addr = "127.0.0.1:0"\ntls_cert = "c.pem"\ntls_key = "k.pem"\n[database]\npath = "agent.db"\n[auth]\ndisabled = true\n';
  const load = (text: string) => {
    const path = join(dir, `${Math.random()}.toml`);
    writeFileSync(path, text);
    return loadAgentConfig(path, {});
  };
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("both optional; defaults as docs/agent.md says; [dns] zone defaults to [node] zone", () => {
    const none = load(base);
    assert.equal(none.proxy, undefined);
    assert.equal(none.dns, undefined);
    const cfg = load(`${base}[node]\nname = "n1"\nzone = "example.net"\n[proxy]\n[dns]\napi_key_file = "key"\naddresses = ["192.0.2.1"]\n`);
    assert.deepEqual(cfg.proxy, {
      config_file: "/etc/haproxy/mcp-routes.cfg",
      master_socket: "/run/haproxy-master.sock",
      haproxy: "haproxy",
      bind_address: "0.0.0.0",
      cert_path: "/srv/mc-proxy/certs/{service}.pem",
      connect_timeout: 250,
      retry_window: 15_000,
      required: true,
    });
    assert.equal(cfg.dns!.zone, "example.net");
    assert.equal(cfg.dns!.api_key_file, join(dir, "key"));
  });

  test("strict: unknown keys, a missing zone, no addresses, a bad address are errors naming them", () => {
    const refuses = (text: string, what: RegExp) =>
      assert.throws(
        () => load(text),
        (e: Error) => e instanceof ConfigError && what.test(e.message),
      );
    refuses(`${base}[node]\nzone = "example.net"\n[proxy]\nmaster_sock = "x"\n`, /\[proxy\] unknown key master_sock/);
    refuses(`${base}[proxy]\n`, /\[node\] zone is required with \[proxy\]/);
    refuses(`${base}[node]\nzone = "example.net"\n[dns]\napi_key_file = "k"\n`, /\[dns\] addresses is required/);
    refuses(`${base}[node]\nzone = "example.net"\n[dns]\napi_key_file = "k"\naddresses = ["not-an-ip"]\n`, /\[dns\] addresses\.0/);
    refuses(`${base}[node]\nzone = "Example Net"\n`, /\[node\] zone .* is not a DNS name/);
    const dns = (server: string) => `${base}[node]\nzone = "example.net"\n[dns]\napi_key_file = "k"\naddresses = ["192.0.2.1"]\nserver = "${server}"\n`;
    for (const bad of ["ns1.example.net:53", "192.0.2.1", "192.0.2.1:0", "192.0.2.1:70000", "::1:53", "[192.0.2.1]:53"])
      refuses(dns(bad), /\[dns\] server must be "address:port" \(an IPv6 address in brackets, e\.g\. "\[::1\]:53"\) or "off"/);
    for (const good of ["192.0.2.1:53", "[2001:db8::1]:5300", "off"]) assert.equal(load(dns(good)).dns!.server, good);
  });
});
