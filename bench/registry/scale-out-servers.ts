// The scale-out benchmark's servers: the S3 store (a Ceph RADOS Gateway or s3rver, started the
// way the tests start them), mcr from a home, distribution 2.8 with its S3 driver, and the
// untimed content each registry serves. Every process started here writes its pid under
// <tmp>/pids/ so that run-scale-out.sh's trap can stop it should the driver die.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { startRadosgw } from "../../test/helpers/ceph.ts";
import { startS3, type S3Server } from "../../test/helpers/s3.ts";
import { expect, location } from "./client.ts";
import { cpuSeconds, pushMonolithic, type Blob } from "./measure.ts";
import { freePort, MCR_BIN } from "./servers.ts";
import { MCR_SERVER_NODE_FLAGS } from "../../lib/process/node-flags.ts";

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const REPO = "bench/get";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** mcr's homes keep their objects under this prefix, distribution under its rootdirectory. */
export const MCR_PREFIX = "mcr/";
const DIST_ROOT = "distribution/docker/registry/v2";

export interface Proc {
  name: string;
  url: string;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Every process of the run still to stop, newest last. */
export const live: Proc[] = [];

function pidFile(tmp: string, tag: string, pid: number): string {
  const f = join(tmp, "pids", `${tag}.pid`);
  writeFileSync(f, `${pid}\n`);
  return f;
}

function track(tmp: string, name: string, child: ChildProcess, url: string): Proc {
  let log = "";
  child.stdout?.on("data", (d: Buffer) => (log = (log + d).slice(-32768)));
  child.stderr?.on("data", (d: Buffer) => (log = (log + d).slice(-32768)));
  const file = pidFile(tmp, name, child.pid!);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const p: Proc = {
    name,
    url,
    pid: child.pid!,
    log: () => log,
    async stop() {
      const i = live.indexOf(p);
      if (i >= 0) live.splice(i, 1);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      if (!(await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]))) child.kill("SIGKILL");
      await exited;
      rmSync(file, { force: true });
    },
  };
  live.push(p);
  return p;
}

// ---------------------------------------------------------------- processes

const ppid = (pid: string | number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
};

/** SIGTERM to this process's remaining children (a curl or wrk in flight), by their pids. */
export function killChildren(): void {
  for (const e of readdirSync("/proc")) {
    try {
      if (/^\d+$/.test(e) && ppid(e) === process.pid) process.kill(Number(e), "SIGTERM");
    } catch {
      /* gone meanwhile */
    }
  }
}

