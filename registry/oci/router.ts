// Dispatches /v2/ requests (routes.ts) to their handlers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { connectionGone } from "../../lib/net/request-context.ts";
import { deleteBlob, getBlob } from "./blobs.ts";
import type { OciDeps } from "./deps.ts";
import { OciError, writeOciError } from "./errors.ts";
import { sendJson } from "./http.ts";
import { catalog, listTags, referrers } from "./listing.ts";
import { deleteManifest, getManifest, putManifest } from "./manifests.ts";
import { checkName } from "./names.ts";
import { cancelUpload, patchUpload, putUpload, startUpload, uploadStatus } from "./uploads.ts";
import type { OciRoute } from "./routes.ts";

const ALLOWED: Record<OciRoute["kind"], string[]> = {
  base: ["GET", "HEAD"],
  catalog: ["GET", "HEAD"],
  tags: ["GET", "HEAD"],
  manifest: ["GET", "HEAD", "PUT", "DELETE"],
  uploads: ["POST"],
  upload: ["GET", "PATCH", "PUT", "DELETE"],
  blob: ["GET", "HEAD", "DELETE"],
  referrers: ["GET", "HEAD"],
};

/** Handles one /v2/ request; every failure becomes an OCI error response. */
export async function handleOci(deps: OciDeps, req: IncomingMessage, res: ServerResponse, route: OciRoute, query: URLSearchParams): Promise<void> {
  const method = req.method ?? "GET";
  try {
    if (!ALLOWED[route.kind].includes(method)) {
      throw new OciError("UNSUPPORTED", `${method} is not supported on this endpoint`, undefined, 405, { Allow: ALLOWED[route.kind].join(", ") });
    }
    if ("name" in route) checkName(route.name);
    await deps.access.check(req, route, method, query);
    switch (route.kind) {
      case "base":
        return sendJson(res, 200, {}, {}, method === "HEAD");
      case "catalog":
        return await catalog(deps, req, res, query);
      case "tags":
        return await listTags(deps, req, res, route.name, query);
      case "referrers":
        return await referrers(deps, req, res, route.name, route.digest, query);
      case "manifest":
        if (method === "PUT") return await putManifest(deps, req, res, route.name, route.reference);
        if (method === "DELETE") return await deleteManifest(deps, req, res, route.name, route.reference);
        return await getManifest(deps, req, res, route.name, route.reference);
      case "blob":
        if (method === "DELETE") return await deleteBlob(deps, req, res, route.name, route.digest);
        return await getBlob(deps, req, res, route.name, route.digest);
      case "uploads":
        return await startUpload(deps, req, res, route.name, query);
      case "upload":
        if (method === "PATCH") return await patchUpload(deps, req, res, route.name, route.id);
        if (method === "PUT") return await putUpload(deps, req, res, route.name, route.id, query);
        if (method === "DELETE") return await cancelUpload(deps, res, route.name, route.id);
        return await uploadStatus(deps, res, route.name, route.id);
    }
  } catch (err) {
    respondWithError(deps, req, res, err);
  }
}

function respondWithError(deps: OciDeps, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  let oci: OciError;
  if (err instanceof OciError) {
    oci = err;
  } else if ((err as NodeJS.ErrnoException).code === "ENOSPC") {
    deps.log.error({ err }, "storage is full");
    oci = new OciError("UNKNOWN", "the registry's storage is full", undefined, 507);
  } else if (clientGone(req, res)) {
    // Decided by the connection's state, not by the error's text: an upstream reset
    // with a client still waiting is a failure that gets an answer (below).
    deps.log.info(
      { method: req.method, url: req.url, err: (err as Error).message, code: (err as NodeJS.ErrnoException).code },
      "client disconnected before the response was complete",
    );
    res.destroy();
    return;
  } else {
    deps.log.error({ err, method: req.method, url: req.url }, "request failed");
    oci = new OciError("UNKNOWN", "internal error");
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Node discards any unread request body after the response, keeping the connection usable.
  writeOciError(res, oci, req.method === "HEAD");
}

/** The client's connection is closed: there is nobody left to answer. */
function clientGone(req: IncomingMessage, res: ServerResponse): boolean {
  return connectionGone(req, res);
}
