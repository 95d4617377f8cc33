// Registry benchmark driver: mcr against distribution 2.8 and nginx, on one blob, in one run.
// Run by hand with `bash bench/registry/run.sh` (never from the test suite); see README.md.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { curlCipher, curlDigest, expect, location } from "./client.ts";
import {
  intEnv,
  makeBlob,
  memory,
  othersCpuSeconds,
  othersDelta,
  pull,
  pullWatchingMemory,
  pushChunked,
  pushMonolithic,
  waitQuiet,
  wrk,
  type Blob,
} from "./measure.ts";
import { render, verdicts, type GetRow, type ManifestRow, type PushRow, type Results } from "./report.ts";
import { sample, warm } from "./quiet.ts";
import { MCR_BIN, initEnv, startDistribution, startMcr, startNginx, type BenchEnv, type Proto, type Server } from "./servers.ts";

const cfg = {
  blobMb: intEnv("BLOB_MB", 1024),
  chunkMb: intEnv("CHUNK_MB", 64),
  reps: intEnv("REPS", 3, 1, 20),
  streams: intEnv("STREAMS", 8, 2, 64),
  rssStreams: intEnv("RSS_STREAMS", 32, 1, 256),
  wrkSeconds: intEnv("WRK_SECONDS", 10, 1, 120),
  wrkConnections: 64,
  protos: (process.env.PROTOS ?? "http,https").split(",").filter((p): p is Proto => p === "http" || p === "https"),
  json: process.env.BENCH_JSON ?? "",
  parts: parts(process.env.PARTS ?? "push,get,manifest,memory"),
};

/** Which parts of the run to measure (`PARTS=push` for a quick A/B of uploads). */
function parts(raw: string): Set<string> {
  const known = ["push", "get", "manifest", "memory"];
  const want = raw.split(",").filter(Boolean);
  const bad = want.filter((p) => !known.includes(p));
  if (bad.length > 0 || want.length === 0) throw new Error(`PARTS=${raw}: want a comma-separated list of ${known.join(", ")}`);
  return new Set(want);
}

const MIB = 1024 * 1024;
const REPO = "bench/get";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const live = new Set<Server>();
const say = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

/** Pushes a small blob in one POST + PUT (config blobs). */
async function pushSmall(env: BenchEnv, base: string, repo: string, body: Buffer): Promise<string> {
  const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
  const session = location(await expect(202, `${base}/v2/${repo}/blobs/uploads/`, env.caPath, "POST", { "Content-Length": 0 }), base);
  session.searchParams.set("digest", digest);
  await expect(201, session, env.caPath, "PUT", { "Content-Type": "application/octet-stream", "Content-Length": body.length }, body);
  return digest;
}

/** Untimed: the big blob, a config and a manifest tagged `latest` in bench/get. */
async function seed(env: BenchEnv, reg: Server, blob: Blob): Promise<void> {
  await pushMonolithic(env.caPath, reg.url, REPO, blob, reg.pid);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [blob.digest] } }));
  const configDigest = await pushSmall(env, reg.url, REPO, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: blob.digest, size: blob.size }],
  });
  await expect(201, `${reg.url}/v2/${REPO}/manifests/latest`, env.caPath, "PUT", { "Content-Type": OCI_MANIFEST }, manifest);
}

function blobUrl(s: Server, blob: Blob): string {
  const hex = blob.digest.slice("sha256:".length);
  return s.name === "nginx" ? `${s.url}/sha256/${hex.slice(0, 2)}/${hex}` : `${s.url}/v2/${REPO}/blobs/${blob.digest}`;
}

async function start<T extends Server>(p: Promise<T>): Promise<T> {
  const s = await p;
  live.add(s);
  return s;
}

async function stop(...servers: Server[]): Promise<void> {
  for (const s of servers) {
    live.delete(s);
    await s.stop();
  }
}

/** First line a tool prints about itself (some print their version on stderr, or exit non-zero). */
function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0]!.trim() || "unknown";
}

