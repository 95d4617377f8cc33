// Registry benchmark, scale-out part: mcr on its embedded default (SQLite + files), mcr on
// PostgreSQL + S3, and distribution 2.8 with its S3 driver against the same S3 server, in one
// run; then manifest requests/s with two PostgreSQL + S3 replicas against one. Plain HTTP on
// loopback. Run by hand: `bash bench/registry/run-scale-out.sh` (README.md, docs/performance.md).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startPostgres, type PgServer } from "../../test/helpers/postgres.ts";
import { startS3, type S3Server } from "../../test/helpers/s3.ts";
import { expect, location } from "./client.ts";
import { median } from "./report.ts";
import { pull, pushChunked, pushMonolithic, waitQuiet, wrk, type Blob, type Transfer, type WrkResult } from "./measure.ts";
import { freePort, MCR_BIN } from "./servers.ts";

const run = promisify(execFile);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // as mcr does (docs/dependencies.md)
const MIB = 1024 * 1024;
const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const cfg = { blobMb: num("BLOB_MB", 256), chunkMb: num("CHUNK_MB", 64), reps: num("REPS", 3), streams: num("STREAMS", 8), wrkSeconds: num("WRK_SECONDS", 10) };
const REPO = "bench/get";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const tmp = process.env.BENCH_TMP!;
/** The embedded home's CA: plain HTTP needs none, but the bench's clients read the file. */
let CA = "";

interface Proc {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}
const live: Proc[] = [];

function track(name: string, child: ChildProcess, url: string): Proc & { log: () => string } {
  let log = "";
  child.stdout?.on("data", (d: Buffer) => (log = (log + d).slice(-32768)));
  child.stderr?.on("data", (d: Buffer) => (log = (log + d).slice(-32768)));
  const pidFile = join(tmp, "pids", `${name}.pid`);
  writeFileSync(pidFile, `${child.pid}\n`);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const p = {
    name,
    url,
    pid: child.pid!,
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(pidFile, { force: true });
    },
  };
  live.push(p);
  return p;
}

