// OCI Distribution Spec v1.1 "content discovery" and "content management" against the real `mcr`
// over TLS: tags list, _catalog, referrers and DELETE (hostile input: oci-hostile.test.ts).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { after, before, describe, it } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, assertOciError, descriptor, sha256 } from "../helpers/oci.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}, configType = OCI_CONFIG): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor(configType, config),
      layers: layers.map((l) => descriptor(OCI_LAYER, l)),
      ...extra,
    }),
  );
}

/** `<path>` from `Link: <path>; rel="next"`, or undefined. */
function nextLink(headers: IncomingHttpHeaders): string | undefined {
  const link = headers.link;
  if (link === undefined) return undefined;
  const m = /^<([^>]+)>;\s*rel="next"$/.exec(String(link));
  assert.ok(m, `malformed Link header ${link}`);
  return m[1];
}

interface Registry {
  home: McrHome;
  mcr: McrProcess;
  client: RegistryClient;
}

async function startRegistry(env: NodeJS.ProcessEnv = {}): Promise<Registry> {
  const home = await initHome();
  try {
    const mcr = await startMcr(home, env);
    return { home, mcr, client: new RegistryClient(mcr.url, home.caPem) };
  } catch (err) {
    removeHome(home);
    throw err;
  }
}

async function stopRegistry(r: Registry | undefined): Promise<void> {
  if (!r) return;
  r.client.close();
  await r.mcr.stop();
  removeHome(r.home);
}