async function main(): Promise<void> {
  const ownTmp = !process.env.BENCH_TMP;
  const tmp = process.env.BENCH_TMP || mkdtempSync(join(tmpdir(), "mcr-bench-"));
  const cleanup = async () => {
    for (const s of [...live]) await stop(s).catch(() => undefined);
    if (ownTmp) rmSync(tmp, { recursive: true, force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      say(`${sig}: stopping servers`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    await run(tmp);
  } catch (err) {
    for (const s of live) say(`last output of ${s.name} (${s.proto}):\n${s.logs().slice(-4000)}`);
    throw err;
  } finally {
    await cleanup();
  }
}

async function run(tmp: string): Promise<void> {
  const results: Results = {
    info: {
      date: new Date().toISOString(),
      machine: `${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${tool("uname", ["-r"])}`,
      "load average at start": loadavg()
        .map((x) => x.toFixed(2))
        .join(" "),
      mcr: MCR_BIN,
      blob: `${cfg.blobMb} MiB random, chunks of ${cfg.chunkMb} MiB; ${cfg.reps} run(s) per figure`,
      software: `node ${process.version}; ${tool("curl", ["--version"]).split(" ").slice(0, 2).join(" ")}; ${tool("docker-registry", ["--version"])}; ${tool("nginx", ["-v"])}; ${tool("wrk", ["--version"]).split(" ").slice(0, 2).join(" ")}`,
    },
    get: [],
    push: [],
    manifest: [],
    memory: [],
    mcrPhaseHwm: {},
    ciphers: {},
  };

  say(`temp dir ${tmp}`);
  const env = await initEnv(tmp);
  say(`writing a ${cfg.blobMb} MiB random blob`);
  const blob = makeBlob(tmp, cfg.blobMb, cfg.chunkMb);
  say(`blob ${blob.digest}`);
  const layers = join(env.mcrHome, "layers");
  const nginx = await startNginx(env, layers);
  live.add(nginx.http).add(nginx.https);

  const hex = blob.digest.slice("sha256:".length);
  /** Where each server keeps the blob (nginx serves mcr's file). */
  const blobFile = (s: Server) =>
    s.name === "distribution"
      ? join(tmp, "distribution", "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data")
      : join(layers, "sha256", hex.slice(0, 2), hex);
  const getRow = (server: Server, streams: number): GetRow => {
    let row = results.get.find((g) => g.server === server.name && g.proto === server.proto && g.streams === streams);
    if (!row) results.get.push((row = { server: server.name, proto: server.proto, streams, samples: [] }));
    return row;
  };
  const pushRow = (server: Server, mode: PushRow["mode"]): PushRow => {
    let row = results.push.find((p) => p.server === server.name && p.proto === server.proto && p.mode === mode);
    if (!row) results.push.push((row = { server: server.name, proto: server.proto, mode, samples: [] }));
    return row;
  };

  let seeded = false;
  for (const proto of cfg.protos) {
    say(`--- ${proto} ---`);
    const mcr = await start(startMcr(env, proto));
    const dist = await start(startDistribution(env, proto));
    const web = proto === "http" ? nginx.http : nginx.https;
    const registries = [mcr, dist];
    if (!seeded) {
      say("seeding both registries (untimed)");
      for (const reg of registries) await seed(env, reg, blob);
      seeded = true;
    }
    for (const s of [mcr, dist, web]) {
      const got = await curlDigest(env.caPath, blobUrl(s, blob)); // also warms caches
      if (got !== blob.digest) throw new Error(`${s.name} ${proto} served ${got}, expected ${blob.digest}`);
      if (proto === "https") results.ciphers[s.name] = await curlCipher(env.caPath, blobUrl(s, blob));
    }
    say("digests verified on all three servers");

    for (let rep = 0; rep < (cfg.parts.has("push") ? cfg.reps : 0); rep++) {
      for (const reg of rotate(registries, rep)) {
        const mono = await sample(`push ${reg.name}`, () => pushMonolithic(env.caPath, reg.url, `bench/push-${proto}-${rep}-mono`, blob, reg.pid), {
          files: [blob.path],
          flush: true,
          say,
        });
        pushRow(reg, "monolithic").samples.push(mono);
        const chunked = await sample(`push ${reg.name}`, () => pushChunked(env.caPath, reg.url, `bench/push-${proto}-${rep}-chunked`, blob, reg.pid), {
          files: blob.chunks.map((c) => c.path),
          flush: true,
          say,
        });
        pushRow(reg, "chunked").samples.push(chunked);
        say(`push ${reg.name} ${proto} run ${rep + 1}: monolithic ${mono.mbps.toFixed(0)} MB/s, chunked ${chunked.mbps.toFixed(0)} MB/s`);
      }
    }
    execFileSync("sync"); // write back what the last push left dirty before timing reads

    for (let rep = 0; rep < (cfg.parts.has("get") ? cfg.reps : 0); rep++) {
      for (const s of rotate([mcr, dist, web], rep)) {
        for (const n of [1, cfg.streams]) {
          const t = await sample(`GET ${s.name}`, () => pull(env.caPath, blobUrl(s, blob), blob.size, n, s.pid), { files: [blobFile(s)], say });
          getRow(s, n).samples.push(t);
          say(
            `GET ${s.name} ${proto} ×${n} run ${rep + 1}: ${t.mbps.toFixed(0)} MB/s (${t.seconds.toFixed(2)} s, server CPU ${t.serverCpu.toFixed(2)} s, others ${t.othersCores.toFixed(2)} cores)`,
          );
        }
      }
    }

    // wrk does not verify certificates, so manifests are measured over plain HTTP only.
    if (proto === "http" && cfg.parts.has("manifest")) {
      for (const reg of registries) {
        const url = `${reg.url}/v2/${REPO}/manifests/latest`;
        const row: ManifestRow = { server: reg.name, proto, samples: [] };
        results.manifest.push(row);
        await wrk(url, OCI_MANIFEST, cfg.wrkConnections, 2); // warm-up
        for (let rep = 0; rep < cfg.reps; rep++) {
          const w = await sample(`manifest GET ${reg.name}`, async () => {
            const before = othersCpuSeconds();
            const r = await wrk(url, OCI_MANIFEST, cfg.wrkConnections, cfg.wrkSeconds);
            return { ...r, othersCores: othersDelta(before, othersCpuSeconds()) / cfg.wrkSeconds };
          });
          row.samples.push(w);
          say(`manifest GET ${reg.name} run ${rep + 1}: ${w.rps.toFixed(0)} req/s`);
        }
      }
    }
    results.mcrPhaseHwm[proto] = memory(mcr.pid).hwm;
    await stop(mcr, dist);
  }

  for (const proto of cfg.parts.has("memory") ? cfg.protos : []) {
    const mcr = await start(startMcr(env, proto, `mcr-rss-${proto}`));
    const url = blobUrl(mcr, blob);
    await pull(env.caPath, url, blob.size, 1, mcr.pid); // warm-up: first use of the GET path
    say(`memory: ${cfg.rssStreams} concurrent pulls from a fresh mcr over ${proto}`);
    await waitQuiet(0.15, 60, say);
    warm([blobFile(mcr)]);
    const run = await pullWatchingMemory(env.caPath, url, blob.size, cfg.rssStreams, mcr.pid);
    results.memory.push({ proto, run });
    say(`memory ${proto}: RSS ${(run.rssBefore / MIB).toFixed(0)} → ${(run.rssMaxDuring / MIB).toFixed(0)} MiB, VmHWM ${(run.hwm / MIB).toFixed(0)} MiB`);
    await stop(mcr);
  }
  await stop(nginx.http, nginx.https);

  results.info["load average at end"] = loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  const text = render(results, cfg.streams);
  process.stdout.write("\n" + text);
  if (cfg.json) writeFileSync(cfg.json, JSON.stringify({ cfg, results, verdicts: verdicts(results, cfg.streams) }, null, 2) + "\n");
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
