// `mcp status` shows the routes and DNS records an agent publishes (docs/routing.md) in plain
// text, on a TTY (Ink) and in --json, and says when the proxy or the
// DNS server is out of sync; an agent without [proxy] and [dns] adds nothing.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, test } from "node:test";
import { createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AgentPool } from "../../console/clients/agents.ts";
import { Context } from "../../console/commands/command.ts";
import status from "../../console/commands/status.ts";
import { Output, type Mode } from "../../console/output/output.ts";

const dir = mkdtempSync(join(tmpdir(), "mcp-status-publish-"));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, "services"));
const config = join(dir, "mcp.toml");
writeFileSync(
  config,
  `[registry]\nurl = "https://mcr.test:8443"\n[services]\ndir = "${join(dir, "services")}"\n[[nodes]]\nname = "a"\nurl = "https://a.test"\n`,
);

const published = {
  routes: [
    {
      component: "web",
      route: "default",
      hostname: "www.example.net",
      port: 443,
      mode: "l7",
      target: "127.0.0.1:31001",
      certificate: "/srv/mc-proxy/certs/shop.pem",
      state: "applied",
    },
    {
      component: "api",
      route: "default",
      hostname: "shop.svc.example.net",
      port: 8443,
      mode: "l4",
      target: "127.0.0.1:31000",
      certificate: "",
      state: "applied",
    },
  ],
  dnsRecords: [{ name: "shop.svc.example.net", type: "A", addresses: ["192.0.2.10"], ttl: 60, state: "in_sync" }],
  proxy: { configured: true, server: "HAProxy", state: "in_sync", message: "HAProxy runs table 0123456789abcdef" },
  dns: { configured: true, server: "PowerDNS http://127.0.0.1:8081 zone example.net", state: "unreachable", message: "the API does not answer" },
};

function agent(withPublish: boolean): Partial<ServiceImpl<typeof AgentService>> {
  return {
    health: () => ({ status: "ok", version: "1", node: "a", podmanVersion: "4.3.1" }),
    list: () => ({
      containers: [{ service: "shop", component: "web", container: "shop-web", image: "i", version: "v1", state: "running", startedAt: "", ports: [] }],
    }),
    status: () => ({
      service: "shop",
      version: "v1",
      active: true,
      components: [
        {
          component: "web",
          container: "shop-web",
          desiredState: "running",
          observedState: "running",
          desiredImage: "i",
          observedImage: "i",
          drift: "",
          ports: [],
          startedAt: "",
        },
      ],
      ...(withPublish ? published : {}),
    }),
  };
}

async function run(mode: Mode, args: string[], withPublish = true): Promise<string> {
  const stdout = Object.assign(new PassThrough(), { columns: 120, rows: 40 });
  let text = "";
  stdout.on("data", (d) => (text += d));
  const agents = new AgentPool({
    nodes: [{ name: "a", url: "https://a.test" }],
    token: () => "t",
    timeoutMs: 1000,
    transport: () => createRouterTransport(({ service }) => service(AgentService, agent(withPublish))),
  });
  const ctx = new Context({
    configPath: config,
    out: new Output(mode, stdout, new PassThrough(), false),
    env: {},
    signal: new AbortController().signal,
    deps: { agents },
  });
  await status.run(ctx, args, {});
  return text;
}

describe("mcp status: routes and DNS records", () => {
  test("plain: a routes table and a records table; the DNS server's trouble as a note", async () => {
    const text = await run("plain", ["shop"]);
    assert.match(text, /ROUTES\n/i);
    assert.match(text, /web +www\.example\.net +443 +l7 +127\.0\.0\.1:31001 +applied/);
    assert.match(text, /api +shop\.svc\.example\.net +8443 +l4 +127\.0\.0\.1:31000 +applied/);
    assert.match(text, /shop\.svc\.example\.net +A +192\.0\.2\.10 +60 +in_sync/);
    assert.match(text, /a: dns unreachable: the API does not answer/);
    assert.doesNotMatch(text, /a: proxy/, "an in-sync proxy needs no note");
  });

  test("TTY: the same tables, drawn by Ink", async () => {
    const text = await run("tty", ["shop"]);
    assert.match(text, /www\.example\.net +443 +l7 +127\.0\.0\.1:31001 +applied/);
    assert.match(text, /shop\.svc\.example\.net +A +192\.0\.2\.10/);
  });

  test("every service: the routes with their service", async () => {
    const text = await run("plain", []);
    assert.match(text, /shop +web +www\.example\.net +443 +l7/);
  });

  test("--json: routes, dnsRecords, proxy and dns in each service", async () => {
    const doc = JSON.parse(await run("json", ["shop"]));
    const s = doc.services[0];
    assert.deepEqual(
      s.routes.map((r: { hostname: string; port: number; mode: string }) => [r.hostname, r.port, r.mode]),
      [
        ["www.example.net", 443, "l7"],
        ["shop.svc.example.net", 8443, "l4"],
      ],
    );
    assert.equal(s.dnsRecords[0].addresses[0], "192.0.2.10");
    assert.deepEqual([s.proxy.configured, s.proxy.state, s.dns.state], [true, "in_sync", "unreachable"]);
  });

  test("an agent that publishes nothing: no routes or records tables, configured false in --json", async () => {
    const text = await run("plain", ["shop"], false);
    assert.doesNotMatch(text, /ROUTES|DNS RECORDS/i);
    const doc = JSON.parse(await run("json", ["shop"], false));
    assert.deepEqual([doc.services[0].routes, doc.services[0].proxy.configured, doc.services[0].dns.configured], [[], false, false]);
  });
});
