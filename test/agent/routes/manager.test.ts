// The route manager's account of what it did to the route file: an empty file, as the
// install steps create it, is written (not "changed by hand"); a file someone edited is
// rewritten and said to have been changed by hand.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import type { Haproxy } from "../../../agent/routes/haproxy.ts";
import { digestOf } from "../../../agent/routes/haproxy-config.ts";
import { RouteManager } from "../../../agent/routes/manager.ts";
import { RoutingStore } from "../../../agent/state/routing-store.ts";
import { agentMigrations } from "../../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../../agent/state/schema.ts";

let dir: string;
let db: Kysely<AgentDatabase>;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "routes-"));
  ({ db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations));
});
afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function manager(file: string): RouteManager {
  let loaded: string | undefined;
  const haproxy = {
    socket: "/fake.sock",
    check: async () => undefined,
    loadedDigest: async () => loaded,
    reload: async (digest: string) => {
      assert.equal(digestOf(readFileSync(file, "utf8")), digest);
      loaded = digest;
    },
  } as unknown as Haproxy;
  return new RouteManager(
    haproxy,
    new RoutingStore(db),
    {
      configFile: file,
      render: { bindAddress: "127.0.0.1", connectTimeoutMs: 250, retryWindowMs: 1000 },
      table: { zone: "example.net", publishAddress: "127.0.0.1", certPath: "/c/{service}.pem" },
    },
    silentLogger(),
  );
}

test("an empty route file is written, not reported as a hand edit; an edited one is", async () => {
  const file = join(dir, "mcp-routes.cfg");
  writeFileSync(file, "");
  const first = await manager(file).apply();
  assert.match(first ?? "", new RegExp(`^wrote ${file}`));
  assert.doesNotMatch(first ?? "", /changed by hand/);
  writeFileSync(file, "# someone's edit\n");
  assert.match((await manager(file).apply()) ?? "", /rewrote .*\(it had been changed by hand\)/);
});
