// OCI Distribution Spec v1.1 "push" workflow against the real `mcr` over TLS: manifest PUT
// (OCI and Docker manifests and indexes), tags, subjects and limits.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { RegistryClient } from "../helpers/https-client.ts";
import { OCI_MANIFEST, OCI_INDEX, OCI_CONFIG, OCI_LAYER, sha256, assertOciError, descriptor } from "../helpers/oci.ts";
import { DOCKER_LIST, DOCKER_MANIFEST, MAX_MANIFEST, PushClient, imageManifest, indexOf } from "../helpers/oci-push.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { until } from "../helpers/wait.ts";

describe("OCI push: manifests", () => {
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

  describe("manifests", () => {
    const MREPO = "push/manifests";
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
    const layer = randomBytes(2000);
    const dockerConfig = Buffer.from(JSON.stringify({ architecture: "arm64", os: "linux", docker: true }));
    const dockerLayer = randomBytes(1000);
    const foreignLayer = randomBytes(300); // pushed to another repository only

    before(async () => {
      for (const b of [config, layer, dockerConfig, dockerLayer]) await up.pushBlob(MREPO, b);
      await up.pushBlob("push/elsewhere", foreignLayer);
    });

    it("PUT an OCI image manifest by tag: 201, Location, Docker-Content-Digest; bytes kept exactly", async () => {
      const body = Buffer.from(
        `{\n  "schemaVersion" : 2, "mediaType":"${OCI_MANIFEST}",\n"config":${JSON.stringify(descriptor(OCI_CONFIG, config))},"layers":[${JSON.stringify(descriptor(OCI_LAYER, layer))}]  }`,
      );
      const digest = sha256(body);
      const res = await up.putManifest(MREPO, "oci", body, OCI_MANIFEST);
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
      const res = await up.putManifest(MREPO, digest, body, OCI_MANIFEST);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["docker-content-digest"], digest);
      assert.ok((await client.request("GET", `/v2/${MREPO}/manifests/${digest}`)).body.equals(body));
      const tags = (await client.request("GET", `/v2/${MREPO}/tags/list`)).json<{ tags: string[] }>().tags;
      assert.ok(!tags.includes(digest) && !tags.some((t) => t.includes("sha256")), `unexpected tags ${tags}`);
    });

    it("PUT an OCI index whose children exist (201); a missing child is 400 MANIFEST_BLOB_UNKNOWN", async () => {
      const a = imageManifest(config, [layer], { annotations: { child: "a" } });
      const b = imageManifest(config, [layer], { annotations: { child: "b" } });
      assert.equal((await up.putManifest(MREPO, sha256(a), a, OCI_MANIFEST)).status, 201);
      assert.equal((await up.putManifest(MREPO, sha256(b), b, OCI_MANIFEST)).status, 201);
      const index = indexOf(OCI_INDEX, [
        { mediaType: OCI_MANIFEST, body: a },
        { mediaType: OCI_MANIFEST, body: b },
      ]);
      const res = await up.putManifest(MREPO, "multi", index, OCI_INDEX);
      assert.equal(res.status, 201, res.text);
      const got = await client.request("GET", `/v2/${MREPO}/manifests/multi`);
      assert.equal(got.headers["content-type"], OCI_INDEX);
      assert.ok(got.body.equals(index));

      const missing = imageManifest(config, [layer], { annotations: { child: "never pushed" } });
      const bad = indexOf(OCI_INDEX, [
        { mediaType: OCI_MANIFEST, body: a },
        { mediaType: OCI_MANIFEST, body: missing },
      ]);
      assertOciError(await up.putManifest(MREPO, "broken-index", bad, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/broken-index`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${sha256(bad)}`), 404, "MANIFEST_UNKNOWN");

      // A child that exists only in another repository does not count.
      const elsewhere = imageManifest(config, [layer], { annotations: { child: "elsewhere" } });
      await up.pushBlob("push/other-index", config);
      await up.pushBlob("push/other-index", layer);
      assert.equal((await up.putManifest("push/other-index", sha256(elsewhere), elsewhere, OCI_MANIFEST)).status, 201);
      const cross = indexOf(OCI_INDEX, [{ mediaType: OCI_MANIFEST, body: elsewhere }]);
      assertOciError(await up.putManifest(MREPO, "cross-index", cross, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN");
    });

    it("PUT a Docker v2 manifest and a Docker manifest list", async () => {
      const docker = imageManifest(dockerConfig, [dockerLayer], {}, true);
      const res = await up.putManifest(MREPO, "docker", docker, DOCKER_MANIFEST);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["docker-content-digest"], sha256(docker));
      const got = await client.request("GET", `/v2/${MREPO}/manifests/docker`);
      assert.equal(got.headers["content-type"], DOCKER_MANIFEST);
      assert.ok(got.body.equals(docker));

      const list = indexOf(DOCKER_LIST, [{ mediaType: DOCKER_MANIFEST, body: docker }]);
      const lres = await up.putManifest(MREPO, "docker-list", list, DOCKER_LIST);
      assert.equal(lres.status, 201, lres.text);
      const lgot = await client.request("HEAD", `/v2/${MREPO}/manifests/docker-list`);
      assert.equal(lgot.headers["content-type"], DOCKER_LIST);
      assert.equal(lgot.headers["docker-content-digest"], sha256(list));

      const orphanChild = imageManifest(dockerConfig, [dockerLayer, dockerLayer.subarray(1)], {}, true);
      const badList = indexOf(DOCKER_LIST, [{ mediaType: DOCKER_MANIFEST, body: orphanChild }]);
      assertOciError(await up.putManifest(MREPO, "docker-list-bad", badList, DOCKER_LIST), 400, "MANIFEST_BLOB_UNKNOWN");
    });

    it("a manifest referencing a missing blob is 400 MANIFEST_BLOB_UNKNOWN and is not stored", async () => {
      for (const absent of [randomBytes(100), foreignLayer]) {
        const body = imageManifest(config, [layer, absent]);
        assertOciError(await up.putManifest(MREPO, "missing-blob", body, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN");
        assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${sha256(body)}`), 404, "MANIFEST_UNKNOWN");
      }
      const noConfig = imageManifest(randomBytes(10), [layer]);
      assertOciError(await up.putManifest(MREPO, "missing-blob", noConfig, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/missing-blob`), 404, "MANIFEST_UNKNOWN");
      // A new repository is not left behind by a refused manifest.
      assertOciError(await up.putManifest("push/refused", "x", imageManifest(config, [layer]), OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN");
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
        // Annotations are a map of string to string: nothing nested, no other value types.
        `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${JSON.stringify(descriptor(OCI_CONFIG, config))},"layers":[],"subject":${JSON.stringify(descriptor(OCI_MANIFEST, config))},"annotations":${'{"a":'.repeat(5000)}"x"${"}".repeat(5000)}}`,
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor(OCI_CONFIG, config), layers: [], annotations: { n: 1 } }),
        JSON.stringify({ schemaVersion: 2, mediaType: 7, config: descriptor(OCI_CONFIG, config), layers: [] }),
      ];
      for (const text of bodies) {
        const body = Buffer.from(text);
        const type = text.includes(OCI_INDEX) ? OCI_INDEX : OCI_MANIFEST;
        assertOciError(await up.putManifest(MREPO, "invalid", body, type), 400, "MANIFEST_INVALID");
      }
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/invalid`), 404, "MANIFEST_UNKNOWN");
    });

    it("a digest reference that does not match the body is 400 DIGEST_INVALID", async () => {
      const body = imageManifest(config, [layer], { annotations: { mismatch: "1" } });
      const other = sha256(imageManifest(config, [layer], { annotations: { mismatch: "2" } }));
      assertOciError(await up.putManifest(MREPO, other, body, OCI_MANIFEST), 400, "DIGEST_INVALID");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${other}`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${MREPO}/manifests/${sha256(body)}`), 404, "MANIFEST_UNKNOWN");
    });

    it("a manifest of exactly 4 MiB is accepted; one byte more is 413", async () => {
      const base = imageManifest(config, [layer], { annotations: { pad: "" } });
      const exact = imageManifest(config, [layer], { annotations: { pad: "p".repeat(MAX_MANIFEST - base.length) } });
      assert.equal(exact.length, MAX_MANIFEST);
      const ok = await up.putManifest(MREPO, "four-mib", exact, OCI_MANIFEST);
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
      const first = await up.putManifest(MREPO, "again", body, OCI_MANIFEST);
      const second = await up.putManifest(MREPO, "again", body, OCI_MANIFEST);
      const third = await up.putManifest(MREPO, sha256(body), body, OCI_MANIFEST);
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
      assert.equal((await up.putManifest(MREPO, "moving", a, OCI_MANIFEST)).status, 201);
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
      const seenBy = (d: string) => until(`readers to get ${d}`, async () => (seen.has(d) ? true : undefined), 10_000, 5);
      await seenBy(sha256(a)); // reading before the move
      const put = await up.putManifest(MREPO, "moving", b, OCI_MANIFEST);
      assert.equal(put.status, 201, put.text);
      await seenBy(sha256(b)); // and after it
      done = true;
      await Promise.all(readers);
      assert.ok(seen.has(sha256(a)), "readers ran before the move");
      const now = await client.request("GET", `/v2/${MREPO}/manifests/moving`);
      assert.equal(now.headers["docker-content-digest"], sha256(b));
      assert.ok((await client.request("GET", `/v2/${MREPO}/manifests/${sha256(a)}`)).body.equals(a));
    });

    it("a manifest with a subject gets the OCI-Subject header", async () => {
      const subject = imageManifest(config, [layer], { annotations: { role: "subject" } });
      assert.equal((await up.putManifest(MREPO, "subject", subject, OCI_MANIFEST)).status, 201);
      const referrer = imageManifest(config, [layer], {
        artifactType: "application/vnd.example.sig",
        subject: descriptor(OCI_MANIFEST, subject),
      });
      const res = await up.putManifest(MREPO, sha256(referrer), referrer, OCI_MANIFEST);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.headers["oci-subject"], sha256(subject));
      // The subject need not exist (the spec allows pushing referrers first).
      const early = imageManifest(config, [layer], { subject: descriptor(OCI_MANIFEST, Buffer.from("not pushed")) });
      const eres = await up.putManifest(MREPO, sha256(early), early, OCI_MANIFEST);
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
