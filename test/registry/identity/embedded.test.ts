import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { InvalidCredentialsError, RateLimitedError } from "../../../lib/auth/types.ts";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { AccountError } from "../../../registry/identity/accounts.ts";
import { EmbeddedIdentity, tokenHash } from "../../../registry/identity/embedded.ts";
import { hashPassword, verifyPassword } from "../../../registry/identity/passwords.ts";

const PW = "correct horse battery";

describe("embedded identity", () => {
  let db: Kysely<RegistryDatabase>;
  let now = Date.parse("2026-01-01T00:00:00Z");
  let id: EmbeddedIdentity;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "id-"));
    ({ db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations));
    id = new EmbeddedIdentity(db, { tokenTtlMs: 3600_000, loginsPerMinute: 3, now: () => now });
    await id.accounts.create("alice", PW, "human", ["user"]);
  });
  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const loginAs = (username: string, password = PW, source = "10.0.0.1") => id.login({ username, password, serviceName: "mcr", tags: [], source });

  test("passwords are scrypt hashes that verify only the right password", async () => {
    const h = await hashPassword("secret password");
    assert.match(h, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword("secret password", h), true);
    assert.equal(await verifyPassword("secret passworD", h), false);
    assert.equal(await verifyPassword("x", "garbage"), false);
  });

  test("tokens are stored only as SHA-256 hashes and expire", async () => {
    const { token, expiresAt } = await loginAs("alice");
    assert.equal(expiresAt, new Date(now + 3600_000).toISOString());
    const rows = await db.selectFrom("tokens").select("token_hash").execute();
    assert.ok(rows.some((r) => r.token_hash === tokenHash(token)));
    assert.ok(rows.every((r) => r.token_hash !== token));
    assert.equal((await id.validate(token))?.username, "alice");
    now += 3600_000;
    assert.equal(await id.validate(token), null);
  });

  test("a password change or disabling the account revokes its tokens; disabled accounts cannot log in", async () => {
    const { token } = await loginAs("alice");
    await id.accounts.setPassword("alice", "another long password");
    assert.equal(await id.validate(token), null);
    const t2 = (await loginAs("alice", "another long password")).token;
    await id.accounts.setDisabled("alice", true);
    assert.equal(await id.validate(t2), null);
    await assert.rejects(loginAs("alice", "another long password", "10.0.0.9"), InvalidCredentialsError);
    await id.accounts.setDisabled("alice", false);
    await id.accounts.setPassword("alice", PW);
  });

  test("failed logins are limited per account and address; successes do not count", async () => {
    for (let i = 0; i < 5; i++) await loginAs("alice", PW, "10.0.0.2");
    for (let i = 0; i < 3; i++) await assert.rejects(loginAs("alice", "wrong", "10.0.0.3"), InvalidCredentialsError);
    await assert.rejects(loginAs("alice", PW, "10.0.0.3"), RateLimitedError);
    await loginAs("alice", PW, "10.0.0.4"); // another address is not blocked by this pair
    now += 61_000;
    await loginAs("alice", PW, "10.0.0.3");
  });

  test("account validation: names, roles, password length, duplicates", async () => {
    await assert.rejects(id.accounts.create("Bad Name", PW, "human", ["user"]), AccountError);
    await assert.rejects(id.accounts.create("bob", PW, "human", ["root"]), /unknown role root/);
    await assert.rejects(id.accounts.create("bob", "short", "human", ["user"]), /at least 12/);
    await assert.rejects(id.accounts.create("alice", PW, "human", ["user"]), /already exists/);
    await assert.rejects(id.accounts.setRoles("nobody", ["user"]), /no account named nobody/);
  });

  test("pruneTokens drops tokens expired for more than a day", async () => {
    await loginAs("alice");
    now += 2 * 86_400_000;
    assert.ok((await id.pruneTokens()) > 0);
  });
});
