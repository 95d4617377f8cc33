// The units under a real systemd: a Debian root (debootstrap, cached: test/helpers/debian-root.ts)
// boots in a podman container (--systemd=always; CAP_SYS_ADMIN so that systemd can build the
// units' sandboxes instead of skipping them as in an unprivileged container; host network,
// so the host's skopeo and curl reach the daemons on loopback). deploy/install.sh installs
// from a copy of this checkout, with the host's node, npm and node_modules mounted read-only.
// Then: both units active and ready (Type=notify), mcr's sandbox in force, the journal, a push
// and pull through the installed registry, a restart after kill -9, the backup timer and a
// backup, a second install, and clean stops well within TimeoutStopSec. A container that
// cannot boot systemd fails the suite with the reason.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { debianRoot, TEST_ROOT } from "../helpers/debian-root.ts";
import { REPO_ROOT } from "../helpers/mcr-process.ts";
import { imageManifest } from "../helpers/oci-push.ts";
import { OCI_MANIFEST, sha256 } from "../helpers/oci.ts";
import { createPodmanEnv, type PodmanEnv } from "../helpers/podman.ts";
import { skipUnlessRoot, skipUnlessTools } from "../helpers/tools.ts";
import { until } from "../helpers/wait.ts";

const run = promisify(execFile);
const skip = skipUnlessTools("podman", "debootstrap", "skopeo", "curl", "tar") || skipUnlessRoot();

