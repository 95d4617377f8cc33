// Stored definitions are validated again when they are read: a row that no longer passes
// (written by hand, or under other rules) is an error naming its service, never an object
// of the wrong shape handed on to the controller.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../lib/db/sqlite.ts";
import { validateDefinition } from "../../lib/services/definition.ts";
import { agentMigrations } from "../../agent/state/migrations.ts";
import type { AgentDatabase } from "../../agent/state/schema.ts";
import { StateStore, StoredDefinitionError } from "../../agent/state/store.ts";

let dir: string;
let db: Kysely<AgentDatabase>;
let store: StateStore;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "agent-store-"));
  ({ db } = await openSqlite<AgentDatabase>(join(dir, "agent.db"), agentMigrations));
  store = new StateStore(db);
});
afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A services row as it sits in the database, bypassing putDefinition. */
const writeRow = (name: string, definition: string) =>
  db.insertInto("services").values({ name, definition, version: "v1", active: 1, updated_at: new Date().toISOString() }).execute();

test("a stored definition reads back as it was stored", async () => {
  const def = validateDefinition({
    name: "shop",
    node: "n1",
    version: "v1",
    storage: { nfs: "files:/x" },
    components: [{ name: "api", routes: [{ port: 443, index: 3 }] }],
  });
  await store.putDefinition(def);
  assert.deepEqual(await store.definition("shop"), def);
  assert.deepEqual(await store.definitions(), [def]);
  assert.equal(await store.definition("other"), undefined);
});

test("a row that no longer validates is an error naming the service", async () => {
  await store.putDefinition(validateDefinition({ name: "fine", node: "n1", version: "v1", components: [{ name: "api" }] }));
  await writeRow("shop", JSON.stringify({ name: "shop", node: "n1", version: "latest", components: [{ name: "api" }] }));
  const named = (e: unknown) => e instanceof StoredDefinitionError && /service shop is not valid.*"latest" is not allowed/.test(e.message);
  await assert.rejects(store.definition("shop"), named);
  await assert.rejects(store.definitions(), named);
  assert.equal((await store.definition("fine"))?.name, "fine", "other services still read");
});

test("a row that is not JSON, or names another service, is an error naming the service", async () => {
  await writeRow("broken", "{not json");
  await assert.rejects(store.definition("broken"), (e: unknown) => e instanceof StoredDefinitionError && /service broken is not valid/.test(e.message));
  await writeRow("alias", JSON.stringify({ name: "shop", node: "n1", version: "v1", components: [{ name: "api" }] }));
  await assert.rejects(
    store.definition("alias"),
    (e: unknown) => e instanceof StoredDefinitionError && /service alias names another service, shop/.test(e.message),
  );
});