describe("OCI content discovery and management", () => {
  let reg: Registry;
  let client: RegistryClient;

  async function pushBlob(name: string, data: Buffer, c: RegistryClient = client): Promise<void> {
    const res = await c.request("POST", `/v2/${name}/blobs/uploads/?digest=${sha256(data)}`, {
      headers: { "Content-Type": "application/octet-stream", "Content-Length": data.length },
      body: data,
    });
    assert.equal(res.status, 201, res.text);
  }

  async function putManifest(name: string, reference: string, body: Buffer, mediaType = OCI_MANIFEST, c: RegistryClient = client): Promise<string> {
    const res = await c.request("PUT", `/v2/${name}/manifests/${reference}`, {
      headers: { "Content-Type": mediaType, "Content-Length": body.length },
      body,
    });
    assert.equal(res.status, 201, res.text);
    return sha256(body);
  }

  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
  const layer = randomBytes(512);

  before(async () => {
    reg = await startRegistry();
    client = reg.client;
  });

  after(async () => {
    await stopRegistry(reg);
  });

  describe("tags list", () => {
    const REPO = "disc/tags";
    const TAGS = ["v9", "v10", "latest", "A", "b", "1.0", "_under", "Z-last", "a.b"];
    const sorted = [...TAGS].sort(); // code-unit order = Go's sort.Strings for ASCII

    before(async () => {
      await pushBlob(REPO, config);
      await pushBlob(REPO, layer);
      const body = imageManifest(config, [layer]);
      for (const tag of TAGS) await putManifest(REPO, tag, body);
    });

    it("lists every tag in lexical order", async () => {
      const res = await client.request("GET", `/v2/${REPO}/tags/list`);
      assert.equal(res.status, 200);
      assert.match(String(res.headers["content-type"]), /^application\/json/);
      assert.deepEqual(res.json(), { name: REPO, tags: sorted });
      assert.equal(res.headers.link, undefined);
    });

    it("pages with n and last, linking each page to the next with Link rel=next", async () => {
      const first = await client.request("GET", `/v2/${REPO}/tags/list?n=2`);
      assert.equal(first.status, 200);
      assert.deepEqual(first.json().tags, sorted.slice(0, 2));
      assert.equal(nextLink(first.headers), `/v2/${REPO}/tags/list?n=2&last=${encodeURIComponent(sorted[1]!)}`);

      const collected: string[] = [];
      let path: string | undefined = `/v2/${REPO}/tags/list?n=2`;
      let pages = 0;
      while (path) {
        const res = await client.request("GET", path);
        assert.equal(res.status, 200, res.text);
        const tags = res.json<{ tags: string[] }>().tags;
        assert.ok(tags.length <= 2);
        collected.push(...tags);
        path = nextLink(res.headers);
        if (path) assert.equal(tags.length, 2, "a page followed by a Link must be full");
        assert.ok(++pages <= TAGS.length, "pagination does not end");
      }
      assert.deepEqual(collected, sorted);
    });

    it("last alone returns the tags after it; n at or beyond the count needs no Link", async () => {
      const rest = await client.request("GET", `/v2/${REPO}/tags/list?last=${sorted[3]}`);
      assert.deepEqual(rest.json().tags, sorted.slice(4));
      const exact = await client.request("GET", `/v2/${REPO}/tags/list?n=${TAGS.length}`);
      assert.deepEqual(exact.json().tags, sorted);
      assert.equal(exact.headers.link, undefined);
      const beyond = await client.request("GET", `/v2/${REPO}/tags/list?n=1000`);
      assert.deepEqual(beyond.json().tags, sorted);
      assert.equal(beyond.headers.link, undefined);
      const end = await client.request("GET", `/v2/${REPO}/tags/list?n=3&last=${sorted.at(-1)}`);
      assert.deepEqual(end.json().tags, []);
      assert.equal(end.headers.link, undefined);
    });

    it("n=0 returns an empty list and no Link", async () => {
      const res = await client.request("GET", `/v2/${REPO}/tags/list?n=0`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { name: REPO, tags: [] });
      assert.equal(res.headers.link, undefined);
    });

    it("an invalid n is 400", async () => {
      for (const n of ["abc", "-1", "1.5", "1e3", "0x10"]) {
        assertOciError(await client.request("GET", `/v2/${REPO}/tags/list?n=${encodeURIComponent(n)}`), 400);
      }
    });

    it("a repository without tags lists none; an unknown repository is 404 NAME_UNKNOWN", async () => {
      await pushBlob("disc/untagged", config);
      const res = await client.request("GET", "/v2/disc/untagged/tags/list");
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), { name: "disc/untagged", tags: [] });
      assertOciError(await client.request("GET", "/v2/disc/unknown/tags/list"), 404, "NAME_UNKNOWN");
    });
  });

  describe("_catalog", () => {
    const NAMES = ["cat/zeta", "cat/alpha", "cat/mid/deep", "cat/alpha-2", "cat/beta"];

    before(async () => {
      for (const n of NAMES) await pushBlob(n, config);
    });

    it("lists repositories in lexical order", async () => {
      const res = await client.request("GET", "/v2/_catalog");
      assert.equal(res.status, 200);
      const repos = res.json<{ repositories: string[] }>().repositories;
      assert.deepEqual(repos, [...repos].sort());
      for (const n of NAMES) assert.ok(repos.includes(n), `${n} missing from ${repos}`);
      const ours = repos.filter((r) => r.startsWith("cat/"));
      assert.deepEqual(ours, [...NAMES].sort());
    });

    it("pages with n and Link rel=next to exactly the full list; n=0 is empty; bad n is 400", async () => {
      const all = (await client.request("GET", "/v2/_catalog")).json<{ repositories: string[] }>().repositories;
      const collected: string[] = [];
      let path: string | undefined = "/v2/_catalog?n=2";
      while (path) {
        const res = await client.request("GET", path);
        assert.equal(res.status, 200, res.text);
        collected.push(...res.json<{ repositories: string[] }>().repositories);
        path = nextLink(res.headers);
        if (path) assert.match(path, /^\/v2\/_catalog\?n=2&last=/);
        assert.ok(collected.length <= all.length + 2, "pagination does not end");
      }
      assert.deepEqual(collected, all);
      const zero = await client.request("GET", "/v2/_catalog?n=0");
      assert.deepEqual(zero.json(), { repositories: [] });
      assert.equal(zero.headers.link, undefined);
      assertOciError(await client.request("GET", "/v2/_catalog?n=many"), 400);
    });
  });

  describe("referrers", () => {
    const REPO = "disc/referrers";
    const SIG = "application/vnd.example.signature.v1";
    const SBOM_CONFIG = "application/vnd.example.sbom.config.v1+json";
    const subject = imageManifest(config, [layer], { annotations: { role: "subject" } });
    const unrelated = imageManifest(config, [layer], { annotations: { role: "unrelated" } });
    const sig = imageManifest(config, [layer], {
      artifactType: SIG,
      subject: descriptor(OCI_MANIFEST, subject),
      annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z", "com.example.key": "abcd" },
    });
    const sbomConfig = Buffer.from('{"format":"spdx"}');
    // No artifactType: the descriptor takes the config's mediaType.
    const sbom = imageManifest(sbomConfig, [layer], { subject: descriptor(OCI_MANIFEST, subject), annotations: { kind: "sbom" } }, SBOM_CONFIG);
    // An index referrer without artifactType: the descriptor has none.
    const indexReferrer = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], subject: descriptor(OCI_MANIFEST, subject), annotations: { kind: "index" } }),
    );
    const otherSubject = imageManifest(config, [layer], { artifactType: SIG, subject: descriptor(OCI_MANIFEST, unrelated) });

    before(async () => {
      for (const b of [config, layer, sbomConfig]) await pushBlob(REPO, b);
      await putManifest(REPO, "subject", subject);
      await putManifest(REPO, "unrelated", unrelated);
      await putManifest(REPO, sha256(sig), sig);
      await putManifest(REPO, sha256(sbom), sbom);
      await putManifest(REPO, sha256(indexReferrer), indexReferrer, OCI_INDEX);
      await putManifest(REPO, sha256(otherSubject), otherSubject);
      // The same referrer in another repository is not listed here.
      for (const b of [config, layer]) await pushBlob("disc/referrers-other", b);
      const foreign = imageManifest(config, [layer], { artifactType: SIG, subject: descriptor(OCI_MANIFEST, subject), annotations: { foreign: "1" } });
      await putManifest("disc/referrers-other", sha256(foreign), foreign);
    });

    it("lists the manifests whose subject is the digest, with artifactType and annotations", async () => {
      const res = await client.request("GET", `/v2/${REPO}/referrers/${sha256(subject)}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers["content-type"], OCI_INDEX);
      assert.equal(res.headers["oci-filters-applied"], undefined);
      const index = res.json<{ schemaVersion: number; mediaType: string; manifests: Record<string, unknown>[] }>();
      assert.equal(index.schemaVersion, 2);
      assert.equal(index.mediaType, OCI_INDEX);
      const byDigest = new Map(index.manifests.map((d) => [d.digest as string, d]));
      assert.equal(index.manifests.length, 3, JSON.stringify(index.manifests));
      assert.deepEqual(byDigest.get(sha256(sig)), {
        mediaType: OCI_MANIFEST,
        digest: sha256(sig),
        size: sig.length,
        artifactType: SIG,
        annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z", "com.example.key": "abcd" },
      });
      assert.deepEqual(byDigest.get(sha256(sbom)), {
        mediaType: OCI_MANIFEST,
        digest: sha256(sbom),
        size: sbom.length,
        artifactType: SBOM_CONFIG,
        annotations: { kind: "sbom" },
      });
      assert.deepEqual(byDigest.get(sha256(indexReferrer)), {
        mediaType: OCI_INDEX,
        digest: sha256(indexReferrer),
        size: indexReferrer.length,
        annotations: { kind: "index" },
      });
    });

    it("filters by artifactType and says so with OCI-Filters-Applied", async () => {
      const sigs = await client.request("GET", `/v2/${REPO}/referrers/${sha256(subject)}?artifactType=${encodeURIComponent(SIG)}`);
      assert.equal(sigs.status, 200);
      assert.equal(sigs.headers["oci-filters-applied"], "artifactType");
      assert.deepEqual(
        sigs.json().manifests.map((d: { digest: string }) => d.digest),
        [sha256(sig)],
      );
      const sboms = await client.request("GET", `/v2/${REPO}/referrers/${sha256(subject)}?artifactType=${encodeURIComponent(SBOM_CONFIG)}`);
      assert.deepEqual(
        sboms.json().manifests.map((d: { digest: string }) => d.digest),
        [sha256(sbom)],
      );
      const none = await client.request("GET", `/v2/${REPO}/referrers/${sha256(subject)}?artifactType=application/none`);
      assert.equal(none.status, 200);
      assert.equal(none.headers["oci-filters-applied"], "artifactType");
      assert.deepEqual(none.json().manifests, []);
    });

    it("a digest without referrers, or an unknown repository, gives an empty index (never 404)", async () => {
      for (const path of [
        `/v2/${REPO}/referrers/${sha256(sig)}`,
        `/v2/${REPO}/referrers/${sha256("nothing refers to this")}`,
        `/v2/disc/no-such-repo/referrers/${sha256(subject)}`,
      ]) {
        const res = await client.request("GET", path);
        assert.equal(res.status, 200, `${path}: ${res.text}`);
        assert.equal(res.headers["content-type"], OCI_INDEX);
        assert.deepEqual(res.json(), { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
      }
    });

    it("an invalid digest is 400", async () => {
      for (const d of ["sha256:abc", "notadigest", `sha256:${"A".repeat(64)}`]) {
        assertOciError(await client.request("GET", `/v2/${REPO}/referrers/${d}`), 400);
      }
    });

    it("a deleted referrer is no longer listed", async () => {
      const res = await client.request("DELETE", `/v2/${REPO}/manifests/${sha256(otherSubject)}`);
      assert.equal(res.status, 202);
      const list = await client.request("GET", `/v2/${REPO}/referrers/${sha256(unrelated)}`);
      assert.deepEqual(list.json().manifests, []);
    });
  });

  describe("deletes", () => {
    const REPO = "disc/delete";

    before(async () => {
      for (const b of [config, layer]) await pushBlob(REPO, b);
    });

    it("DELETE of a manifest by digest is 202; it and its tags are gone", async () => {
      const body = imageManifest(config, [layer], { annotations: { del: "digest" } });
      const digest = await putManifest(REPO, "gone-1", body);
      await putManifest(REPO, "gone-2", body);
      const keep = await putManifest(REPO, "keep", imageManifest(config, [layer], { annotations: { del: "keep" } }));
      const res = await client.request("DELETE", `/v2/${REPO}/manifests/${digest}`);
      assert.equal(res.status, 202, res.text);
      assertOciError(await client.request("GET", `/v2/${REPO}/manifests/${digest}`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${REPO}/manifests/gone-1`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("GET", `/v2/${REPO}/manifests/gone-2`), 404, "MANIFEST_UNKNOWN");
      const tags = (await client.request("GET", `/v2/${REPO}/tags/list`)).json<{ tags: string[] }>().tags;
      assert.ok(!tags.includes("gone-1") && !tags.includes("gone-2"), `tags left behind: ${tags}`);
      assert.ok(tags.includes("keep"));
      assert.equal((await client.request("GET", `/v2/${REPO}/manifests/${keep}`)).status, 200);
      assertOciError(await client.request("DELETE", `/v2/${REPO}/manifests/${digest}`), 404, "MANIFEST_UNKNOWN");
    });

    it("DELETE by tag removes only that tag", async () => {
      const body = imageManifest(config, [layer], { annotations: { del: "tag" } });
      const digest = await putManifest(REPO, "t1", body);
      await putManifest(REPO, "t2", body);
      const res = await client.request("DELETE", `/v2/${REPO}/manifests/t1`);
      assert.equal(res.status, 202, res.text);
      assertOciError(await client.request("GET", `/v2/${REPO}/manifests/t1`), 404, "MANIFEST_UNKNOWN");
      assert.ok((await client.request("GET", `/v2/${REPO}/manifests/t2`)).body.equals(body));
      assert.ok((await client.request("GET", `/v2/${REPO}/manifests/${digest}`)).body.equals(body));
      const tags = (await client.request("GET", `/v2/${REPO}/tags/list`)).json<{ tags: string[] }>().tags;
      assert.ok(!tags.includes("t1") && tags.includes("t2"));
      assertOciError(await client.request("DELETE", `/v2/${REPO}/manifests/t1`), 404, "MANIFEST_UNKNOWN");
      assertOciError(await client.request("DELETE", "/v2/disc/no-such-repo/manifests/t1"), 404, "NAME_UNKNOWN");
    });

    it("DELETE of a blob is 202; afterwards it is 404 here and untouched elsewhere", async () => {
      const blob = randomBytes(300);
      await pushBlob(REPO, blob);
      await pushBlob("disc/delete-other", blob);
      const res = await client.request("DELETE", `/v2/${REPO}/blobs/${sha256(blob)}`);
      assert.equal(res.status, 202, res.text);
      assertOciError(await client.request("GET", `/v2/${REPO}/blobs/${sha256(blob)}`), 404, "BLOB_UNKNOWN");
      assert.equal((await client.request("HEAD", `/v2/${REPO}/blobs/${sha256(blob)}`)).status, 404);
      assertOciError(await client.request("DELETE", `/v2/${REPO}/blobs/${sha256(blob)}`), 404, "BLOB_UNKNOWN");
      const other = await client.request("GET", `/v2/disc/delete-other/blobs/${sha256(blob)}`);
      assert.equal(other.status, 200);
      assert.ok(other.body.equals(blob));
    });

    describe("when deletes are disabled", () => {
      let ro: Registry;

      before(async () => {
        ro = await startRegistry({ MCR_STORAGE_DELETE_ENABLED: "false" });
      });

      after(async () => {
        await stopRegistry(ro);
      });

      it("every DELETE is 405 UNSUPPORTED and nothing is removed", async () => {
        const body = imageManifest(config, [layer]);
        for (const b of [config, layer]) await pushBlob(REPO, b, ro.client);
        const digest = await putManifest(REPO, "stay", body, OCI_MANIFEST, ro.client);
        for (const path of [`/v2/${REPO}/manifests/${digest}`, `/v2/${REPO}/manifests/stay`, `/v2/${REPO}/blobs/${sha256(layer)}`]) {
          assertOciError(await ro.client.request("DELETE", path), 405, "UNSUPPORTED");
        }
        assert.ok((await ro.client.request("GET", `/v2/${REPO}/manifests/stay`)).body.equals(body));
        assert.ok((await ro.client.request("GET", `/v2/${REPO}/blobs/${sha256(layer)}`)).body.equals(layer));
      });
    });
  });
});
