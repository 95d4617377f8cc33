// The GC benchmark's content, written straight to storage (pushing 50,000 blobs over HTTP
// would take most of the run): the same repositories, manifests and blobs in an mcr home
// (rows in mcr.db, files in layers/) and in distribution 2.8's filesystem layout. A share
// of the manifests has its tag removed: with --untagged (mcr) or --delete-untagged
// (distribution) they and their blobs are the garbage.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import SQLite from "better-sqlite3";

export interface ContentSpec {
  repositories: number;
  manifests: number;
  /** Blobs per manifest (one config, the rest layers), none shared. */
  blobsPerManifest: number;
  blobBytes: number;
  /** Share of manifests left untagged (garbage). */
  untagged: number;
}

export interface Blob {
  digest: string;
  hex: string;
  data: Buffer;
}

export interface Image {
  repo: string;
  tag: string | null;
  config: Blob;
  layers: Blob[];
  manifest: Blob;
}

const blob = (data: Buffer): Blob => {
  const hex = createHash("sha256").update(data).digest("hex");
  return { digest: `sha256:${hex}`, hex, data };
};

export function generate(spec: ContentSpec): Image[] {
  const images: Image[] = [];
  for (let i = 0; i < spec.manifests; i++) {
    const repo = `bench/repo${i % spec.repositories}`;
    const config = blob(Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", i, r: randomBytes(8).toString("hex") })));
    const layers = Array.from({ length: spec.blobsPerManifest - 1 }, () => blob(randomBytes(spec.blobBytes)));
    const desc = (mediaType: string, b: Blob) => ({ mediaType, digest: b.digest, size: b.data.length });
    const manifest = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: desc("application/vnd.oci.image.config.v1+json", config),
          layers: layers.map((l) => desc("application/vnd.oci.image.layer.v1.tar", l)),
        }),
      ),
    );
    // Every repository keeps tags (distribution 2.8's GC fails on a repository without any).
    const tag = Math.floor(i / spec.repositories) % 10 < spec.untagged * 10 ? null : `v${i}`;
    images.push({ repo, tag, config, layers, manifest });
  }
  return images;
}

function writeFile(dir: string, name: string, data: Buffer | string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), data);
}

/** Rows in `dbPath` (an initialised mcr.db) and files under `layers`; everything last used in 2000. */
export function writeMcr(images: Image[], dbPath: string, layers: string): void {
  const db = new SQLite(dbPath);
  const old = "2000-01-01T00:00:00.000Z";
  try {
    db.pragma("journal_mode = WAL");
    const repoId = new Map<string, number>();
    const insertRepo = db.prepare("insert into repositories (name) values (?)");
    const insertBlob = db.prepare("insert into blobs (digest, size, created_at, last_used_at) values (?, ?, ?, ?)");
    const link = db.prepare("insert into repository_blobs (repository_id, blob_id) values (?, ?)");
    const insertManifest = db.prepare(
      "insert into manifests (repository_id, digest, media_type, content, size, created_at, last_used_at) values (?, ?, ?, ?, ?, ?, ?)",
    );
    const ref = db.prepare("insert into manifest_blobs (manifest_id, blob_id) values (?, ?)");
    const tag = db.prepare("insert into tags (repository_id, name, manifest_id, updated_at) values (?, ?, ?, ?)");
    db.transaction(() => {
      for (const img of images) {
        let r = repoId.get(img.repo);
        if (r === undefined) repoId.set(img.repo, (r = Number(insertRepo.run(img.repo).lastInsertRowid)));
        const ids = [img.config, ...img.layers].map((b) => {
          const id = Number(insertBlob.run(b.digest, b.data.length, old, old).lastInsertRowid);
          link.run(r, id);
          return id;
        });
        const m = Number(
          insertManifest.run(r, img.manifest.digest, "application/vnd.oci.image.manifest.v1+json", img.manifest.data, img.manifest.data.length, old, old)
            .lastInsertRowid,
        );
        for (const id of ids) ref.run(m, id);
        if (img.tag) tag.run(r, img.tag, m, old);
      }
    })();
  } finally {
    db.close();
  }
  for (const img of images) for (const b of [img.config, ...img.layers]) writeFile(join(layers, "sha256", b.hex.slice(0, 2)), b.hex, b.data);
}

/** distribution 2.8's layout under `root` (its storage rootdirectory). */
export function writeDistribution(images: Image[], root: string): void {
  const v2 = join(root, "docker", "registry", "v2");
  for (const img of images) {
    const repo = join(v2, "repositories", img.repo);
    for (const b of [img.config, ...img.layers, img.manifest]) writeFile(join(v2, "blobs", "sha256", b.hex.slice(0, 2), b.hex), "data", b.data);
    for (const b of [img.config, ...img.layers]) writeFile(join(repo, "_layers", "sha256", b.hex), "link", b.digest);
    writeFile(join(repo, "_manifests", "revisions", "sha256", img.manifest.hex), "link", img.manifest.digest);
    if (img.tag) {
      writeFile(join(repo, "_manifests", "tags", img.tag, "current"), "link", img.manifest.digest);
      writeFile(join(repo, "_manifests", "tags", img.tag, "index", "sha256", img.manifest.hex), "link", img.manifest.digest);
    }
  }
}
