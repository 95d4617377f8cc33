// The route table → HAProxy translation: hostnames and certificates from a definition, one
// frontend per port (HTTP for l7-only ports, SNI switching for ports with l4 routes), the
// digest that identifies a table, clashes; and `haproxy -c` accepts what is rendered.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { validateDefinition } from "../../../lib/services/definition.ts";
import { createCA, issueServerCert } from "../../../lib/tls/certs.ts";
import { planService } from "../../../agent/controller/plan.ts";
import { digestOf, renderHaproxyConfig, retriesFor } from "../../../agent/routes/haproxy-config.ts";
import { Haproxy } from "../../../agent/routes/haproxy.ts";
import { RouteError, checkConflicts, routesFor, targetHost, withComponents, type RouteEntry } from "../../../agent/routes/table.ts";
import { skipUnlessTools } from "../../helpers/tools.ts";

const opts = { bindAddress: "127.0.0.1", connectTimeoutMs: 250, retryWindowMs: 15_000 };
const ctx = { zone: "example.net", publishAddress: "127.0.0.1", certPath: "/certs/{service}.pem" };

const shop = validateDefinition({
  name: "shop",
  node: "n1",
  version: "v1",
  components: [
    {
      name: "api",
      image: "r/shop",
      routes: [
        { name: "rest", port: 8443, mode: "l4" },
        { name: "grpc", port: 9443, mode: "l4" },
      ],
    },
    { name: "web", image: "r/shop-web", routes: [{ port: 443, mode: "l7", hostname: "www.example.net" }] },
  ],
});
const ports = [
  { hostPort: 31000, service: "shop", component: "api", route: "rest" },
  { hostPort: 31001, service: "shop", component: "api", route: "grpc" },
  { hostPort: 31002, service: "shop", component: "web", route: "default" },
];
const planCtx = {
  identity: { id: "a1b2c3d4e5f6", node: "n1", containerPrefix: "" },
  registryHost: "r",
  publishAddress: "127.0.0.1",
  defaultNetwork: "",
  storageRoot: "/srv",
  allowedVolumeRoots: ["/srv"],
  envDir: "/env",
};
const table = (): RouteEntry[] => planService(shop, ports, planCtx).flatMap((p) => routesFor(shop, p, ctx));

const entry = (over: Partial<RouteEntry>): RouteEntry => ({
  service: "blog",
  component: "web",
  route: "default",
  hostname: "blog.svc.example.net",
  port: 443,
  mode: "l7",
  targetHost: "127.0.0.1",
  targetPort: 32000,
  cert: "/certs/blog.pem",
  ...over,
});

describe("route table", () => {
  test("rows carry the default hostname <service>.svc.<zone>, the host port as target, and the l7 certificate", () => {
    assert.deepEqual(
      table().map((e) => [e.component, e.route, e.hostname, e.port, e.mode, `${e.targetHost}:${e.targetPort}`, e.cert]),
      [
        ["api", "rest", "shop.svc.example.net", 8443, "l4", "127.0.0.1:31000", ""],
        ["api", "grpc", "shop.svc.example.net", 9443, "l4", "127.0.0.1:31001", ""],
        ["web", "default", "www.example.net", 443, "l7", "127.0.0.1:31002", "/certs/shop.pem"],
      ],
    );
    assert.equal(routesFor(shop, planService(shop, ports, planCtx)[1]!, { ...ctx, certPath: "/c/{hostname}.pem" })[0]!.cert, "/c/www.example.net.pem");
  });

  test("a wildcard publish address is reached on loopback", () => {
    assert.equal(targetHost("0.0.0.0"), "127.0.0.1");
    assert.equal(targetHost("::"), "::1");
    assert.equal(targetHost("10.0.0.5"), "10.0.0.5");
  });

  test("two services claiming one hostname and port are refused, naming both", () => {
    const t = [...table(), entry({ hostname: "www.example.net", port: 443 })];
    assert.throws(
      () => checkConflicts(t),
      (e: unknown) => e instanceof RouteError && /www\.example\.net:443 of blog \(web\/default\) is already claimed by shop \(web\/default\)/.test(e.message),
    );
    // The same hostname on another port is fine, and so is replacing the service's own rows.
    checkConflicts([...table(), entry({ hostname: "www.example.net", port: 8080 })]);
    checkConflicts(withComponents(table(), "shop", ["web"], [table()[2]!]));
  });
});

