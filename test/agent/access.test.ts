// The agent's policy: admins do everything, human users read every service
// (built-in), system accounts (the agents' own pull-only ones) nothing; custom
// rules from the registry narrow or widen it per service; refusals say what
// was missing; a registry outage keeps the last rules.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, type ConnectError, createContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Claims } from "../../lib/auth/types.ts";
import { createLogger } from "../../lib/log/logger.ts";
import type { Rule } from "../../lib/policy/rules.ts";
import { agentAccess, AgentPolicy } from "../../agent/rpc/access.ts";
import { callerKey } from "../../agent/rpc/interceptor.ts";
import { StreamLimits } from "../../agent/rpc/stream-limits.ts";

const log = createLogger("test", "silent");
const claims = (username: string, roles: Claims["roles"], accountType: Claims["accountType"] = "human"): Claims => ({
  subject: `uuid-${username}`,
  username,
  roles,
  accountType,
  expiresAt: "",
  audience: "mcp-agent",
});
const ctxOf = (c: Claims) => ({ values: createContextValues().set(callerKey, c) }) as unknown as HandlerContext;

const admin = ctxOf(claims("root", ["admin"]));
const alice = ctxOf(claims("alice", ["user"]));
const agentAccount = ctxOf(claims("agent-node1", ["user"], "system"));
const guest = ctxOf(claims("gus", ["guest"]));

test("built-in rules: admin everything, human users read, system accounts and guests nothing", async () => {
  const policy = new AgentPolicy(log);
  await policy.start(0);
  const a = agentAccess(policy);
  for (const action of ["agent:read", "agent:deploy", "agent:admin"] as const) assert.ok(a.may(admin, action, "web"));
  assert.ok(a.may(alice, "agent:read", "web"));
  assert.equal(a.may(alice, "agent:deploy", "web"), false);
  assert.equal(a.may(agentAccount, "agent:read", "web"), false, "the agents' pull-only account reads no service's logs");
  assert.equal(a.may(guest, "agent:read", "web"), false);
  assert.throws(
    () => a.check(agentAccount, "agent:read", "web"),
    (e: ConnectError) => e.code === Code.PermissionDenied && /agent-node1 may not read service web: no policy rule allows agent:read on it/.test(e.message),
  );
});

test("custom rules per service: a team deploys its services only; a deny names its rule", async () => {
  const rules: Rule[] = [
    { id: 1, priority: 10, description: "team web deploys", effect: "allow", roles: ["user"], actions: ["agent:deploy"], services: ["web-*"] },
    { id: 2, priority: 10, description: "payments is private", effect: "deny", actions: ["agent:read"], roles: ["user"], services: ["payments"] },
  ];
  const policy = new AgentPolicy(log, async () => rules);
  await policy.start(0);
  const a = agentAccess(policy);
  assert.ok(a.may(alice, "agent:deploy", "web-api"));
  assert.equal(a.may(alice, "agent:deploy", "db"), false);
  assert.equal(a.may(alice, "agent:read", "payments"), false);
  assert.throws(() => a.check(alice, "agent:read", "payments"), /policy rule 2 \(payments is private\) denies agent:read/);
  assert.ok(a.may(admin, "agent:read", "payments"), "the deny names the user role; admins keep everything");
});

test("the last rules are kept while the registry cannot be asked; no policy means authentication is off", async () => {
  let fail = false;
  const policy = new AgentPolicy(log, async () => {
    if (fail) throw new Error("ECONNREFUSED");
    return [{ id: 3, priority: 5, description: "ci reads", effect: "allow", accountTypes: ["system"], actions: ["agent:read"], services: ["*"] }];
  });
  await policy.start(0);
  fail = true;
  await policy.refresh();
  assert.ok(agentAccess(policy).may(agentAccount, "agent:read", "web"));
  assert.ok(agentAccess(null).may(guest, "agent:admin", "web"));
});

test("streams per account: past the limit ResourceExhausted; a released slot is reusable; no account, no limit", () => {
  const limits = new StreamLimits(2);
  const r1 = limits.acquire("a");
  limits.acquire("a");
  assert.throws(
    () => limits.acquire("a"),
    (e: ConnectError) => e.code === Code.ResourceExhausted && /max_streams_per_account/.test(e.message),
  );
  limits.acquire("b");
  r1();
  r1();
  limits.acquire("a");
  for (let i = 0; i < 10; i++) limits.acquire("");
});
