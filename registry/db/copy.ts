// Copies the registry's metadata from one database to another (`mcr migrate`: the embedded
// SQLite file into PostgreSQL), in one transaction on the target, keeping every id so that
// references stay as they are; PostgreSQL's identity sequences are then moved past them.
// Upload sessions are not copied: their bytes stay with the old storage.
import type { Kysely } from "kysely";
import { dialectOf, resetIdentities } from "./dialect.ts";
import type { RegistryDatabase } from "./schema.ts";

/** Parents before children (foreign keys). */
export const COPIED_TABLES = [
  "repositories",
  "blobs",
  "repository_blobs",
  "manifests",
  "tags",
  "manifest_blobs",
  "manifest_children",
  "accounts",
  "tokens",
  "policy_rules",
  "audit_log",
] as const satisfies readonly (keyof RegistryDatabase)[];
type Table = (typeof COPIED_TABLES)[number];

/** Tables that must be empty on the target: what an earlier push or migration would have put there. */
const CONTENT: Table[] = ["repositories", "blobs", "manifests"];
/** Tables `mcr init` fills (its admin account) or that start empty; the source's replace them. */
const REPLACED: Table[] = ["audit_log", "policy_rules", "tokens", "accounts"];
const WITH_ID: Table[] = ["repositories", "blobs", "manifests", "tags", "policy_rules", "audit_log"];
const ORDER: Record<Table, string[]> = {
  repositories: ["id"],
  blobs: ["id"],
  repository_blobs: ["repository_id", "blob_id"],
  manifests: ["id"],
  tags: ["id"],
  manifest_blobs: ["manifest_id", "blob_id"],
  manifest_children: ["manifest_id", "child_digest"],
  accounts: ["id"],
  tokens: ["token_hash"],
  policy_rules: ["id"],
  audit_log: ["id"],
};
/** Rows per INSERT, and bytes (manifests are up to 4 MiB each). */
const BATCH = 500;
const BATCH_BYTES = 8 * 1024 * 1024;

export type CopyCounts = Record<Table, number>;

const count = async (db: Kysely<RegistryDatabase>, t: Table) =>
  Number(
    (
      await db
        .selectFrom(t)
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );

export async function copyMetadata(from: Kysely<RegistryDatabase>, to: Kysely<RegistryDatabase>): Promise<CopyCounts> {
  if (dialectOf(from) !== "sqlite") throw new Error("mcr migrate copies from an embedded registry's SQLite database");
  for (const t of CONTENT) {
    const n = await count(to, t);
    if (n > 0) throw new Error(`the target database already holds registry content (${n} ${t}): migrate into a new, empty one`);
  }
  const counts = {} as CopyCounts;
  await to.transaction().execute(async (trx) => {
    for (const t of REPLACED) await trx.deleteFrom(t).execute();
    for (const t of COPIED_TABLES) {
      counts[t] = 0;
      let batch: Record<string, unknown>[] = [];
      let bytes = 0;
      const flush = async () => {
        if (batch.length)
          await trx
            .insertInto(t)
            .values(batch as never)
            .execute();
        counts[t] += batch.length;
        batch = [];
        bytes = 0;
      };
      // Streamed from the SQLite file: no table is held in memory whole.
      let q = from.selectFrom(t).selectAll();
      for (const c of ORDER[t]) q = q.orderBy(c as never);
      for await (const row of q.stream()) {
        batch.push(row as Record<string, unknown>);
        bytes += Buffer.isBuffer((row as { content?: unknown }).content) ? (row as { content: Buffer }).content.length : 200;
        if (batch.length >= BATCH || bytes >= BATCH_BYTES) await flush();
      }
      await flush();
    }
    await resetIdentities(trx, WITH_ID);
  });
  for (const t of COPIED_TABLES) {
    const n = await count(to, t);
    if (n !== counts[t]) throw new Error(`copy check failed: ${t} has ${n} rows on the target, ${counts[t]} were copied`);
  }
  return counts;
}
