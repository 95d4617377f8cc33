// Hostile input to the OCI API: repository names that would escape or alias after
// normalisation, unsupported methods, and the error envelope of every failure.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { RegistryClient, type Response } from "../helpers/https-client.ts";
import { OCI_MANIFEST, assertOciError, sha256 } from "../helpers/oci.ts";
import { PushClient, imageManifest } from "../helpers/oci-push.ts";
import { initHome, removeHome, REPO_ROOT, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";

describe("OCI API against hostile requests", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let client: RegistryClient;
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux" }));
  const layer = randomBytes(512);

  /** A request whose path is sent exactly as written (no URL normalisation of `..` or `%2e`). */
  function rawRequest(method: string, path: string, headers: Record<string, string | number> = {}, body?: Buffer): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: "localhost", port: mcr.port, method, path, agent: client.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const buf = Buffer.concat(chunks);
          const text = buf.toString("utf8");
          resolve({ status: res.statusCode!, headers: res.headers, body: buf, text, json: () => JSON.parse(text) });
        });
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home);
    client = new RegistryClient(mcr.url, home.caPem);
    // The repository the hostile names would alias to, holding a blob that a mount could take.
    const push = new PushClient(client, mcr.url);
    await push.pushBlob("disc/tags", config);
    await push.pushBlob("disc/tags", layer);
    assert.equal((await push.putManifest("disc/tags", "latest", imageManifest(config, [layer]), OCI_MANIFEST)).status, 201);
  });

  after(async () => {
    client?.close();
    await mcr?.stop();
    if (home) removeHome(home);
  });

  describe("hostile names and methods", () => {
    const MARKER = `mcrpwn${randomBytes(6).toString("hex")}`;
    const BAD_NAMES = [
      // Normalised, these would name the existing "disc/tags" and answer 200.
      "disc/x/../tags",
      "disc/x/%2e%2e/tags",
      "disc/tags/.",
      "..",
      "a/../b",
      `../../${MARKER}`,
      `a/../../../../${MARKER}`,
      "UPPER",
      "Mixed/Case",
      `/${MARKER}`,
      "/a",
      "a/",
      "a//b",
      "%2e%2e",
      `%2e%2e/%2e%2e/${MARKER}`,
      `a%2f..%2f..%2f${MARKER}`,
      `a/%2E%2E/%2E%2E/%2E%2E/${MARKER}`,
      "-a",
      "a..b",
      "a".repeat(256),
    ];

    function endpoints(name: string): [string, string, Buffer | undefined][] {
      const blob = Buffer.from(MARKER);
      const manifest = imageManifest(config, [layer]);
      return [
        ["GET", `/v2/${name}/tags/list`, undefined],
        ["GET", `/v2/${name}/manifests/latest`, undefined],
        ["HEAD", `/v2/${name}/manifests/${sha256(manifest)}`, undefined],
        ["PUT", `/v2/${name}/manifests/latest`, manifest],
        ["DELETE", `/v2/${name}/manifests/latest`, undefined],
        ["POST", `/v2/${name}/blobs/uploads/`, undefined],
        ["POST", `/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, blob],
        ["POST", `/v2/${name}/blobs/uploads/?mount=${sha256(layer)}&from=disc/tags`, undefined],
        ["GET", `/v2/${name}/blobs/${sha256(layer)}`, undefined],
        ["GET", `/v2/${name}/referrers/${sha256(manifest)}`, undefined],
      ];
    }

    it("bad repository names are 400 NAME_INVALID or 404, never 5xx", async () => {
      for (const name of BAD_NAMES) {
        for (const [method, path, body] of endpoints(name)) {
          const headers: Record<string, string | number> = { "Content-Length": body?.length ?? 0 };
          if (method === "PUT") headers["Content-Type"] = OCI_MANIFEST;
          const res = await rawRequest(method, path, headers, body);
          assert.ok(res.status === 400 || res.status === 404, `${method} ${path}: ${res.status} ${res.text}`);
          if (method === "HEAD") continue;
          assertOciError(res, res.status);
          if (res.status === 400) assert.equal(res.json().errors[0].code, "NAME_INVALID", `${method} ${path}`);
        }
      }
    });

    it("bad names create neither repositories nor files outside the registry home", async () => {
      const repos = (await client.request("GET", "/v2/_catalog")).json<{ repositories: string[] }>().repositories;
      assert.ok(!repos.some((r) => r.includes(MARKER) || r.includes("..") || r !== r.toLowerCase()), `created: ${repos}`);
      const root = home.dir;
      for (const base of [tmpdir(), dirname(root), root, join(root, "layers"), join(root, "uploads"), REPO_ROOT, process.cwd(), "/"]) {
        assert.ok(!existsSync(join(base, MARKER)), `${join(base, MARKER)} was created`);
      }
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [e.name, ...walk(join(dir, e.name))] : [e.name]));
      assert.ok(!walk(root).some((n) => n.includes(MARKER)), "a file named after the request appeared in the home");
      assert.ok(!readdirSync(tmpdir()).some((n) => n.includes(MARKER)));
    });

    it("a method an endpoint does not support is 405 UNSUPPORTED with Allow", async () => {
      const d = sha256(layer);
      const cases: [string, string, string][] = [
        ["POST", "/v2/disc/tags/manifests/latest", "PUT"],
        ["PATCH", `/v2/disc/tags/blobs/${d}`, "GET"],
        ["PUT", `/v2/disc/tags/blobs/${d}`, "GET"],
        ["DELETE", "/v2/disc/tags/tags/list", "GET"],
        ["POST", "/v2/_catalog", "GET"],
        ["DELETE", "/v2/", "GET"],
        ["PUT", `/v2/disc/tags/referrers/${d}`, "GET"],
        ["GET", "/v2/disc/tags/blobs/uploads/", "POST"],
      ];
      for (const [method, path, allowed] of cases) {
        const res = await client.request(method, path, { headers: { "Content-Length": 0 } });
        assertOciError(res, 405, "UNSUPPORTED");
        assert.ok(String(res.headers.allow).split(/,\s*/).includes(allowed), `${method} ${path}: Allow ${res.headers.allow}`);
        assert.ok(!String(res.headers.allow).split(/,\s*/).includes(method));
      }
    });

    it("every error is the OCI envelope {errors:[{code,message}]} with a JSON Content-Type", async () => {
      const d = sha256("missing");
      const cases: [string, string, number, string | undefined][] = [
        ["GET", "/v2/disc/nope/manifests/latest", 404, "NAME_UNKNOWN"],
        ["GET", "/v2/disc/tags/manifests/nope", 404, "MANIFEST_UNKNOWN"],
        ["GET", `/v2/disc/tags/blobs/${d}`, 404, "BLOB_UNKNOWN"],
        ["GET", "/v2/disc/tags/blobs/sha256:short", 400, "DIGEST_INVALID"],
        ["GET", "/v2/disc/tags/blobs/uploads/00000000-0000-0000-0000-000000000000", 404, "BLOB_UPLOAD_UNKNOWN"],
        ["GET", "/v2/BAD/tags/list", 400, "NAME_INVALID"],
        ["GET", "/v2/disc/tags/tags/list?n=x", 400, undefined],
        ["DELETE", "/v2/", 405, "UNSUPPORTED"],
        ["GET", "/v2/not/an/endpoint", 404, undefined],
        // A reference that is neither a tag nor a digest is simply not there (conformance, distribution).
        ["GET", "/v2/disc/tags/manifests/bad:tag", 404, "MANIFEST_UNKNOWN"],
        ["GET", "/v2/disc/tags/manifests/-bad", 404, "MANIFEST_UNKNOWN"],
      ];
      for (const [method, path, status, code] of cases) {
        const res = await client.request(method, path);
        assertOciError(res, status, code);
        const keys = Object.keys(res.json().errors[0]).sort();
        assert.ok(keys.includes("code") && keys.includes("message"), `${path}: ${keys}`);
        assert.ok(
          keys.every((k) => ["code", "message", "detail"].includes(k)),
          `${path}: unexpected keys ${keys}`,
        );
        if (method === "GET") {
          // HEAD is not defined on upload sessions: 405 there, the same status everywhere else.
          const head = await client.request("HEAD", path);
          assert.equal(head.status, path.includes("/blobs/uploads/") ? 405 : status, `HEAD ${path}`);
          assert.equal(head.body.length, 0);
        }
      }
    });
  });
});