/** The postmaster of the cluster startPostgres() made in `tmp` (the driver points TMPDIR there). */
function postmaster(tmp: string): number | undefined {
  for (const d of readdirSync(tmp).filter((x) => x.startsWith("pg-test-"))) {
    try {
      return Number(readFileSync(join(tmp, d, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    } catch {
      /* not started, or stopped */
    }
  }
  return undefined;
}

/** CPU seconds of PostgreSQL: its postmaster and the backends it forked. */
export const postgresCpu = (tmp: string): number => {
  const pm = postmaster(tmp);
  return pm ? cpuSeconds(pm) : 0;
};

/**
 * measure.ts's readings of others' CPU without PostgreSQL: pg_ctl starts it outside the driver's
 * process tree, yet it is part of what mcr on PostgreSQL costs.
 */
export function withoutPostgres(tmp: string, cpu: Map<number, number>): Map<number, number> {
  const pm = postmaster(tmp);
  for (const pid of pm ? [...cpu.keys()] : []) {
    try {
      if (pid === pm || ppid(pid) === pm) cpu.delete(pid);
    } catch {
      cpu.delete(pid); // gone meanwhile
    }
  }
  return cpu;
}

// ---------------------------------------------------------------- the S3 store

export type StoreKind = "radosgw" | "s3rver";

export interface Store {
  kind: StoreKind;
  s3: S3Server;
  client: S3Client;
  /** The store's processes (radosgw: monitor, OSD, gateway), whose CPU is counted as the store's. */
  pids: number[];
  cpu(): number;
  /** An AWS credentials file for mcr. */
  credentials: string;
  /** Deletes an object and has the store free its space now (radosgw's garbage collector waits 2 h). */
  remove(key: string): Promise<void>;
  /** A presigned GET of `key`: what mcr's `[s3] redirect = true` sends clients to. */
  presign(key: string): Promise<string>;
  stop(): Promise<void>;
}

/** The processes whose command line names the Ceph cluster's own config file. */
function cephPids(dir: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if (/^(ceph-mon|ceph-osd|radosgw)$/.test(argv[0]!.split("/").pop()!) && argv.includes(join(dir, "ceph.conf"))) pids.push(Number(e));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

/**
 * radosgw on a single-node Ceph whose OSD keeps objects in memory (memstore), or s3rver. The
 * OSD's memstore may hold `capacity` bytes (its default, 1 GiB, is less than a run needs).
 */
export async function startStore(kind: StoreKind, tmp: string, capacity: number): Promise<Store> {
  const s3 = kind === "radosgw" ? await startRadosgw("bench") : await startS3("bench");
  const files: string[] = [];
  let collect = async () => undefined as unknown;
  let pids = [s3.child.pid!];
  if (kind === "radosgw") {
    const conf = join(s3.dir, "ceph.conf");
    const ceph = (cmd: string, args: string[]) => run(cmd, ["-c", conf, ...args], { env: { ...process.env, CEPH_CONF: conf }, cwd: s3.dir });
    // memstore reads its size on every statfs: the OSD takes the new one at once.
    await ceph("ceph", ["--connect-timeout", "30", "tell", "osd.*", "config", "set", "memstore_device_bytes", String(capacity)]);
    collect = () => ceph("radosgw-admin", ["gc", "process", "--include-all"]);
    pids = cephPids(s3.dir);
    if (pids.length !== 3) throw new Error(`expected 3 Ceph daemons for ${conf}, found ${pids.length}`);
  }
  pids.forEach((pid, i) => files.push(pidFile(tmp, `${kind}-${i}`, pid)));
  const credentials = join(tmp, `${kind}.credentials`);
  writeFileSync(credentials, `[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`, { mode: 0o600 });
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  return {
    kind,
    s3,
    client,
    pids,
    cpu: () => pids.reduce((s, p) => s + cpuSeconds(p), 0),
    credentials,
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
      await collect();
    },
    presign: (key) => getSignedUrl(client, new GetObjectCommand({ Bucket: s3.bucket, Key: key }), { expiresIn: 6 * 3600 }),
    async stop() {
      client.destroy();
      await s3.stop();
      for (const f of files) rmSync(f, { force: true });
    },
  };
}

export const blobKey = (who: "mcr" | "distribution", digest: string): string => {
  const hex = digest.slice("sha256:".length);
  return who === "mcr" ? `${MCR_PREFIX}blobs/sha256/${hex.slice(0, 2)}/${hex}` : `${DIST_ROOT}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
};

// ---------------------------------------------------------------- the registries

/** mcr from the home of `config`, plain HTTP, without authentication, on a port the OS chose. */
export async function startMcr(tmp: string, name: string, config: string): Promise<Proc> {
  // As the systemd unit, the image and `mcp up` start it.
  const child = spawn(process.execPath, [...MCR_SERVER_NODE_FLAGS, MCR_BIN, "server", "--config", config], {
    env: { ...process.env, MCR_SERVER_PLAIN_HTTP: "true", MCR_AUTH_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p = track(tmp, name, child, "");
  for (let i = 0; i < 300; i++) {
    const m = /"port":(\d+).*"msg":"mcr listening"/.exec(p.log());
    if (m) return Object.assign(p, { url: `http://127.0.0.1:${m[1]}` });
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  await p.stop();
  throw new Error(`${name} did not start:\n${p.log()}`);
}

/** `mcr init` of a PostgreSQL + S3 home on `store`, its objects under mcr/. */
export async function initScaleHome(dir: string, databaseUrl: string, store: Store): Promise<string> {
  const s3 = ["--s3-bucket", store.s3.bucket, "--s3-endpoint", store.s3.endpoint, "--s3-path-style", "--s3-prefix", MCR_PREFIX];
  await run(MCR_BIN, ["init", "--dir", dir, "--listen", "127.0.0.1:0", "--database-url", databaseUrl, ...s3, "--s3-credentials-file", store.credentials]);
  return join(dir, "mcr.toml");
}

/**
 * distribution 2.8 with its S3 driver on `store`: path-style requests (2.8 uses them whenever
 * regionendpoint is set), SigV4, plain HTTP, its default 10 MiB parts (radosgw refuses parts
 * under 5 MiB, as S3 does). `redirect: disable` makes it serve blob bytes itself, as mcr does
 * by default. Logs at warn: at info it writes a line per request.
 */
export async function startDistribution(tmp: string, store: Store): Promise<Proc> {
  const { s3 } = store;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(tmp, `distribution-${store.kind}.yml`);
    writeFileSync(
      config,
      `version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage:
  s3: { accesskey: ${s3.accessKeyId}, secretkey: ${s3.secretAccessKey}, region: us-east-1, regionendpoint: "${s3.endpoint}", bucket: ${s3.bucket}, secure: false, v4auth: true, rootdirectory: /distribution }
  cache: { blobdescriptor: inmemory }
  redirect: { disable: true }
  maintenance: { uploadpurging: { enabled: false } }
http: { addr: "127.0.0.1:${port}", secret: bench-secret }
`,
    );
    // AWS_CA_BUNDLE, if the environment sets one, makes distribution's AWS SDK refuse its own HTTP transport.
    const env = { ...process.env };
    delete env.AWS_CA_BUNDLE;
    const child = spawn("docker-registry", ["serve", config], { env, stdio: ["ignore", "pipe", "pipe"] });
    const p = track(tmp, `distribution-${store.kind}`, child, `http://127.0.0.1:${port}`);
    for (let i = 0; i < 100 && child.exitCode === null; i++) {
      const status = await fetch(`${p.url}/v2/`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) return p;
      await sleep(100);
    }
    await p.stop();
    if (attempt >= 3 || !/address already in use/.test(p.log())) throw new Error(`distribution did not start:\n${p.log()}`);
  }
}

// ---------------------------------------------------------------- content

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function manifestFor(blob: Blob): { config: Buffer; manifest: Buffer } {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [blob.digest] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: blob.digest, size: blob.size }],
    }),
  );
  return { config, manifest };
}

