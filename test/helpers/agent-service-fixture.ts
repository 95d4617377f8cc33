// The agent's RPC handlers on a fake podman, for unit tests of one RPC: an agent (its own
// state database, controller and id) on a FakeRuntime that other agents may share, its
// AgentService implementation, and callers with claims for the policy.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Kysely } from "kysely";
import type { Claims } from "../../lib/auth/types.ts";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import type { Rule } from "../../lib/policy/rules.ts";
import { validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import { ServiceController } from "../../agent/controller/controller.ts";
import { agentAccess, AgentPolicy } from "../../agent/rpc/access.ts";
import { agentService } from "../../agent/rpc/agent-service.ts";
import { callerKey } from "../../agent/rpc/interceptor.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore } from "../../agent/state/store.ts";
import { ReleaseStore } from "../../agent/state/releases.ts";
import type { FakeRuntime } from "./fake-runtime.ts";

const dirs: string[] = [];
const dbs: Kysely<AgentDatabase>[] = [];

/** Closes the databases and removes the folders of every agent made so far. */
export async function removeAgents(): Promise<void> {
  for (const db of dbs.splice(0)) await db.destroy();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A definition of `name` with `components` (each `sleep`s), version `version`, images under reg.local by convention. */
export const serviceDef = (name: string, version = "v1", components = ["api"]): ServiceDefinition =>
  validateDefinition({ name, node: "n1", version, components: components.map((c) => ({ name: c, cmd: ["sleep", "1000"] })) });

export function claims(username: string, roles: Claims["roles"]): HandlerContext {
  const c: Claims = { subject: `uuid-${username}`, username, roles, accountType: "human", expiresAt: "", audience: "mcp-agent" };
  return { values: createContextValues().set(callerKey, c), signal: new AbortController().signal } as unknown as HandlerContext;
}

/** An agent on `rt` with id `id` and container prefix `prefix`; `rules`: custom policy rules (the built-in ones always apply). */
export async function agentOn(rt: FakeRuntime, id: string, prefix: string, rules: Rule[] = []) {
  const dir = mkdtempSync(join(tmpdir(), "agent-rpc-"));
  dirs.push(dir);
  const { db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations);
  dbs.push(db);
  const store = new StateStore(db);
  const runtimes = new SharedRuntime(rt, {});
  const log = silentLogger();
  const controller = new ServiceController({
    runtimes,
    store,
    log,
    startGraceMs: 0,
    stopTimeoutSeconds: 1,
    ports: { start: 20000, end: 20010, address: "127.0.0.1" },
    plan: {
      identity: { id, node: "n1", containerPrefix: prefix },
      registryHost: "reg.local",
      publishAddress: "127.0.0.1",
      defaultNetwork: "",
      storageRoot: join(dir, "srv"),
      allowedVolumeRoots: [join(dir, "srv")],
      envDir: join(dir, "env"),
    },
  });
  const policy = new AgentPolicy(log, async () => rules);
  await policy.start(0);
  const releases = new ReleaseStore(db);
  const service = agentService({ controller, store, runtimes, node: "n1", version: "test", log, access: agentAccess(policy), releases });
  const deploy = async (def: ServiceDefinition) => {
    for await (const _ of controller.deploy(def.name, def));
  };
  return { store, controller, service, deploy, releases };
}
