// Token issuance remembers a successful password check briefly (keyed HMAC of the
// credentials), forgets it when the account changes (in this process or another one:
// `mcr account` works on the database directly), and never remembers a failure.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { InvalidCredentialsError, RateLimitedError } from "../../../lib/auth/types.ts";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { AccountStore } from "../../../registry/identity/accounts.ts";
import { EmbeddedIdentity } from "../../../registry/identity/embedded.ts";

const PW = "correct horse battery";

describe("credential cache", () => {
  let db: Kysely<RegistryDatabase>;
  let dir: string;
  let now = Date.parse("2026-01-01T00:00:00Z");
  let id: EmbeddedIdentity;
  /** Another process's view of the database (mcr account), without a cache. */
  let cli: AccountStore;
  let n = 0;
  let user: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cred-"));
    ({ db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations));
    id = new EmbeddedIdentity(db, { tokenTtlMs: 3600_000, loginsPerMinute: 3, now: () => now });
    cli = new AccountStore(db);
  });
  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    user = `user${++n}`;
    await cli.create(user, PW, "human", ["user"]);
  });
  const cache = () => id.accounts.cache!;
  const login = (password = PW, username = user) => id.login({ username, password, serviceName: "mcr", tags: [], source: `10.0.0.${n}` });

  test("a repeated login is answered from the cache, and the cache holds no password", async () => {
    const { hits, misses } = cache();
    await login();
    await login();
    await login();
    assert.equal(cache().misses - misses, 1);
    assert.equal(cache().hits - hits, 2);
    const entries = JSON.stringify([...(cache() as unknown as { entries: Map<string, unknown> }).entries]);
    assert.ok(!entries.includes(PW));
  });

  test("a wrong password is never answered from the cache and still counts toward the rate limit", async () => {
    await login();
    for (let i = 0; i < 3; i++) await assert.rejects(login("wrong password!!"), InvalidCredentialsError);
    // Three failures reach the limit: even the right (cached) password now waits.
    await assert.rejects(login(), RateLimitedError);
    now += 61_000;
    await login();
  });

  test("a password change by another process ends the cached check at once", async () => {
    await login();
    await cli.setPassword(user, "a brand new password");
    await assert.rejects(login(), InvalidCredentialsError);
    await login("a brand new password");
  });

  test("disabling (elsewhere) refuses at once; a role change (elsewhere) is not served from the cache", async () => {
    await login();
    await cli.setDisabled(user, true);
    await assert.rejects(login(), InvalidCredentialsError);
    await cli.setDisabled(user, false);
    await login();
    const misses = cache().misses;
    await cli.setRoles(user, ["guest"]);
    await login();
    assert.equal(cache().misses - misses, 1, "the role change forced a new password check");
    const claims = await id.validate((await login()).token);
    assert.deepEqual(claims?.roles, ["guest"]);
  });

  test("changes through the server's own store drop the user's entries", async () => {
    await login();
    const before = cache().size;
    await id.accounts.setRoles(user, ["user", "admin"]);
    assert.equal(cache().size, before - 1);
  });

  test("an entry expires after its TTL", async () => {
    await login();
    const misses = cache().misses;
    now += 59_000;
    await login();
    now += 2_000;
    await login();
    assert.equal(cache().misses - misses, 1);
  });
});
