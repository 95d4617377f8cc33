import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { ConfigError, loadConfig, splitHostPort } from "../../lib/config/load.ts";
import { duration, listenAddr, parseDuration } from "../../lib/config/types.ts";

const schema = z.object({
  server: z.object({ listen_addr: listenAddr, grpc_addr: z.string().default(""), shutdown_timeout: duration("60s"), plain_http: z.boolean().default(false) }),
  database: z.object({ path: z.string().min(1) }),
  mcias: z.object({ tags: z.array(z.string()).default([]), retries: z.number().default(3) }).default({}),
});

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function write(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cfg-"));
  dirs.push(dir);
  const path = join(dir, "svc.toml");
  writeFileSync(path, text);
  return path;
}

const base = '[server]\nlisten_addr = "127.0.0.1:8443"\n[database]\npath = "data/svc.db"\n';

describe("loadConfig", () => {
  test("reads TOML, applies defaults and resolves relative paths against the config's folder", () => {
    const path = write(base);
    const cfg = loadConfig({ path, schema, envPrefix: "SVC", env: {}, pathKeys: ["database.path"] });
    assert.equal(cfg.server.listen_addr, "127.0.0.1:8443");
    assert.equal(cfg.server.shutdown_timeout, 60_000);
    assert.equal(cfg.database.path, join(path, "..", "data", "svc.db"));
    assert.deepEqual(cfg.mcias.tags, []);
  });

  test("$PREFIX_SECTION_KEY overrides with the field's type", () => {
    const cfg = loadConfig({
      path: write(base),
      schema,
      envPrefix: "SVC",
      env: {
        SVC_SERVER_LISTEN_ADDR: ":9999",
        SVC_SERVER_PLAIN_HTTP: "true",
        SVC_SERVER_SHUTDOWN_TIMEOUT: "2m",
        SVC_MCIAS_TAGS: "env:prod, team:infra",
        SVC_MCIAS_RETRIES: "5",
        OTHER_SERVER_LISTEN_ADDR: ":1",
      },
    });
    assert.equal(cfg.server.listen_addr, ":9999");
    assert.equal(cfg.server.plain_http, true);
    assert.equal(cfg.server.shutdown_timeout, 120_000);
    assert.deepEqual(cfg.mcias.tags, ["env:prod", "team:infra"]);
    assert.equal(cfg.mcias.retries, 5);
  });

  test("$PORT beats both the file and $PREFIX_SERVER_LISTEN_ADDR, keeping the host", () => {
    const cfg = loadConfig({ path: write(base), schema, envPrefix: "SVC", env: { SVC_SERVER_LISTEN_ADDR: "0.0.0.0:1", PORT: "20443" } });
    assert.equal(cfg.server.listen_addr, "0.0.0.0:20443");
  });

  test("$PORT_GRPC is not read: no daemon has a second listener (a placed service may have it set)", () => {
    const cfg = loadConfig({ path: write(base), schema, envPrefix: "SVC", env: { PORT_GRPC: "20444" } });
    assert.equal(cfg.server.grpc_addr, "");
    assert.equal(loadConfig({ path: write(base), schema, envPrefix: "SVC", env: { PORT_GRPC: "not-a-port" } }).server.listen_addr, "127.0.0.1:8443");
  });

  test("refuses a missing required field, naming it", () => {
    const path = write('[server]\nlisten_addr = ":1"\n[database]\n');
    assert.throws(
      () => loadConfig({ path, schema, envPrefix: "SVC", env: {} }),
      (e: Error) => e instanceof ConfigError && /\[database\] path is required/.test(e.message),
    );
    const noSection = write('[server]\nlisten_addr = ":1"\n');
    assert.throws(() => loadConfig({ path: noSection, schema, envPrefix: "SVC", env: {} }), /\[database\] is required/);
  });

  test("refuses bad values with the field and the reason", () => {
    assert.throws(
      () => loadConfig({ path: write(base.replace("127.0.0.1:8443", "nowhere")), schema, envPrefix: "SVC", env: {} }),
      /\[server\] listen_addr must be host:port/,
    );
    assert.throws(
      () => loadConfig({ path: write(base), schema, envPrefix: "SVC", env: { SVC_SERVER_PLAIN_HTTP: "maybe" } }),
      /\[server\] plain_http expected boolean/,
    );
    assert.throws(() => loadConfig({ path: write(base), schema, envPrefix: "SVC", env: { SVC_MCIAS_RETRIES: "" } }), /\[mcias\] retries/);
    assert.throws(() => loadConfig({ path: write(base), schema, envPrefix: "SVC", env: { PORT: "70000" } }), /not a port number/);
  });

  test("refuses unreadable files and invalid TOML", () => {
    assert.throws(() => loadConfig({ path: "/nonexistent/svc.toml", schema, envPrefix: "SVC", env: {} }), /cannot read/);
    assert.throws(() => loadConfig({ path: write("[server"), schema, envPrefix: "SVC", env: {} }), /invalid TOML/);
  });
});

describe("config field types", () => {
  test("parseDuration understands Go-style durations", () => {
    assert.equal(parseDuration("0"), 0);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("1h30m"), 5_400_000);
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration("90d"), 90 * 86_400_000, "days, for retention periods");
    assert.equal(parseDuration("1d12h"), 36 * 3_600_000);
    for (const bad of ["", "30", "s", "3w", "1h 2m", "-1s"]) assert.equal(parseDuration(bad), undefined, bad);
  });

  test("a duration may also be a number of seconds", () => {
    assert.equal(duration("1s").parse(5), 5000);
    assert.equal(duration("1s").parse(undefined), 1000);
  });

  test("splitHostPort handles IPv6, empty hosts and garbage", () => {
    assert.deepEqual(splitHostPort("[::1]:8443"), { host: "::1", port: 8443 });
    assert.deepEqual(splitHostPort(":80"), { host: "", port: 80 });
    assert.ok(Number.isNaN(splitHostPort("8443").port));
  });
});