/** systemd's time spans as `systemctl show` prints them: "1min 15s", "45s", "500ms". */
function seconds(span: string): number {
  const unit: Record<string, number> = { h: 3600, min: 60, s: 1, ms: 0.001 };
  const parts = [...span.matchAll(/(\d+)(h|min|ms|s)/g)];
  assert.ok(parts.length > 0, `not a time span: ${span}`);
  return parts.reduce((sum, m) => sum + Number(m[1]) * unit[m[2]!]!, 0);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe("installed units under a real systemd", { skip, timeout: 10 * 60_000 }, () => {
  let pm: PodmanEnv;
  let tmp: string;
  const name = `mcp-systemd-test-${process.pid}`;
  const ports = { mcr: 0, agent: 0 };
  const timings: Record<string, number> = {};
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      timings[what] = (Date.now() - t) / 1000;
    }
  };

  /** bash -c inside the container; a failure carries its output. */
  const sh = async (script: string): Promise<string> => {
    try {
      return (await run("podman", ["exec", name, "bash", "-c", script], { env: pm.env, maxBuffer: 16 * 1024 * 1024, timeout: 240_000 })).stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`in the container: ${script}\n${e.stdout ?? ""}${e.stderr || e.message}`);
    }
  };
  const show = async (unit: string, ...props: string[]) =>
    Object.fromEntries(
      (await sh(`systemctl show ${unit} ${props.map((p) => `-p ${p}`).join(" ")}`))
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
  const certs = () => join(tmp, "certs");
  const creds = () => `admin:${readFileSync(join(tmp, "admin.password"), "utf8").trim()}`;

  before(async () => {
    pm = createPodmanEnv();
    tmp = mkdtempSync(join(tmpdir(), "systemd-boot-"));
    const root = await timed("debian root", () => debianRoot(TEST_ROOT));

    // The checkout as install.sh sees it: sources copied (install.sh builds dist/ in it),
    // node_modules mounted read-only from this checkout.
    const src = join(tmp, "src");
    mkdirSync(join(src, "node_modules"), { recursive: true });
    await run("bash", [
      "-c",
      `tar -C "$1" --exclude=./node_modules --exclude=./.git --exclude=./dist --exclude=./.mcr --exclude=./.mcr-ca --exclude=./bench -cf - . | tar -C "$2" -xf -`,
      "copy",
      REPO_ROOT,
      src,
    ]);
    const npmDir = dirname(dirname(realpathSync((await run("sh", ["-c", "command -v npm"])).stdout.trim())));
    writeFileSync(join(tmp, "npm"), '#!/bin/sh\nexec node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\n', { mode: 0o755 });
    ports.mcr = await freePort();
    ports.agent = await freePort();

    await timed("boot", async () => {
      await pm.podman([
        "run",
        "-d",
        "--name",
        name,
        "--systemd=always",
        "--network=host",
        "--cap-add=SYS_ADMIN",
        "--hostname",
        "registry.test",
        "-v",
        `${process.execPath}:/usr/local/bin/node:ro`,
        "-v",
        `${npmDir}:/usr/local/lib/node_modules/npm:ro`,
        "-v",
        `${join(tmp, "npm")}:/usr/local/bin/npm:ro`,
        "-v",
        `${src}:/src`,
        "-v",
        `${join(REPO_ROOT, "node_modules")}:/src/node_modules:ro`,
        "--rootfs",
        `${root}:O`,
        "/sbin/init",
      ]);
      // running, or degraded (a unit of the Debian root that a container cannot run); anything else fails with the reason.
      // (systemctl answers nothing until systemd has set up its socket.)
      let state = "";
      const booted = await until(
        "systemd to boot",
        async () => {
          state = (await sh("systemctl is-system-running || true")).trim();
          return /^(running|degraded)$/.test(state) ? state : undefined;
        },
        60_000,
      ).catch(() => undefined);
      if (!booted) {
        const logs = await pm.podman(["logs", "--tail", "40", name]).catch((e: Error) => e.message);
        const failed = await sh("systemctl --failed --no-pager || true").catch((e: Error) => e.message);
        throw new Error(`systemd did not boot in the container (state: ${state || "no answer"}):\n${failed}\n${logs}`);
      }
    });
  });

  after(async () => {
    if (pm) {
      await pm.podman(["rm", "--force", "--time", "0", name]).catch(() => undefined);
      await pm.cleanup();
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`# systemd-boot timings (s): ${JSON.stringify(timings)}`);
  });

  test("install.sh installs mcr and the agent; both units are active and ready (Type=notify)", async () => {
    await timed("install mcr", () => sh(`bash /src/deploy/install.sh mcr --hostname registry.test --listen 127.0.0.1:${ports.mcr}`));
    // The agent joins as docs/install.md says: a token from the registry (here through its REST API), one command.
    const mcrUrl = `https://127.0.0.1:${ports.mcr}`;
    // The container shares the host's network: the host's curl asks the registry.
    const caFile = join(tmp, "mcr-ca.pem");
    writeFileSync(caFile, await sh("cat /srv/mcr/certs/ca.pem"));
    const post = async (path: string, body: unknown, token?: string) =>
      JSON.parse(
        (
          await run("curl", [
            "-sS",
            "--fail",
            "--cacert",
            caFile,
            "-H",
            "Content-Type: application/json",
            ...(token ? ["-H", `Authorization: Bearer ${token}`] : []),
            "-d",
            JSON.stringify(body),
            `${mcrUrl}${path}`,
          ])
        ).stdout,
      );
    const { token: admin } = await post("/v1/auth/login", {
      username: "admin",
      password: (await sh("cat /srv/mcr/admin.password")).trim(),
      service_name: "mcr",
    });
    const added = await post("/v1/nodes", { name: "registry", url: `https://127.0.0.1:${ports.agent}` }, admin);
    await timed("install agent", () =>
      sh(`bash /src/deploy/install.sh agent --token ${added.token} --registry-url ${mcrUrl} --listen 127.0.0.1:${ports.agent}`),
    );
    const units = "mcr mcp-agent mcr-backup.timer mcr-signer.timer";
    assert.deepEqual((await sh(`systemctl is-active ${units}`)).trim().split("\n"), ["active", "active", "active", "active"]);
    assert.deepEqual((await sh(`systemctl is-enabled ${units}`)).trim().split("\n"), ["enabled", "enabled", "enabled", "enabled"]);
    assert.doesNotMatch(
      await sh("find /var/lib/mcp-agent -type f -exec cat {} +"),
      new RegExp((await sh("sed -n 2p /srv/mcr-ca/ca-key.pem")).trim().replace(/[+/]/g, "\\$&")),
      "no CA key on the node",
    );
    // The signer timer's service runs as root, keeps a young signer and leaves it mcr's.
    await sh("systemctl start mcr-signer.service");
    assert.deepEqual(await show("mcr-signer.service", "Result"), { Result: "success" });
    assert.match(await sh("journalctl -u mcr-signer -o cat --no-pager"), /kept the node signer/);
    assert.equal((await sh("stat -c '%U %a' /srv/mcr/signer/signer-key.pem")).trim(), "mcr 600");
    for (const unit of ["mcr", "mcp-agent"]) {
      // STATUS= comes from the daemon's own sd_notify message: readiness was reported, not assumed.
      assert.deepEqual(await show(unit, "Type", "SubState", "StatusText"), { Type: "notify", SubState: "running", StatusText: "serving" }, unit);
    }
    writeFileSync(join(tmp, "admin.password"), await sh("cat /srv/mcr/admin.password"));
    mkdirSync(certs());
    writeFileSync(join(certs(), "ca.crt"), await sh("cat /srv/mcr/certs/ca.pem"));
  });

  test("mcr runs as mcr with no capabilities, a read-only system and its home writable; the CA key out of its reach", async () => {
    const pid = (await show("mcr", "MainPID")).MainPID;
    const status = await sh(`cat /proc/${pid}/status`);
    assert.match(status, /^CapBnd:\s+0+$/m);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.equal((await sh(`stat -c %U /proc/${pid}`)).trim(), "mcr");
    const mounts = new Map(
      (await sh(`awk '{ print $5, $6 }' /proc/${pid}/mountinfo`))
        .trim()
        .split("\n")
        .map((l) => l.split(" ") as [string, string]),
    );
    assert.match(mounts.get("/") ?? "", /^ro,/, "ProtectSystem=strict");
    assert.match(mounts.get("/srv/mcr") ?? "", /^rw,/, "ReadWritePaths=/srv/mcr");
    assert.equal((await sh("stat -c '%U %a' /srv/mcr-ca")).trim(), "root 700");
    await assert.rejects(sh("runuser -u mcr -- cat /srv/mcr-ca/ca-key.pem"), /Permission denied/);
  });

  test("both daemons log to the journal", async () => {
    assert.match(await sh("journalctl -u mcr -o cat --no-pager"), /"msg":"mcr listening"/);
    assert.match(await sh("journalctl -u mcp-agent -o cat --no-pager"), /"msg":"mcp-agent listening"/);
    // The agent's certificate is the platform CA's: its Health answers to a client trusting only that CA.
    const { stdout } = await run("curl", [
      "-sS",
      "--fail",
      "--http2",
      "--cacert",
      join(certs(), "ca.crt"),
      "-H",
      "Content-Type: application/json",
      "-d",
      "{}",
      `https://127.0.0.1:${ports.agent}/mcp.agent.v1.AgentService/Health`,
    ]);
    assert.equal(JSON.parse(stdout).status, "ok");
  });

  /** Pushes a one-layer image with skopeo, pulls it back into a dir: and returns the pulled manifest's digest. */
  async function pushAndPull(tag: string): Promise<{ pushed: string; pulled: string; file: string }> {
    const dir = join(tmp, `image-${tag}`);
    mkdirSync(join(dir, "layer"), { recursive: true });
    writeFileSync(join(dir, "layer", "hello.txt"), `hello ${tag}\n`);
    await run("tar", ["-C", join(dir, "layer"), "-cf", join(dir, "layer.tar"), "hello.txt"]);
    const layer = readFileSync(join(dir, "layer.tar"));
    const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha256(layer)] } }));
    const manifest = imageManifest(config, [layer]);
    const oci = join(dir, "oci");
    mkdirSync(join(oci, "blobs", "sha256"), { recursive: true });
    for (const blob of [layer, config, manifest]) writeFileSync(join(oci, "blobs", "sha256", createHash("sha256").update(blob).digest("hex")), blob);
    writeFileSync(join(oci, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      join(oci, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length, annotations: { "org.opencontainers.image.ref.name": tag } }],
      }),
    );
    const ref = `docker://127.0.0.1:${ports.mcr}/smoke/hello:${tag}`;
    await pm.skopeo(["copy", "--dest-cert-dir", certs(), "--dest-creds", creds(), "--digestfile", join(dir, "pushed"), `oci:${oci}:${tag}`, ref]);
    const out = join(dir, "pulled");
    await pm.skopeo(["copy", "--src-cert-dir", certs(), "--src-creds", creds(), ref, `dir:${out}`]);
    const pulled = readFileSync(join(out, "manifest.json"));
    const layerDigest = (JSON.parse(pulled.toString()) as { layers: { digest: string }[] }).layers[0]!.digest;
    const { stdout: file } = await run("tar", ["-xOf", join(out, layerDigest.slice("sha256:".length)), "hello.txt"]);
    return { pushed: readFileSync(join(dir, "pushed"), "utf8").trim(), pulled: sha256(pulled), file };
  }

  test("an image pushed through the installed registry pulls back whole", async () => {
    const r = await timed("push and pull", () => pushAndPull("v1"));
    assert.equal(r.pulled, r.pushed, "the manifest pulled is the one pushed");
    assert.equal(r.file, "hello v1\n");
  });

  test("kill -9 of mcr's main process: systemd restarts it and it serves again", async () => {
    const before = (await show("mcr", "MainPID")).MainPID;
    await sh(`kill -9 ${before}`);
    await timed("restart after kill -9", () =>
      until(
        "mcr to be restarted",
        async () => {
          const s = await show("mcr", "MainPID", "NRestarts", "SubState", "StatusText");
          return s.NRestarts === "1" && s.SubState === "running" && s.StatusText === "serving" && s.MainPID !== before ? s : undefined;
        },
        30_000,
      ),
    );
    assert.match(await sh("journalctl -u mcr -o cat --no-pager"), /Main process exited, code=killed, status=9\/KILL[\s\S]*Scheduled restart job/);
    const r = await pushAndPull("v2");
    assert.equal(r.pulled, r.pushed);
  });

  test("the backup timer is listed and its service writes a snapshot beside the running server", async () => {
    const timers = await sh("systemctl list-timers --all --no-pager mcr-backup.timer");
    assert.match(timers, /mcr-backup\.timer\s+mcr-backup\.service/);
    assert.match(timers, /\s02:0\d:\d\d UTC/, "the next run is at 02:00 UTC, within its 5 minutes");
    await timed("backup", () => sh("systemctl start mcr-backup.service"));
    assert.deepEqual(await show("mcr-backup.service", "Result", "ExecMainStatus"), { Result: "success", ExecMainStatus: "0" });
    assert.match(await sh("ls /srv/mcr/backups"), /^mcr-\d{8}-\d{6}\.db$/m);
    assert.match(await sh("stat -c %U /srv/mcr/backups/mcr-*.db"), /^mcr$/m);
    // Through the running server's local admin socket (its own sandbox and PrivateNetwork allow
    // that), not by opening the database beside it.
    assert.match(await sh("journalctl -u mcr -o cat --no-pager"), /"msg":"database snapshot written"/);
  });

  test("install.sh run again: the code is replaced, mcr restarted, the data kept", async () => {
    const before = (await show("mcr", "MainPID")).MainPID;
    await timed("second install", () => sh(`bash /src/deploy/install.sh mcr`));
    const s = await show("mcr", "MainPID", "SubState");
    assert.notEqual(s.MainPID, before);
    assert.equal(s.SubState, "running");
    const { stdout } = await run("skopeo", ["inspect", "--cert-dir", certs(), "--creds", creds(), `docker://127.0.0.1:${ports.mcr}/smoke/hello:v1`], {
      env: pm.env,
    });
    assert.equal(JSON.parse(stdout).Name, `127.0.0.1:${ports.mcr}/smoke/hello`);
  });

  test("both stop cleanly on SIGTERM, well within TimeoutStopSec", async () => {
    for (const unit of ["mcr", "mcp-agent"]) {
      const limit = seconds((await show(unit, "TimeoutStopUSec")).TimeoutStopUSec ?? "");
      const t = Date.now();
      await sh(`systemctl stop ${unit}`);
      const took = (Date.now() - t) / 1000;
      timings[`stop ${unit}`] = took;
      assert.ok(took < limit / 2, `${unit} took ${took} s to stop (TimeoutStopSec ${limit} s)`);
      assert.deepEqual(await show(unit, "ActiveState", "Result", "ExecMainStatus"), { ActiveState: "inactive", Result: "success", ExecMainStatus: "0" }, unit);
      assert.match(await sh(`journalctl -u ${unit} -o cat --no-pager`), /"signal":"SIGTERM","msg":"shutting down"[\s\S]*Deactivated successfully/);
    }
  });
});
