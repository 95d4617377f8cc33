// A real Ceph RADOS Gateway for the tests, beside s3rver (test/helpers/s3.ts), with the same
// S3Server interface so a test can take either. A single-node Ceph on loopback, all of it in
// its own temporary folder: one monitor, one OSD on memstore (objects in memory), radosgw's
// beast frontend; no manager. Its own ceph.conf names every path (mon and OSD data, run dir,
// pid files, admin sockets, logs, the cluster log, crash dumps), so nothing is read from or
// written to /etc/ceph or /var/lib/ceph; the daemons run as the current user, in the
// foreground, as children of the test process. The keys (mon., client.admin, client.rgw) are
// made with ceph-authtool and imported by `ceph-mon --mkfs`; cephx stays on (radosgw needs it).
// A reaper (a shell reading a pipe from this process) kills every daemon and removes the folder
// when this process dies without stop(), a crash or SIGKILL included.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createS3Client } from "../../registry/storage/s3-client.ts";
import { freePort } from "./postgres.ts";
import type { S3Server } from "./s3.ts";
import { hasTool } from "./tools.ts";

const run = promisify(execFile);
const TOOLS = ["ceph-mon", "ceph-osd", "radosgw", "ceph-authtool", "monmaptool", "ceph", "radosgw-admin"];

/** A `skip` value like skipUnlessTools: locally the reason to skip, on CI (CI=true) an error. */
export function skipUnlessRadosgw(): string | false {
  const missing = TOOLS.filter((t) => !hasTool(t));
  if (missing.length === 0) return false;
  const problem = `missing Ceph tools: ${missing.join(", ")} (apt-get install --no-install-recommends radosgw ceph-mon ceph-osd ceph-common)`;
  if (process.env.CI === "true") throw new Error(`${problem} (required on CI)`);
  return problem;
}

