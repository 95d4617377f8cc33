import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decideRange, checkDigest } from "../../../registry/oci/blobs.ts";
import { OciError } from "../../../registry/oci/errors.ts";
import { KeyedLock } from "../../../lib/sync/keyed-lock.ts";
import { MEDIA, parseManifest } from "../../../registry/oci/manifest.ts";
import { checkName, isValidName, isValidTag } from "../../../registry/oci/names.ts";
import { matchRoute } from "../../../registry/oci/routes.ts";
import { parseContentRange } from "../../../registry/oci/uploads.ts";
import { parseDigest } from "../../../registry/storage/digest.ts";

const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;
const desc = (digest: string, mediaType = "application/vnd.oci.image.layer.v1.tar+gzip") => ({ mediaType, digest, size: 10 });
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const code = (c: string) => (e: unknown) => e instanceof OciError && e.code === c;

describe("names, tags and digests", () => {
  test("repository names follow the spec grammar", () => {
    for (const ok of ["a", "library/busybox", "a.b_c__d-e--f/g0", "x/y/z"]) assert.ok(isValidName(ok), ok);
    for (const bad of ["", "A", "/a", "a/", "a//b", "..", "a/../b", "a/./b", "-a", "a-", "a%2fb", "a b", "a".repeat(256)]) assert.ok(!isValidName(bad), bad);
    assert.throws(() => checkName("../etc"), code("NAME_INVALID"));
  });

  test("tags follow the spec grammar", () => {
    for (const ok of ["latest", "v1.2.3", "_x", "A-b_c.d", "a".repeat(128)]) assert.ok(isValidTag(ok), ok);
    for (const bad of ["", ".x", "-x", "a/b", "a:b", "a".repeat(129)]) assert.ok(!isValidTag(bad), bad);
  });

  test("digests: sha256 and sha512 with lower-case hex of the right length", () => {
    assert.equal(parseDigest(D1).hex, "a".repeat(64));
    assert.equal(parseDigest(`sha512:${"c".repeat(128)}`).algorithm, "sha512");
    for (const bad of ["sha256:" + "A".repeat(64), "sha256:abc", "sha256", "sha256:" + "a".repeat(65), "../sha256:x"]) {
      assert.throws(() => checkDigest(bad), code("DIGEST_INVALID"), bad);
    }
    assert.throws(() => checkDigest(`md5:${"a".repeat(32)}`), code("UNSUPPORTED"));
  });
});

describe("routes", () => {
  test("each /v2/ endpoint maps to its route, names may contain slashes", () => {
    assert.deepEqual(matchRoute("/v2/"), { kind: "base" });
    assert.deepEqual(matchRoute("/v2"), { kind: "base" });
    assert.deepEqual(matchRoute("/v2/_catalog"), { kind: "catalog" });
    assert.deepEqual(matchRoute("/v2/a/b/tags/list"), { kind: "tags", name: "a/b" });
    assert.deepEqual(matchRoute("/v2/a/b/manifests/v1"), { kind: "manifest", name: "a/b", reference: "v1" });
    assert.deepEqual(matchRoute("/v2/a/blobs/uploads/"), { kind: "uploads", name: "a" });
    assert.deepEqual(matchRoute("/v2/a/blobs/uploads/u1"), { kind: "upload", name: "a", id: "u1" });
    assert.deepEqual(matchRoute(`/v2/a/blobs/${D1}`), { kind: "blob", name: "a", digest: D1 });
    assert.deepEqual(matchRoute(`/v2/a/referrers/${D1}`), { kind: "referrers", name: "a", digest: D1 });
    assert.equal(matchRoute("/v2/a/unknown"), undefined);
  });
});

describe("Range decisions (RFC 9110)", () => {
  const etag = `"${D1}"`;
  test("single ranges in every form", () => {
    assert.deepEqual(decideRange(100, "bytes=0-9", undefined, etag), { kind: "partial", range: { start: 0, end: 9 } });
    assert.deepEqual(decideRange(100, "bytes=90-", undefined, etag), { kind: "partial", range: { start: 90, end: 99 } });
    assert.deepEqual(decideRange(100, "bytes=-5", undefined, etag), { kind: "partial", range: { start: 95, end: 99 } });
    assert.deepEqual(decideRange(100, "bytes=50-500", undefined, etag), { kind: "partial", range: { start: 50, end: 99 } });
  });
  test("unsatisfiable, malformed, other units and several ranges", () => {
    assert.deepEqual(decideRange(100, "bytes=100-", undefined, etag), { kind: "unsatisfiable" });
    assert.deepEqual(decideRange(100, "bytes=abc", undefined, etag), { kind: "full" });
    assert.deepEqual(decideRange(100, "items=0-1", undefined, etag), { kind: "full" });
    assert.deepEqual(decideRange(100, "bytes=0-1,50-60", undefined, etag), { kind: "full" });
    assert.deepEqual(decideRange(100, "bytes=0-5,3-9", undefined, etag), { kind: "partial", range: { start: 0, end: 9 } });
    assert.deepEqual(decideRange(100, undefined, undefined, etag), { kind: "full" });
  });
  test("If-Range must match the ETag for the range to apply", () => {
    assert.equal(decideRange(100, "bytes=0-9", etag, etag).kind, "partial");
    assert.equal(decideRange(100, "bytes=0-9", `"${D2}"`, etag).kind, "full");
    assert.equal(decideRange(100, "bytes=0-9", "Wed, 21 Oct 2015 07:28:00 GMT", etag).kind, "full");
  });
});

