// AuditService/RecordAgentEvent: the agents' exec events reach mcr's audit log, reported by
// the agent's own audit client (agent/registry/exec-audit.ts) over an in-memory transport to
// mcr's handler behind its admin interceptor. System accounts only; every field checked;
// answered once written; a refused token is renewed once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import type { Claims, IdentityProvider } from "../../../lib/auth/types.ts";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { AuditService } from "../../../proto/gen/mcr/v1/audit_pb.ts";
import { auditService } from "../../../registry/admin/audit-service.ts";
import { adminAuthInterceptor, requirement } from "../../../registry/admin/interceptor.ts";
import { shellJoin } from "../../../registry/audit/agent-events.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { mcrExecAudit, type ExecAuditRecord } from "../../../agent/registry/exec-audit.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const claims = (username: string, accountType: Claims["accountType"], roles: Claims["roles"]): Claims => ({
  subject: `uuid-${username}`,
  username,
  accountType,
  roles,
  expiresAt: "",
  audience: "mcr",
});
const TOKENS: Record<string, Claims> = {
  agent: claims("agent-node1", "system", ["user"]),
  root: claims("root", "human", ["admin"]),
  alice: claims("alice", "human", ["user"]),
};
const identity: IdentityProvider = {
  login: async () => ({ token: "", expiresAt: "" }),
  validate: async (token) => TOKENS[token] ?? null,
  logout: async () => undefined,
};

async function mcr() {
  const dir = mkdtempSync(join(tmpdir(), "agent-events-"));
  dirs.push(dir);
  const { db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations);
  const audit = new AuditLog(db, silentLogger(), { flushMs: 60_000 });
  const transport = createRouterTransport(({ service }) => service(AuditService, auditService(audit)), {
    router: { interceptors: [adminAuthInterceptor(identity, "mcr")] },
  });
  return { audit, transport, close: () => db.destroy() };
}

const started: ExecAuditRecord = {
  type: "exec_started",
  execId: "0123456789abcdef",
  actor: "uuid-alice",
  username: "alice",
  node: "node1",
  service: "shop",
  component: "api",
  container: "shop-api",
  command: ["sh", "-c", "exit 3"],
  tty: false,
};

describe("RecordAgentEvent", () => {
  test("an agent's account records both events of an exec; each is written before the answer", async () => {
    const m = await mcr();
    const client = mcrExecAudit({ token: async () => "agent", transport: m.transport });
    await client.record(started);
    assert.equal(m.audit.pendingCount, 0, "written before RecordAgentEvent answered");
    await client.record({ ...started, type: "exec_finished", exitCode: 3, durationMs: 1234 });
    const [end, start] = await m.audit.list({});
    assert.deepEqual([start!.type, start!.actor, start!.repository], ["exec_started", "uuid-alice", undefined]);
    assert.deepEqual(start!.details, {
      node: "node1",
      service: "shop",
      component: "api",
      container: "shop-api",
      command: "sh -c 'exit 3'",
      tty: "false",
      user: "alice",
      exec_id: "0123456789abcdef",
      reporter: "agent-node1",
    });
    assert.equal(end!.type, "exec_finished");
    assert.deepEqual([end!.details!.exit_code, end!.details!.duration_ms, end!.details!.exec_id], ["3", "1234", "0123456789abcdef"]);
    await client.record({ ...started, type: "exec_finished", tty: true, error: "podman: no such\ncontainer", durationMs: 5 });
    const [failed] = await m.audit.list({ type: "exec_finished" });
    assert.deepEqual([failed!.details!.exit_code, failed!.details!.error, failed!.details!.tty], [undefined, "podman: no such container", "true"]);
    await m.close();
  });

  test("system accounts only: an admin or a user is refused; so is a call without a token", async () => {
    const m = await mcr();
    assert.equal(requirement("mcr.v1.AuditService/RecordAgentEvent"), "account");
    for (const who of ["root", "alice"]) {
      await assert.rejects(
        mcrExecAudit({ token: async () => who, transport: m.transport }).record(started),
        (e: unknown) => e instanceof ConnectError && e.code === Code.PermissionDenied && /system accounts only/.test(e.rawMessage),
      );
    }
    assert.deepEqual(await m.audit.list({}), []);
    await m.close();
  });

  test("every field is checked", async () => {
    const m = await mcr();
    const client = mcrExecAudit({ token: async () => "agent", transport: m.transport });
    const bad = async (over: Partial<ExecAuditRecord> | Record<string, unknown>, re: RegExp) =>
      assert.rejects(
        client.record({ ...started, ...over } as ExecAuditRecord),
        (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument && re.test(e.rawMessage),
      );
    await bad({ type: "manifest_pushed" }, /type: "manifest_pushed" is not one of exec_started, exec_finished/);
    await bad({ service: "" }, /service is required/);
    await bad({ service: "Shop Front" }, /service: "Shop Front" is not a valid name/);
    await bad({ node: "a\nb" }, /node: .* contains a control character/);
    await bad({ command: Array.from({ length: 300 }, () => "x") }, /command: 300 arguments; at most 256/);
    await bad({ command: ["x".repeat(9000)] }, /command: longer than 8192 characters/);
    assert.deepEqual(await m.audit.list({}), []);
    await m.close();
  });

  test("a token mcr refuses is renewed once", async () => {
    const m = await mcr();
    const given = ["revoked", "agent"];
    const refused: string[] = [];
    const client = mcrExecAudit({ token: async () => given.shift() ?? "revoked", refused: (t) => refused.push(t), transport: m.transport });
    await client.record(started);
    assert.deepEqual(refused, ["revoked"]);
    const never = mcrExecAudit({ token: async () => "revoked", transport: m.transport });
    await assert.rejects(never.record(started), (e: unknown) => e instanceof ConnectError && e.code === Code.Unauthenticated);
    await m.close();
  });

  test("commands are stored as a shell would read them back", () => {
    assert.equal(shellJoin(["sh", "-c", "echo 'hi' > /tmp/x"]), "sh -c 'echo '\\''hi'\\'' > /tmp/x'");
    assert.equal(shellJoin(["printf", "a\tb\n", "--x=1", ""]), "printf 'a\\x09b\\x0a' --x=1 ''");
  });
});