function cephConf(dir: string, fsid: string, monPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
run dir = ${dir}/run
crash dir = ${dir}/crash
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
keyring = ${dir}/keyring
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
# One copy, one placement group per pool, no autoscaler: one OSD holds everything.
mon allow pool size one = true
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
# Each pool radosgw creates is a Paxos round: at the default 1 s interval start-up takes 12-15 s.
paxos propose interval = 0.01
# The machine's disk may be fuller than the monitor's default limits allow.
mon data avail crit = 0
mon data avail warn = 0
mon cluster log file = ${dir}/log/cluster.log
[client]
admin socket =
[mon]
mon data = ${dir}/mon
# A taken port fails at once (the bring-up starts again on another) instead of after 10 s of retries.
ms bind retry count = 1
admin socket = ${dir}/run/$name.asok
[osd]
osd data = ${dir}/osd
osd objectstore = memstore
admin socket = ${dir}/run/$name.asok
[client.rgw]
admin socket = ${dir}/run/$name.asok
rgw data = ${dir}/rgw
rgw enable lc threads = false
rgw enable usage log = false
rgw thread pool size = 64
`;
}

interface Daemon {
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
}

function spawnDaemon(cmd: string, args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { child, exited, output: () => out };
}

async function kill(d: Daemon | undefined): Promise<void> {
  if (!d) return;
  if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill("SIGKILL");
  await d.exited;
}

/** The TCP ports a process listens on at 127.0.0.1 (its socket inodes, found in /proc/net/tcp). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/); // sl, local address, remote address, state (0A: LISTEN), ..., inode
    if (f[3] === "0A" && f[1]?.startsWith("0100007F:") && inodes.has(f[9]!)) ports.push(Number.parseInt(f[1].slice(9), 16));
  }
  return ports;
}

/** Waits until `d` listens (on `port`, or on any port when 0) and returns the port; throws if it exits first. */
async function listening(d: Daemon, what: string, port: number, log: () => string): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (d.child.exitCode !== null || d.child.signalCode !== null)
      throw new Error(`${what} exited (${d.child.exitCode ?? d.child.signalCode}): ${d.output()}\n${log()}`);
    const found = listeningPorts(d.child.pid!).find((p) => port === 0 || p === port);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${what} did not listen within 30 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The last lines of a daemon's log, for an error message. */
function logTail(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, "log", `${name}.log`), "utf8")
      .split("\n")
      .slice(-15)
      .join("\n");
  } catch {
    return "";
  }
}

const credentialsText = (id: string, secret: string) => `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`;

/**
 * A single-node Ceph with radosgw on loopback, an S3 user with random keys and `bucket`.
 * The monitor's port is asked of the OS first (a monitor map names it); should it be taken
 * by the time the monitor binds, the whole bring-up starts again (three attempts).
 */
export async function startRadosgw(bucket = "mcr-test"): Promise<S3Server> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await bringUp(bucket);
    } catch (err) {
      if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
    }
  }
}

async function bringUp(bucket: string): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), "ceph-test-"));
  for (const d of ["mon", "osd", "run", "log", "crash", "rgw"]) mkdirSync(join(dir, d));
  const conf = join(dir, "ceph.conf");
  const env = { ...process.env, CEPH_CONF: conf };
  const ceph = (cmd: string, args: string[]) => run(cmd, ["-c", conf, ...args], { env, cwd: dir });
  // Kills the daemons and removes the folder if this process ends without stop(): it reads the
  // current pids, one line each time they change, until the pipe closes.
  const reaper = spawn("sh", ["-c", 'pids=; while read -r l; do pids=$l; done; [ -z "$pids" ] || kill -9 $pids 2>/dev/null; rm -rf "$1"', "ceph-reaper", dir], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
  });
  reaper.unref();
  (reaper.stdin as unknown as { unref(): void }).unref();
  reaper.stdin!.on("error", () => undefined); // a reaper gone (killed by hand) must not crash the tests
  let mon: Daemon | undefined;
  let osd: Daemon | undefined;
  let rgw: Daemon | undefined;
  const track = () => reaper.stdin!.write(`${[mon, osd, rgw].flatMap((d) => (d?.child.pid ? [d.child.pid] : [])).join(" ")}\n`);
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    for (const d of [rgw, osd, mon]) await kill(d); // radosgw, then the OSD, then the monitor
    rgw = osd = mon = undefined;
    track();
    reaper.stdin!.end();
    rmSync(dir, { recursive: true, force: true });
  };

  // radosgw binds port 0 the first time (the OS picks), and the same port on resume(). Without
  // tcp_nodelay beast's small responses (GET, list, copy) wait for the client's delayed ACK: ~45 ms each.
  let rgwPort = 0;
  const startRgw = async () => {
    rgw = spawnDaemon("radosgw", ["-c", conf, "-n", "client.rgw", "-f", "--rgw-frontends", `beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1`], env);
    track();
    const d = rgw;
    rgwPort = await listening(d, "radosgw", rgwPort, () => logTail(dir, "client.rgw"));
    // Listening comes before the gateway has read its zone: wait for an answer.
    const deadline = Date.now() + 30_000;
    while (
      !(await fetch(`http://127.0.0.1:${rgwPort}/`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => (void r.body?.cancel(), true),
        () => false,
      ))
    ) {
      if (d.child.exitCode !== null || Date.now() > deadline) throw new Error(`radosgw did not answer: ${d.output()}\n${logTail(dir, "client.rgw")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const accessKeyId = randomBytes(10).toString("hex").toUpperCase();
  const secretAccessKey = randomBytes(20).toString("base64url");
  try {
    const fsid = randomUUID();
    const monPort = await freePort();
    writeFileSync(conf, cephConf(dir, fsid, monPort));
    const keyring = join(dir, "keyring");
    await run("ceph-authtool", ["--create-keyring", keyring, "--gen-key", "-n", "mon.", "--cap", "mon", "allow *"]);
    const caps = {
      "client.admin": ["--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *"],
      "client.rgw": ["--cap", "mon", "allow rw", "--cap", "osd", "allow rwx", "--cap", "mgr", "allow rw"],
    };
    for (const [name, c] of Object.entries(caps)) await run("ceph-authtool", [keyring, "--gen-key", "-n", name, ...c]);
    const monmap = join(dir, "monmap");
    await run("monmaptool", ["--create", "--fsid", fsid, "--addv", "a", `[v2:127.0.0.1:${monPort}]`, monmap]);
    await ceph("ceph-mon", ["--mkfs", "-i", "a", "--monmap", monmap, "--keyring", keyring]);
    mon = spawnDaemon("ceph-mon", ["-c", conf, "-i", "a", "-f"], env);
    track();
    await listening(mon, "ceph-mon", monPort, () => logTail(dir, "mon.a"));
    // `ceph osd new` with the OSD's secret makes the OSD's id and its cephx key in one command.
    const osdUuid = randomUUID();
    const osdKey = (await run("ceph-authtool", ["--gen-print-key"])).stdout.trim();
    writeFileSync(join(dir, "osd-secret.json"), JSON.stringify({ cephx_secret: osdKey }));
    const id = (await ceph("ceph", ["--connect-timeout", "30", "osd", "new", osdUuid, "-i", join(dir, "osd-secret.json")])).stdout.trim();
    await run("ceph-authtool", [keyring, "--add-key", osdKey, "-n", `osd.${id}`]);
    await ceph("ceph-osd", ["-i", id, "--mkfs", "--osd-uuid", osdUuid]);
    osd = spawnDaemon("ceph-osd", ["-c", conf, "-i", id, "-f"], env);
    track();
    await startRgw();
    await ceph("radosgw-admin", [
      "user",
      "create",
      "--uid",
      "mcr-test",
      "--display-name",
      "mcr test",
      "--access-key",
      accessKeyId,
      "--secret-key",
      secretAccessKey,
    ]);
    // The bucket, made with the registry's own S3 client.
    writeFileSync(join(dir, "s3.credentials"), credentialsText(accessKeyId, secretAccessKey), { mode: 0o600 });
    const client = await createS3Client({
      endpoint: `http://127.0.0.1:${rgwPort}`,
      region: "us-east-1",
      bucket,
      prefix: "",
      pathStyle: true,
      credentialsFile: join(dir, "s3.credentials"),
      redirect: false,
      redirectTtlMs: 60_000,
    });
    const { CreateBucketCommand } = await import("@aws-sdk/client-s3");
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } finally {
      client.destroy();
    }
  } catch (err) {
    await stopAll();
    throw err;
  }

  return {
    endpoint: `http://127.0.0.1:${rgwPort}`,
    bucket,
    accessKeyId,
    secretAccessKey,
    dir,
    get child() {
      return rgw!.child;
    },
    async halt() {
      await kill(rgw);
      track();
    },
    async resume() {
      await startRgw();
    },
    stop: stopAll,
  };
}