describe("HAProxy translation", () => {
  test("an l7-only port is an HTTP frontend terminating TLS 1.3 and choosing by Host; l4 ports choose by SNI without decrypting", () => {
    const { text } = renderHaproxyConfig(table(), opts);
    assert.match(text, /frontend mcp:http:443\n {2}mode http\n {2}bind 127\.0\.0\.1:443 ssl crt \/certs\/shop\.pem ssl-min-ver TLSv1\.3 alpn h2,http\/1\.1\n/);
    assert.match(text, /use_backend mcp:route:shop:web:default if \{ req\.hdr\(host\),field\(1,:\),lower -m str www\.example\.net \}/);
    assert.match(text, /frontend mcp:tls:8443\n {2}mode tcp\n {2}bind 127\.0\.0\.1:8443\n {2}tcp-request inspect-delay 5s\n/);
    assert.match(text, /use_backend mcp:route:shop:api:rest if \{ req\.ssl_sni -i shop\.svc\.example\.net \}/);
    assert.match(text, /backend mcp:route:shop:api:rest\n {2}mode tcp\n {2}server target 127\.0\.0\.1:31000\n/);
    assert.match(
      text,
      /backend mcp:route:shop:web:default\n {2}mode http\n {2}retry-on conn-failure empty-response response-timeout\n {2}server target 127\.0\.0\.1:31002\n/,
    );
    assert.doesNotMatch(text, /\bcheck\b/, "no health checks: a restarting container is retried, not marked down");
    assert.match(text, /timeout connect 250ms\n[\s\S]*retries 60\n/);
  });

  test("a port with l4 and l7 routes sends the l7 ones through an internal TLS-terminating frontend", () => {
    const t = [...table(), entry({ port: 8443, hostname: "blog.example.net" })];
    const { text } = renderHaproxyConfig(t, opts);
    assert.match(text, /use_backend mcp:to-http:8443 if \{ req\.ssl_sni -i blog\.example\.net \}/);
    assert.match(text, /backend mcp:to-http:8443\n {2}mode tcp\n {2}server inner abns@mcp-http-8443 send-proxy-v2\n/);
    assert.match(text, /frontend mcp:http:8443\n {2}mode http\n {2}bind abns@mcp-http-8443 accept-proxy ssl crt \/certs\/blog\.pem /);
  });

  test("the same table renders the same file and digest in any order; any change changes the digest", () => {
    const a = renderHaproxyConfig(table(), opts);
    const b = renderHaproxyConfig([...table()].reverse(), opts);
    assert.equal(a.text, b.text);
    assert.equal(digestOf(a.text), a.digest);
    assert.match(a.text, new RegExp(`\\nbackend mcp:table:${a.digest}\\n$`));
    const moved = table().map((e) => (e.route === "rest" ? { ...e, targetPort: 31005 } : e));
    assert.notEqual(renderHaproxyConfig(moved, opts).digest, a.digest);
    assert.equal(digestOf("frontend x\n"), undefined);
  });

  test("an empty table is a valid file with only defaults and the marker", () => {
    const { text, digest } = renderHaproxyConfig([], opts);
    assert.doesNotMatch(text, /frontend/);
    assert.equal(digestOf(text), digest);
  });

  test("IPv6: a bind on :: takes IPv4 too; an IPv6 target is written so HAProxy parses it", () => {
    const { text } = renderHaproxyConfig([entry({ targetHost: "::1", mode: "l4", cert: "" })], { ...opts, bindAddress: "::" });
    assert.match(text, /bind :::443 v4v6\n/);
    assert.match(text, /server target ipv6@::1:32000\n/);
  });

  test("retries cover the retry window at one retry per connect timeout (at most a second)", () => {
    assert.equal(retriesFor({ ...opts, connectTimeoutMs: 250, retryWindowMs: 15_000 }), 60);
    assert.equal(retriesFor({ ...opts, connectTimeoutMs: 5000, retryWindowMs: 10_000 }), 10);
    assert.equal(retriesFor({ ...opts, connectTimeoutMs: 250, retryWindowMs: 0 }), 3);
  });

  test("haproxy -c accepts the rendered file", { skip: skipUnlessTools("haproxy") }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "haproxy-config-"));
    try {
      const ca = await createCA("test CA");
      for (const name of ["shop", "blog"]) {
        const leaf = await issueServerCert(ca, [`${name}.example.net`]);
        writeFileSync(join(dir, `${name}.pem`), `${leaf.certPem}\n${leaf.keyPem}\n`);
      }
      const t = [...table(), entry({ port: 8443, hostname: "blog.example.net" })].map((e) => (e.cert ? { ...e, cert: join(dir, `${e.service}.pem`) } : e));
      const file = join(dir, "routes.cfg");
      writeFileSync(file, renderHaproxyConfig(t, opts).text);
      execFileSync("haproxy", ["-c", "-q", "-f", file], { stdio: "pipe" });
      // An empty table says "no listener" (exit 2) on its own; the agent's check takes that as valid.
      writeFileSync(file, renderHaproxyConfig([], opts).text);
      await new Haproxy({ masterSocket: join(dir, "none.sock"), binary: "haproxy" }).check(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
