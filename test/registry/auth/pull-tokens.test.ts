// Pull tokens' grants on an injected clock: what a token yields, for how long (never past a
// minute), that only hashes are stored, that expired grants are deleted, by the store
// itself while it issues and by the registry's upkeep, and that a disabled account's go at once.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import type { Claims } from "../../../lib/auth/types.ts";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { isPullToken, PULL_TOKEN_MAX_TTL_MS, PullTokenStore } from "../../../registry/auth/pull-tokens.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { AccountStore } from "../../../registry/identity/accounts.ts";
import { Maintenance } from "../../../registry/server/maintenance.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");
const agent: Claims = {
  subject: "acct-1",
  username: "agent-node1",
  accountType: "system",
  roles: ["user"],
  expiresAt: "2026-03-02T00:00:00.000Z",
  audience: "mcr",
};

describe("pull tokens", () => {
  let dir: string;
  let db: Kysely<RegistryDatabase>;
  let clock = NOW;
  let store: PullTokenStore;
  const rows = async () => db.selectFrom("pull_tokens").selectAll().execute();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pull-tokens-"));
    ({ db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations));
    store = new PullTokenStore(db, "mcr", () => clock);
  });
  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a token yields its account's claims and its one repository until it expires, a minute later", async () => {
    clock = NOW;
    const { token, expiresAt } = await store.issue(agent, "team/app");
    assert.ok(isPullToken(token), token.slice(0, 12));
    assert.equal(expiresAt, new Date(NOW + 60_000).toISOString());
    const grant = await store.validate(token);
    assert.deepEqual(grant, { repository: "team/app", claims: { ...agent, expiresAt } });
    clock = NOW + 59_999;
    assert.ok(await store.validate(token), "still live just before its expiry");
    clock = NOW + 60_000;
    assert.equal(await store.validate(token), null, "refused from its expiry on");
  });

  test("a caller may ask for less than a minute, never more", async () => {
    clock = NOW;
    assert.equal((await store.issue(agent, "team/app", 2_000)).expiresAt, new Date(NOW + 2_000).toISOString());
    assert.equal((await store.issue(agent, "team/app", 3_600_000)).expiresAt, new Date(NOW + PULL_TOKEN_MAX_TTL_MS).toISOString());
  });

  test("only the SHA-256 of a token is stored; made-up, truncated and ordinary tokens yield nothing", async () => {
    clock = NOW;
    const { token } = await store.issue(agent, "team/stored");
    const row = (await rows()).find((r) => r.repository === "team/stored")!;
    assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    assert.equal(JSON.stringify(await rows()).includes(token.slice(9)), false, "the token itself is nowhere in the table");
    // The last character changed (it is "A" for one token in 16: base64url's last of 43 carries 4 bits).
    const changed = `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}`;
    for (const bad of [changed, token.slice(0, -1), token.slice(9), "x".repeat(43), ""]) {
      assert.equal(await store.validate(bad), null, JSON.stringify(bad.slice(0, 12)));
    }
  });

  test("expired grants are deleted: by prune, and by the store itself at most once a minute while it issues", async () => {
    await db.deleteFrom("pull_tokens").execute();
    clock = NOW;
    await store.issue(agent, "a/one", 1_000);
    await store.issue(agent, "a/two");
    clock = NOW + 2_000;
    assert.equal(await store.prune(), 1);
    assert.deepEqual(
      (await rows()).map((r) => r.repository),
      ["a/two"],
    );
    clock = NOW + 10 * 60_000; // a/two has expired; the next issue prunes it
    await store.issue(agent, "a/three");
    assert.deepEqual(
      (await rows()).map((r) => r.repository),
      ["a/three"],
    );
  });

  test("the registry's upkeep prunes expired pull tokens whatever the identity service", async () => {
    await db.deleteFrom("pull_tokens").execute();
    clock = NOW;
    await store.issue(agent, "b/one");
    clock = NOW + 61_000;
    const m = new Maintenance({
      audit: new AuditLog(db, silentLogger()),
      tokens: null,
      pullTokens: store,
      auditRetentionMs: 0,
      log: silentLogger(),
      now: () => clock,
    });
    assert.deepEqual(await m.run(), { tokens: 0, auditEvents: 0, pullTokens: 1 });
    assert.equal((await rows()).length, 0);
  });

  test("disabling the account or changing its password deletes its pull tokens at once; a role change does not", async () => {
    clock = NOW;
    const accounts = new AccountStore(db);
    const a = await accounts.create("pull-owner", "a long enough password", "system", ["user"]);
    const claims = { ...agent, subject: a.id, username: a.username };
    const first = (await store.issue(claims, "c/one")).token;
    const other = (await store.issue(agent, "c/one")).token;
    await accounts.setRoles("pull-owner", ["user", "guest"]);
    assert.ok(await store.validate(first), "roles changed: the grant stays");
    await accounts.setDisabled("pull-owner", true);
    assert.equal(await store.validate(first), null, "disabled: refused");
    assert.ok(await store.validate(other), "another account's grant stays");
    await accounts.setDisabled("pull-owner", false);
    const second = (await store.issue(claims, "c/one")).token;
    await accounts.setPassword("pull-owner", "another long password");
    assert.equal(await store.validate(second), null, "password changed: refused");
  });
});
