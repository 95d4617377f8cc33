// AdminService.Health when the database or the blob store fails: Unavailable for the
// (unauthenticated) caller, naming what does not answer, with the cause kept on the error or
// in the log for the operator. The blob store's probe: cached for 2 s, shared by callers
// arriving together, bounded by a timeout, logged when its state changes; the local folder's.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger } from "../../../lib/log/logger.ts";
import { adminService } from "../../../registry/admin/admin-service.ts";
import { StorageHealth, storageProbe, type StorageProbe } from "../../../registry/storage/health.ts";
import type { RegistryConfig } from "../../../registry/config.ts";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

test("Health reports Unavailable with the database error as its cause, and logs it", async () => {
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged.push(chunk.toString());
      cb();
    },
  });
  const cause = Object.assign(new Error("SQLITE_IOERR: disk I/O error"), { code: "SQLITE_IOERR" });
  const svc = adminService({ meta: { ping: () => Promise.reject(cause) }, version: "1.2.3", log: createLogger("mcr", "info", sink) });
  const health = svc.health as (req: object, ctx: object) => Promise<unknown>;
  await assert.rejects(health({}, {}), (err: unknown) => {
    assert.ok(err instanceof ConnectError);
    assert.equal(err.code, Code.Unavailable);
    assert.equal(err.rawMessage, "database is not answering", "the caller is not told database internals");
    assert.equal(err.cause, cause);
    return true;
  });
  const entry = logged.map((l) => JSON.parse(l) as { msg: string; err?: { message?: string } }).find((l) => l.msg.startsWith("health check failed"));
  assert.ok(entry, "the failure is logged");
  assert.match(entry.err?.message ?? "", /SQLITE_IOERR: disk I\/O error/);
});

test("Health answers ok with the version when the database answers", async () => {
  const svc = adminService({ meta: { ping: () => Promise.resolve() }, version: "1.2.3", log: createLogger("mcr", "silent") });
  const health = svc.health as (req: object, ctx: object) => Promise<unknown>;
  assert.deepEqual(await health({}, {}), { status: "ok", version: "1.2.3", database: "ok" });
});

function bucket(state: { up: boolean; hang?: boolean; calls: number }): StorageProbe {
  return {
    backend: "s3",
    location: "s3://registry/mcr/",
    failure: "bucket registry is not answering",
    async probe() {
      state.calls++;
      if (state.hang) await new Promise(() => undefined);
      if (!state.up) throw Object.assign(new Error("connect ECONNREFUSED 10.0.0.5:9000"), { code: "ECONNREFUSED" });
    },
  };
}

function logSink(): { log: ReturnType<typeof createLogger>; lines: () => { msg: string; err?: { message?: string } }[] } {
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged.push(chunk.toString());
      cb();
    },
  });
  return { log: createLogger("mcr", "info", sink), lines: () => logged.map((l) => JSON.parse(l)) };
}

test("Health names the bucket when it does not answer, and is ok again once it does; the cause is logged once per change", async () => {
  const state = { up: true, calls: 0 };
  let now = 1_000_000;
  const { log, lines } = logSink();
  const storage = new StorageHealth(bucket(state), log, { now: () => now });
  const svc = adminService({ meta: { ping: () => Promise.resolve() }, storage, version: "1.2.3", log });
  const health = svc.health as (req: object, ctx: object) => Promise<unknown>;
  assert.deepEqual(await health({}, {}), {
    status: "ok",
    version: "1.2.3",
    database: "ok",
    storage: { backend: "s3", location: "s3://registry/mcr/", status: "ok" },
  });
  state.up = false;
  now += 2_000;
  for (let i = 0; i < 3; i++)
    await assert.rejects(health({}, {}), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.Unavailable);
      assert.equal(err.rawMessage, "bucket registry is not answering", "named, without the client's error");
      return true;
    });
  assert.equal(state.calls, 2, "one probe per 2 s however often health is asked");
  const failed = lines().filter((l) => l.msg === "health: bucket registry is not answering");
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.err?.message ?? "", /ECONNREFUSED/);
  state.up = true;
  now += 1_999;
  await assert.rejects(health({}, {}), "still the cached failure");
  now += 1;
  assert.equal(((await health({}, {})) as { status: string }).status, "ok");
  assert.ok(lines().some((l) => l.msg === "blob storage answers again"));
});

test("Health: database and bucket down together are both named", async () => {
  const storage = new StorageHealth(bucket({ up: false, calls: 0 }), createLogger("mcr", "silent"));
  const svc = adminService({ meta: { ping: () => Promise.reject(new Error("ECONNREFUSED")) }, storage, version: "1", log: createLogger("mcr", "silent") });
  await assert.rejects((svc.health as (req: object, ctx: object) => Promise<unknown>)({}, {}), /database is not answering; bucket registry is not answering/);
});

test("a probe that does not answer fails after its timeout; callers arriving meanwhile share it", async () => {
  const state = { up: true, hang: true, calls: 0 };
  const storage = new StorageHealth(bucket(state), createLogger("mcr", "silent"), { timeoutMs: 100 });
  const start = performance.now();
  const all = await Promise.all([storage.check(), storage.check(), storage.check()]);
  assert.ok(performance.now() - start < 1_000);
  assert.deepEqual(
    all.map((s) => [s.ok, s.error]),
    Array(3).fill([false, "bucket registry is not answering"]),
  );
  assert.equal(state.calls, 1);
});

test("the local blob folder: ok while it can be read and written, named when it is gone", async () => {
  const dir = mkdtempSync(join(tmpdir(), "health-"));
  const layers = join(dir, "layers");
  mkdirSync(layers);
  const cfg = { storage: { backend: "local", layers_path: layers } } as RegistryConfig;
  const storage = new StorageHealth(storageProbe(cfg), createLogger("mcr", "silent"), { ttlMs: 0 });
  try {
    assert.deepEqual(await storage.check(), { backend: "filesystem", location: layers, ok: true });
    rmSync(layers, { recursive: true });
    assert.deepEqual(await storage.check(), {
      backend: "filesystem",
      location: layers,
      ok: false,
      error: `storage folder ${layers} cannot be read and written`,
    });
    mkdirSync(layers);
    assert.equal((await storage.check()).ok, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
