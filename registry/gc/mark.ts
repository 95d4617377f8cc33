// GC phase 1 (mark): removes the manifests that are to go (only when untagged manifests
// are collected) and the rows of blobs that no manifest references and whose grace window
// has passed.
//
// A real run works in bounded batches (markInBatches), so that no push waits for the whole
// mark: it reads the candidates, then deletes them BATCH at a time, each batch in its own
// short transaction under the exclusive side of the commit lock, and each row only if it
// still qualifies at that moment (the same conditions, checked again in the delete's
// transaction: a push or a tag between two batches keeps what it needs). A dry run does
// the whole mark in one transaction and rolls it back (mark), so its numbers are exactly
// what a run would remove at that moment.
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

// Rows per batch of the real run: each batch holds the commit lock (and on SQLite the event
// loop) while it checks and deletes them, so pushes wait at most that long.
const BATCH = 200;

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
        await trx
          .deleteFrom("blobs")
          .where(
            "id",
            "in",
            blobs.slice(i, i + BATCH).map((b) => b.id),
          )
          .execute();
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

/** Runs `fn` under the exclusive side of the commit lock (the collector's lock). */
export type Exclusive = <T>(fn: () => Promise<T>) => Promise<T>;

/** The real run's mark: candidates read first, then removed in short, re-checked batches. */
export async function markInBatches(db: Kysely<RegistryDatabase>, o: { cutoff: string; untagged: boolean; exclusive: Exclusive }): Promise<MarkResult> {
  const manifests = o.untagged ? await removeUntaggedInBatches(db, o.cutoff, o.exclusive) : [];
  const candidates = await unusedBlobs(db, o.cutoff);
  const blobs: MarkedBlob[] = [];
  for (let i = 0; i < candidates.length; i += BATCH) {
    const batch = candidates.slice(i, i + BATCH);
    const removed = await o.exclusive(() =>
      serializable(db, async (trx) => {
        // Still unreferenced and unused now: a manifest PUT or a HEAD since the read keeps it.
        const still = await unusedBlobQuery(trx, o.cutoff)
          .where(
            "b.id",
            "in",
            batch.map((b) => b.id),
          )
          .execute();
        if (still.length)
          await trx
            .deleteFrom("blobs")
            .where(
              "id",
              "in",
              still.map((b) => b.id),
            )
            .execute();
        return new Set(still.map((b) => b.id));
      }),
    );
    // In digest order, as the dry run lists them.
    for (const b of batch) if (removed.has(b.id)) blobs.push({ digest: b.digest, size: b.size });
  }
  return { manifests, blobs };
}

function unusedBlobQuery(db: Kysely<RegistryDatabase> | Trx, cutoff: string) {
  return db
    .selectFrom("blobs as b")
    .select(["b.id", "b.digest", "b.size"])
    .where(sql<string>`coalesce(b.last_used_at, b.created_at)`, "<", cutoff)
    .where((eb) => eb.not(eb.exists(eb.selectFrom("manifest_blobs as mb").select("mb.blob_id").whereRef("mb.blob_id", "=", "b.id"))));
}

/** Rows read per query by the real run's candidate reads, which yield to other requests between pages. */
const PAGE = 500;
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs `read(lo, hi)` over `table`'s ids in ranges of PAGE, yielding between them: on SQLite
 * every query blocks the event loop for as long as it runs, and one read of 50,000 blobs held
 * every push for tens of milliseconds. Each range reads at most PAGE rows by primary key.
 */
async function inPages<T>(db: Kysely<RegistryDatabase>, table: "blobs" | "manifests", read: (lo: number, hi: number) => Promise<T[]>): Promise<T[]> {
  const bounds = await db
    .selectFrom(table)
    .select((eb) => [eb.fn.min("id").as("lo"), eb.fn.max("id").as("hi")])
    .executeTakeFirst();
  const out: T[] = [];
  if (bounds?.lo == null || bounds.hi == null) return out;
  for (let lo = Number(bounds.lo); lo <= Number(bounds.hi); lo += PAGE) {
    out.push(...(await read(lo, lo + PAGE - 1)));
    await yieldToRequests();
  }
  return out;
}

