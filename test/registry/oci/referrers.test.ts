// The referrers listing reads every referrer's stored manifest for its annotations. Rows
// stored before PUT checked their shape, or written straight into the database, may hold
// anything: each such referrer is listed without annotations, and the list never fails.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { openSqlite } from "../../../lib/db/sqlite.ts";
import { Metadata } from "../../../registry/db/metadata.ts";
import { registryMigrations } from "../../../registry/db/migrations.ts";
import type { RegistryDatabase } from "../../../registry/db/schema.ts";
import type { OciDeps } from "../../../registry/oci/deps.ts";
import { referrers } from "../../../registry/oci/listing.ts";
import { MEDIA } from "../../../registry/oci/manifest.ts";

const REPO = "team/app";
const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** GET /v2/<REPO>/referrers/<subject> through the handler; the answer's status and parsed body. */
async function listReferrers(meta: Metadata, subject: string): Promise<{ status: number; body: any }> {
  let status = 0;
  let text = "";
  const res = {
    writeHead(s: number) {
      status = s;
      return this;
    },
    end(body?: string) {
      text = body ?? "";
    },
  } as unknown as ServerResponse;
  await referrers({ meta } as unknown as OciDeps, { method: "GET" } as IncomingMessage, res, REPO, subject, new URLSearchParams());
  return { status, body: JSON.parse(text) };
}

describe("referrers listing with bad stored manifests", () => {
  let db: Kysely<RegistryDatabase>;
  let meta: Metadata;
  let path: string;
  let repoId: number;
  const subject = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: "a/b", digest: sha256(Buffer.from("c")), size: 1 }, layers: [] }),
  );

  /** Stores `content` as a referrer of the subject, straight into the manifests table. */
  async function insertReferrer(content: string): Promise<string> {
    const body = Buffer.from(content);
    const digest = sha256(body);
    await db
      .insertInto("manifests")
      .values({
        repository_id: repoId,
        digest,
        media_type: MEDIA.ociManifest,
        content: body,
        size: body.length,
        subject_digest: sha256(subject),
        artifact_type: "application/x-test",
        last_used_at: null,
      })
      .execute();
    return digest;
  }

  before(async () => {
    path = join(mkdtempSync(join(tmpdir(), "referrers-")), "mcr.db");
    ({ db } = await openSqlite<RegistryDatabase>(path, registryMigrations));
    meta = new Metadata(db);
    repoId = await meta.ensureRepository(REPO);
  });
  after(async () => {
    await db.destroy();
    rmSync(dirname(path), { recursive: true, force: true });
  });

  test("deeply nested, non-string, non-object and unparsable annotations are left out; good ones are listed", async () => {
    const good = await insertReferrer(JSON.stringify({ schemaVersion: 2, annotations: { "org.example.signed-by": "alice" } }));
    const bad = [
      await insertReferrer(`{"schemaVersion":2,"annotations":${'{"a":'.repeat(5000)}"x"${"}".repeat(5000)}}`),
      await insertReferrer(JSON.stringify({ schemaVersion: 2, annotations: { n: 1, ok: "x" } })),
      await insertReferrer(JSON.stringify({ schemaVersion: 2, annotations: ["x"] })),
      await insertReferrer(JSON.stringify({ schemaVersion: 2, annotations: "text" })),
      await insertReferrer("{ not json"),
      await insertReferrer("null"),
      await insertReferrer(JSON.stringify({ schemaVersion: 2, annotations: {} })),
    ];
    const { status, body } = await listReferrers(meta, sha256(subject));
    assert.equal(status, 200);
    assert.equal(body.mediaType, MEDIA.ociIndex);
    assert.deepEqual(
      body.manifests.map((d: { digest: string }) => d.digest),
      [good, ...bad],
      "every referrer is listed",
    );
    assert.deepEqual(body.manifests[0].annotations, { "org.example.signed-by": "alice" });
    for (const d of body.manifests.slice(1)) assert.equal(d.annotations, undefined, d.digest);
    assert.ok(body.manifests.every((d: { artifactType: string }) => d.artifactType === "application/x-test"));
  });
});
