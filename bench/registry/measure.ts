// The measurements: blob pulls, monolithic and chunked pushes, manifest GETs with wrk,
// and /proc readings (CPU time, RSS) of the server processes.
import { execFile } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { curl, expect, location } from "./client.ts";

// ---------------------------------------------------------------- /proc

const CLK_TCK = 100; // Linux's USER_HZ on every supported architecture

function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" "); // [0] is field 3 (state)
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) used so far by `pid` and its live children (nginx workers). */
export function cpuSeconds(pid: number): number {
  const own = (f: string[] | undefined) => (f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : 0);
  let total = own(statFields(pid));
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[1]) === pid) total += own(f);
  }
  return total;
}

/**
 * CPU seconds used so far by every process outside this driver's tree (its servers and curls
 * are inside), children they have reaped included: how much others took from the machine.
 */
export function othersCpuSeconds(): Map<number, number> {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (!f) continue;
    parent.set(Number(entry), Number(f[1]));
    cpu.set(Number(entry), (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK);
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, i = 0; p > 1 && i < 64; p = parent.get(p) ?? 0, i++) if (p === process.pid) return true;
    return false;
  };
  for (const pid of [...cpu.keys()]) if (ours(pid)) cpu.delete(pid);
  return cpu;
}

/** CPU seconds others used between two othersCpuSeconds() readings (processes born meanwhile count whole). */
export function othersDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += Math.max(0, t - (before.get(pid) ?? 0));
  return sum;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits (at most `maxSeconds`) until other processes used under `cores` of CPU over one second,
 * so that a measurement does not start in the middle of someone else's burst.
 */
export async function waitQuiet(cores = 0.15, maxSeconds = 90, say?: (m: string) => void): Promise<void> {
  for (let i = 0; i < maxSeconds; i++) {
    const a = othersCpuSeconds();
    await sleep(1000);
    const busy = othersDelta(a, othersCpuSeconds());
    if (busy < cores) return;
    if (i === 0) say?.(`other processes use ${busy.toFixed(2)} cores; waiting up to ${maxSeconds}s for quiet`);
  }
  say?.("machine still busy; measuring anyway");
}

/** VmRSS and VmHWM of `pid` in bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

// ---------------------------------------------------------------- pulls

export interface Transfer {
  /** Bytes moved, all streams together. */
  bytes: number;
  /** Wall time from starting the first curl to the exit of the last. */
  seconds: number;
  mbps: number;
  /** CPU seconds the server spent meanwhile. */
  serverCpu: number;
  /** CPU other processes (not the driver, its curls or servers) used meanwhile, in cores. */
  othersCores: number;
}

const MB = 1e6;

/** Runs `work` (which moves `bytes`) and times it, with the server's and everyone else's CPU use. */
async function timed(serverPid: number, bytes: number, work: () => Promise<void>): Promise<Transfer> {
  const cpu0 = cpuSeconds(serverPid);
  const others0 = othersCpuSeconds();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const serverCpu = cpuSeconds(serverPid) - cpu0;
  const othersCores = othersDelta(others0, othersCpuSeconds()) / seconds;
  return { bytes, seconds, mbps: bytes / MB / seconds, serverCpu, othersCores };
}

/** `streams` concurrent GETs of `url`; every one must return 200 and exactly `size` bytes. */
export function pull(caPath: string, url: string, size: number, streams: number, serverPid: number): Promise<Transfer> {
  return timed(serverPid, size * streams, async () => {
    const results = await Promise.all(Array.from({ length: streams }, () => curl(caPath, [url])));
    for (const r of results) {
      if (r.status !== 200 || r.downloaded !== size) throw new Error(`GET ${url}: HTTP ${r.status}, ${r.downloaded} of ${size} bytes`);
    }
  });
}

// ---------------------------------------------------------------- pushes

export interface Blob {
  path: string;
  size: number;
  digest: string;
  /** The same bytes cut into files of `chunkSize` (curl uploads whole files). */
  chunks: { path: string; start: number; end: number }[];
}

async function startSession(caPath: string, base: string, repo: string): Promise<URL> {
  return location(await expect(202, `${base}/v2/${repo}/blobs/uploads/`, caPath, "POST", { "Content-Length": 0 }), base);
}

function withDigest(u: URL, digest: string): string {
  const v = new URL(u);
  v.searchParams.set("digest", digest);
  return v.href;
}

/** Monolithic push: POST a session, then PUT the whole blob with ?digest=. */
export function pushMonolithic(caPath: string, base: string, repo: string, blob: Blob, serverPid: number): Promise<Transfer> {
  return timed(serverPid, blob.size, async () => {
    const session = await startSession(caPath, base, repo);
    const r = await curl(caPath, ["-X", "PUT", "-H", "Content-Type: application/octet-stream", "--upload-file", blob.path, withDigest(session, blob.digest)]);
    if (r.status !== 201 || r.uploaded !== blob.size)
      throw new Error(`monolithic PUT to ${base}/${repo}: HTTP ${r.status}, ${r.uploaded} of ${blob.size} bytes sent`);
  });
}