/** The blobs no manifest references and nothing used since the cutoff, in digest order, read page by page. */
async function unusedBlobs(db: Kysely<RegistryDatabase>, cutoff: string) {
  const rows = await inPages(db, "blobs", (lo, hi) => unusedBlobQuery(db, cutoff).where("b.id", ">=", lo).where("b.id", "<=", hi).execute());
  return rows.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/**
 * Untagged manifests in batches. The candidates are those the one-transaction rule would
 * remove at the time of the read; each is removed only if, in its batch's transaction, it
 * is still untagged and unused since the cutoff, no manifest that still exists lists it as
 * a child, and its subject (if any) no longer exists. Rounds repeat until one removes
 * nothing: a parent index goes in one round, its children in the next.
 */
async function removeUntaggedInBatches(db: Kysely<RegistryDatabase>, cutoff: string, exclusive: Exclusive): Promise<RemovedManifest[]> {
  // Read page by page, not in one snapshot: each batch below checks its rows again in its own transaction.
  const candidates = await unreachableManifests(db, cutoff, true);
  let pending = candidates;
  const removedIds = new Set<number>();
  for (;;) {
    const gone = new Set<number>();
    for (let i = 0; i < pending.length; i += BATCH) {
      const batch = pending.slice(i, i + BATCH);
      const ids = await exclusive(() =>
        serializable(db, async (trx) => {
          const ok = await trx
            .selectFrom("manifests as m")
            .select("m.id")
            .where(
              "m.id",
              "in",
              batch.map((r) => r.id),
            )
            .where(sql<string>`coalesce(m.last_used_at, m.created_at)`, "<", cutoff)
            .where((eb) => eb.not(eb.exists(eb.selectFrom("tags as t").select("t.id").whereRef("t.manifest_id", "=", "m.id"))))
            .where((eb) =>
              eb.not(
                eb.exists(
                  eb
                    .selectFrom("manifest_children as mc")
                    .innerJoin("manifests as p", "p.id", "mc.manifest_id")
                    .select("mc.manifest_id")
                    .whereRef("mc.child_digest", "=", "m.digest")
                    .whereRef("p.repository_id", "=", "m.repository_id"),
                ),
              ),
            )
            .where((eb) =>
              eb.or([
                eb("m.subject_digest", "is", null),
                eb.not(
                  eb.exists(
                    eb
                      .selectFrom("manifests as s")
                      .select("s.id")
                      .whereRef("s.digest", "=", "m.subject_digest")
                      .whereRef("s.repository_id", "=", "m.repository_id"),
                  ),
                ),
              ]),
            )
            .execute();
          if (ok.length)
            await trx
              .deleteFrom("manifests")
              .where(
                "id",
                "in",
                ok.map((r) => r.id),
              )
              .execute();
          return ok.map((r) => r.id);
        }),
      );
      for (const id of ids) gone.add(id);
    }
    if (gone.size === 0) break;
    for (const id of gone) removedIds.add(id);
    pending = pending.filter((r) => !gone.has(r.id));
  }
  // In the order of the read, as the dry run lists them.
  return candidates.filter((r) => removedIds.has(r.id)).map((r) => ({ repository: r.name, digest: r.digest, size: r.size }));
}

/**
 * Manifests to keep, per repository: those a tag points at and those pushed within the
 * grace window (a push in progress: children before their index, a subject before its
 * referrers), then, transitively, the children of kept indexes and the referrers of kept
 * manifests. The rest are removed; their blob references go with them (cascade).
 */
async function removeUntagged(trx: Trx, cutoff: string): Promise<RemovedManifest[]> {
  const gone = await unreachableManifests(trx, cutoff);
  for (let i = 0; i < gone.length; i += BATCH) {
    await trx
      .deleteFrom("manifests")
      .where(
        "id",
        "in",
        gone.slice(i, i + BATCH).map((r) => r.id),
      )
      .execute();
  }
  return gone.map((r) => ({ repository: r.name, digest: r.digest, size: r.size }));
}

/** The manifests no tag, kept index or recent use reaches (the rule above), read in `trx`. */
async function unreachableManifests(
  trx: Trx | Kysely<RegistryDatabase>,
  cutoff: string,
  paged = false,
): Promise<{ id: number; name: string; digest: string; size: number }[]> {
  const manifests = (lo?: number, hi?: number) => {
    let q = trx
      .selectFrom("manifests as m")
      .innerJoin("repositories as r", "r.id", "m.repository_id")
      .select(["m.id", "m.repository_id", "r.name", "m.digest", "m.size", "m.subject_digest"])
      .select(sql<string>`coalesce(m.last_used_at, m.created_at)`.as("used"))
      .select((eb) => eb.exists(eb.selectFrom("tags as t").select("t.id").whereRef("t.manifest_id", "=", "m.id")).as("tagged"));
    if (lo !== undefined && hi !== undefined) q = q.where("m.id", ">=", lo).where("m.id", "<=", hi);
    return q.execute();
  };
  const childRows = (lo?: number, hi?: number) => {
    let q = trx.selectFrom("manifest_children").select(["manifest_id", "child_digest"]);
    if (lo !== undefined && hi !== undefined) q = q.where("manifest_id", ">=", lo).where("manifest_id", "<=", hi);
    return q.execute();
  };
  const db = trx as Kysely<RegistryDatabase>;
  const rows = paged ? await inPages(db, "manifests", manifests) : await manifests();
  const children = paged ? await inPages(db, "manifests", childRows) : await childRows();
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
  return rows.filter((r) => !kept.has(r.id));
}

/** True when a blob row exists for `digest` (phase 2 re-checks this under the digest's lock). */
export async function blobRowExists(db: Kysely<RegistryDatabase>, digest: string): Promise<boolean> {
  return (await db.selectFrom("blobs").select("id").where("digest", "=", digest).executeTakeFirst()) !== undefined;
}
