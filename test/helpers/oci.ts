// Shared pieces of the OCI protocol tests: media types, digests, descriptors and
// the check that a response is a well-formed OCI error.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Response } from "./https-client.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function assertOciError(res: Response, status: number, code?: string): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  const body = res.json<{ errors: { code: string; message: string }[] }>();
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `not an OCI error envelope: ${res.text}`);
  for (const e of body.errors) {
    assert.match(e.code, /^[A-Z_]+$/);
    assert.equal(typeof e.message, "string");
  }
  if (code) assert.equal(body.errors[0]!.code, code);
}

export function descriptor(mediaType: string, data: Buffer, extra: Record<string, unknown> = {}) {
  return { mediaType, digest: sha256(data), size: data.length, ...extra };
}