async function startMcr(name: string, config: string): Promise<Proc> {
  const child = spawn(MCR_BIN, ["server", "--config", config], {
    env: { ...process.env, MCR_SERVER_PLAIN_HTTP: "true", MCR_AUTH_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p = track(name, child, "");
  for (let i = 0; i < 300; i++) {
    const m = /"port":(\d+).*"msg":"mcr listening"/.exec(p.log());
    if (m) return { ...p, url: `http://127.0.0.1:${m[1]}` };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not start:\n${p.log()}`);
}

async function startDistribution(s3: S3Server): Promise<Proc> {
  const port = await freePort();
  const config = join(tmp, "distribution-s3.yml");
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
  const p = track("distribution-s3", spawn("docker-registry", ["serve", config], { env, stdio: ["ignore", "pipe", "pipe"] }), `http://127.0.0.1:${port}`);
  for (let i = 0; i < 100; i++) {
    if (
      (await fetch(`${p.url}/v2/`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`distribution did not start:\n${p.log()}`);
}

function makeBlob(): Blob {
  const size = cfg.blobMb * MIB;
  const path = join(tmp, "blob.bin");
  mkdirSync(join(tmp, "chunks"), { recursive: true });
  const hash = createHash("sha256");
  const buf = Buffer.alloc(MIB);
  const fd = openSync(path, "w");
  const chunks: Blob["chunks"] = [];
  let cfd = -1;
  for (let off = 0; off < size; off += MIB) {
    if (off % (cfg.chunkMb * MIB) === 0) {
      if (cfd >= 0) closeSync(cfd);
      chunks.push({ path: join(tmp, "chunks", String(chunks.length)), start: off, end: Math.min(off + cfg.chunkMb * MIB, size) - 1 });
      cfd = openSync(chunks.at(-1)!.path, "w");
    }
    randomFillSync(buf);
    hash.update(buf);
    writeSync(fd, buf);
    writeSync(cfd, buf);
  }
  closeSync(cfd);
  closeSync(fd);
  return { path, size, digest: `sha256:${hash.digest("hex")}`, chunks };
}

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

async function seedMcr(url: string, blob: Blob): Promise<void> {
  await pushMonolithic(CA, url, REPO, blob, process.pid);
  const { config, manifest } = manifestFor(blob);
  const s = location(await expect(202, `${url}/v2/${REPO}/blobs/uploads/`, CA, "POST", { "Content-Length": 0 }), url);
  s.searchParams.set("digest", sha(config));
  await expect(201, s, CA, "PUT", { "Content-Length": config.length }, config);
  await expect(201, `${url}/v2/${REPO}/manifests/latest`, CA, "PUT", { "Content-Type": OCI_MANIFEST }, manifest);
}

/**
 * distribution's S3 driver resumes every upload with ListMultipartUploads, which s3rver does not
 * implement, so it cannot push there: its layout is written straight into the bucket instead.
 */
async function seedDistribution(s3: S3Server, blob: Blob): Promise<void> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  const root = "distribution/docker/registry/v2";
  const put = (key: string, body: Buffer | string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${root}/${key}`, Body: body }));
  const data = (d: string) => `blobs/sha256/${d.slice(7, 9)}/${d.slice(7)}/data`;
  const { config, manifest } = manifestFor(blob);
  await put(data(blob.digest), readFileSync(blob.path));
  for (const b of [config, manifest]) await put(data(sha(b)), b);
  const repo = `repositories/${REPO}`;
  for (const d of [blob.digest, sha(config)]) await put(`${repo}/_layers/sha256/${d.slice(7)}/link`, d);
  const m = sha(manifest);
  await put(`${repo}/_manifests/revisions/sha256/${m.slice(7)}/link`, m);
  await put(`${repo}/_manifests/tags/latest/current/link`, m);
  await put(`${repo}/_manifests/tags/latest/index/sha256/${m.slice(7)}/link`, m);
  client.destroy();
}

type Row = { what: string; cells: Record<string, string> };
const fmt = (xs: number[]) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;

async function main(): Promise<void> {
  mkdirSync(join(tmp, "pids"), { recursive: true });
  say(`writing a ${cfg.blobMb} MiB blob`);
  const blob = makeBlob();
  const [pg, s3] = await Promise.all([startPostgres(), startS3("bench")]);
  const stopAll = async () => {
    for (const p of live.splice(0)) await p.stop().catch(() => undefined);
    await Promise.all([pg.stop(), s3.stop()]);
  };
  try {
    await measure(blob, pg, s3);
  } finally {
    await stopAll();
  }
}

async function measure(blob: Blob, pg: PgServer, s3: S3Server): Promise<void> {
  const creds = join(tmp, "s3.credentials");
  writeFileSync(creds, `[default]\naws_access_key_id = ${s3.accessKeyId}\naws_secret_access_key = ${s3.secretAccessKey}\n`);
  await run(MCR_BIN, ["init", "--dir", join(tmp, "embedded"), "--listen", "127.0.0.1:0"]);
  CA = join(tmp, "embedded", "certs", "ca.pem");
  const url = await pg.createDatabase("mcr");
  await run(MCR_BIN, [
    "init",
    "--dir",
    join(tmp, "scale"),
    "--listen",
    "127.0.0.1:0",
    "--database-url",
    url,
    "--s3-bucket",
    s3.bucket,
    "--s3-endpoint",
    s3.endpoint,
    "--s3-path-style",
    "--s3-prefix",
    "mcr/",
    "--s3-credentials-file",
    creds,
  ]);
  const embedded = await startMcr("mcr-embedded", join(tmp, "embedded", "mcr.toml"));
  const scale = await startMcr("mcr-pg-s3", join(tmp, "scale", "mcr.toml"));
  const dist = await startDistribution(s3);
  say("seeding (untimed)");
  await seedMcr(embedded.url, blob);
  await seedMcr(scale.url, blob);
  await seedDistribution(s3, blob);
  const servers: [string, Proc][] = [
    ["mcr embedded", embedded],
    ["mcr PostgreSQL + S3", scale],
    ["distribution 2.8, S3", dist],
  ];
  const rows: Row[] = [];
  const add = (what: string, server: string, v: string) => {
    let r = rows.find((x) => x.what === what);
    if (!r) rows.push((r = { what, cells: {} }));
    r.cells[server] = v;
  };

  for (const n of [1, cfg.streams]) {
    for (const [name, p] of servers) {
      const xs: Transfer[] = [];
      for (let i = 0; i < cfg.reps; i++) {
        await waitQuiet(0.2, 30, say);
        xs.push(await pull(CA, `${p.url}/v2/${REPO}/blobs/${blob.digest}`, blob.size, n, p.pid));
      }
      add(`blob GET MB/s, ${n} stream${n > 1 ? "s" : ""}`, name, fmt(xs.map((x) => x.mbps)));
      add(`server CPU s/GB, GET ×${n}`, name, median(xs.map((x) => x.serverCpu / (x.bytes / 1e9))).toFixed(2));
      say(`GET ×${n} ${name}: ${fmt(xs.map((x) => x.mbps))} MB/s`);
    }
  }
  for (const [mode, fn] of [
    ["monolithic", pushMonolithic],
    ["chunked", pushChunked],
  ] as const) {
    for (const [name, p] of servers.slice(0, 2)) {
      const xs: Transfer[] = [];
      for (let i = 0; i < cfg.reps; i++) {
        await waitQuiet(0.2, 30, say);
        xs.push(await fn(CA, p.url, `bench/push-${mode}-${i}`, blob, p.pid));
      }
      add(`push MB/s, ${mode}`, name, fmt(xs.map((x) => x.mbps)));
      say(`push ${mode} ${name}: ${fmt(xs.map((x) => x.mbps))} MB/s`);
    }
    add(`push MB/s, ${mode}`, "distribution 2.8, S3", "not possible on s3rver");
  }
  const wrkRows = async (label: string, targets: Proc[], connections: number) => {
    const xs: number[] = [];
    for (let i = 0; i < cfg.reps; i++) {
      await waitQuiet(0.2, 30, say);
      const rs: WrkResult[] = await Promise.all(targets.map((t) => wrk(`${t.url}/v2/${REPO}/manifests/latest`, OCI_MANIFEST, connections, cfg.wrkSeconds)));
      xs.push(rs.reduce((s, r) => s + r.rps, 0));
    }
    say(`${label}: ${fmt(xs)} req/s`);
    return fmt(xs);
  };
  for (const [name, p] of servers) {
    await wrk(`${p.url}/v2/${REPO}/manifests/latest`, OCI_MANIFEST, 64, 2); // warm-up
    add("manifest GET req/s (wrk, 64 connections)", name, await wrkRows(`manifest GET ${name}`, [p], 64));
  }
  await dist.stop();
  await embedded.stop();
  const second = await startMcr("mcr-pg-s3-2", join(tmp, "scale", "mcr.toml"));
  await wrk(`${second.url}/v2/${REPO}/manifests/latest`, OCI_MANIFEST, 64, 2);
  const one = await wrkRows("one replica", [scale], 64);
  const two = await wrkRows("two replicas", [scale, second], 32);

  const names = servers.map(([n]) => n);
  const out = [
    `Run of ${new Date().toISOString()}: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
    `${cfg.blobMb} MiB blob, ${cfg.chunkMb} MiB chunks, ${cfg.reps} runs per figure, median (min–max), plain HTTP on loopback; PostgreSQL 15 and s3rver on the same machine`,
    "",
    `| measure | ${names.join(" | ")} |`,
    `|---|${names.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.what} | ${names.map((n) => r.cells[n] ?? "").join(" | ")} |`),
    "",
    "| manifest GET req/s, PostgreSQL + S3 | one replica (64 connections) | two replicas (32 + 32 connections) |",
    "|---|---|---|",
    `| wrk | ${one} | ${two} |`,
  ];
  process.stdout.write(`\n${out.join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  for (const p of live) void p.stop();
  process.exitCode = 1;
});
