// `mcr check --verify N|all`: reads blobs back from the store (the local folder or the bucket)
// and hashes them, reporting every blob whose content does not hash to its digest, whose size
// is not its row's, or that cannot be read. A sample is N rows chosen at random by the
// database; "all" pages through every row, 500 at a time. A few blobs are read at once (an
// object store answers each with some latency). A blob whose row is gone by the time its read
// fails was collected meanwhile, not damaged: it is left out. Changes nothing.
import { sql, type Kysely } from "kysely";
import type { RegistryDatabase } from "../db/schema.ts";
import { BlobMissingError, type BlobStore } from "../storage/blob-store.ts";
import { newHash, parseDigest, type Digest } from "../storage/digest.ts";

/** How many blobs to read back: a number chosen at random, or every one. */
export type VerifySample = number | "all";

export interface CorruptBlob {
  digest: string;
  /** What is wrong, in words: the digest its content hashes to, its size, or the read error. */
  problem: string;
}

export interface BlobVerification {
  /** Blobs read and hashed. */
  blobs: number;
  bytes: number;
  corrupt: CorruptBlob[];
}

/** The largest sample asked for by number (more is "all"). */
export const MAX_VERIFY_SAMPLE = 1_000_000_000;

/** `--verify`'s value: a whole number of blobs (1 or more) or "all"; throws with a message naming the value otherwise. */
export function parseVerify(text: string, what = "--verify"): VerifySample {
  if (text === "all") return "all";
  if (/^\d{1,10}$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= MAX_VERIFY_SAMPLE) return n;
  }
  throw new Error(`${what} takes a number of blobs to read back (1 to ${MAX_VERIFY_SAMPLE}) or "all", not ${JSON.stringify(text.slice(0, 100))}`);
}

const PAGE = 500;
const CONCURRENCY = 4;

type Row = { id: number; digest: string; size: number };

async function* rowsToVerify(db: Kysely<RegistryDatabase>, sample: VerifySample): AsyncGenerator<Row[]> {
  if (sample !== "all") {
    // random() is SQLite's and PostgreSQL's alike.
    yield await db.selectFrom("blobs").select(["id", "digest", "size"]).orderBy(sql`random()`).limit(sample).execute();
    return;
  }
  for (let after = 0; ; ) {
    const page = await db.selectFrom("blobs").select(["id", "digest", "size"]).where("id", ">", after).orderBy("id").limit(PAGE).execute();
    if (page.length === 0) return;
    yield page;
    after = page[page.length - 1]!.id;
  }
}

/** Reads the blob and compares it with its row; `problem` is absent when it matches. */
async function verifyOne(store: BlobStore, row: Row): Promise<{ problem?: string; bytes: number }> {
  let digest: Digest;
  try {
    digest = parseDigest(row.digest);
  } catch (err) {
    return { problem: (err as Error).message, bytes: 0 };
  }
  const hash = newHash(digest.algorithm);
  let bytes = 0;
  try {
    for await (const chunk of await store.open(digest)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (err) {
    return { problem: err instanceof BlobMissingError ? "missing from storage" : `cannot be read: ${(err as Error).message}`, bytes };
  }
  const actual = `${digest.algorithm}:${hash.digest("hex")}`;
  if (actual !== digest.text) return { problem: `content hashes to ${actual} (${bytes} bytes)`, bytes };
  if (bytes !== Number(row.size)) return { problem: `${bytes} bytes, the row says ${row.size}`, bytes };
  return { bytes };
}

export async function verifyBlobs(db: Kysely<RegistryDatabase>, store: BlobStore, sample: VerifySample, signal?: AbortSignal): Promise<BlobVerification> {
  const out: BlobVerification = { blobs: 0, bytes: 0, corrupt: [] };
  for await (const page of rowsToVerify(db, sample)) {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, page.length) }, async () => {
        for (let i = next++; i < page.length && !signal?.aborted; i = next++) {
          const row = page[i]!;
          const r = await verifyOne(store, row);
          if (r.problem?.startsWith("missing") || r.problem?.startsWith("cannot be read")) {
            // Collected since it was listed: not a problem of the store.
            const still = await db.selectFrom("blobs").select("id").where("id", "=", row.id).executeTakeFirst();
            if (!still) continue;
          }
          out.blobs++;
          out.bytes += r.bytes;
          if (r.problem) out.corrupt.push({ digest: row.digest, problem: r.problem });
        }
      }),
    );
    if (signal?.aborted) break;
  }
  out.corrupt.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return out;
}
