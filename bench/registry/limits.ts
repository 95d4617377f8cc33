// What bounds one blob download on this machine. The same file, read from the page cache, served
// in one run by:
//   nginx         sendfile (plain HTTP); over TLS nginx reads into its buffers and encrypts
//   nginx-copy    nginx with sendfile off: the same read + write a user-space server must do
//   openssl       `openssl s_server -WWW` (TLS only, one connection at a time): OpenSSL's own
//                 server loop, the least a TLS server can spend on this CPU
//   node-floor    bench/registry/floor-server.ts: Node with mcr's copy loop and TLS settings
//                 and nothing else
//   mcr           the registry, blob GET through /v2/
// mcr/node-floor is what mcr itself adds; node-floor/nginx-copy is what the runtime costs. With
// STRACE=1 it also counts each server's system calls per GB over one stream.
//
//   bash bench/registry/run-limits.sh        # BLOB_MB=512 REPS=3 STREAMS=8 STRACE=1
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeBlob, pull, pushMonolithic, type Blob, type Transfer } from "./measure.ts";
import { sample } from "./quiet.ts";
import { curlDigest } from "./client.ts";
import { freePort, initEnv, REPO_ROOT, startMcr, startNginx, type BenchEnv, type Proto, type Server } from "./servers.ts";

const num = (name: string, dflt: number) => (process.env[name] ? Number(process.env[name]) : dflt);
const cfg = { blobMb: num("BLOB_MB", 512), reps: num("REPS", 3), streams: num("STREAMS", 8), strace: process.env.STRACE === "1" };
const say = (m: string) => process.stderr.write(`[limits] ${m}\n`);

interface Contender {
  label: string;
  proto: Proto;
  url: string;
  pid: number;
  /** openssl s_server serves one connection at a time. */
  single?: boolean;
  stop(): Promise<void>;
}

/** A child that prints `{"port":N}` (floor-server) or is given a port (openssl). */
function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
}

async function startFloor(env: BenchEnv, proto: Proto, file: string): Promise<Contender> {
  const args = ["--import", "tsx", join(REPO_ROOT, "bench/registry/floor-server.ts"), proto, file, env.certPath, env.keyPath];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()).port));
    child.once("exit", (code) => reject(new Error(`floor-server exited ${code}`)));
  });
  return { label: "node-floor", proto, url: `${proto}://127.0.0.1:${port}/blob`, pid: child.pid!, stop: stopper(child) };
}

