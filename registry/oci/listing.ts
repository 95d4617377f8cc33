// Content discovery: tags list, catalog (both paginated with n/last and Link), referrers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkDigest } from "./blobs.ts";
import type { OciDeps } from "./deps.ts";
import { OciError } from "./errors.ts";
import { pageSize, sendJson } from "./http.ts";
import { isStringMap, MEDIA, type Descriptor } from "./manifest.ts";

/** Without `n`, lists are still cut at this size (with a Link to the rest). */
const MAX_PAGE = 10_000;

/** Fetches one page (+1 row to learn whether another follows) and builds the Link header. */
async function page(
  query: URLSearchParams,
  path: string,
  fetch: (limit: number, last: string | undefined) => Promise<string[]>,
): Promise<{ items: string[]; headers: Record<string, string> }> {
  const n = pageSize(query, MAX_PAGE);
  const last = query.get("last") ?? undefined;
  const limit = n ?? MAX_PAGE;
  if (limit === 0) return { items: [], headers: {} };
  const rows = await fetch(limit + 1, last);
  const items = rows.slice(0, limit);
  const headers: Record<string, string> = {};
  if (rows.length > limit) {
    const next = new URLSearchParams({ n: String(limit), last: items[items.length - 1]! });
    headers.Link = `<${path}?${next.toString()}>; rel="next"`;
  }
  return { items, headers };
}

export async function listTags(deps: OciDeps, req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
  const repoId = await deps.meta.repositoryId(name);
  if (repoId === undefined) throw new OciError("NAME_UNKNOWN", `repository ${name} is not known`, { name });
  const { items, headers } = await page(query, `/v2/${name}/tags/list`, (limit, last) => deps.meta.listTags(repoId, limit, last));
  sendJson(res, 200, { name, tags: items }, headers, req.method === "HEAD");
}

export async function catalog(deps: OciDeps, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const { items, headers } = await page(query, "/v2/_catalog", (limit, last) => deps.meta.listRepositories(limit, last));
  sendJson(res, 200, { repositories: items }, headers, req.method === "HEAD");
}

export async function referrers(
  deps: OciDeps,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  digestText: string,
  query: URLSearchParams,
): Promise<void> {
  const subject = checkDigest(digestText);
  const artifactType = query.get("artifactType") ?? undefined;
  const repoId = await deps.meta.repositoryId(name);
  const rows = repoId === undefined ? [] : await deps.meta.referrers(repoId, subject.text, artifactType);
  const manifests: Descriptor[] = rows.map((r) => {
    const d: Descriptor = { mediaType: r.mediaType, digest: r.digest, size: r.size };
    if (r.artifactType) d.artifactType = r.artifactType;
    const annotations = annotationsOf(r.content);
    if (annotations) d.annotations = annotations;
    return d;
  });
  const headers: Record<string, string> = { "Content-Type": MEDIA.ociIndex };
  if (artifactType !== undefined) headers["OCI-Filters-Applied"] = "artifactType";
  sendJson(res, 200, { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests }, headers, req.method === "HEAD");
}

/**
 * The annotations of a stored manifest, when they are a non-empty map of strings. Rows
 * stored before PUT checked their shape (or written by other means) may hold anything:
 * such a referrer is listed without annotations rather than failing the whole list.
 */
function annotationsOf(content: Buffer): Record<string, string> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(content.toString("utf8"));
  } catch {
    return undefined;
  }
  const annotations = typeof doc === "object" && doc !== null ? (doc as { annotations?: unknown }).annotations : undefined;
  return isStringMap(annotations) && Object.keys(annotations).length > 0 ? annotations : undefined;
}
