// The push tests' shared client: upload sessions, blobs and manifests against one
// registry, plus builders for image manifests and indexes (OCI and Docker).
import assert from "node:assert/strict";
import type { RegistryClient, Response } from "./https-client.ts";
import { OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, sha256 } from "./oci.ts";

export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MAX_MANIFEST = 4 * 1024 * 1024;

/** An image manifest (OCI by default) for a config blob and layer blobs. */
export function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}, docker = false): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: docker ? DOCKER_MANIFEST : OCI_MANIFEST,
      config: descriptor(docker ? DOCKER_CONFIG : OCI_CONFIG, config),
      layers: layers.map((l) => descriptor(docker ? DOCKER_LAYER : OCI_LAYER, l)),
      ...extra,
    }),
  );
}

export function indexOf(mediaType: string, children: { mediaType: string; body: Buffer }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => descriptor(c.mediaType, c.body, { platform: { architecture: i ? "arm64" : "amd64", os: "linux" } })),
    }),
  );
}

export class PushClient {
  constructor(
    readonly client: RegistryClient,
    private readonly baseUrl: string,
  ) {}

  async startSession(name: string): Promise<{ location: string; uuid: string; res: Response }> {
    const res = await this.client.request("POST", `/v2/${name}/blobs/uploads/`, { headers: { "Content-Length": 0 } });
    assert.equal(res.status, 202, res.text);
    const url = new URL(String(res.headers.location), this.baseUrl);
    return { location: url.pathname + url.search, uuid: String(res.headers["docker-upload-uuid"]), res };
  }

  withDigest(location: string, digest: string): string {
    const url = new URL(location, this.baseUrl);
    url.searchParams.set("digest", digest);
    return url.pathname + url.search;
  }

  patch(location: string, chunk: Buffer, range?: string, length = chunk.length): Promise<Response> {
    const headers: Record<string, string | number> = { "Content-Type": "application/octet-stream", "Content-Length": length };
    if (range !== undefined) headers["Content-Range"] = range;
    return this.client.request("PATCH", location, { headers, body: chunk });
  }

  status(location: string): Promise<Response> {
    return this.client.request("GET", location);
  }

  async pushBlob(name: string, data: Buffer): Promise<void> {
    const { location } = await this.startSession(name);
    const put = await this.client.request("PUT", this.withDigest(location, sha256(data)), {
      headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
      body: data,
    });
    assert.equal(put.status, 201, put.text);
  }

  getBlob(name: string, digest: string): Promise<Response> {
    return this.client.request("GET", `/v2/${name}/blobs/${digest}`);
  }

  putManifest(name: string, reference: string, body: Buffer, mediaType: string): Promise<Response> {
    return this.client.request("PUT", `/v2/${name}/manifests/${reference}`, {
      headers: { "Content-Type": mediaType, "Content-Length": body.length },
      body,
    });
  }
}
