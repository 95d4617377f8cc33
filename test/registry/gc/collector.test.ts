// The garbage collector on a real database and blob store: what goes and what stays
// (references, grace window, untagged manifests), dry runs, reconcile, and the manager
// (one run at a time, watchers joining mid-run).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { KeyedLock } from "../../../lib/sync/keyed-lock.ts";
import { RwLock } from "../../../lib/sync/rw-lock.ts";
import { AuditLog } from "../../../registry/audit/audit-log.ts";
import { Metadata } from "../../../registry/db/metadata.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import { GarbageCollector, type GcOptions } from "../../../registry/gc/collector.ts";
import { GcBusyError, GcManager } from "../../../registry/gc/manager.ts";
import { commitBlob } from "../../../registry/oci/uploads.ts";
import { parseDigest } from "../../../registry/storage/digest.ts";
import { LocalBlobStore } from "../../../registry/storage/local-fs.ts";

const HOUR = 3_600_000;
const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const opts = (o: Partial<GcOptions> = {}): GcOptions => ({ dryRun: false, untagged: false, reconcile: false, graceMs: HOUR, ...o });

describe("garbage collector", () => {
  let dir: string;
  let db: Kysely<RegistryDatabase>;
  let meta: Metadata;
  let store: LocalBlobStore;
  const locks = { digests: new KeyedLock(), commits: new RwLock() };
  /** The collector's clock: two hours ahead makes everything written now older than the grace. */
  let later = 0;
  let gc: GarbageCollector;
  let n = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gc-"));
    ({ db } = await openSqlite<RegistryDatabase>(join(dir, "mcr.db"), registryMigrations));
    meta = new Metadata(db);
    store = await LocalBlobStore.open(join(dir, "layers"), join(dir, "uploads"));
    gc = new GarbageCollector({ db, store, locks, log: silentLogger(), now: () => Date.now() + later });
  });
  after(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Uploads `data` into `repo` through the real commit path. */
  async function upload(repo: string, data = Buffer.from(`blob ${++n} ${Math.random()}`)): Promise<string> {
    const repoId = await meta.ensureRepository(repo);
    const uuid = `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
    await store.startUpload(uuid);
    const size = await store.appendUpload(uuid, 0, Readable.from([data]));
    await commitBlob({ store, meta, blobLocks: locks }, { uuid, repositoryId: repoId, byteOffset: size }, size, parseDigest(sha(data)));
    return sha(data);
  }

  async function manifest(repo: string, blobs: string[], tag: string | null, extra: { children?: string[]; subject?: string } = {}): Promise<string> {
    const content = Buffer.from(JSON.stringify({ blobs, n: ++n, ...extra }));
    const digest = sha(content);
    const r = await meta.putManifest(
      repo,
      {
        digest,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        content,
        size: content.length,
        blobDigests: blobs,
        childDigests: extra.children ?? [],
        subjectDigest: extra.subject ?? null,
        artifactType: null,
      },
      tag,
    );
    assert.deepEqual(r, { missingBlobs: [], missingManifests: [] });
    return digest;
  }

  const hasFile = async (d: string) => (await store.stat(parseDigest(d))) !== undefined;
  const hasRow = async (d: string) => (await meta.blobSize(d)) !== undefined;

  test("unreferenced blobs past the grace window go (row, file, empty prefix folder); referenced and recent ones stay", async () => {
    const kept = await upload("a");
    await manifest("a", [kept], "v1");
    const old = await upload("a");
    const prefix = join(dir, "layers", "sha256", old.slice(7, 9));
    later = 0;
    let r = await gc.run(opts());
    assert.equal(r.blobsMarked, 0, "everything is within the grace window");
    later = 2 * HOUR;
    r = await gc.run(opts());
    assert.deepEqual(
      r.blobs.map((b) => b.digest),
      [old],
    );
    assert.equal(r.blobsSwept, 1);
    assert.ok(r.bytesFreed > 0);
    assert.equal(await hasRow(old), false);
    assert.equal(await hasFile(old), false);
    if (!kept.startsWith(old.slice(0, 9))) assert.equal(existsSync(prefix), false, "the empty prefix folder is removed");
    assert.equal(await hasFile(kept), true);
    assert.equal(await hasRow(kept), true);
  });

  test("marked in batches: a push and a tag between the read and a batch keep what they need; an untagged index and its child both go", async () => {
    later = 2 * HOUR;
    const lateRef = await upload("batch");
    const layer = await upload("batch");
    const tagged = await manifest("batch", [layer], null); // untagged when the candidates are read
    const child = await manifest("batch", [], null);
    const parent = await manifest("batch", [], null, { children: [child] });
    let interfered = false;
    const racing = new GarbageCollector({
      db,
      store,
      log: silentLogger(),
      now: () => Date.now() + later,
      locks: {
        digests: locks.digests,
        commits: {
          shared: (fn) => locks.commits.shared(fn),
          // Before the first batch: a tag and a manifest push land, as they may between two batches.
          exclusive: async (fn) => {
            if (!interfered) {
              interfered = true;
              const content = (await meta.getManifest("batch", tagged, true))!.content;
              await meta.putManifest(
                "batch",
                {
                  digest: tagged,
                  mediaType: "application/vnd.oci.image.manifest.v1+json",
                  content,
                  size: content.length,
                  blobDigests: [layer],
                  childDigests: [],
                  subjectDigest: null,
                  artifactType: null,
                },
                "keep",
              );
              await manifest("batch", [lateRef], "late");
            }
            return locks.commits.exclusive(fn);
          },
        },
      },
    });
    const r = await racing.run(opts({ untagged: true }));
    assert.ok(interfered);
    assert.deepEqual(new Set(r.manifests.map((m) => m.digest)), new Set([parent, child]), "the index and, in the next round, its child");
    assert.ok(await meta.getManifest("batch", tagged, true), "tagged between the read and its batch: kept");
    assert.equal(await hasRow(layer), true);
    assert.equal(await hasRow(lateRef), true, "referenced between the read and its batch: kept");
    assert.equal(await hasFile(lateRef), true);
  });

  test("a dry run changes nothing and reports exactly what the real run then removes", async () => {
    later = 2 * HOUR;
    const a = await upload("dry");
    const b = await upload("dry");
    const m = await manifest("dry", [b], null);
    const dry = await gc.run(opts({ dryRun: true, untagged: true }));
    assert.deepEqual(
      dry.manifests.map((x) => x.digest),
      [m],
    );
    assert.deepEqual(new Set(dry.blobs.map((x) => x.digest)), new Set([a, b]));
    assert.equal(dry.blobsSwept, 0);
    assert.equal(await hasRow(a), true);
    assert.equal(await hasFile(b), true);
    assert.equal((await meta.getManifest("dry", m, true))?.digest, m);
    const real = await gc.run(opts({ untagged: true }));
    assert.deepEqual(real.manifests, dry.manifests);
    assert.deepEqual(real.blobs, dry.blobs);
    assert.equal(real.bytesFreed, dry.bytesMarked);
  });

  test("untagged: tagged manifests, children of kept indexes, referrers of kept manifests and recent pushes stay", async () => {
    later = 2 * HOUR;
    const layer = await upload("u");
    const child = await manifest("u", [layer], null);
    const index = await manifest("u", [], "multi", { children: [child] });
    const signature = await manifest("u", [], null, { subject: index });
    const orphanLayer = await upload("u");
    const untagged = await manifest("u", [orphanLayer], null);
    const r = await gc.run(opts({ untagged: true }));
    assert.deepEqual(
      r.manifests.map((m) => m.digest),
      [untagged],
    );
    assert.deepEqual(
      r.blobs.map((b) => b.digest),
      [orphanLayer],
    );
    for (const d of [child, index, signature]) assert.ok(await meta.getManifest("u", d, true), d);
    assert.equal(await hasFile(layer), true);
    // Within the grace window, an untagged manifest (a push in progress) stays.
    later = 0;
    const fresh = await manifest("u", [layer], null);
    assert.equal((await gc.run(opts({ untagged: true }))).manifestsRemoved, 0);
    assert.ok(await meta.getManifest("u", fresh, true));
  });

  test("without --untagged, untagged manifests and their blobs stay", async () => {
    later = 2 * HOUR;
    const layer = await upload("keep");
    await manifest("keep", [layer], null);
    const r = await gc.run(opts());
    assert.equal(r.manifestsRemoved, 0);
    assert.ok(!r.blobs.some((b) => b.digest === layer));
  });

  test("reconcile removes files without a row and reports rows without a file", async () => {
    later = 0;
    const orphanData = Buffer.from("orphan file");
    const orphan = sha(orphanData);
    mkdirSync(join(dir, "layers", "sha256", orphan.slice(7, 9)), { recursive: true });
    writeFileSync(join(dir, "layers", "sha256", orphan.slice(7, 9), orphan.slice(7)), orphanData);
    const lost = await upload("r");
    await manifest("r", [lost], "v1");
    rmSync(join(dir, "layers", "sha256", lost.slice(7, 9), lost.slice(7)));
    const dry = await gc.run(opts({ reconcile: true, dryRun: true }));
    assert.deepEqual(dry.orphans, [orphan]);
    assert.deepEqual(dry.missing, [lost]);
    assert.equal(await hasFile(orphan), true, "a dry run leaves the orphan");
    const r = await gc.run(opts({ reconcile: true }));
    assert.deepEqual(r.orphans, [orphan]);
    assert.equal(r.orphanBytes, orphanData.length);
    assert.equal(await hasFile(orphan), false);
    assert.deepEqual(r.missing, [lost], "rows without a file are reported, never changed");
    assert.equal(await hasRow(lost), true);
  });

  test("the manager runs one collection at a time; a watcher joining mid-run gets the state at once, then the end", async () => {
    later = 2 * HOUR;
    await upload("w");
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    let marked!: () => void;
    const atMark = new Promise<void>((r) => (marked = r));
    const slow = new GarbageCollector({
      db,
      store,
      locks,
      log: silentLogger(),
      now: () => Date.now() + later,
      hooks: { afterMark: async () => (marked(), paused) },
    });
    const audit = new AuditLog(db, silentLogger());
    const manager = new GcManager(slow, audit, silentLogger());
    const run = manager.start(opts(), "tester");
    await atMark;
    assert.throws(() => manager.start(opts(), "tester"), GcBusyError);
    const seen: string[] = [];
    const watching = (async () => {
      for await (const s of manager.watch()) seen.push(`${s.phase}${s.completedAt ? " (ended)" : ""}`);
    })();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, ["sweeping"], "joined mid-run: the current phase first");
    assert.equal(manager.status().current?.id, run.id);
    release();
    await watching;
    assert.equal(seen.at(-1), "done (ended)");
    assert.equal(manager.status().current, undefined);
    assert.equal(manager.status().last?.id, run.id);
    assert.ok((manager.status().last?.blobsSwept ?? 0) >= 1);
    // No run in progress: a watcher gets the last run and the end.
    const after: string[] = [];
    for await (const s of manager.watch()) after.push(s.id);
    assert.deepEqual(after, [run.id]);
    await audit.flush();
    const events = await audit.list({ type: "gc_completed" });
    assert.equal(events[0]?.details?.id, run.id);
  });
});