/** Chunked push: POST, one PATCH with Content-Range per chunk (following each Location), then an empty PUT. */
export function pushChunked(caPath: string, base: string, repo: string, blob: Blob, serverPid: number): Promise<Transfer> {
  return timed(serverPid, blob.size, async () => {
    let session = await startSession(caPath, base, repo);
    for (const c of blob.chunks) {
      const r = await curl(caPath, [
        "-X",
        "PATCH",
        "-H",
        "Content-Type: application/octet-stream",
        "-H",
        `Content-Range: ${c.start}-${c.end}`,
        "--upload-file",
        c.path,
        session.href,
      ]);
      if (r.status !== 202) throw new Error(`PATCH ${c.start}-${c.end} to ${base}/${repo}: HTTP ${r.status}`);
      session = new URL(r.location, base);
    }
    await expect(201, withDigest(session, blob.digest), caPath, "PUT", { "Content-Length": 0 });
  });
}

// ---------------------------------------------------------------- manifests

export interface WrkResult {
  rps: number;
  /** Set by the caller: CPU other processes used during the run, in cores. */
  othersCores?: number;
  p50ms: number;
  p99ms: number;
  requests: number;
}

function wrkMs(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(text);
  if (!m) return NaN;
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!;
}

/** wrk at `connections` connections for `seconds` seconds; any non-2xx answer or socket error fails the run. */
export function wrk(url: string, accept: string, connections: number, seconds: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const args = ["-t", "2", "-c", String(connections), "-d", `${seconds}s`, "--latency", "-H", `Accept: ${accept}`, url];
    execFile("wrk", args, { timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk: ${stderr || err.message}`));
      const bad = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
      const sock = /Socket errors: (.*)/.exec(stdout);
      if (bad || sock) return reject(new Error(`wrk against ${url} saw failures:\n${stdout}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
      resolve({ rps, requests, p50ms: wrkMs(stdout, "50%"), p99ms: wrkMs(stdout, "99%") });
    });
  });
}

// ---------------------------------------------------------------- memory under load

export interface MemoryRun {
  streams: number;
  rssBefore: number;
  rssMaxDuring: number;
  growth: number;
  hwm: number;
  transfer: Transfer;
}

/** `streams` concurrent pulls while sampling the server's VmRSS every 50 ms. */
export async function pullWatchingMemory(caPath: string, url: string, size: number, streams: number, pid: number): Promise<MemoryRun> {
  const rssBefore = memory(pid).rss;
  let rssMaxDuring = rssBefore;
  const timer = setInterval(() => {
    rssMaxDuring = Math.max(rssMaxDuring, memory(pid).rss);
  }, 50);
  let transfer: Transfer;
  try {
    transfer = await pull(caPath, url, size, streams, pid);
  } finally {
    clearInterval(timer);
  }
  const end = memory(pid);
  rssMaxDuring = Math.max(rssMaxDuring, end.rss);
  return { streams, rssBefore, rssMaxDuring, growth: rssMaxDuring - rssBefore, hwm: end.hwm, transfer };
}

// ---------------------------------------------------------------- inputs

/** An integer knob from the environment, `dflt` when unset; anything else is refused, naming it. */
export function intEnv(name: string, dflt: number, min = 1, max = 1 << 20): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${raw}: want an integer in ${min}..${max}`);
  return n;
}

const MIB = 1024 * 1024;

/** Random bytes written to <tmp>/blob.bin and, at the same time, to chunk files of `chunkMb` (none when 0). */
export function makeBlob(tmp: string, blobMb: number, chunkMb: number): Blob {
  const size = blobMb * MIB;
  const path = join(tmp, "blob.bin");
  if (chunkMb > 0) mkdirSync(join(tmp, "chunks"), { recursive: true });
  const hash = createHash("sha256");
  const buf = Buffer.alloc(MIB);
  const fd = openSync(path, "w");
  const chunks: Blob["chunks"] = [];
  let cfd = -1;
  for (let off = 0; off < size; off += MIB) {
    if (chunkMb > 0 && off % (chunkMb * MIB) === 0) {
      if (cfd >= 0) closeSync(cfd);
      chunks.push({ path: join(tmp, "chunks", String(chunks.length).padStart(4, "0")), start: off, end: Math.min(off + chunkMb * MIB, size) - 1 });
      cfd = openSync(chunks.at(-1)!.path, "w");
    }
    randomFillSync(buf);
    hash.update(buf);
    writeSync(fd, buf);
    if (cfd >= 0) writeSync(cfd, buf);
  }
  if (cfd >= 0) closeSync(cfd);
  closeSync(fd);
  return { path, size, digest: `sha256:${hash.digest("hex")}`, chunks };
}
