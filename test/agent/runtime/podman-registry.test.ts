// PodmanCli's registry calls (login, pull) against the real mcr over TLS with
// authentication on, using an auth file and a cert dir as the agent does (never
// --tls-verify=false). The image is pushed with the test's own podman.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { PodmanCli } from "../../../agent/runtime/podman-cli.ts";
import { ImageNotFoundError, RuntimeError, type PullOptions } from "../../../agent/runtime/runtime.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "../../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../../helpers/podman.ts";
import { skipUnlessTools } from "../../helpers/tools.ts";

const LOCAL = "localhost/mcp-test/bb:v1";

describe("PodmanCli against mcr", { skip: skipUnlessTools("podman", "runc", "busybox") }, () => {
  let home: McrHome;
  let mcr: McrProcess;
  let pm: PodmanEnv;
  let rt: PodmanCli;
  let opts: PullOptions;

  before(async () => {
    home = await initHome();
    mcr = await startMcr(home, {}, { auth: true });
    pm = createPodmanEnv();
    await pm.importBusybox(LOCAL);
    rt = new PodmanCli({ env: pm.env, timeoutMs: 30_000 });
    opts = { authFile: join(pm.dir, "agent-auth.json"), certDir: mcr.certDir };
  });

  after(async () => {
    await pm?.cleanup();
    await mcr?.stop();
    if (home) removeHome(home);
  });

  test("login writes the auth file; pull uses it with the cert dir", async () => {
    await rt.login(mcr.host, "admin", home.adminPassword, opts);
    assert.ok(JSON.parse(readFileSync(opts.authFile!, "utf8")).auths[mcr.host], "credentials stored for the registry");

    const ref = `${mcr.host}/mcp-test/bb:v1`;
    await pm.podman(["tag", LOCAL, ref]);
    await pm.podman(["push", "--quiet", "--authfile", opts.authFile!, "--cert-dir", opts.certDir!, ref]);

    await pm.podman(["rmi", ref]);
    await rt.pull(ref, opts);
    assert.match(await pm.podman(["image", "inspect", "--format", "{{.RepoTags}}", ref]), /mcp-test\/bb:v1/);
    await assert.rejects(rt.pull(`${mcr.host}/mcp-test/bb:v-missing`, opts), ImageNotFoundError);
  });

  test("TLS and credential failures are errors, not 'image missing'", async () => {
    const ref = `${mcr.host}/mcp-test/bb:v1`;
    // No cert dir: the platform CA is unknown, and the pull must not say the image is missing.
    await assert.rejects(rt.pull(ref, { authFile: opts.authFile }), (e: unknown) => {
      assert.ok(e instanceof RuntimeError && !(e instanceof ImageNotFoundError));
      assert.match(e.message, /^podman pull .* failed \(exit \d+\): .*(x509|certificate)/s);
      return true;
    });
    // An empty auth file: the registry refuses the pull.
    await assert.rejects(
      rt.pull(ref, { certDir: opts.certDir, authFile: join(pm.dir, "auth.json") }),
      /podman pull .* failed \(exit 125\): .*(unauthorized|authentication required)/is,
    );
    // A wrong password fails, and the password never appears in the error.
    await assert.rejects(rt.login(mcr.host, "admin", "wrong-password-123", { ...opts, authFile: join(pm.dir, "other-auth.json") }), (e: unknown) => {
      assert.ok(e instanceof RuntimeError);
      assert.match(e.message, /^podman login localhost:\d+ failed \(exit 125\)/);
      assert.ok(!e.message.includes("wrong-password-123") && !e.command.join(" ").includes("wrong-password-123"));
      return true;
    });
  });
});
