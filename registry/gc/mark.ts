// GC phase 1 (mark): in one database transaction, removes the manifests that are to go
// (only when untagged manifests are collected) and the rows of blobs that no manifest
// references and whose grace window has passed. A dry run does the same work and rolls
// it back, so its numbers are exactly what a real run would remove at that moment.
import { sql, type Kysely, type Transaction } from "kysely";
import { serializable } from "../db/dialect.ts";
import type { RegistryDatabase } from "../db/schema.ts";

export interface MarkedBlob {
  digest: string;
  size: number;
}

export interface RemovedManifest {
  repository: string;
  digest: string;
  size: number;
}

export interface MarkResult {
  manifests: RemovedManifest[];
  blobs: MarkedBlob[];
}

export interface MarkOptions {
  /** ISO 8601: only blobs and manifests last used before this may go. */
  cutoff: string;
  untagged: boolean;
  dryRun: boolean;
}

type Trx = Transaction<RegistryDatabase>;

class RollBack extends Error {
  constructor(readonly result: MarkResult) {
    super("dry run");
  }
}

const BATCH = 500;

export async function mark(db: Kysely<RegistryDatabase>, o: MarkOptions): Promise<MarkResult> {
  try {
    return await serializable(db, async (trx) => {
      const manifests = o.untagged ? await removeUntagged(trx, o.cutoff) : [];
      const blobs = await trx
        .selectFrom("blobs as b")
        .select(["b.id", "b.digest", "b.size"])
        .where(sql<string>`coalesce(b.last_used_at, b.created_at)`, "<", o.cutoff)
        .where((eb) => eb.not(eb.exists(eb.selectFrom("manifest_blobs as mb").select("mb.blob_id").whereRef("mb.blob_id", "=", "b.id"))))
        .orderBy("b.digest")
        .execute();
      for (let i = 0; i < blobs.length; i += BATCH) {
        // manifest_blobs' ON DELETE RESTRICT makes this fail rather than drop a referenced blob.
        await trx.deleteFrom("blobs").where("id", "in", blobs.slice(i, i + BATCH).map((b) => b.id)).execute();
      }
      const result = { manifests, blobs: blobs.map((b) => ({ digest: b.digest, size: b.size })) };
      if (o.dryRun) throw new RollBack(result);
      return result;
    });
  } catch (err) {
    if (err instanceof RollBack) return err.result;
    throw err;
  }
}

/**
 * Manifests to keep, per repository: those a tag points at and those pushed within the
 * grace window (a push in progress: children before their index, a subject before its
 * referrers), then, transitively, the children of kept indexes and the referrers of kept
 * manifests. The rest are removed; their blob references go with them (cascade).
 */
async function removeUntagged(trx: Trx, cutoff: string): Promise<RemovedManifest[]> {
  const rows = await trx
    .selectFrom("manifests as m")
    .innerJoin("repositories as r", "r.id", "m.repository_id")
    .select(["m.id", "m.repository_id", "r.name", "m.digest", "m.size", "m.subject_digest"])
    .select(sql<string>`coalesce(m.last_used_at, m.created_at)`.as("used"))
    .select((eb) => eb.exists(eb.selectFrom("tags as t").select("t.id").whereRef("t.manifest_id", "=", "m.id")).as("tagged"))
    .execute();
  const children = await trx.selectFrom("manifest_children").select(["manifest_id", "child_digest"]).execute();
  const key = (repo: number, digest: string) => `${repo}\u0000${digest}`;
  const byKey = new Map(rows.map((r) => [key(r.repository_id, r.digest), r]));
  const childrenOf = new Map<number, string[]>();
  for (const c of children) childrenOf.set(c.manifest_id, [...(childrenOf.get(c.manifest_id) ?? []), c.child_digest]);
  const referrersOf = new Map<string, typeof rows>();
  for (const r of rows) {
    if (r.subject_digest === null) continue;
    const k = key(r.repository_id, r.subject_digest);
    referrersOf.set(k, [...(referrersOf.get(k) ?? []), r]);
  }
  const kept = new Set<number>();
  const stack = rows.filter((r) => Boolean(r.tagged) || r.used >= cutoff);
  while (stack.length) {
    const m = stack.pop()!;
    if (kept.has(m.id)) continue;
    kept.add(m.id);
    for (const d of childrenOf.get(m.id) ?? []) {
      const child = byKey.get(key(m.repository_id, d));
      if (child) stack.push(child);
    }
    stack.push(...(referrersOf.get(key(m.repository_id, m.digest)) ?? []));
  }
  const gone = rows.filter((r) => !kept.has(r.id));
  for (let i = 0; i < gone.length; i += BATCH) {
    await trx.deleteFrom("manifests").where("id", "in", gone.slice(i, i + BATCH).map((r) => r.id)).execute();
  }
  return gone.map((r) => ({ repository: r.name, digest: r.digest, size: r.size }));
}

/** True when a blob row exists for `digest` (phase 2 re-checks this under the digest's lock). */
export async function blobRowExists(db: Kysely<RegistryDatabase>, digest: string): Promise<boolean> {
  return (await db.selectFrom("blobs").select("id").where("digest", "=", digest).executeTakeFirst()) !== undefined;
}
