// Accounts of the embedded identity service: create, list, change password,
// roles and state. Disabling an account or changing its password revokes its tokens and
// deletes its pull tokens, in the database: every replica refuses them from then on.
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import { ROLES, type AccountType, type Role } from "../../lib/auth/types.ts";
import { serializable } from "../db/dialect.ts";
import type { RegistryDatabase } from "../db/schema.ts";
import type { CredentialCache } from "./credential-cache.ts";
import { checkPasswordPolicy, hashPassword, verifyPassword } from "./passwords.ts";

export interface Account {
  id: string;
  username: string;
  accountType: AccountType;
  roles: Role[];
  disabled: boolean;
  createdAt: string;
}

export class AccountError extends Error {
  override name = "AccountError";
}

const USERNAME_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export function checkRoles(roles: string[]): Role[] {
  const bad = roles.filter((r) => !ROLES.includes(r as Role));
  if (bad.length) throw new AccountError(`unknown role ${bad.join(", ")}: roles are ${ROLES.join(", ")}`);
  return [...new Set(roles)] as Role[];
}

type Row = { id: string; username: string; account_type: AccountType; roles: string; disabled: number; created_at: string };
const toAccount = (r: Row): Account => ({
  id: r.id,
  username: r.username,
  accountType: r.account_type,
  roles: JSON.parse(r.roles) as Role[],
  disabled: r.disabled !== 0,
  createdAt: r.created_at,
});
const COLUMNS = ["id", "username", "account_type", "roles", "disabled", "created_at"] as const;

export class AccountStore {
  /** `cache`: successful password checks remembered briefly (the server's token issuance). */
  constructor(
    private readonly db: Kysely<RegistryDatabase>,
    readonly cache?: CredentialCache,
  ) {}

  async create(username: string, password: string, accountType: AccountType, roles: string[]): Promise<Account> {
    if (!USERNAME_RE.test(username)) throw new AccountError(`invalid username ${JSON.stringify(username)}: use [a-z0-9][a-z0-9_.-]*, at most 64 characters`);
    if (accountType !== "human" && accountType !== "system") throw new AccountError(`account type must be human or system`);
    const checked = checkRoles(roles);
    try {
      checkPasswordPolicy(password);
    } catch (err) {
      throw new AccountError((err as Error).message);
    }
    if (await this.byUsername(username)) throw new AccountError(`account ${username} already exists`);
    const id = randomUUID();
    await this.db
      .insertInto("accounts")
      .values({
        id,
        username,
        password_hash: await hashPassword(password),
        account_type: accountType,
        roles: JSON.stringify(checked),
        disabled: 0,
        updated_at: new Date().toISOString(),
      })
      .execute();
    return (await this.byUsername(username))!;
  }

  async byUsername(username: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom("accounts").select(COLUMNS).where("username", "=", username).executeTakeFirst();
    return row && toAccount(row);
  }

  async byId(id: string): Promise<Account | undefined> {
    const row = await this.db.selectFrom("accounts").select(COLUMNS).where("id", "=", id).executeTakeFirst();
    return row && toAccount(row);
  }

  async list(): Promise<Account[]> {
    return (await this.db.selectFrom("accounts").select(COLUMNS).orderBy("username").execute()).map(toAccount);
  }

  /** The account if the password is right and the account is enabled. */
  async authenticate(username: string, password: string): Promise<Account | undefined> {
    const row = await this.db
      .selectFrom("accounts")
      .select([...COLUMNS, "password_hash", "updated_at"])
      .where("username", "=", username)
      .executeTakeFirst();
    if (!row) {
      await hashPassword(password); // same cost whether or not the account exists
      return undefined;
    }
    if (this.cache?.matches(username, password, row)) return toAccount(row);
    if (!(await verifyPassword(password, row.password_hash)) || row.disabled) return undefined;
    this.cache?.remember(username, password, row);
    return toAccount(row);
  }

  /** The change and the revocation it implies are one serialisable transaction (replicas). */
  private async update(username: string, set: Partial<{ password_hash: string; roles: string; disabled: number }>): Promise<Account> {
    const account = await serializable(this.db, async (trx) => {
      const res = await trx
        .updateTable("accounts")
        .set({ ...set, updated_at: new Date().toISOString() })
        .where("username", "=", username)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return undefined;
      const row = await trx.selectFrom("accounts").select(COLUMNS).where("username", "=", username).executeTakeFirstOrThrow();
      if (set.password_hash !== undefined || set.disabled === 1) {
        await trx
          .updateTable("tokens")
          .set({ revoked_at: new Date().toISOString() })
          .where("account_id", "=", row.id)
          .where("revoked_at", "is", null)
          .execute();
        // Its pull tokens too: they would otherwise pull for up to their minute.
        await trx.deleteFrom("pull_tokens").where("account_id", "=", row.id).execute();
      }
      return toAccount(row);
    });
    this.cache?.forget(username);
    if (!account) throw new AccountError(`no account named ${username}`);
    return account;
  }

  async setPassword(username: string, password: string): Promise<Account> {
    try {
      checkPasswordPolicy(password);
    } catch (err) {
      throw new AccountError((err as Error).message);
    }
    return this.update(username, { password_hash: await hashPassword(password) });
  }

  async setRoles(username: string, roles: string[]): Promise<Account> {
    return this.update(username, { roles: JSON.stringify(checkRoles(roles)) });
  }

  async setDisabled(username: string, disabled: boolean): Promise<Account> {
    return this.update(username, { disabled: disabled ? 1 : 0 });
  }

  async revokeTokens(accountId: string): Promise<void> {
    await this.db
      .updateTable("tokens")
      .set({ revoked_at: new Date().toISOString() })
      .where("account_id", "=", accountId)
      .where("revoked_at", "is", null)
      .execute();
    await this.db.deleteFrom("pull_tokens").where("account_id", "=", accountId).execute();
  }
}
