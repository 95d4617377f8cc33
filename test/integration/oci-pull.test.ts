// OCI Distribution Spec v1.1 "pull" workflow against the real `mcr` over TLS:
// manifests and blobs by GET/HEAD, error codes, HTTP Range (RFC 9110 §14) and conditional requests.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { OCI_MANIFEST, sha256, assertOciError } from "../helpers/oci.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

describe("OCI pull", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;

  // Repository "pull/app": a config, a 3 MiB layer, a small 100-byte blob and a manifest tagged v1.
  const REPO = "pull/app";
  const OTHER = "pull/other";
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const layer = randomBytes(3 * 1024 * 1024 + 123);
  const small = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
  const otherOnly = randomBytes(64); // pushed to OTHER only
  // Deliberately unusual formatting: the registry must return the exact bytes pushed.
  const manifestBytes = Buffer.from(
    `{ "schemaVersion": 2,\n  "mediaType": "${OCI_MANIFEST}",\n` +
      `  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "${sha256(config)}", "size": ${config.length}},\n` +
      `  "layers": [ {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "${sha256(layer)}", "size": ${layer.length}} ] }\n`,
  );
  const manifestDigest = sha256(manifestBytes);
  const smallDigest = sha256(small);
  const smallEtag = `"${smallDigest}"`;

  async function pushBlob(name: string, data: Buffer): Promise<void> {
    const start = await client.request("POST", `/v2/${name}/blobs/uploads/`, { headers: { "Content-Length": 0 } });
    assert.equal(start.status, 202, start.text);
    const location = new URL(String(start.headers.location), mcr.url);
    location.searchParams.set("digest", sha256(data));
    const put = await client.request("PUT", location.pathname + location.search, {
      headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
      body: data,
    });
    assert.equal(put.status, 201, put.text);
  }

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home);
    client = new RegistryClient(mcr.url, home.caPem);
    await pushBlob(REPO, config);
    await pushBlob(REPO, layer);
    await pushBlob(REPO, small);
    await pushBlob(OTHER, otherOnly);
    const put = await client.request("PUT", `/v2/${REPO}/manifests/v1`, {
      headers: { "Content-Type": OCI_MANIFEST, "Content-Length": manifestBytes.length },
      body: manifestBytes,
    });
    assert.equal(put.status, 201, put.text);
    assert.equal(put.headers["docker-content-digest"], manifestDigest);
  });

  after(async () => {
    client?.close();
    await mcr?.stop();
    if (home) removeHome(home);
  });

  describe("manifests", () => {
    for (const ref of ["v1", "digest"]) {
      it(`GET by ${ref} returns the exact bytes with Content-Type, Docker-Content-Digest, Content-Length and ETag`, async () => {
        const reference = ref === "digest" ? manifestDigest : ref;
        const res = await client.request("GET", `/v2/${REPO}/manifests/${reference}`, { headers: { Accept: OCI_MANIFEST } });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers["content-type"], OCI_MANIFEST);
        assert.equal(res.headers["docker-content-digest"], manifestDigest);
        assert.equal(res.headers["content-length"], String(manifestBytes.length));
        assert.equal(res.headers.etag, `"${manifestDigest}"`);
        assert.ok(res.body.equals(manifestBytes), "manifest bytes differ from what was pushed");
        assert.equal(sha256(res.body), res.headers["docker-content-digest"]);
      });

      it(`HEAD by ${ref} returns the same headers and no body`, async () => {
        const reference = ref === "digest" ? manifestDigest : ref;
        const res = await client.request("HEAD", `/v2/${REPO}/manifests/${reference}`);
        assert.equal(res.status, 200);
        assert.equal(res.headers["content-type"], OCI_MANIFEST);
        assert.equal(res.headers["docker-content-digest"], manifestDigest);
        assert.equal(res.headers["content-length"], String(manifestBytes.length));
        assert.equal(res.headers.etag, `"${manifestDigest}"`);
        assert.equal(res.body.length, 0);
      });
    }

    it("If-None-Match with the manifest's ETag gives 304 without a body; another ETag gives 200", async () => {
      for (const inm of [`"${manifestDigest}"`, `W/"${manifestDigest}"`, "*", `"${sha256("other")}", "${manifestDigest}"`]) {
        const hit = await client.request("GET", `/v2/${REPO}/manifests/v1`, { headers: { "If-None-Match": inm } });
        assert.equal(hit.status, 304, `If-None-Match ${inm}`);
        assert.equal(hit.body.length, 0);
        assert.equal(hit.headers.etag, `"${manifestDigest}"`);
      }
      const miss = await client.request("GET", `/v2/${REPO}/manifests/v1`, { headers: { "If-None-Match": `"${sha256("other")}"` } });
      assert.equal(miss.status, 200);
      assert.ok(miss.body.equals(manifestBytes));
    });

    it("an unknown repository is NAME_UNKNOWN (404)", async () => {
      assertOciError(await client.request("GET", "/v2/pull/nope/manifests/v1"), 404, "NAME_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/pull/nope/manifests/${manifestDigest}`), 404, "NAME_UNKNOWN");
      const head = await client.request("HEAD", "/v2/pull/nope/manifests/v1");
      assert.equal(head.status, 404);
      assert.equal(head.body.length, 0);
    });

    it("an unknown tag or digest in a known repository is MANIFEST_UNKNOWN (404)", async () => {
      assertOciError(await client.request("GET", `/v2/${REPO}/manifests/v2`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${REPO}/manifests/${sha256("no such manifest")}`), 404, "MANIFEST_UNKNOWN");
      const head = await client.request("HEAD", `/v2/${REPO}/manifests/v2`);
      assert.equal(head.status, 404);
      assert.equal(head.body.length, 0);
    });

    it("GET or HEAD of a reference that is neither a tag nor a digest is MANIFEST_UNKNOWN (404); a PUT with one stays 400", async () => {
      for (const ref of [".INVALID_MANIFEST_NAME", "sha256:not-hex", "-dash"]) {
        assertOciError(await client.request("GET", `/v2/${REPO}/manifests/${ref}`), 404, "MANIFEST_UNKNOWN");
        const head = await client.request("HEAD", `/v2/${REPO}/manifests/${ref}`);
        assert.equal(head.status, 404, ref);
      }
      const body = Buffer.from("{}");
      const put = await client.request("PUT", `/v2/${REPO}/manifests/.INVALID_MANIFEST_NAME`, {
        headers: { "Content-Type": OCI_MANIFEST, "Content-Length": body.length },
        body,
      });
      assert.equal(put.status, 400, put.text);
    });

    it("a manifest of one repository is not served from another", async () => {
      assertOciError(await client.request("GET", `/v2/${OTHER}/manifests/${manifestDigest}`), 404, "MANIFEST_UNKNOWN");
    });
  });

  describe("blobs", () => {
    it("GET streams a multi-MiB blob whole, with digest, length, ETag and Accept-Ranges", async () => {
      const digest = sha256(layer);
      const res = await client.request("GET", `/v2/${REPO}/blobs/${digest}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers["docker-content-digest"], digest);
      assert.equal(res.headers["content-length"], String(layer.length));
      assert.equal(res.headers.etag, `"${digest}"`);
      assert.equal(res.headers["accept-ranges"], "bytes");
      assert.equal(res.body.length, layer.length);
      assert.equal(sha256(res.body), digest);
    });

    it("HEAD gives 200 with Content-Length and digest, and no body", async () => {
      const digest = sha256(layer);
      const res = await client.request("HEAD", `/v2/${REPO}/blobs/${digest}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-length"], String(layer.length));
      assert.equal(res.headers["docker-content-digest"], digest);
      assert.equal(res.headers["accept-ranges"], "bytes");
      assert.equal(res.body.length, 0);
    });

    it("HEAD ignores Range (RFC 9110 §14.2) and describes the whole blob", async () => {
      const digest = sha256(layer);
      const res = await client.request("HEAD", `/v2/${REPO}/blobs/${digest}`, { headers: { Range: "bytes=0-9" } });
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-length"], String(layer.length));
      assert.equal(res.headers["content-range"], undefined);
    });

    it("a blob that exists only in another repository is BLOB_UNKNOWN (404) here", async () => {
      const digest = sha256(otherOnly);
      const there = await client.request("GET", `/v2/${OTHER}/blobs/${digest}`);
      assert.equal(there.status, 200);
      assert.ok(there.body.equals(otherOnly));
      assertOciError(await client.request("GET", `/v2/${REPO}/blobs/${digest}`), 404, "BLOB_UNKNOWN");
      const head = await client.request("HEAD", `/v2/${REPO}/blobs/${digest}`);
      assert.equal(head.status, 404);
      assert.equal(head.body.length, 0);
    });

    it("an unknown blob is BLOB_UNKNOWN (404) and an invalid digest is DIGEST_INVALID (400)", async () => {
      assertOciError(await client.request("GET", `/v2/${REPO}/blobs/${sha256("never pushed")}`), 404, "BLOB_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${REPO}/blobs/sha256:xyz`), 400, "DIGEST_INVALID");
    });
  });

  describe("Range requests on blobs", () => {
    const url = () => `/v2/${REPO}/blobs/${smallDigest}`;

    async function expectPartial(range: string, start: number, end: number, headers: Record<string, string> = {}): Promise<void> {
      const res = await client.request("GET", url(), { headers: { Range: range, ...headers } });
      assert.equal(res.status, 206, `Range ${range}: ${res.status} ${res.text}`);
      assert.equal(res.headers["content-range"], `bytes ${start}-${end}/${small.length}`);
      assert.equal(res.headers["content-length"], String(end - start + 1));
      assert.equal(res.headers["accept-ranges"], "bytes");
      assert.ok(res.body.equals(small.subarray(start, end + 1)), `Range ${range}: wrong bytes`);
    }

    async function expectFull(range: string, headers: Record<string, string> = {}): Promise<void> {
      const res = await client.request("GET", url(), { headers: { Range: range, ...headers } });
      assert.equal(res.status, 200, `Range ${range}: ${res.status} ${res.text}`);
      assert.equal(res.headers["content-range"], undefined);
      assert.equal(res.headers["content-length"], String(small.length));
      assert.equal(res.headers["accept-ranges"], "bytes");
      assert.ok(res.body.equals(small));
    }

    it("bytes=a-b gives 206 with Content-Range and exactly those bytes", async () => {
      await expectPartial("bytes=10-19", 10, 19);
      await expectPartial("bytes=0-0", 0, 0);
      await expectPartial("bytes=0-99", 0, 99);
    });

    it("an end past the blob is clamped to the last byte", async () => {
      await expectPartial("bytes=95-1000", 95, 99);
    });

    it("bytes=a- gives the rest of the blob", async () => {
      await expectPartial("bytes=90-", 90, 99);
      await expectPartial("bytes=99-", 99, 99);
    });

    it("bytes=-n gives the last n bytes", async () => {
      await expectPartial("bytes=-7", 93, 99);
      await expectPartial("bytes=-100", 0, 99);
    });

    it("bytes=-n longer than the blob gives the whole blob as 206 (RFC 9110 §14.1.3)", async () => {
      await expectPartial("bytes=-500", 0, 99);
    });

    it("a range across the 1 MiB read boundary of a large blob is exact", async () => {
      const start = 1024 * 1024 - 1000;
      const end = 2 * 1024 * 1024 + 17;
      const res = await client.request("GET", `/v2/${REPO}/blobs/${sha256(layer)}`, { headers: { Range: `bytes=${start}-${end}` } });
      assert.equal(res.status, 206);
      assert.equal(res.headers["content-range"], `bytes ${start}-${end}/${layer.length}`);
      assert.ok(res.body.equals(layer.subarray(start, end + 1)));
    });

    it("an unsatisfiable range gives 416 with Content-Range: bytes */size", async () => {
      for (const range of ["bytes=100-200", "bytes=100-", "bytes=5000-6000", "bytes=-0"]) {
        const res = await client.request("GET", url(), { headers: { Range: range } });
        assertOciError(res, 416);
        assert.equal(res.headers["content-range"], `bytes */${small.length}`, range);
        assert.equal(res.headers["accept-ranges"], "bytes", range);
      }
    });

    it("a malformed Range or another unit is ignored: 200 with the whole blob", async () => {
      for (const range of ["bytes=abc", "items=0-1", "bytes", "bytes=1-x", "0-10"]) await expectFull(range);
    });

    it("a multi-range request gets the whole blob (200)", async () => {
      await expectFull("bytes=0-1,50-60");
    });

    it("If-Range matching the ETag gives 206; another ETag or a date gives 200", async () => {
      await expectPartial("bytes=10-19", 10, 19, { "If-Range": smallEtag });
      await expectFull("bytes=10-19", { "If-Range": `"${sha256("stale")}"` });
      await expectFull("bytes=10-19", { "If-Range": "Wed, 21 Oct 2015 07:28:00 GMT" });
    });

    it("If-None-Match with the ETag (or *) gives 304 with no body and Accept-Ranges", async () => {
      for (const inm of [smallEtag, "*", `"${sha256("x")}", ${smallEtag}`, `W/${smallEtag}`]) {
        const res = await client.request("GET", url(), { headers: { "If-None-Match": inm } });
        assert.equal(res.status, 304, `If-None-Match ${inm}`);
        assert.equal(res.body.length, 0);
        assert.equal(res.headers.etag, smallEtag);
        assert.equal(res.headers["accept-ranges"], "bytes");
      }
      const miss = await client.request("GET", url(), { headers: { "If-None-Match": `"${sha256("x")}"` } });
      assert.equal(miss.status, 200);
      assert.ok(miss.body.equals(small));
    });
  });
});