/** Untimed, through the registry's API: the blob, a config and a manifest tagged `latest` in bench/get. */
export async function pushContent(ca: string, p: Proc, blob: Blob): Promise<void> {
  await pushMonolithic(ca, p.url, REPO, blob, p.pid);
  const { config, manifest } = manifestFor(blob);
  const s = location(await expect(202, `${p.url}/v2/${REPO}/blobs/uploads/`, ca, "POST", { "Content-Length": 0 }), p.url);
  s.searchParams.set("digest", sha(config));
  await expect(201, s, ca, "PUT", { "Content-Length": config.length }, config);
  await expect(201, `${p.url}/v2/${REPO}/manifests/latest`, ca, "PUT", { "Content-Type": OCI_MANIFEST }, manifest);
}

/**
 * The same content written straight into the bucket in distribution's layout: for a store it
 * cannot push to (its S3 driver resumes every upload with ListMultipartUploads, which s3rver
 * lacks).
 */
export async function writeDistributionContent(store: Store, blob: Blob): Promise<void> {
  const put = (key: string, body: Buffer | string) =>
    store.client.send(new PutObjectCommand({ Bucket: store.s3.bucket, Key: `${DIST_ROOT}/${key}`, Body: body }));
  const { config, manifest } = manifestFor(blob);
  await store.client.send(new PutObjectCommand({ Bucket: store.s3.bucket, Key: blobKey("distribution", blob.digest), Body: readFileSync(blob.path) }));
  for (const b of [config, manifest]) await store.client.send(new PutObjectCommand({ Bucket: store.s3.bucket, Key: blobKey("distribution", sha(b)), Body: b }));
  const repo = `repositories/${REPO}`;
  for (const d of [blob.digest, sha(config)]) await put(`${repo}/_layers/sha256/${d.slice(7)}/link`, d);
  const m = sha(manifest);
  await put(`${repo}/_manifests/revisions/sha256/${m.slice(7)}/link`, m);
  await put(`${repo}/_manifests/tags/latest/current/link`, m);
  await put(`${repo}/_manifests/tags/latest/index/sha256/${m.slice(7)}/link`, m);
}
