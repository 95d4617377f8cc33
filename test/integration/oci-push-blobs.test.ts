// OCI Distribution Spec v1.1 "push" workflow against the real `mcr` over TLS: upload sessions
// (monolithic, single POST, chunked) and cross-repository mounts.
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { request as httpsRequest } from "node:https";
import { after, before, describe, it } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { sha256, assertOciError } from "../helpers/oci.ts";
import { PushClient, UUID_RE } from "../helpers/oci-push.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { until } from "../helpers/wait.ts";

describe("OCI push: blobs", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;
  let up: PushClient;

  const REPO = "push/app";

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home);
    client = new RegistryClient(mcr.url, home.caPem);
    up = new PushClient(client, mcr.url);
  });

  after(async () => {
    client?.close();
    await mcr?.stop();
    if (home) removeHome(home);
  });

  describe("blob uploads", () => {
    it("POST starts a session: 202 with Location, Range 0-0 and Docker-Upload-UUID", async () => {
      const { res, uuid } = await up.startSession(REPO);
      assert.match(uuid, UUID_RE);
      assert.equal(res.headers.location, `/v2/${REPO}/blobs/uploads/${uuid}`);
      assert.equal(res.headers.range, "0-0");
      assert.equal(res.headers["content-length"], "0");
      const again = await up.startSession(REPO);
      assert.notEqual(again.uuid, uuid, "each session needs its own id");
    });

    it("monolithic POST then PUT: 201 with Location and Docker-Content-Digest; the blob is pullable", async () => {
      const data = randomBytes(4096);
      const digest = sha256(data);
      const { location } = await up.startSession(REPO);
      const put = await client.request("PUT", up.withDigest(location, digest), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assert.equal(put.status, 201, put.text);
      assert.equal(put.headers.location, `/v2/${REPO}/blobs/${digest}`);
      assert.equal(put.headers["docker-content-digest"], digest);
      const got = await client.request("GET", String(put.headers.location));
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(data));
      assertOciError(await up.status(location), 404, "BLOB_UPLOAD_UNKNOWN"); // the session is closed
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
      const got = await up.getBlob(REPO, digest);
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
      assertOciError(await up.getBlob(REPO, claimed), 404, "BLOB_UNKNOWN");
      assertOciError(await up.getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("chunked PATCH with Content-Range in several chunks, then PUT ?digest= with no body", async () => {
      const data = randomBytes(10_000);
      const cuts = [0, 1000, 4500, 9999, 10_000];
      const { location, uuid } = await up.startSession(REPO);
      let next = location;
      for (let i = 0; i + 1 < cuts.length; i++) {
        const [start, end] = [cuts[i]!, cuts[i + 1]! - 1];
        const res = await up.patch(next, data.subarray(start, end + 1), `${start}-${end}`);
        assert.equal(res.status, 202, res.text);
        assert.equal(res.headers.range, `0-${end}`);
        assert.equal(res.headers["docker-upload-uuid"], uuid);
        assert.equal(res.headers.location, `/v2/${REPO}/blobs/uploads/${uuid}`);
        next = String(res.headers.location);
      }
      const put = await client.request("PUT", up.withDigest(next, sha256(data)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
      assert.equal(put.headers["docker-content-digest"], sha256(data));
      const got = await up.getBlob(REPO, sha256(data));
      assert.ok(got.body.equals(data));
    });

    it("the last chunk may travel in the closing PUT, and PATCH may omit Content-Range", async () => {
      const data = randomBytes(3000);
      const { location } = await up.startSession(REPO);
      const first = await up.patch(location, data.subarray(0, 1000)); // streamed chunk, no Content-Range
      assert.equal(first.status, 202, first.text);
      assert.equal(first.headers.range, "0-999");
      const second = await up.patch(location, data.subarray(1000, 2000));
      assert.equal(second.headers.range, "0-1999");
      const put = await client.request("PUT", up.withDigest(location, sha256(data)), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": 1000, "Content-Range": "2000-2999" },
        body: data.subarray(2000),
      });
      assert.equal(put.status, 201, put.text);
      assert.ok((await up.getBlob(REPO, sha256(data))).body.equals(data));
    });

    it("GET on the session gives 204 with the current Range and Location", async () => {
      const { location, uuid } = await up.startSession(REPO);
      const empty = await up.status(location);
      assert.equal(empty.status, 204);
      assert.equal(empty.headers.range, "0-0");
      assert.equal(empty.headers.location, `/v2/${REPO}/blobs/uploads/${uuid}`);
      assert.equal(empty.headers["docker-upload-uuid"], uuid);
      assert.equal((await up.patch(location, randomBytes(777), "0-776")).status, 202);
      const after = await up.status(location);
      assert.equal(after.status, 204);
      assert.equal(after.headers.range, "0-776");
      assert.equal(after.body.length, 0);
    });

    it("an out-of-order chunk is 416 with the current Range; the upload is unchanged", async () => {
      const data = randomBytes(300);
      const { location } = await up.startSession(REPO);
      assert.equal((await up.patch(location, data.subarray(0, 100), "0-99")).status, 202);
      for (const [chunk, range] of [
        [data.subarray(200, 300), "200-299"], // gap
        [data.subarray(0, 100), "0-99"], // replay of an accepted chunk
        [data.subarray(50, 150), "50-149"], // overlap
      ] as const) {
        const res = await up.patch(location, chunk, range);
        assertOciError(res, 416);
        assert.equal(res.headers.range, "0-99", range);
        assert.equal(res.headers.location, location);
      }
      assert.equal((await up.status(location)).headers.range, "0-99");
      assert.equal((await up.patch(location, data.subarray(100, 300), "100-299")).headers.range, "0-299");
      const put = await client.request("PUT", up.withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
    });

    it("a Content-Range that disagrees with Content-Length is 416; the upload is unchanged", async () => {
      const { location } = await up.startSession(REPO);
      assert.equal((await up.patch(location, randomBytes(10), "0-9")).status, 202);
      const res = await up.patch(location, randomBytes(5), "10-19"); // 10 bytes claimed, 5 sent and declared
      assertOciError(res, 416);
      assert.equal(res.headers.range, "0-9");
      assert.equal((await up.status(location)).headers.range, "0-9");
    });

    it("a malformed Content-Range is 400 BLOB_UPLOAD_INVALID; the upload is unchanged", async () => {
      const { location } = await up.startSession(REPO);
      assert.equal((await up.patch(location, randomBytes(10), "0-9")).status, 202);
      for (const range of ["abc", "10-", "-10", "19-10", "10-19/20", "bytes=10-19"]) {
        assertOciError(await up.patch(location, randomBytes(10), range), 400, "BLOB_UPLOAD_INVALID");
      }
      assert.equal((await up.status(location)).headers.range, "0-9");
    });

    it("DELETE cancels the session (204); afterwards it is 404 BLOB_UPLOAD_UNKNOWN", async () => {
      const data = randomBytes(100);
      const { location } = await up.startSession(REPO);
      assert.equal((await up.patch(location, data, "0-99")).status, 202);
      const del = await client.request("DELETE", location);
      assert.equal(del.status, 204);
      assertOciError(await up.status(location), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await up.patch(location, data, "0-99"), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("PUT", up.withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } }), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("DELETE", location), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await up.getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("PUT without a digest is 400 DIGEST_INVALID and the blob does not appear", async () => {
      const data = randomBytes(500);
      const { location } = await up.startSession(REPO);
      const res = await client.request("PUT", location, {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assertOciError(res, 400, "DIGEST_INVALID");
      assertOciError(await up.getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("PUT with the wrong digest is 400 DIGEST_INVALID and neither digest appears", async () => {
      const data = randomBytes(500);
      const wrong = sha256(randomBytes(500));
      const { location } = await up.startSession(REPO);
      const res = await client.request("PUT", up.withDigest(location, wrong), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
        body: data,
      });
      assertOciError(res, 400, "DIGEST_INVALID");
      assertOciError(await up.getBlob(REPO, wrong), 404, "BLOB_UNKNOWN");
      assertOciError(await up.getBlob(REPO, sha256(data)), 404, "BLOB_UNKNOWN");
      // A syntactically invalid digest is DIGEST_INVALID too.
      const { location: other } = await up.startSession(REPO);
      assertOciError(await client.request("PUT", up.withDigest(other, "sha256:nothex"), { headers: { "Content-Length": 0 } }), 400, "DIGEST_INVALID");
    });

    it("an unknown or garbage upload id is 404 BLOB_UPLOAD_UNKNOWN", async () => {
      for (const id of [randomUUID(), randomUUID().toUpperCase(), "garbage", "00000000", "A".repeat(300)]) {
        const location = `/v2/${REPO}/blobs/uploads/${id}`;
        assertOciError(await up.status(location), 404, "BLOB_UPLOAD_UNKNOWN");
        assertOciError(await up.patch(location, randomBytes(4), "0-3"), 404, "BLOB_UPLOAD_UNKNOWN");
        assertOciError(await client.request("PUT", up.withDigest(location, sha256("x")), { headers: { "Content-Length": 0 } }), 404, "BLOB_UPLOAD_UNKNOWN");
        assertOciError(await client.request("DELETE", location), 404, "BLOB_UPLOAD_UNKNOWN");
      }
    });

    it("an upload id used under another repository name is 404 and does not touch the session", async () => {
      const data = randomBytes(64);
      const { location, uuid } = await up.startSession(REPO);
      assert.equal((await up.patch(location, data.subarray(0, 32), "0-31")).status, 202);
      await up.startSession("push/intruder"); // the other repository exists
      const foreign = `/v2/push/intruder/blobs/uploads/${uuid}`;
      assertOciError(await up.status(foreign), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await up.patch(foreign, data.subarray(32), "32-63"), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("PUT", up.withDigest(foreign, sha256(data)), { headers: { "Content-Length": 0 } }), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await client.request("DELETE", foreign), 404, "BLOB_UPLOAD_UNKNOWN");
      assertOciError(await up.status(`/v2/push/never-created/blobs/uploads/${uuid}`), 404, "BLOB_UPLOAD_UNKNOWN");
      assert.equal((await up.status(location)).headers.range, "0-31");
      assert.equal((await up.patch(location, data.subarray(32), "32-63")).status, 202);
      const put = await client.request("PUT", up.withDigest(location, sha256(data)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
      assertOciError(await up.getBlob("push/intruder", sha256(data)), 404, "BLOB_UNKNOWN");
    });

    it("a body cut short (declared length not sent, connection dropped) leaves the previous offset", async () => {
      const first = randomBytes(1000);
      // Larger than the buffers the server writes through (registry/storage/write-body.ts), so
      // part of the half-sent body reaches the file before the connection drops.
      const second = randomBytes(2 * 1024 * 1024);
      const end = 1000 + second.length - 1;
      const { location } = await up.startSession(REPO);
      assert.equal((await up.patch(location, first, "0-999")).status, 202);

      // Declare the whole of it, send 600 KB, then drop the connection.
      await new Promise<void>((resolve, reject) => {
        const req = httpsRequest({
          host: "localhost",
          port: mcr.port,
          method: "PATCH",
          path: location,
          ca: home.caPem,
          agent: false,
          headers: { "Content-Type": "application/octet-stream", "Content-Length": second.length, "Content-Range": `1000-${end}` },
        });
        req.on("error", () => undefined); // the destroy below
        req.on("response", (res) => reject(new Error(`the server answered a half-sent body with ${res.statusCode}`)));
        // Dropped once the server has written some of these bytes: they must not count. (An S3
        // store shows no bytes before a chunk is whole: there, a moment for them to be sent.)
        const file = join(home.dir, "uploads", location.split("?")[0]!.split("/").pop()!);
        const partWritten =
          home.backend === "embedded"
            ? async () => (statSync(file).size > 1000 ? true : undefined)
            : async () => new Promise<true>((r) => setTimeout(() => r(true), 300));
        req.write(second.subarray(0, 600_000), () =>
          until("the server to write part of the body", partWritten, 10_000, 5).then(() => {
            req.destroy();
            resolve();
          }, reject),
        );
      });

      const st = await up.status(location);
      assert.equal(st.status, 204);
      assert.equal(st.headers.range, "0-999");
      const retry = await up.patch(location, second, `1000-${end}`);
      assert.equal(retry.status, 202, retry.text);
      assert.equal(retry.headers.range, `0-${end}`);
      const whole = Buffer.concat([first, second]);
      const put = await client.request("PUT", up.withDigest(location, sha256(whole)), { headers: { "Content-Length": 0 } });
      assert.equal(put.status, 201, put.text);
      assert.ok((await up.getBlob(REPO, sha256(whole))).body.equals(whole));
    });
  });

  describe("cross-repository mount", () => {
    const SRC = "mount/src";
    const blob = randomBytes(1500);
    const digest = sha256(blob);

    before(async () => {
      await up.pushBlob(SRC, blob);
    });

    it("?mount=&from= a repository holding the blob is 201 and the blob is then pullable", async () => {
      const dst = "mount/dst";
      await up.startSession(dst); // the repository exists, without the blob
      assertOciError(await up.getBlob(dst, digest), 404, "BLOB_UNKNOWN");
      const res = await client.request("POST", `/v2/${dst}/blobs/uploads/?mount=${digest}&from=${SRC}`, { headers: { "Content-Length": 0 } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers.location, `/v2/${dst}/blobs/${digest}`);
      assert.equal(res.headers["docker-content-digest"], digest);
      const got = await up.getBlob(dst, digest);
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
      assertOciError(await up.getBlob(dst, digest), 404, "BLOB_UNKNOWN");
      // The session from a failed mount is an ordinary upload.
      const res = await client.request("POST", `/v2/${dst}/blobs/uploads/?mount=${digest}`, { headers: { "Content-Length": 0 } });
      const put = await client.request("PUT", up.withDigest(String(res.headers.location), digest), {
        headers: { "Content-Type": "application/octet-stream", "Content-Length": blob.length },
        body: blob,
      });
      assert.equal(put.status, 201, put.text);
      assert.ok((await up.getBlob(dst, digest)).body.equals(blob));
    });
  });
});
