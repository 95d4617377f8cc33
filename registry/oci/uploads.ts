// Blob push: POST (start, single-POST monolithic, cross-repository mount),
// PATCH (chunks), PUT (finish), GET (status), DELETE (cancel).
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BlobTooLargeError, BodyLengthError, DigestMismatchError, UploadMissingError } from "../storage/blob-store.ts";
import type { Digest } from "../storage/digest.ts";
import type { UploadRow } from "../db/metadata.ts";
import { checkDigest } from "./blobs.ts";
import type { OciDeps } from "./deps.ts";
import { OciError } from "./errors.ts";
import { contentLength, hasBody, sendEmpty } from "./http.ts";
import { isValidName } from "./names.ts";
import { requestOrigin } from "../auth/access.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `Range: 0-<last byte>` as the OCI spec reports upload progress ("0-0" when empty). */
function progress(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function sessionHeaders(name: string, uuid: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${uuid}`,
    Range: progress(size),
    "Docker-Upload-UUID": uuid,
  };
}

function blobCreated(res: ServerResponse, name: string, digest: string): void {
  sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, "Docker-Content-Digest": digest });
}

async function loadSession(deps: OciDeps, name: string, uuid: string): Promise<UploadRow> {
  const row = UUID_RE.test(uuid) ? await deps.meta.getUpload(name, uuid) : undefined;
  if (!row) throw new OciError("BLOB_UPLOAD_UNKNOWN", `upload ${uuid.slice(0, 100)} is not known in repository ${name}`);
  return row;
}

/** Parses a chunk's `Content-Range: <start>-<end>` (the "bytes " prefix is tolerated). */
export function parseContentRange(value: string): { start: number; end: number } | undefined {
  const m = /^(?:bytes )?(\d{1,15})-(\d{1,15})$/.exec(value.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  return end >= start ? { start, end } : undefined;
}

/** Appends the request body to the session at its acknowledged offset; returns the new size. */
async function appendChunk(deps: OciDeps, req: IncomingMessage, name: string, row: UploadRow): Promise<number> {
  const declared = contentLength(req);
  let expectedLength = declared;
  const rangeHeader = req.headers["content-range"];
  if (rangeHeader !== undefined) {
    const range = parseContentRange(rangeHeader);
    if (!range) throw new OciError("BLOB_UPLOAD_INVALID", `invalid Content-Range ${JSON.stringify(rangeHeader.slice(0, 100))}`);
    if (range.start !== row.byteOffset) {
      throw new OciError(
        "RANGE_INVALID",
        `chunk starts at ${range.start} but the upload holds ${row.byteOffset} bytes`,
        undefined,
        416,
        sessionHeaders(name, row.uuid, row.byteOffset),
      );
    }
    const length = range.end - range.start + 1;
    if (declared !== undefined && declared !== length) {
      throw new OciError(
        "RANGE_INVALID",
        `Content-Range covers ${length} bytes but Content-Length is ${declared}`,
        undefined,
        416,
        sessionHeaders(name, row.uuid, row.byteOffset),
      );
    }
    expectedLength = length;
  }
  try {
    const size = await deps.store.appendUpload(row.uuid, row.byteOffset, req, { maxBytes: deps.limits.maxBlobBytes, expectedLength });
    await deps.meta.setUploadOffset(row.uuid, size);
    return size;
  } catch (err) {
    throw mapStorageError(err);
  }
}

function mapStorageError(err: unknown): unknown {
  if (err instanceof BlobTooLargeError) return new OciError("SIZE_INVALID", err.message, undefined, 413, { Connection: "close" });
  if (err instanceof BodyLengthError) return new OciError("SIZE_INVALID", err.message);
  if (err instanceof UploadMissingError) return new OciError("BLOB_UPLOAD_UNKNOWN", err.message);
  if (err instanceof DigestMismatchError) return new OciError("DIGEST_INVALID", err.message, { expected: err.expected, actual: err.actual });
  return err;
}

/** Verifies and stores the upload's bytes as `digest`, links it, and ends the session. */
async function finish(deps: OciDeps, req: IncomingMessage, name: string, row: UploadRow, size: number, digest: Digest): Promise<void> {
  await commitBlob(deps, row, size, digest);
  await deps.meta.deleteUpload(row.uuid);
  deps.log.info({ repository: name, digest: digest.text, size }, "blob uploaded");
  deps.audit.record({ type: "blob_uploaded", repository: name, digest: digest.text, ...requestOrigin(req), details: { size: String(size) } });
}

/**
 * Moves the upload's bytes into place as `digest` and records the blob. The digest's lock is
 * held from the rename until the row is written, and garbage collection removes a file only
 * under that lock after seeing no row (docs/gc.md); the shared commit lock keeps commits out
 * of GC's mark phase.
 */
export async function commitBlob(deps: Pick<OciDeps, "store" | "meta" | "blobLocks">, row: UploadRow, size: number, digest: Digest): Promise<void> {
  await deps.blobLocks.digests.run(digest.text, () =>
    deps.blobLocks.commits.shared(async () => {
      try {
        await deps.store.commitUpload(row.uuid, size, digest);
      } catch (err) {
        // A crash between commit and the database update leaves the blob in place: finish the job.
        const done = err instanceof UploadMissingError && (await deps.store.stat(digest)) === size;
        if (!done) throw mapStorageError(err);
      }
      await deps.meta.linkBlob(row.repositoryId, digest.text, size);
    }),
  );
}

export async function startUpload(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
  const mount = query.get("mount");
  const from = query.get("from");
  if (mount !== null) {
    const digest = checkDigest(mount);
    const mounted =
      from !== null &&
      isValidName(from) &&
      (await deps.blobLocks.commits.shared(async () => deps.meta.mountBlob(await deps.meta.ensureRepository(name), from, digest.text)));
    if (mounted) {
      deps.log.info({ repository: name, from, digest: digest.text }, "blob mounted");
      deps.audit.record({ type: "blob_uploaded", repository: name, digest: digest.text, ...requestOrigin(req), details: { mounted_from: from } });
      blobCreated(res, name, digest.text);
      return;
    }
    // Unknown blob or source: fall back to an ordinary upload session (OCI spec).
  }

  const digestParam = query.get("digest");
  const repoId = await deps.meta.ensureRepository(name);
  const uuid = randomUUID();
  await deps.store.startUpload(uuid);

  if (digestParam !== null) {
    // Single-request monolithic upload: no session row; a crash leaves only an orphan file that start-up removes.
    const digest = checkDigest(digestParam);
    const row: UploadRow = { uuid, repositoryId: repoId, byteOffset: 0 };
    try {
      const size = await deps.store.appendUpload(uuid, 0, req, { maxBytes: deps.limits.maxBlobBytes, expectedLength: contentLength(req) });
      await finish(deps, req, name, row, size, digest);
    } catch (err) {
      await deps.store.cancelUpload(uuid);
      throw mapStorageError(err);
    }
    blobCreated(res, name, digest.text);
    return;
  }

  await deps.meta.createUpload(uuid, repoId);
  sendEmpty(res, 202, sessionHeaders(name, uuid, 0));
}

export async function patchUpload(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, uuid: string): Promise<void> {
  await deps.uploadLocks.run(uuid, async () => {
    const row = await loadSession(deps, name, uuid);
    const size = await appendChunk(deps, req, name, row);
    sendEmpty(res, 202, sessionHeaders(name, uuid, size));
  });
}

export async function putUpload(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, uuid: string, query: URLSearchParams): Promise<void> {
  await deps.uploadLocks.run(uuid, async () => {
    const row = await loadSession(deps, name, uuid);
    const digestParam = query.get("digest");
    if (digestParam === null) throw new OciError("DIGEST_INVALID", "the digest query parameter is required to finish an upload");
    const digest = checkDigest(digestParam);
    const size = hasBody(req) ? await appendChunk(deps, req, name, row) : row.byteOffset;
    await finish(deps, req, name, { ...row, byteOffset: size }, size, digest);
    blobCreated(res, name, digest.text);
  });
}

export async function uploadStatus(deps: OciDeps, res: ServerResponse, name: string, uuid: string): Promise<void> {
  const row = await loadSession(deps, name, uuid);
  sendEmpty(res, 204, sessionHeaders(name, uuid, row.byteOffset));
}

export async function cancelUpload(deps: OciDeps, res: ServerResponse, name: string, uuid: string): Promise<void> {
  await deps.uploadLocks.run(uuid, async () => {
    await loadSession(deps, name, uuid);
    await deps.meta.deleteUpload(uuid);
    await deps.store.cancelUpload(uuid);
    sendEmpty(res, 204);
  });
}

/**
 * Start-up repair: upload files without a session row (single-POST uploads cut off by a crash)
 * are removed, and so are session rows whose file is gone. Not on shared storage: another
 * replica's upload in progress looks just like that; the stale-upload cleaner removes what
 * is abandoned there (registry/gc/stale-uploads.ts).
 */
export async function reconcileUploads(deps: Pick<OciDeps, "meta" | "store" | "log">): Promise<void> {
  if (deps.store.shared) return;
  const rows = new Set(await deps.meta.uploadIds());
  const files = new Set(await deps.store.listUploads());
  for (const id of files) {
    if (!rows.has(id)) {
      await deps.store.cancelUpload(id);
      deps.log.info({ upload: id }, "removed orphaned upload file");
    }
  }
  for (const id of rows) {
    if (!files.has(id)) {
      await deps.meta.deleteUpload(id);
      deps.log.warn({ upload: id }, "removed upload session whose data was missing");
    }
  }
}
