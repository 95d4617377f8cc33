// AdminService.Health when the database fails: Unavailable for the (unauthenticated)
// caller, with the cause kept on the error and logged for the operator.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger } from "../../../lib/log/logger.ts";
import { adminService } from "../../../registry/admin/admin-service.ts";

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
  assert.deepEqual(await health({}, {}), { status: "ok", version: "1.2.3" });
});
