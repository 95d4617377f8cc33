// Real OCI clients against the real mcr over TLS with authentication on: podman login,
// push/pull/run/build, skopeo login/--creds/copy/delete, trusting the platform CA
// through a certs.d folder (never --tls-verify=false).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../helpers/https-client.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessTools } from "../helpers/tools.ts";
import { login } from "../helpers/identity.ts";
import { execFile } from "node:child_process";

describe("podman and skopeo against mcr", { skip: skipUnlessTools("podman", "skopeo", "runc", "busybox") }, () => {
  let home: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let client: RegistryClient;

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home, {}, { auth: true });
    client = new RegistryClient(mcr.url, home.caPem, await login(new RegistryClient(mcr.url, home.caPem), "admin", home.adminPassword));
    pm = createPodmanEnv();
    await loginWith("podman", ["login", "--cert-dir", mcr.certDir, "--username", "admin", "--password-stdin", mcr.host], home.adminPassword);
    await pm.importBusybox("localhost/mcr-test/busybox:1");
  });

  after(async () => {
    client?.close();
    await pm?.cleanup();
    await mcr?.stop();
    if (home) removeHome(home);
  });

  const certDir = () => join(mcr.certDir, "..", mcr.host);

  /** Runs a login command with the password on standard input (never on the command line). */
  async function loginWith(cmd: string, args: string[], password: string): Promise<void> {
    const child = execFile(cmd, args, { env: pm.env });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdin!.end(password);
    const code = await new Promise<number>((r) => child.on("exit", (c) => r(c ?? 1)));
    if (code !== 0) throw new Error(`${cmd} ${args[0]} failed: ${stderr}`);
  }

  test("podman pushes, pulls and runs an image; digests agree", async () => {
    const ref = `${mcr.host}/platform/busybox:1`;
    await pm.podman(["tag", "localhost/mcr-test/busybox:1", ref]);
    const digestFile = join(pm.dir, "push.digest");
    await pm.podman(["push", "--cert-dir", certDir(), "--digestfile", digestFile, ref]);
    const pushed = (await import("node:fs")).readFileSync(digestFile, "utf8").trim();
    assert.match(pushed, /^sha256:[a-f0-9]{64}$/);

    const head = await client.request("HEAD", "/v2/platform/busybox/manifests/1");
    assert.equal(head.status, 200);
    assert.equal(head.headers["docker-content-digest"], pushed);

    await pm.podman(["rmi", "-f", ref, "localhost/mcr-test/busybox:1"]);
    await pm.podman(["pull", "--cert-dir", certDir(), ref]);
    const pulledDigest = (await pm.podman(["image", "inspect", "--format", "{{.Digest}}", ref])).trim();
    assert.equal(pulledDigest, pushed);
    const out = await pm.podman(["run", "--rm", ref, "/bin/echo", "hello from mcr"]);
    assert.equal(out.trim(), "hello from mcr");
  });

  test("podman builds FROM a pulled image and pushes to another repository (layer reuse)", async () => {
    const ctx = mkdtempSync(join(pm.dir, "build-"));
    writeFileSync(join(ctx, "Containerfile"), `FROM ${mcr.host}/platform/busybox:1\nRUN echo built > /built.txt\nCMD ["/bin/cat", "/built.txt"]\n`);
    const ref = `${mcr.host}/apps/built:v1`;
    await pm.podman(["build", "--cert-dir", certDir(), "-t", ref, ctx]);
    await pm.podman(["push", "--cert-dir", certDir(), ref]);
    await pm.podman(["rmi", "-f", ref]);
    await pm.podman(["pull", "--cert-dir", certDir(), ref]);
    assert.equal((await pm.podman(["run", "--rm", ref])).trim(), "built");
    const tags = await client.request("GET", "/v2/apps/built/tags/list");
    assert.deepEqual(tags.json(), { name: "apps/built", tags: ["v1"] });
  });

  test("skopeo copies between repositories, to an OCI layout and back, with identical digests", async () => {
    const src = `docker://${mcr.host}/platform/busybox:1`;
    // skopeo shares podman's auth file (REGISTRY_AUTH_FILE); log in again with skopeo itself.
    await pm.podman(["logout", mcr.host]);
    await loginWith("skopeo", ["login", "--cert-dir", certDir(), "--username", "admin", "--password-stdin", mcr.host], home.adminPassword);
    const certArgs = ["--src-cert-dir", certDir(), "--dest-cert-dir", certDir()];
    await pm.skopeo(["copy", ...certArgs, src, `docker://${mcr.host}/mirror/busybox:copied`]);
    const layout = join(pm.dir, "layout");
    await pm.skopeo(["copy", "--src-cert-dir", certDir(), src, `oci:${layout}:busybox`]);
    await pm.skopeo(["copy", "--dest-cert-dir", certDir(), `oci:${layout}:busybox`, `docker://${mcr.host}/from-layout/busybox:2`]);

    const inspect = async (ref: string) => JSON.parse(await pm.skopeo(["inspect", "--cert-dir", certDir(), ref])) as { Digest: string; Layers: string[] };
    const a = await inspect(src);
    const b = await inspect(`docker://${mcr.host}/mirror/busybox:copied`);
    assert.equal(b.Digest, a.Digest, "a registry-to-registry copy keeps the manifest digest");
    const c = await inspect(`docker://${mcr.host}/from-layout/busybox:2`);
    assert.deepEqual(c.Layers, a.Layers, "layers survive the round trip through an OCI layout");

    const listed = JSON.parse(await pm.skopeo(["list-tags", "--cert-dir", certDir(), `docker://${mcr.host}/mirror/busybox`])) as { Tags: string[] };
    assert.deepEqual(listed.Tags, ["copied"]);
    const catalog = await client.request("GET", "/v2/_catalog");
    assert.deepEqual(catalog.json().repositories, ["apps/built", "from-layout/busybox", "mirror/busybox", "platform/busybox"]);
  });

  test("skopeo --creds works without a stored login; unauthenticated clients are refused", async () => {
    await pm.skopeo(["logout", "--all"]);
    await assert.rejects(pm.skopeo(["inspect", "--cert-dir", certDir(), `docker://${mcr.host}/platform/busybox:1`]), /authentication required|unauthorized/i);
    const out = await pm.skopeo(["inspect", "--cert-dir", certDir(), "--creds", `admin:${home.adminPassword}`, `docker://${mcr.host}/platform/busybox:1`]);
    assert.equal(JSON.parse(out).Name, `${mcr.host}/platform/busybox`);
  });

  test("skopeo deletes a manifest and the tag is gone", async () => {
    await pm.skopeo(["delete", "--cert-dir", certDir(), "--creds", `admin:${home.adminPassword}`, `docker://${mcr.host}/mirror/busybox:copied`]);
    const res = await client.request("GET", "/v2/mirror/busybox/manifests/copied");
    assert.equal(res.status, 404);
    assert.equal(res.json().errors[0].code, "MANIFEST_UNKNOWN");
  });

  test("a client that does not trust the CA is refused", async () => {
    await assert.rejects(
      pm.skopeo(["inspect", "--cert-dir", join(pm.dir, "empty-certs"), `docker://${mcr.host}/platform/busybox:1`]),
      /certificate signed by unknown authority|x509/,
    );
  });
});
