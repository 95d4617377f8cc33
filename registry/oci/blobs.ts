// Blob GET/HEAD (streamed, with Range) and DELETE.
import type { IncomingMessage, ServerResponse } from "node:http";
import parseRange from "range-parser";
import { BlobMissingError, type BlobReader, type ByteRange } from "../storage/blob-store.ts";
import { DigestError, parseDigest, type Digest } from "../storage/digest.ts";
import type { OciDeps } from "./deps.ts";
import { OciError } from "./errors.ts";
import { sendEmpty } from "./http.ts";
import { requestOrigin } from "../auth/access.ts";

export function checkDigest(text: string): Digest {
  try {
    return parseDigest(text);
  } catch (err) {
    const unsupported = err instanceof DigestError && err.unsupported;
    throw new OciError(unsupported ? "UNSUPPORTED" : "DIGEST_INVALID", (err as Error).message, { digest: text.slice(0, 200) }, unsupported ? 400 : undefined);
  }
}

export type RangeDecision = { kind: "full" } | { kind: "partial"; range: ByteRange } | { kind: "unsatisfiable" };

/**
 * Decides what part of a `size`-byte blob to send (RFC 9110 §14): a malformed or multi-part
 * Range, or one whose If-Range does not match `etag`, gets the whole blob.
 */
export function decideRange(size: number, rangeHeader: string | undefined, ifRange: string | undefined, etag: string): RangeDecision {
  if (rangeHeader === undefined) return { kind: "full" };
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: "full" };
  const parsed = parseRange(size, rangeHeader, { combine: true });
  if (parsed === -2 || (Array.isArray(parsed) && parsed.type !== "bytes")) return { kind: "full" };
  if (parsed === -1) {
    // RFC 9110 §14.1.3: a suffix longer than the blob selects all of it (range-parser calls it unsatisfiable).
    if (size > 0 && /^bytes=\s*-\d*[1-9]\d*\s*$/.test(rangeHeader)) return { kind: "partial", range: { start: 0, end: size - 1 } };
    return { kind: "unsatisfiable" };
  }
  if (parsed.length !== 1) return { kind: "full" };
  return { kind: "partial", range: parsed[0]! };
}

export async function getBlob(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, digestText: string): Promise<void> {
  const digest = checkDigest(digestText);
  // An existence check is how a push learns it may skip an upload: restart the blob's grace
  // window first, so that garbage collection leaves it to the manifest that will reference it.
  if (req.method === "HEAD") await deps.meta.touchBlob(digest.text, deps.limits.blobTouchMs);
  const size = await deps.meta.blobInRepository(name, digest.text);
  if (size === undefined) throw new OciError("BLOB_UNKNOWN", `blob ${digest.text} is not known in repository ${name}`, { digest: digest.text });
  const etag = `"${digest.text}"`;
  const headers: Record<string, string | number> = {
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest.text,
    ETag: etag,
    "Accept-Ranges": "bytes",
    "Cache-Control": "max-age=31536000, immutable",
  };
  const inm = req.headers["if-none-match"];
  // If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
  if (inm !== undefined && inm.split(",").some((t) => [etag, "*"].includes(t.trim().replace(/^W\//, "")))) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const head = req.method === "HEAD";
  const ifRange = req.headers["if-range"];
  // Range applies to GET only (RFC 9110 §14.2); HEAD describes the whole blob.
  const decision: RangeDecision = head ? { kind: "full" } : decideRange(size, req.headers.range, Array.isArray(ifRange) ? ifRange[0] : ifRange, etag);
  if (decision.kind === "unsatisfiable") {
    throw new OciError("RANGE_INVALID", `requested range is not satisfiable for a ${size}-byte blob`, undefined, 416, {
      "Content-Range": `bytes */${size}`,
      "Accept-Ranges": "bytes",
    });
  }
  const range = decision.kind === "partial" ? decision.range : undefined;
  if (!head && size > 0 && deps.limits.redirect && deps.store.redirectUrl) {
    // The object store serves the bytes (Range included) from a short-lived presigned URL.
    sendEmpty(res, 307, { Location: await deps.store.redirectUrl(digest), "Docker-Content-Digest": digest.text, "Cache-Control": "no-store" });
    return;
  }
  let reader: BlobReader | undefined;
  if (!head && size > 0) {
    try {
      reader = await deps.store.reader(digest, range ?? { start: 0, end: size - 1 }); // opened before the headers: a missing file is still a clean 404
    } catch (err) {
      if (!(err instanceof BlobMissingError)) throw err;
      deps.log.error({ digest: digest.text, repository: name }, "blob recorded in the database is missing from storage");
      throw new OciError("BLOB_UNKNOWN", `blob ${digest.text} is missing from storage`, { digest: digest.text });
    }
  }
  if (range) {
    headers["Content-Range"] = `bytes ${range.start}-${range.end}/${size}`;
    headers["Content-Length"] = range.end - range.start + 1;
  } else {
    headers["Content-Length"] = size;
  }
  res.writeHead(range ? 206 : 200, headers);
  if (!reader) {
    res.end();
    return;
  }
  await reader.copyTo(res, range ?? { start: 0, end: size - 1 });
}

export async function deleteBlob(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, digestText: string): Promise<void> {
  if (!deps.limits.deleteEnabled) throw new OciError("UNSUPPORTED", "deletes are disabled on this registry");
  const digest = checkDigest(digestText);
  if (!(await deps.meta.unlinkBlob(name, digest.text))) {
    throw new OciError("BLOB_UNKNOWN", `blob ${digest.text} is not known in repository ${name}`, { digest: digest.text });
  }
  deps.log.info({ repository: name, digest: digest.text }, "blob unlinked from repository");
  deps.audit.record({ type: "blob_deleted", repository: name, digest: digest.text, ...requestOrigin(req) });
  sendEmpty(res, 202);
}
