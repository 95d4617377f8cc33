// The nodes table and the certificates issued to nodes (docs/nodes.md). A node is "pending"
// from AddNode until its join token is used, then "joined". Removing a node deletes its row
// and marks every certificate it was issued revoked; revoked certificates are listed until
// they expire. Each change is one transaction, so two replicas cannot both use one token.
import type { Kysely } from "kysely";
import { serializable } from "../db/dialect.ts";
import type { NodesTable, RegistryDatabase } from "../db/schema.ts";

export interface NodeRecord {
  name: string;
  url: string;
  hostnames: string[];
  state: "pending" | "joined";
  accountId: string | null;
  policyRuleId: number | null;
  tokenExpiresAt: string | null;
  createdBy: string;
  createdAt: string;
  joinedAt: string | null;
  /** The newest certificate issued to it. */
  cert: { serial: string; issuedAt: string; expiresAt: string } | null;
}

const toRecord = (r: NodesTable, cert: NodeRecord["cert"]): NodeRecord => ({
  name: r.name,
  url: r.url,
  hostnames: JSON.parse(r.hostnames) as string[],
  state: r.state,
  accountId: r.account_id,
  policyRuleId: r.policy_rule_id === null ? null : Number(r.policy_rule_id),
  tokenExpiresAt: r.token_expires_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
  joinedAt: r.joined_at,
  cert,
});

export class NodeStore {
  constructor(private readonly db: Kysely<RegistryDatabase>) {}

  async get(name: string): Promise<NodeRecord | undefined> {
    return (await this.list()).find((n) => n.name === name);
  }

  async byAccount(accountId: string): Promise<NodeRecord | undefined> {
    return (await this.list()).find((n) => n.accountId === accountId && n.state === "joined");
  }

  async list(): Promise<NodeRecord[]> {
    const rows = await this.db.selectFrom("nodes").selectAll().orderBy("name").execute();
    const certs = await this.db
      .selectFrom("node_certs")
      .select(["node", "serial", "issued_at", "expires_at"])
      .where("revoked_at", "is", null)
      .orderBy("issued_at")
      .execute();
    const newest = new Map<string, NodeRecord["cert"]>();
    for (const c of certs) newest.set(c.node, { serial: c.serial, issuedAt: c.issued_at, expiresAt: c.expires_at });
    return rows.map((r) => toRecord(r, newest.get(r.name) ?? null));
  }

  /**
   * Registers `name` (or gives a still pending one a new token). False when a joined node has
   * that name: it must be removed first.
   */
  async addPending(n: { name: string; url: string; hostnames: string[]; secretHash: string; expiresAt: string; createdBy: string }): Promise<boolean> {
    return serializable(this.db, async (trx) => {
      const row = await trx.selectFrom("nodes").select("state").where("name", "=", n.name).executeTakeFirst();
      if (row?.state === "joined") return false;
      const values = {
        url: n.url,
        hostnames: JSON.stringify(n.hostnames),
        state: "pending" as const,
        join_secret_hash: n.secretHash,
        token_expires_at: n.expiresAt,
        created_by: n.createdBy,
        created_at: new Date().toISOString(),
      };
      if (row) await trx.updateTable("nodes").set(values).where("name", "=", n.name).execute();
      else
        await trx
          .insertInto("nodes")
          .values({ name: n.name, ...values, account_id: null, policy_rule_id: null, joined_at: null })
          .execute();
      return true;
    });
  }

  /**
   * Uses a join token: the pending node it belongs to, now marked as joining (the token is
   * gone, whatever happens next), or why not. `now` is compared with the token's expiry.
   */
  async takeToken(secretHash: string, now: Date): Promise<NodeRecord | "unknown" | "expired"> {
    return serializable(this.db, async (trx) => {
      const row = await trx.selectFrom("nodes").selectAll().where("join_secret_hash", "=", secretHash).executeTakeFirst();
      if (!row || row.state !== "pending") return "unknown";
      await trx.updateTable("nodes").set({ join_secret_hash: null }).where("name", "=", row.name).execute();
      if (!row.token_expires_at || Date.parse(row.token_expires_at) <= now.getTime()) return "expired";
      return toRecord(row, null);
    });
  }

  async markJoined(name: string, accountId: string, policyRuleId: number | null): Promise<void> {
    await this.db
      .updateTable("nodes")
      .set({ state: "joined", account_id: accountId, policy_rule_id: policyRuleId, joined_at: new Date().toISOString(), token_expires_at: null })
      .where("name", "=", name)
      .execute();
  }

  async recordCert(node: string, serial: string, issuedAt: Date, expiresAt: Date): Promise<void> {
    await this.db
      .insertInto("node_certs")
      .values({ serial, node, issued_at: issuedAt.toISOString(), expires_at: expiresAt.toISOString(), revoked_at: null })
      .execute();
  }

  /** Deletes the node and revokes its certificates; the removed record and the revoked serials. */
  async remove(name: string): Promise<{ node: NodeRecord; revoked: string[] } | undefined> {
    const node = await this.get(name);
    if (!node) return undefined;
    const now = new Date().toISOString();
    const revoked = await serializable(this.db, async (trx) => {
      await trx.deleteFrom("nodes").where("name", "=", name).execute();
      const rows = await trx.selectFrom("node_certs").select("serial").where("node", "=", name).where("revoked_at", "is", null).execute();
      await trx.updateTable("node_certs").set({ revoked_at: now }).where("node", "=", name).where("revoked_at", "is", null).execute();
      return rows.map((r) => r.serial);
    });
    return { node, revoked };
  }

  /** Serials of revoked certificates that have not expired yet. */
  async revokedSerials(now: Date): Promise<string[]> {
    const rows = await this.db
      .selectFrom("node_certs")
      .select("serial")
      .where("revoked_at", "is not", null)
      .where("expires_at", ">", now.toISOString())
      .orderBy("serial")
      .execute();
    return rows.map((r) => r.serial);
  }

  /** Forgets certificates that expired more than a day ago (revoked or not): the upkeep. */
  async pruneExpiredCerts(now: Date): Promise<number> {
    const res = await this.db
      .deleteFrom("node_certs")
      .where("expires_at", "<", new Date(now.getTime() - 86_400_000).toISOString())
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
