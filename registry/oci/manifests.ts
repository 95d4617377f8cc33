// Manifest GET/HEAD, PUT and DELETE (by digest, or a tag by name).
import type { IncomingMessage, ServerResponse } from "node:http";
import { digestOf } from "../storage/digest.ts";
import { checkDigest } from "./blobs.ts";
import type { OciDeps } from "./deps.ts";
import { OciError } from "./errors.ts";
import { readBody, sendEmpty } from "./http.ts";
import { parseManifest } from "./manifest.ts";
import { isValidTag } from "./names.ts";
import { requestOrigin } from "../auth/access.ts";

/** A reference is a digest (has an algorithm prefix) or a tag. */
function parseReference(reference: string): { digest: string } | { tag: string } {
  if (reference.includes(":")) return { digest: checkDigest(reference).text };
  if (!isValidTag(reference)) throw new OciError("MANIFEST_INVALID", `invalid tag ${JSON.stringify(reference.slice(0, 200))}`, undefined, 400);
  return { tag: reference };
}

export async function getManifest(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
  let ref: { digest: string } | { tag: string };
  try {
    ref = parseReference(reference);
  } catch (err) {
    // A reference that is neither a tag nor a digest names no manifest: 404, as the OCI
    // conformance suite and distribution expect (a PUT with one stays 400).
    if (!(err instanceof OciError)) throw err;
    throw new OciError(
      "MANIFEST_UNKNOWN",
      `manifest ${JSON.stringify(reference.slice(0, 200))} is not known in repository ${name}: ${err.message}`,
      { reference: reference.slice(0, 200) },
      404,
    );
  }
  const manifest = "digest" in ref ? await deps.meta.getManifest(name, ref.digest, true) : await deps.meta.getManifest(name, ref.tag, false);
  if (!manifest) {
    if ((await deps.meta.repositoryId(name)) === undefined) throw new OciError("NAME_UNKNOWN", `repository ${name} is not known`, { name });
    throw new OciError("MANIFEST_UNKNOWN", `manifest ${reference} is not known in repository ${name}`, { reference });
  }
  const etag = `"${manifest.digest}"`;
  const headers = {
    "Content-Type": manifest.mediaType,
    "Docker-Content-Digest": manifest.digest,
    ETag: etag,
    "Content-Length": manifest.size,
  };
  const inm = req.headers["if-none-match"];
  // Weak comparison, as for blobs (RFC 9110 §13.1.2).
  if (inm !== undefined && inm.split(",").some((t) => [etag, "*"].includes(t.trim().replace(/^W\//, "")))) {
    res.writeHead(304, { ETag: etag, "Docker-Content-Digest": manifest.digest });
    res.end();
    return;
  }
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : manifest.content);
  if (req.method === "GET")
    deps.audit.record({
      type: "manifest_pulled",
      repository: name,
      digest: manifest.digest,
      ...requestOrigin(req),
      ...("tag" in ref ? { details: { tag: ref.tag } } : {}),
    });
}

export async function putManifest(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
  const ref = parseReference(reference);
  const body = await readBody(req, deps.limits.maxManifestBytes, "manifest", "MANIFEST_INVALID");
  const algorithm = "digest" in ref ? checkDigest(ref.digest).algorithm : "sha256";
  const digest = digestOf(body, algorithm);
  if ("digest" in ref && ref.digest !== digest) {
    throw new OciError("DIGEST_INVALID", `manifest digest ${digest} does not match the reference ${ref.digest}`, { expected: ref.digest, actual: digest });
  }
  const parsed = parseManifest(body, req.headers["content-type"]);
  const result = await deps.meta.putManifest(
    name,
    {
      digest,
      mediaType: parsed.mediaType,
      content: body,
      size: body.length,
      blobDigests: parsed.blobDigests,
      childDigests: parsed.childDigests,
      subjectDigest: parsed.subject?.digest ?? null,
      artifactType: parsed.artifactType,
    },
    "tag" in ref ? ref.tag : null,
  );
  if (result.missingBlobs.length) {
    throw new OciError("MANIFEST_BLOB_UNKNOWN", `manifest references blobs not in repository ${name}: ${result.missingBlobs.join(", ")}`, {
      digests: result.missingBlobs,
    });
  }
  if (result.missingManifests.length) {
    throw new OciError("MANIFEST_BLOB_UNKNOWN", `index references manifests not in repository ${name}: ${result.missingManifests.join(", ")}`, {
      digests: result.missingManifests,
    });
  }
  deps.log.info({ repository: name, digest, tag: "tag" in ref ? ref.tag : undefined }, "manifest pushed");
  deps.audit.record({ type: "manifest_pushed", repository: name, digest, ...requestOrigin(req), ...("tag" in ref ? { details: { tag: ref.tag } } : {}) });
  const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, "Docker-Content-Digest": digest };
  if (parsed.subject) headers["OCI-Subject"] = parsed.subject.digest;
  sendEmpty(res, 201, headers);
}

export async function deleteManifest(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
  if (!deps.limits.deleteEnabled) throw new OciError("UNSUPPORTED", "deletes are disabled on this registry");
  const ref = parseReference(reference);
  const deleted = "digest" in ref ? await deps.meta.deleteManifest(name, ref.digest) : await deps.meta.deleteTag(name, ref.tag);
  if (!deleted) {
    if ((await deps.meta.repositoryId(name)) === undefined) throw new OciError("NAME_UNKNOWN", `repository ${name} is not known`, { name });
    throw new OciError("MANIFEST_UNKNOWN", `manifest ${reference} is not known in repository ${name}`, { reference });
  }
  deps.log.info({ repository: name, reference }, "digest" in ref ? "manifest deleted" : "tag deleted");
  deps.audit.record(
    "digest" in ref
      ? { type: "manifest_deleted", repository: name, digest: ref.digest, ...requestOrigin(req) }
      : { type: "tag_deleted", repository: name, ...requestOrigin(req), details: { tag: ref.tag } },
  );
  sendEmpty(res, 202);
}
