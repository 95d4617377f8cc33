// OCI Distribution Spec v1.1 "push" workflow against the real `mcr` over TLS:
// upload sessions (monolithic, single POST, chunked), mounts, and manifest PUT.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { RegistryClient, type Response } from "../helpers/https-client.ts";
import { OCI_MANIFEST, OCI_INDEX, OCI_CONFIG, OCI_LAYER, sha256, assertOciError, descriptor } from "../helpers/oci.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_MANIFEST = 4 * 1024 * 1024;

/** An image manifest (OCI by default) for a config blob and layer blobs. */
function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}, docker = false): Buffer {
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

function indexOf(mediaType: string, children: { mediaType: string; body: Buffer }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: children.map((c, i) => descriptor(c.mediaType, c.body, { platform: { architecture: i ? "arm64" : "amd64", os: "linux" } })),
    }),
  );
}

describe("OCI push", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;

  const REPO = "push/app";

  async function startSession(name: string): Promise<{ location: string; uuid: string; res: Response }> {
    const res = await client.request("POST", `/v2/${name}/blobs/uploads/`, { headers: { "Content-Length": 0 } });
    assert.equal(res.status, 202, res.text);
    const url = new URL(String(res.headers.location), mcr.url);
    return { location: url.pathname + url.search, uuid: String(res.headers["docker-upload-uuid"]), res };
  }

  function withDigest(location: string, digest: string): string {
    const url = new URL(location, mcr.url);
    url.searchParams.set("digest", digest);
    return url.pathname + url.search;
  }

  async function patch(location: string, chunk: Buffer, range?: string, length = chunk.length): Promise<Response> {
    const headers: Record<string, string | number> = { "Content-Type": "application/octet-stream", "Content-Length": length };
    if (range !== undefined) headers["Content-Range"] = range;
    return client.request("PATCH", location, { headers, body: chunk });
  }

  async function status(location: string): Promise<Response> {
    return client.request("GET", location);
  }

  async function pushBlob(name: string, data: Buffer): Promise<void> {
    const { location } = await startSession(name);
    const put = await client.request("PUT", withDigest(location, sha256(data)), {
      headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
      body: data,
    });
    assert.equal(put.status, 201, put.text);
  }

  async function getBlob(name: string, digest: string): Promise<Response> {
    return client.request("GET", `/v2/${name}/blobs/${digest}`);
  }

  async function putManifest(name: string, reference: string, body: Buffer, mediaType: string): Promise<Response> {
    return client.request("PUT", `/v2/${name}/manifests/${reference}`, {
      headers: { "Content-Type": mediaType, "Content-Length": body.length },
      body,
    });
  }

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home);
    client = new RegistryClient(mcr.url, home.caPem);
  });

  after(async () => {
    client?.close();
    await mcr?.stop();
    if (home) removeHome(home);
  });

  describe("blob uploads", () => {
    it("POST starts a session: 202 with Location, Range 0-0 and Docker-Upload-UUID", async () => {
      const { res, uuid } = await startSession(REPO);
      assert.match(uuid, UUID_RE);
      assert.equal(res.headers.location, `/v2/${REPO}/blobs/uploads/${uuid}`);
      assert.equal(res.headers.range, "0-0");
      assert.equal(res.headers["content-length"], "0");
      const again = await startSession(REPO);
      assert.notEqual(again.uuid, uuid, "each session needs its own id");
    });

    it("monolithic POST then PUT: 201 with Location and Docker-Content-Digest; the blob is pullable", async () => {
      const data = randomBytes(4096);
      const digest = sha256(data);
      const { location } = await startSession(REPO);
      const put = await client.request("PUT", withDigest(location, digest), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assert.equal(put.status, 201, put.text);
      assert.equal(put.headers.location, `/v2/${REPO}/blobs/${digest}`);
      assert.equal(put.headers["docker-content-digest"], digest);
      const got = await client.request("GET", String(put.headers.location));
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(data));
      assertOciError(await status(location), 404, "BLOB_UPLOAD_UNKNOWN"); // the session is closed
    });

    it("single POST with ?digest= uploads the blob in one request (201)", async () => {
      const data = randomBytes(2048);
      const digest = sha256(data);
      const res = await client.request("POST", `/v2/${REPO}/blobs/uploads/?digest=${digest}`, {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers.location, `/v2/${REPO}/blobs/${digest}`);
      assert.equal(res.headers["docker-content-digest"], digest);
      const got = await getBlob(REPO, digest);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(data));
    });

    it("single POST with the wrong digest is DIGEST_INVALID and stores nothing", async () => {
      const data = randomBytes(2048);
      const claimed = sha256("something else entirely");
      const res = await client.request("POST", `/v2/${REPO}/blobs/uploads/?digest=${claimed}`, {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assertOciError(res, 400, "DIGEST_INVALID");
      assertOciError(await getBlob(REPO, claimed), 404, "BLOB_UNKNOWN");
      assertOciError(await getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("chunked PATCH with Content-Range in several chunks, then PUT ?digest= with no body", async () => {
      const data = randomBytes(10_000);
      const cuts = [0, 1000, 4500, 9999, 10_000];
      const { location, uuid } = await startSession(REPO);
      let next = location;
      for (let i = 0; i + 1 < cuts.length; i++) {
        const [start, end] = [cuts[i]!, cuts[i + 1]! - 1];
        const res = await patch(next, data.subarray(start, end + 1), `${start}-${end}`);
        assert.equal(res.status, 202, res.text);
        assert.equal(res.headers.range, `0-${end}`);
        assert.equal(res.headers["docker-upload-uuid"], uuid);
        assert.equal(res.headers.location, `/v2/${REPO}/blobs/uploads/${uuid}`);
        next = String(res.headers.location);
      }
      const put = await client.request("PUT", withDigest(next, sha256(data)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
      assert.equal(put.headers["docker-content-digest"], sha256(data));
      const got = await getBlob(REPO, sha256(data));
      assert.ok(got.body.equals(data));
    });

    it("the last chunk may travel in the closing PUT, and PATCH may omit Content-Range", async () => {
      const data = randomBytes(3000);
      const { location } = await startSession(REPO);
      const first = await patch(location, data.subarray(0, 1000)); // streamed chunk, no Content-Range
      assert.equal(first.status, 202, first.text);
      assert.equal(first.headers.range, "0-999");
      const second = await patch(location, data.subarray(1000, 2000));
      assert.equal(second.headers.range, "0-1999");
      const put = await client.request("PUT", withDigest(location, sha256(data)), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": 1000, "Content-Range": "2000-2999" },
        body: data.subarray(2000),
      });
      assert.equal(put.status, 201, put.text);
      assert.ok((await getBlob(REPO, sha256(data))).body.equals(data));
    });

    it("GET on the session gives 204 with the current Range and Location", async () => {
      const { location, uuid } = await startSession(REPO);
      const empty = await status(location);
      assert.equal(empty.status, 204);
      assert.equal(empty.headers.range, "0-0");
      assert.equal(empty.headers.location, `/v2/${REPO}/blobs/uploads/${uuid}`);
      assert.equal(empty.headers["docker-upload-uuid"], uuid);
      assert.equal((await patch(location, randomBytes(777), "0-776")).status, 202);
      const after = await status(location);
      assert.equal(after.status, 204);
      assert.equal(after.headers.range, "0-776");
      assert.equal(after.body.length, 0);
    });

    it("an out-of-order chunk is 416 with the current Range; the upload is unchanged", async () => {
      const data = randomBytes(300);
      const { location } = await startSession(REPO);
      assert.equal((await patch(location, data.subarray(0, 100), "0-99")).status, 202);
      for (const [chunk, range] of [
        [data.subarray(200, 300), "200-299"], // gap
        [data.subarray(0, 100), "0-99"], // replay of an accepted chunk
        [data.subarray(50, 150), "50-149"], // overlap
      ] as const) {
        const res = await patch(location, chunk, range);
        assertOciError(res, 416);
        assert.equal(res.headers.range, "0-99", range);
        assert.equal(res.headers.location, location);
      }
      assert.equal((await status(location)).headers.range, "0-99");
      assert.equal((await patch(location, data.subarray(100, 300), "100-299")).headers.range, "0-299");
      const put = await client.request("PUT", withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
    });

    it("a Content-Range that disagrees with Content-Length is 416; the upload is unchanged", async () => {
      const { location } = await startSession(REPO);
      assert.equal((await patch(location, randomBytes(10), "0-9")).status, 202);
      const res = await patch(location, randomBytes(5), "10-19"); // 10 bytes claimed, 5 sent and declared
      assertOciError(res, 416);
      assert.equal(res.headers.range, "0-9");
      assert.equal((await status(location)).headers.range, "0-9");
    });

    it("a malformed Content-Range is 400 BLOB_UPLOAD_INVALID; the upload is unchanged", async () => {
      const { location } = await startSession(REPO);
      assert.equal((await patch(location, randomBytes(10), "0-9")).status, 202);
      for (const range of ["abc", "10-", "-10", "19-10", "10-19/20", "bytes=10-19"]) {
        assertOciError(await patch(location, randomBytes(10), range), 400, "BLOB_UPLOAD_INVALID");
      }
      assert.equal((await status(location)).headers.range, "0-9");
    });

    it("DELETE cancels the session (204); afterwards it is 404 BLOB_UPLOAD_UNKNOWN", async () => {
      const data = randomBytes(100);
      const { location } = await startSession(REPO);
      assert.equal((await patch(location, data, "0-99")).status, 202);
      const del = await client.request("DELETE", location);
      assert.equal(del.status, 204);
      assertOciError(await status(location), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await patch(location, data, "0-99"), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("PUT", withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } }), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("DELETE", location), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("PUT without a digest is 400 DIGEST_INVALID and the blob does not appear", async () => {
      const data = randomBytes(500);
      const { location } = await startSession(REPO);
      const res = await client.request("PUT", location, {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assertOciError(res, 400, "DIGEST_INVALID");
      assertOciError(await getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("PUT with the wrong digest is 400 DIGEST_INVALID and neither digest appears", async () => {
      const data = randomBytes(500);
      const wrong = sha256(randomBytes(500));
      const { location } = await startSession(REPO);
      const res = await client.request("PUT", withDigest(location, wrong), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assertOciError(res, 400, "DIGEST_INVALID");
      assertOciError(await getBlob(REPO, wrong), 404, "BLOB_UNKNOWN");
      assertOciError(await getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
      // A syntactically invalid digest is DIGEST_INVALID too.
      const { location: other } = await startSession(REPO);
      assertOciError(await client.request("PUT", withDigest(other, "sha256:nothex"), { headers: { "Content-Length": 0 } }), 400, "DIGEST_INVALID");
    });

    it("an unknown or garbage upload id is 404 BLOB_UPLOAD_UNKNOWN", async () => {
      for (const id of [randomUUID(), randomUUID().toUpperCase(), "garbage", "00000000", "A".repeat(300)]) {
        const location = `/v2/${REPO}/blobs/uploads/${id}`;
        assertOciError(await status(location), 404, "BLOB_UPLOAD_UNKNOWN");
        assertOciError(await patch(location, randomBytes(4), "0-3"), 404, "BLOB_UPLOAD_UNKNOWN");
        assertOciError(await client.request("PUT", withDigest(location, sha256("x")), { headers: { "Content-Length": 0 } }), 404, "BLOB_UPLOAD_UNKNOWN");
        assertOciError(await client.request("DELETE", location), 404, "BLOB_UPLOAD_UNKNOWN");
      }
    });

    it("an upload id used under another repository name is 404 and does not touch the session", async () => {
      const data = randomBytes(64);
      const { location, uuid } = await startSession(REPO);
      assert.equal((await patch(location, data.subarray(0, 32), "0-31")).status, 202);
      await startSession("push/intruder"); // the other repository exists
      const foreign = `/v2/push/intruder/blobs/uploads/${uuid}`;
      assertOciError(await status(foreign), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await patch(foreign, data.subarray(32), "32-63"), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("PUT", withDigest(foreign, sha256(data)), { headers: { "Content-Length": 0 } }), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("DELETE", foreign), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await status(`/v2/push/never-created/blobs/uploads/${uuid}`), 404, "BLOB_UPLOAD_UNKNOWN");
      assert.equal((await status(location)).headers.range, "0-31");
      assert.equal((await patch(location, data.subarray(32), "32-63")).status, 202);
      const put = await client.request("PUT", withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
      assertOciError(await getBlob("push/intruder", sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("a body cut short (declared length not sent, connection dropped) leaves the previous offset", async () => {
      const first = randomBytes(1000);
      const second = randomBytes(5000);
      const { location } = await startSession(REPO);
      assert.equal((await patch(location, first, "0-999")).status, 202);

      // Declare 5000 bytes, send 2000, then drop the connection.
      await new Promise<void>((resolve, reject) => {
        const req = httpsRequest({
          host: "localhost",
          port: mcr.port,
          method: "PATCH",
          path: location,
          ca: home.caPem,
          agent: false,
          headers: { "Content-Type": "application/octet-stream", "Content-Length": 5000, "Content-Range": "1000-5999" },
        });
        req.on("error", () => undefined); // the destroy below
        req.on("response", (res) => reject(new Error(`the server answered a half-sent body with ${res.statusCode}`)));
        req.write(second.subarray(0, 2000), () =>
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 300),
        );
      });

      const st = await status(location);
      assert.equal(st.status, 204);
      assert.equal(st.headers.range, "0-999");
      const retry = await patch(location, second, "1000-5999");
      assert.equal(retry.status, 202, retry.text);
      assert.equal(retry.headers.range, "0-5999");
      const whole = Buffer.concat([first, second]);
      const put = await client.request("PUT", withDigest(location, sha256(whole)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
      assert.ok((await getBlob(REPO, sha256(whole))).body.equals(whole));
    });
  });

  describe("cross-repository mount", () => {
    const SRC = "mount/src";
    const blob = randomBytes(1500);
    const digest = sha256(blob);

    before(async () => {
      await pushBlob(SRC, blob);
    });

    it("?mount=&from= a repository holding the blob is 201 and the blob is then pullable", async () => {
      const dst = "mount/dst";
      await startSession(dst); // the repository exists, without the blob
      assertOciError(await getBlob(dst, digest), 404, "BLOB_UNKNOWN");
      const res = await client.request("POST", `/v2/${dst}/blobs/uploads/?mount=${digest}&from=${SRC}`, { headers: { "Content-Length": 0 } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers.location, `/v2/${dst}/blobs/${digest}`);
      assert.equal(res.headers["docker-content-digest"], digest);
      const got = await getBlob(dst, digest);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(blob));
    });

    it("falls back to an upload session (202) when the blob is unknown or `from` is missing or wrong", async () => {
      const dst = "mount/fallback";
      const unknown = sha256("not in any repository");
      for (const query of [`mount=${unknown}&from=${SRC}`, `mount=${digest}`, `mount=${digest}&from=mount/empty`, `mount=${digest}&from=..%2Fmount%2Fsrc`]) {
        const res = await client.request("POST", `/v2/${dst}/blobs/uploads/?${query}`, { headers: { "Content-Length": 0 } });
        assert.equal(res.status, 202, `${query}: ${res.text}`);
        assert.match(String(res.headers.location), new RegExp(`^/v2/${dst}/blobs/uploads/[0-9a-f-]{36}$`));
        assert.equal(res.headers.range, "0-0");
      }
      assertOciError(await getBlob(dst, digest), 404, "BLOB_UNKNOWN");
      // The session from a failed mount is an ordinary upload.
      const res = await client.request("POST", `/v2/${dst}/blobs/uploads/?mount=${digest}`, { headers: { "Content-Length": 0 } });
      const put = await client.request("PUT", withDigest(String(res.headers.location), digest), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": blob.length },
        body: blob,
      });
      assert.equal(put.status, 201, put.text);
      assert.ok((await getBlob(dst, digest)).body.equals(blob));
    });
  });

  describe("manifests", () => {
    const MREPO = "push/manifests";
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
    const layer = randomBytes(2000);
    const dockerConfig = Buffer.from(JSON.stringify({ architecture: "arm64", os: "linux", docker: true }));
    const dockerLayer = randomBytes(1000);
    const foreignLayer = randomBytes(300); // pushed to another repository only

    before(async () => {
      for (const b of [config, layer, dockerConfig, dockerLayer]) await pushBlob(MREPO, b);
      await pushBlob("push/elsewhere", foreignLayer);
    });

    it("PUT an OCI image manifest by tag: 201, Location, Docker-Content-Digest; bytes kept exactly", async () => {
      const body = Buffer.from(`{\n  "schemaVersion" : 2, "mediaType":"${OCI_MANIFEST}",\n"config":${JSON.stringify(descriptor(OCI_CONFIG, config))},"layers":[${JSON.stringify(descriptor(OCI_LAYER, layer))}]  }`);
      const digest = sha256(body);
      const res = await putManifest(MREPO, "oci", body, OCI_MANIFEST);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers.location, `/v2/${MREPO}/manifests/${digest}`);
      assert.equal(res.headers["docker-content-digest"], digest);
      assert.equal(res.headers["oci-subject"], undefined);
      const got = await client.request("GET", `/v2/${MREPO}/manifests/oci`);
      assert.equal(got.status, 200);
      assert.equal(got.headers["content-type"], OCI_MANIFEST);
      assert.ok(got.body.equals(body));
      assert.ok((await client.request("GET", String(res.headers.location))).body.equals(body));
    });

    it("PUT by digest stores the manifest without creating a tag", async () => {
      const body = imageManifest(config, [layer], { annotations: { "by-digest": "yes" } });
      const digest = sha256(body);
      const res = await putManifest(MREPO, digest, body, OCI_MANIFEST);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["docker-content-digest"], digest);
      assert.ok((await client.request("GET", `/v2/${MREPO}/manifests/${digest}`)).body.equals(body));
      const tags = (await client.request("GET", `/v2/${MREPO}/tags/list`)).json<{ tags: string[] }>().tags;
      assert.ok(!tags.includes(digest) && !tags.some((t) => t.includes("sha256")), `unexpected tags ${tags}`);
    });

    it("PUT an OCI index whose children exist (201); a missing child is 400 MANIFEST_BLOB_UNKNOWN", async () => {
      const a = imageManifest(config, [layer], { annotations: { child: "a" } });
      const b = imageManifest(config, [layer], { annotations: { child: "b" } });
      assert.equal((await putManifest(MREPO, sha256(a), a, OCI_MANIFEST)).status, 201);
      assert.equal((await putManifest(MREPO, sha256(b), b, OCI_MANIFEST)).status, 201);
      const index = indexOf(OCI_INDEX, [{ mediaType: OCI_MANIFEST, body: a }, { mediaType: OCI_MANIFEST, body: b }]);
      const res = await putManifest(MREPO, "multi", index, OCI_INDEX);
      assert.equal(res.status, 201, res.text);
      const got = await client.request("GET", `/v2/${MREPO}/manifests/multi`);
      assert.equal(got.headers["content-type"], OCI_INDEX);
      assert.ok(got.body.equals(index));

      const missing = imageManifest(config, [layer], { annotations: { child: "never pushed" } });
      const bad = indexOf(OCI_INDEX, [{ mediaType: OCI_MANIFEST, body: a }, { mediaType: OCI_MANIFEST, body: missing }]);
      assertOciError(await putManifest(MREPO, "broken-index", bad, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/broken-index`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${sha256(bad)}`), 404, "MANIFEST_UNKNOWN");

      // A child that exists only in another repository does not count.
      const elsewhere = imageManifest(config, [layer], { annotations: { child: "elsewhere" } });
      await pushBlob("push/other-index", config);
      await pushBlob("push/other-index", layer);
      assert.equal((await putManifest("push/other-index", sha256(elsewhere), elsewhere, OCI_MANIFEST)).status, 201);
      const cross = indexOf(OCI_INDEX, [{ mediaType: OCI_MANIFEST, body: elsewhere }]);
      assertOciError(await putManifest(MREPO, "cross-index", cross, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN");
    });

    it("PUT a Docker v2 manifest and a Docker manifest list", async () => {
      const docker = imageManifest(dockerConfig, [dockerLayer], {}, true);
      const res = await putManifest(MREPO, "docker", docker, DOCKER_MANIFEST);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["docker-content-digest"], sha256(docker));
      const got = await client.request("GET", `/v2/${MREPO}/manifests/docker`);
      assert.equal(got.headers["content-type"], DOCKER_MANIFEST);
      assert.ok(got.body.equals(docker));

      const list = indexOf(DOCKER_LIST, [{ mediaType: DOCKER_MANIFEST, body: docker }]);
      const lres = await putManifest(MREPO, "docker-list", list, DOCKER_LIST);
      assert.equal(lres.status, 201, lres.text);
      const lgot = await client.request("HEAD", `/v2/${MREPO}/manifests/docker-list`);
      assert.equal(lgot.headers["content-type"], DOCKER_LIST);
      assert.equal(lgot.headers["docker-content-digest"], sha256(list));

      const orphanChild = imageManifest(dockerConfig, [dockerLayer, dockerLayer.subarray(1)], {}, true);
      const badList = indexOf(DOCKER_LIST, [{ mediaType: DOCKER_MANIFEST, body: orphanChild }]);
      assertOciError(await putManifest(MREPO, "docker-list-bad", badList, DOCKER_LIST), 400, "MANIFEST_BLOB_UNKNOWN");
    });

    it("a manifest referencing a missing blob is 400 MANIFEST_BLOB_UNKNOWN and is not stored", async () => {
      for (const absent of [randomBytes(100), foreignLayer]) {
        const body = imageManifest(config, [layer, absent]);
        assertOciError(await putManifest(MREPO, "missing-blob", body, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN");
        assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${sha256(body)}`), 404, "MANIFEST_UNKNOWN");
      }
      const noConfig = imageManifest(randomBytes(10), [layer]);
      assertOciError(await putManifest(MREPO, "missing-blob", noConfig, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/missing-blob`), 404, "MANIFEST_UNKNOWN");
      // A new repository is not left behind by a refused manifest.
      assertOciError(await putManifest("push/refused", "x", imageManifest(config, [layer]), OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN");
      assertOciError(await client.request("GET", "/v2/push/refused/tags/list"), 404, "NAME_UNKNOWN");
    });

    it("malformed or structurally invalid manifests are 400 MANIFEST_INVALID", async () => {
      const bodies = [
        "{ not json",
        "[]",
        JSON.stringify({ schemaVersion: 1, mediaType: OCI_MANIFEST, config: descriptor(OCI_CONFIG, config), layers: [] }),
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }),
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: "sha256:zz", size: 1 }, layers: [] }),
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: "nope" }),
      ];
      for (const text of bodies) {
        const body = Buffer.from(text);
        const type = text.includes(OCI_INDEX) ? OCI_INDEX : OCI_MANIFEST;
        assertOciError(await putManifest(MREPO, "invalid", body, type), 400, "MANIFEST_INVALID");
      }
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/invalid`), 404, "MANIFEST_UNKNOWN");
    });

    it("a digest reference that does not match the body is 400 DIGEST_INVALID", async () => {
      const body = imageManifest(config, [layer], { annotations: { mismatch: "1" } });
      const other = sha256(imageManifest(config, [layer], { annotations: { mismatch: "2" } }));
      assertOciError(await putManifest(MREPO, other, body, OCI_MANIFEST), 400, "DIGEST_INVALID");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${other}`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${sha256(body)}`), 404, "MANIFEST_UNKNOWN");
    });

    it("a manifest of exactly 4 MiB is accepted; one byte more is 413", async () => {
      const base = imageManifest(config, [layer], { annotations: { pad: "" } });
      const exact = imageManifest(config, [layer], { annotations: { pad: "p".repeat(MAX_MANIFEST - base.length) } });
      assert.equal(exact.length, MAX_MANIFEST);
      const ok = await putManifest(MREPO, "four-mib", exact, OCI_MANIFEST);
      assert.equal(ok.status, 201, ok.text);
      assert.equal((await client.request("HEAD", `/v2/${MREPO}/manifests/four-mib`)).headers["content-length"], String(MAX_MANIFEST));

      // The oversized body is declared but never sent: the registry must refuse on Content-Length alone.
      const reply = await rawExchange(
        `PUT /v2/${MREPO}/manifests/too-big HTTP/1.1\r\nHost: ${mcr.host}\r\nContent-Type: ${OCI_MANIFEST}\r\nContent-Length: ${MAX_MANIFEST + 1}\r\n\r\n`,
      );
      assert.match(reply.statusLine, /^HTTP\/1\.1 413 /);
      const err = JSON.parse(reply.body) as { errors: { code: string }[] };
      assert.ok(err.errors[0]!.code.length > 0);
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/too-big`), 404, "MANIFEST_UNKNOWN");
    });

    it("re-pushing the same manifest is idempotent", async () => {
      const body = imageManifest(config, [layer], { annotations: { again: "yes" } });
      const first = await putManifest(MREPO, "again", body, OCI_MANIFEST);
      const second = await putManifest(MREPO, "again", body, OCI_MANIFEST);
      const third = await putManifest(MREPO, sha256(body), body, OCI_MANIFEST);
      for (const r of [first, second, third]) {
        assert.equal(r.status, 201, r.text);
        assert.equal(r.headers["docker-content-digest"], sha256(body));
      }
      const got = await client.request("GET", `/v2/${MREPO}/manifests/again`);
      assert.ok(got.body.equals(body));
      const tags = (await client.request("GET", `/v2/${MREPO}/tags/list`)).json<{ tags: string[] }>().tags;
      assert.equal(tags.filter((t) => t === "again").length, 1);
    });

    it("a tag moves atomically to a new manifest; the old one stays reachable by digest", async () => {
      const a = imageManifest(config, [layer], { annotations: { version: "a" } });
      const b = imageManifest(config, [layer], { annotations: { version: "b" } });
      assert.equal((await putManifest(MREPO, "moving", a, OCI_MANIFEST)).status, 201);
      const seen = new Set<string>();
      let done = false;
      const reader = async () => {
        while (!done) {
          const r = await client.request("GET", `/v2/${MREPO}/manifests/moving`);
          assert.equal(r.status, 200, r.text);
          const digest = String(r.headers["docker-content-digest"]);
          assert.equal(sha256(r.body), digest, "body and digest header disagree");
          assert.ok(digest === sha256(a) || digest === sha256(b), `unexpected manifest ${digest}`);
          seen.add(digest);
        }
      };
      const readers = Array.from({ length: 6 }, reader);
      await new Promise((r) => setTimeout(r, 30));
      const put = await putManifest(MREPO, "moving", b, OCI_MANIFEST);
      assert.equal(put.status, 201, put.text);
      await new Promise((r) => setTimeout(r, 30));
      done = true;
      await Promise.all(readers);
      assert.ok(seen.has(sha256(a)), "readers ran before the move");
      const now = await client.request("GET", `/v2/${MREPO}/manifests/moving`);
      assert.equal(now.headers["docker-content-digest"], sha256(b));
      assert.ok((await client.request("GET", `/v2/${MREPO}/manifests/${sha256(a)}`)).body.equals(a));
    });

    it("a manifest with a subject gets the OCI-Subject header", async () => {
      const subject = imageManifest(config, [layer], { annotations: { role: "subject" } });
      assert.equal((await putManifest(MREPO, "subject", subject, OCI_MANIFEST)).status, 201);
      const referrer = imageManifest(config, [layer], {
        artifactType: "application/vnd.example.sig",
        subject: descriptor(OCI_MANIFEST, subject),
      });
      const res = await putManifest(MREPO, sha256(referrer), referrer, OCI_MANIFEST);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["oci-subject"], sha256(subject));
      // The subject need not exist (the spec allows pushing referrers first).
      const early = imageManifest(config, [layer], { subject: descriptor(OCI_MANIFEST, Buffer.from("not pushed")) });
      const eres = await putManifest(MREPO, sha256(early), early, OCI_MANIFEST);
      assert.equal(eres.status, 201, eres.text);
      assert.equal(eres.headers["oci-subject"], sha256("not pushed"));
    });
  });

  /** Sends raw bytes over TLS (verified against the test CA) and reads the reply until the server closes. */
  function rawExchange(request: string): Promise<{ statusLine: string; headers: string; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: "localhost", port: mcr.port, ca: home.caPem, servername: "localhost" }, () => socket.write(request));
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no complete reply within 5s: ${Buffer.concat(chunks).toString()}`));
      }, 5000);
      socket.on("data", (c: Buffer) => chunks.push(c));
      socket.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on("end", () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("utf8");
        const split = text.indexOf("\r\n\r\n");
        const head = text.slice(0, split);
        resolve({ statusLine: head.split("\r\n")[0]!, headers: head, body: text.slice(split + 4) });
      });
    });
  }
});
