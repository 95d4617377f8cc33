// deploy/Containerfile.mcr builds with podman from the local Node base that
// deploy/images/node-base.sh makes (here from the tests' cached Debian root, so no second
// debootstrap), with no network at all during the build, and follows the platform's image rules:
// no VOLUME, no USER, WORKDIR /srv/mcr, the version given at build time. The image then
// serves a home made by its own `mcr init` and exits 0 on SIGTERM.
// (Containerfile.agent differs only in its runtime base, which needs the podman flavour of
// the base: built by hand, see docs/install.md.)
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { debianRoot, TEST_ROOT } from "../helpers/debian-root.ts";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessRoot, skipUnlessTools } from "../helpers/tools.ts";
import { until } from "../helpers/wait.ts";
import { MCR_SERVER_NODE_FLAGS } from "../../lib/process/node-flags.ts";

const run = promisify(execFile);
const skip = skipUnlessTools("podman", "debootstrap", "curl", "npm") || skipUnlessRoot();
const IMAGE = "localhost/metacircular-test/mcr:test";

describe("deploy/Containerfile.mcr", { skip, timeout: 10 * 60_000 }, () => {
  let pm: PodmanEnv;
  let tmp: string;
  const name = `mcr-image-test-${process.pid}`;
  const timings: Record<string, number> = {};

  before(async () => {
    pm = createPodmanEnv();
    tmp = mkdtempSync(join(tmpdir(), "mcr-image-"));
    let t = Date.now();
    const root = await debianRoot(TEST_ROOT);
    timings["debian root"] = (Date.now() - t) / 1000;
    t = Date.now();
    const { stdout } = await run("bash", [join(REPO_ROOT, "deploy/images/node-base.sh"), "--root", root], { env: pm.env, maxBuffer: 16 * 1024 * 1024 });
    assert.match(stdout.trim(), /^localhost\/metacircular\/node-base:\d+$/);
    timings["node base"] = (Date.now() - t) / 1000;
  });

  after(async () => {
    if (pm) {
      await pm.podman(["rm", "--force", "--time", "0", name]).catch(() => undefined);
      await pm.cleanup();
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`# image timings (s): ${JSON.stringify(timings)}`);
  });

  test("builds offline with the version given, and keeps the image rules", async () => {
    const t = Date.now();
    // --network=none: nothing is downloaded, no registry, no npm.
    await pm.podman([
      "build",
      "--network=none",
      "-f",
      join(REPO_ROOT, "deploy/Containerfile.mcr"),
      "--build-arg",
      "VERSION=9.9.9-test.1",
      "-t",
      IMAGE,
      REPO_ROOT,
    ]);
    timings.build = (Date.now() - t) / 1000;
    const [img] = JSON.parse(await pm.podman(["image", "inspect", IMAGE])) as {
      Config: { WorkingDir: string; Volumes?: object; User?: string; Entrypoint: string[]; Cmd: string[]; ExposedPorts: object };
    }[];
    assert.equal(img!.Config.WorkingDir, "/srv/mcr");
    assert.equal(img!.Config.Volumes, undefined, "no VOLUME: it breaks layer unpacking under rootless podman");
    assert.ok(!img!.Config.User, "no USER: containers run as 0 mapped to the service user");
    assert.deepEqual(img!.Config.Entrypoint, ["node", ...MCR_SERVER_NODE_FLAGS, "/opt/metacircular/bin/mcr"]);
    assert.deepEqual(img!.Config.Cmd, ["server", "--config", "/srv/mcr/mcr.toml"]);
    assert.deepEqual(Object.keys(img!.Config.ExposedPorts), ["8443/tcp"]);
    assert.equal((await pm.podman(["run", "--rm", IMAGE, "--version"])).trim(), "9.9.9-test.1");
    // Production dependencies only; no sources, no build tools.
    const listing = await pm.podman(["run", "--rm", "--entrypoint", "sh", IMAGE, "-c", "ls /opt/metacircular /opt/metacircular/node_modules"]);
    assert.match(listing, /better-sqlite3/);
    for (const absent of ["esbuild", "tsx", "typescript", "registry", "scripts"]) assert.doesNotMatch(listing, new RegExp(`^${absent}$`, "m"), absent);
  });

  test("the image serves the home its own `mcr init` made and exits 0 on SIGTERM", async () => {
    const home = join(tmp, "home");
    mkdirSync(home);
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    await pm.podman(["run", "--rm", "-v", `${home}:/srv/mcr`, IMAGE, "init", "--dir", "/srv/mcr", "--listen", `127.0.0.1:${port}`]);
    await pm.podman(["run", "-d", "--name", name, "--network=host", "-v", `${home}:/srv/mcr`, IMAGE]);
    const health = await until(
      "the containerized mcr to answer",
      async () => (await run("curl", ["-sS", "--fail", "--cacert", join(home, "certs/ca.pem"), `https://127.0.0.1:${port}/v1/health`])).stdout,
      20_000,
    );
    // The image's mcr reads and writes the mounted home: database and blob folder both answer.
    assert.deepEqual(JSON.parse(health), { status: "ok", database: "ok", storage: { backend: "filesystem", location: "/srv/mcr/layers", status: "ok" } });
    await pm.podman(["stop", "--time", "30", name]);
    const [state] = JSON.parse(await pm.podman(["inspect", name])) as { State: { ExitCode: number } }[];
    assert.equal(state!.State.ExitCode, 0, "SIGTERM drains and exits 0 (PID 1 in the container)");
    const logs = await run("podman", ["logs", name], { env: pm.env });
    assert.match(logs.stdout + logs.stderr, /"msg":"mcr stopped"/);
  });
});