describe("chunk Content-Range", () => {
  test("accepts start-end with or without a unit, refuses the rest", () => {
    assert.deepEqual(parseContentRange("0-99"), { start: 0, end: 99 });
    assert.deepEqual(parseContentRange("bytes 100-199"), { start: 100, end: 199 });
    for (const bad of ["", "5-1", "bytes=0-1", "0-", "-5", "a-b", "0-1/100"]) assert.equal(parseContentRange(bad), undefined, bad);
  });
});

describe("manifest parsing", () => {
  test("an OCI image manifest references its config and layers; artifactType falls back to the config type", () => {
    const m = parseManifest(
      json({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: desc(D1, "application/vnd.oci.image.config.v1+json"), layers: [desc(D2), desc(D2)] }),
      MEDIA.ociManifest,
    );
    assert.deepEqual(m.blobDigests, [D1, D2]);
    assert.equal(m.artifactType, "application/vnd.oci.image.config.v1+json");
    assert.equal(m.subject, null);
  });

  test("media type comes from the body or from Content-Type, and they must agree", () => {
    const body = { schemaVersion: 2, config: desc(D1), layers: [] };
    assert.equal(parseManifest(json(body), MEDIA.dockerManifest).mediaType, MEDIA.dockerManifest);
    assert.throws(() => parseManifest(json({ ...body, mediaType: MEDIA.ociManifest }), MEDIA.dockerManifest), code("MANIFEST_INVALID"));
  });

  test("an index lists child manifests and a subject", () => {
    const m = parseManifest(
      json({
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [desc(D1, MEDIA.ociManifest)],
        subject: desc(D2, MEDIA.ociManifest),
        artifactType: "application/x-sbom",
      }),
      undefined,
    );
    assert.deepEqual(m.childDigests, [D1]);
    assert.equal(m.subject?.digest, D2);
    assert.equal(m.artifactType, "application/x-sbom");
  });

  test("foreign layers with urls are not required to be pushed", () => {
    const m = parseManifest(
      json({ schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: desc(D1), layers: [{ ...desc(D2), urls: ["https://example.com/x"] }] }),
      undefined,
    );
    assert.deepEqual(m.blobDigests, [D1]);
  });

  test("invalid manifests are refused with MANIFEST_INVALID", () => {
    const bad: unknown[] = [
      "not json",
      "[]",
      { schemaVersion: 1 },
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, layers: [] },
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { ...desc(D1), digest: "sha256:short" }, layers: [] },
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { ...desc(D1), size: -1 }, layers: [] },
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: desc(D1), layers: {} },
      { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: "x" },
      { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [], layers: [] },
      { schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v1+json" },
    ];
    for (const b of bad)
      assert.throws(() => parseManifest(typeof b === "string" ? Buffer.from(b) : json(b), undefined), code("MANIFEST_INVALID"), JSON.stringify(b));
  });
});

