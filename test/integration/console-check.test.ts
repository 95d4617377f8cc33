// The registry's health and integrity check through the real console against a real mcr
// (authentication on, an admin and a plain user): `mcp status` and `mcp nodes` carry the
// registry's readiness (ok, then not ready naming its blob folder while that folder is gone);
// `mcp registry check --verify all` finds a blob whose file was overwritten (exit 1, naming
// its digest), a plain user gets the registry's refusal (exit 5), bad --verify values exit 2.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mcp, type McpResult } from "../helpers/console.ts";
import { RegistryClient } from "../helpers/https-client.ts";
import { addAccount, login } from "../helpers/identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../helpers/mcr-process.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { imageManifest, PushClient } from "../helpers/oci-push.ts";

describe("mcp registry check and the registry's health against a real mcr", () => {
  let home: McrHome;
  let mcr: McrProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let userEnv: NodeJS.ProcessEnv;
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layers = [randomBytes(64 * 1024), randomBytes(32 * 1024)];
  const damaged = sha256(layers[0]!);
  const run = (args: string[], input?: string) => mcp(args, env, input, 30_000);
  const ok = (r: McpResult) => assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  /** The embedded store's file of a blob. */
  const blobFile = (digest: string) => {
    const hex = digest.slice("sha256:".length);
    return join(home.dir, "layers", "sha256", hex.slice(0, 2), hex);
  };

  before(async () => {
    home = await initHome("", { backend: "embedded" });
    const userPassword = await addAccount(home, "viewer", "human", ["user"]);
    mcr = await startMcr(home, {}, { auth: true });
    const anon = new RegistryClient(mcr.url, home.caPem);
    const pushing = new RegistryClient(mcr.url, home.caPem, await login(anon, "admin", home.adminPassword));
    const push = new PushClient(pushing, mcr.url);
    for (const b of [config, ...layers]) await push.pushBlob("team/app", b);
    assert.equal((await push.putManifest("team/app", "v1", imageManifest(config, layers), OCI_MANIFEST)).status, 201);
    pushing.close();
    anon.close();
    dir = mkdtempSync(join(tmpdir(), "mcp-check-it-"));
    const configDir = join(dir, "config", "mcp");
    mkdirSync(configDir, { recursive: true });
    // One node, whose agent is not there (port 9: refused at once): status and nodes exit 6 for
    // it, and report the registry all the same.
    writeFileSync(
      join(configDir, "mcp.toml"),
      `ca_cert = "${home.caPath}"\n\n[[nodes]]\nname = "gone"\nurl = "https://127.0.0.1:9"\n\n[registry]\nurl = "${mcr.url}"\n`,
    );
    env = { XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
    userEnv = { ...env, XDG_STATE_HOME: join(dir, "state-user") };
    ok(await run(["login", "--username", "admin", "--password-stdin", "--json"], home.adminPassword));
    ok(await mcp(["login", "--username", "viewer", "--password-stdin", "--json"], userEnv, userPassword));
  });

  after(async () => {
    await mcr?.stop();
    if (home) removeHome(home);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A command that reports every node and exits 6 for the one that is not there. */
  const partial = (r: McpResult) => assert.equal(r.code, 6, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);

  test("mcp status and mcp nodes carry the registry's health: its database and blob folder ok", async () => {
    const status = await run(["status", "--json"]);
    partial(status);
    const reg = status.json().registry;
    assert.equal(reg.url, mcr.url);
    assert.equal(reg.status, "ok");
    assert.equal(reg.database, "ok");
    assert.deepEqual(reg.storage, { backend: "filesystem", location: join(home.dir, "layers"), status: "ok" });
    assert.equal(reg.error, "");
    assert.ok(reg.version);
    const nodes = await run(["nodes", "--json"]);
    partial(nodes);
    assert.equal(nodes.json().registry.status, "ok");
    assert.equal(nodes.json().nodes[0].state, "unreachable");
    const plain = await run(["status"]);
    partial(plain);
    assert.match(plain.stdout, /^registry$/m);
    assert.match(plain.stdout, new RegExp(`${mcr.url.replace(/[.:/]/g, "\\$&")} +ok +\\S+ +ok +filesystem ${join(home.dir, "layers")}`));
  });

  test("with its blob folder gone the registry is not ready, named in the status; ready again once it is back", async () => {
    const layersDir = join(home.dir, "layers");
    renameSync(layersDir, `${layersDir}.away`);
    try {
      // mcr probes its store at most every 2 s.
      await new Promise((r) => setTimeout(r, 2100));
      const status = await run(["status", "--json"]);
      partial(status); // the registry's health is reported, not an error of the command
      const reg = status.json().registry;
      assert.equal(reg.status, "unavailable");
      assert.match(reg.error, new RegExp(`storage folder ${layersDir} cannot be read and written`));
      const plain = await run(["nodes"]);
      assert.match(plain.stdout, /unavailable .*storage folder .* cannot be read and written/);
    } finally {
      renameSync(`${layersDir}.away`, layersDir);
    }
    await new Promise((r) => setTimeout(r, 2100));
    const again = await run(["nodes", "--json"]);
    assert.equal(again.json().registry.status, "ok");
  });

  test("registry check: ok; --verify all finds the blob whose file was overwritten, naming its digest, exit 1", async () => {
    const clean = await run(["registry", "check", "--verify", "all", "--json"]);
    ok(clean);
    const c = clean.json();
    assert.equal(c.ok, true);
    assert.equal(c.blobRows, 3);
    assert.deepEqual(c.verification, { blobs: 3, bytes: config.length + 96 * 1024, corrupt: [] });
    const quick = await run(["registry", "check", "--json"]);
    ok(quick);
    assert.equal(quick.json().verification, undefined);

    writeFileSync(blobFile(damaged), randomBytes(64 * 1024));
    const bad = await run(["registry", "check", "--verify", "all", "--json"]);
    assert.equal(bad.code, 1, bad.stderr);
    const r = bad.json();
    assert.equal(r.ok, false);
    assert.equal(r.verification.blobs, 3);
    assert.equal(r.verification.corrupt.length, 1);
    assert.equal(r.verification.corrupt[0].digest, damaged);
    assert.match(r.verification.corrupt[0].problem, /content hashes to sha256:/);

    const text = await run(["registry", "check", "--verify", "2"]);
    assert.ok(text.code === 0 || text.code === 1, text.stderr);
    assert.match(text.stdout, /read back +2 blobs/);
    const all = await run(["registry", "check", "--verify", "all"]);
    assert.equal(all.code, 1);
    assert.match(all.stdout, new RegExp(`corrupt +${damaged} +content hashes to`));
    assert.match(all.stdout, /PROBLEMS FOUND\n$/);
  });

  test("registry check: a plain user gets the registry's refusal (exit 5); bad --verify values exit 2 naming them", async () => {
    const refused = await mcp(["registry", "check", "--json"], userEnv, undefined, 30_000);
    assert.equal(refused.code, 5, refused.stdout + refused.stderr);
    assert.equal(refused.json().error.code, "permission_denied");
    assert.match(refused.json().error.message, /^the registry: .*admin/);
    for (const v of ["abc", "0", "-1"]) {
      const r = await run(["registry", "check", "--verify", v, "--json"]);
      assert.equal(r.code, 2, `${v}: ${r.stdout}`);
      assert.equal(r.json().error.code, "usage");
      assert.match(r.json().error.message, new RegExp(`--verify takes a number of blobs .* not "${v}"`));
    }
  });
});