async function startOpenssl(env: BenchEnv, root: string, path: string): Promise<Contender> {
  const port = await freePort();
  const args = ["s_server", "-quiet", "-tls1_3", "-accept", `127.0.0.1:${port}`, "-cert", env.certPath, "-key", env.keyPath, "-WWW"];
  const child = spawn("openssl", args, { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  const url = `https://127.0.0.1:${port}/${path}`;
  for (let i = 0; ; i++) {
    try {
      execFileSync("curl", ["-s", "-o", "/dev/null", "--cacert", env.caPath, "-r", "0-0", url]);
      break;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { label: "openssl", proto: "https", url, pid: child.pid!, single: true, stop: stopper(child) };
}

const fromServer = (label: string, s: Server, url: string): Contender => ({ label, proto: s.proto, url, pid: s.pid, stop: () => s.stop() });

/** System calls of `pid` (threads included) during one single-stream pull, per GB: total and the busiest. */
async function syscalls(c: Contender, env: BenchEnv, blob: Blob): Promise<string> {
  const out = join(env.tmp, `strace-${c.label}-${c.proto}.txt`);
  const tracer = spawn("strace", ["-c", "-f", "-p", String(c.pid), "-o", out], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  await pull(env.caPath, c.url, blob.size, 1, c.pid);
  tracer.kill("SIGINT");
  await new Promise((r) => tracer.once("exit", r));
  const gb = blob.size / 1e9;
  const rows = readFileSync(out, "utf8")
    .split("\n")
    .map((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ calls: Number(m[1]), name: m[2]! }))
    .filter((r) => r.name !== "total");
  const total = rows.reduce((a, r) => a + r.calls, 0);
  const top = rows
    .sort((a, b) => b.calls - a.calls)
    .slice(0, 4)
    .map((r) => `${r.name} ${Math.round(r.calls / gb)}`)
    .join(", ");
  return `${Math.round(total / gb)} (${top})`;
}

async function main(): Promise<void> {
  const tmp = process.env.BENCH_TMP!;
  const env = await initEnv(tmp);
  say(`writing a ${cfg.blobMb} MiB random blob`);
  const blob = makeBlob(tmp, cfg.blobMb, 0);
  const hex = blob.digest.slice(7);
  const layers = join(env.mcrHome, "layers");
  const rel = `sha256/${hex.slice(0, 2)}/${hex}`;
  const file = join(layers, rel);
  const live: Contender[] = [];
  const rows: { c: Contender; n: number; t: Transfer[] }[] = [];
  const traced = new Map<Contender, string>();
  try {
    const nginx = await startNginx(env, layers);
    const copy = await startNginx(env, layers, false);
    live.push(fromServer("nginx", nginx.http, `${nginx.http.url}/${rel}`), fromServer("nginx", nginx.https, `${nginx.https.url}/${rel}`));
    live.push(fromServer("nginx-copy", copy.http, `${copy.http.url}/${rel}`));
    // One mcr home, so one mcr at a time: each transport in turn.
    for (const proto of ["http", "https"] as const) {
      const server = await startMcr(env, proto, `mcr-limits-${proto}`);
      const mcr = fromServer("mcr", server, `${server.url}/v2/bench/get/blobs/${blob.digest}`);
      live.push(mcr);
      if (proto === "http") {
        await pushMonolithic(env.caPath, server.url, "bench/get", blob, server.pid);
        rmSync(blob.path);
        live.push(await startFloor(env, "http", file), await startFloor(env, "https", file), await startOpenssl(env, layers, rel));
      }
      const contenders = live.filter((c) => c.proto === proto && (c.label !== "mcr" || c === mcr));
      for (const c of contenders) {
        const got = await curlDigest(env.caPath, c.url);
        if (got !== blob.digest) throw new Error(`${c.label} ${c.proto} served ${got}`);
      }
      say(`${proto}: every server serves the same bytes`);
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (let i = 0; i < contenders.length; i++) {
          const c = contenders[(i + rep) % contenders.length]!;
          for (const n of c.single ? [1] : [1, cfg.streams]) {
            const t = await sample(`${c.label} ${c.proto} ×${n}`, () => pull(env.caPath, c.url, blob.size, n, c.pid), { files: [file], say });
            let row = rows.find((r) => r.c === c && r.n === n);
            if (!row) rows.push((row = { c, n, t: [] }));
            row.t.push(t);
            say(
              `${c.label} ${c.proto} ×${n}: ${t.mbps.toFixed(0)} MB/s, ${(t.serverCpu / (t.bytes / 1e9)).toFixed(2)} CPU s/GB, others ${t.othersCores.toFixed(2)} cores`,
            );
          }
        }
      }
      if (cfg.strace) for (const c of contenders) traced.set(c, await syscalls(c, env, blob));
      await mcr.stop();
      live.splice(live.indexOf(mcr), 1);
    }
    report(rows, traced);
  } finally {
    for (const c of live) await c.stop().catch(() => undefined);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function report(rows: { c: Contender; n: number; t: Transfer[] }[], traced: Map<Contender, string>): void {
  const cell = (c: Contender, n: number) => {
    const r = rows.find((x) => x.c === c && x.n === n);
    if (!r) return { mbps: NaN, cpu: NaN, text: "–" };
    const mbps = median(r.t.map((t) => t.mbps));
    const cpu = median(r.t.map((t) => t.serverCpu / (t.bytes / 1e9)));
    return { mbps, cpu, text: `${mbps.toFixed(0)} (${cpu.toFixed(2)})` };
  };
  const lines = [
    `Blob GET, ${cfg.blobMb} MiB from the page cache, median of ${cfg.reps}: MB/s (server CPU s/GB)`,
    "",
    `| server | proto | 1 stream | ${cfg.streams} streams |${cfg.strace ? " syscalls per GB, 1 stream |" : ""}`,
    `|---|---|---|---|${cfg.strace ? "---|" : ""}`,
  ];
  const contenders = [...new Set(rows.map((r) => r.c))];
  for (const c of contenders)
    lines.push(`| ${c.label} | ${c.proto} | ${cell(c, 1).text} | ${cell(c, cfg.streams).text} |${cfg.strace ? ` ${traced.get(c)} |` : ""}`);
  const find = (label: string, proto: Proto) => contenders.find((c) => c.label === label && c.proto === proto);
  lines.push("", "| ratio (1 stream / many) | MB/s | CPU per GB |", "|---|---|---|");
  const ratio = (a: string, b: string, proto: Proto) => {
    const x = find(a, proto);
    const y = find(b, proto);
    if (!x || !y) return;
    for (const n of [1, cfg.streams]) {
      const [p, q] = [cell(x, n), cell(y, n)];
      if (Number.isNaN(p.mbps) || Number.isNaN(q.mbps)) continue;
      lines.push(`| ${a}/${b}, ${proto}, ${n} stream${n > 1 ? "s" : ""} | ${(p.mbps / q.mbps).toFixed(2)}× | ${(p.cpu / q.cpu).toFixed(2)}× |`);
    }
  };
  for (const proto of ["http", "https"] as const) {
    ratio("mcr", "node-floor", proto);
    ratio("node-floor", proto === "http" ? "nginx-copy" : "nginx", proto);
    ratio("mcr", "nginx", proto);
  }
  ratio("node-floor", "openssl", "https");
  ratio("nginx", "openssl", "https");
  process.stdout.write(`\n${lines.join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`limits failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