describe("manifest field types", () => {
  const image = (extra: Record<string, unknown> = {}, layer: Record<string, unknown> = {}) => ({
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: desc(D1),
    layers: [{ ...desc(D2), ...layer }],
    ...extra,
  });
  const index = (child: Record<string, unknown>) => ({
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: [{ ...desc(D1, MEDIA.ociManifest), ...child }],
  });
  const refused = (doc: unknown, message: RegExp) =>
    assert.throws(
      () => parseManifest(json(doc), undefined),
      (e: unknown) => code("MANIFEST_INVALID")(e) && message.test((e as Error).message),
      JSON.stringify(doc).slice(0, 200),
    );

  test("annotations nested thousands of levels deep are refused", () => {
    // Built as text: JSON.stringify itself overflows the stack at this depth.
    const body = Buffer.from(
      `{"schemaVersion":2,"mediaType":"${MEDIA.ociManifest}","config":${JSON.stringify(desc(D1))},"layers":[],"subject":${JSON.stringify(desc(D2, MEDIA.ociManifest))},"annotations":${'{"a":'.repeat(5000)}"x"${"}".repeat(5000)}}`,
    );
    assert.throws(
      () => parseManifest(body, undefined),
      (e: unknown) => code("MANIFEST_INVALID")(e) && /annotations\["a"\] must be a string, not object/.test((e as Error).message),
    );
  });

  test("annotation values that are not strings are refused, at the top, in descriptors and in an index", () => {
    for (const v of [1, true, null, [], ["x"], { k: "v" }])
      refused(image({ annotations: { "org.example": v } }), /^annotations\["org\.example"\] must be a string/);
    for (const a of ["text", ["a"], 5]) refused(image({ annotations: a }), /^annotations must be an object whose values are strings/);
    refused(image({}, { annotations: { n: 1 } }), /^layers\[0\]\.annotations\["n"\]/);
    refused(image({ config: { ...desc(D1), annotations: [] } }), /^config\.annotations must be an object/);
    refused(image({ subject: { ...desc(D2), annotations: { deep: { x: "y" } } } }), /^subject\.annotations\["deep"\]/);
    refused({ ...index({}), annotations: { n: 2 } }, /^annotations\["n"\]/);
    refused(index({ annotations: { n: false } }), /^manifests\[0\]\.annotations\["n"\]/);
  });

  test("known fields of the wrong type are refused", () => {
    refused(image({ mediaType: 5 }), /^mediaType must be a string/);
    refused(image({ mediaType: { x: 1 } }), /^mediaType must be a string/);
    refused(image({ artifactType: ["a"] }), /^artifactType must be a string/);
    refused(image({ config: { ...desc(D1), mediaType: 1 } }), /^config\.mediaType/);
    refused(image({ config: { ...desc(D1), size: "10" } }), /^config\.size/);
    refused(image({ config: { ...desc(D1), size: 1.5 } }), /^config\.size/);
    refused(image({ config: { ...desc(D1), digest: 7 } }), /^config\.digest/);
    refused(image({}, { artifactType: 1 }), /^layers\[0\]\.artifactType must be a string/);
    refused(image({}, { data: { b: 1 } }), /^layers\[0\]\.data must be a string/);
    refused(image({}, { urls: [1] }), /^layers\[0\]\.urls/);
    refused(image({ subject: "sha256:x" }), /^subject is not a descriptor/);
    refused(image({ subject: { ...desc(D2), size: -1 } }), /^subject\.size/);
    refused(image({ subject: { ...desc(D2), digest: "nope" } }), /^subject\.digest/);
    refused(image({ layers: [[]] }), /^layers\[0\] is not a descriptor/);
    refused(index({ mediaType: null }), /^manifests\[0\]\.mediaType/);
    refused(index({ platform: "linux/amd64" }), /^manifests\[0\]\.platform must be an object/);
    refused(index({ platform: { architecture: "amd64" } }), /^manifests\[0\]\.platform\.os must be a string/);
    refused(index({ platform: { architecture: "amd64", os: "linux", "os.features": "x" } }), /^manifests\[0\]\.platform\.os\.features/);
    refused(index({ platform: { architecture: "arm", os: "linux", variant: 7 } }), /^manifests\[0\]\.platform\.variant/);
  });

  test("well-typed optional fields are kept; null optional fields are read as absent", () => {
    const m = parseManifest(
      json(
        image(
          { annotations: { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" }, artifactType: "application/x-sig" },
          { annotations: { a: "b" }, data: "e30=" },
        ),
      ),
      undefined,
    );
    assert.deepEqual(m.annotations, { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" });
    assert.equal(m.artifactType, "application/x-sig");
    const n = parseManifest(json(image({ annotations: null, artifactType: null, subject: null }, { urls: null, annotations: null })), undefined);
    assert.equal(n.annotations, undefined);
    assert.equal(n.subject, null);
    const i = parseManifest(json(index({ platform: { architecture: "arm64", os: "linux", variant: "v8", "os.features": [], features: ["sse4"] } })), undefined);
    assert.deepEqual(i.childDigests, [D1]);
  });
});

describe("KeyedLock", () => {
  test("runs work for one key one at a time, other keys in parallel, and survives failures", async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const slow = (tag: string, ms: number) => () => new Promise<void>((r) => setTimeout(() => (order.push(tag), r()), ms));
    await Promise.all([
      lock.run("a", slow("a1", 30)),
      lock.run("a", () => Promise.reject(new Error("boom"))).catch(() => order.push("a-failed")),
      lock.run("a", slow("a2", 1)),
      lock.run("b", slow("b1", 5)),
    ]);
    assert.deepEqual(order, ["b1", "a1", "a-failed", "a2"]);
    assert.equal(lock.size, 0);
  });
});
