// bench/gc: garbage collection on 10,000 manifests and 50,000 blobs (30% of the manifests
// untagged): mcr's wall time and peak RSS, offline (`mcr gc` on a stopped registry) and
// online (through the running server); push latency (p50/p99) without GC and while GC
// runs; distribution 2.8's `garbage-collect --delete-untagged` on the same content.
// Run by hand: `bash bench/gc/run.sh`. Prints figures; asserts nothing.
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { RegistryClient } from "../../test/helpers/https-client.ts";
import { initHome, MCR_BIN, removeHome, startMcr, type McrHome } from "../../test/helpers/mcr-process.ts";
import { OCI_MANIFEST } from "../../test/helpers/oci.ts";
import { imageManifest, PushClient } from "../../test/helpers/oci-push.ts";
import { generate, writeDistribution, writeMcr } from "./content.ts";

const run = promisify(execFile);
const spec = {
  repositories: Number(process.env.REPOS ?? 100),
  manifests: Number(process.env.MANIFESTS ?? 10_000),
  blobsPerManifest: 5,
  blobBytes: Number(process.env.BLOB_BYTES ?? 512),
  untagged: 0.3,
};
const PUSHES = Number(process.env.PUSHES ?? 500);

const pct = (xs: number[], q: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]! : NaN);
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
const files = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? files(join(dir, e.name)) : 1), 0);

/** `cmd args` under /usr/bin/time: wall seconds and max RSS (MiB), plus stdout. */
async function timed(cmd: string, args: string[]): Promise<{ secs: number; maxRssMiB: number; stdout: string }> {
  const r = await run("/usr/bin/time", ["-f", "TIME %e %M", cmd, ...args], { maxBuffer: 64 * 1024 * 1024 }).catch(
    (err: { stderr?: string; message: string }) => {
      throw new Error(`${cmd} failed: ${(err.stderr ?? err.message).slice(-300)}`);
    },
  );
  const m = /TIME ([\d.]+) (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from ${cmd}: ${r.stderr.slice(-500)}`);
  return { secs: Number(m[1]), maxRssMiB: Number(m[2]) / 1024, stdout: r.stdout };
}

async function pushLoop(push: PushClient, repo: string, until: () => boolean, max: number): Promise<number[]> {
  const lat: number[] = [];
  for (let i = 0; lat.length < max && !until(); i++) {
    const config = Buffer.from(`{"bench":"${randomBytes(8).toString("hex")}"}`);
    const layer = randomBytes(16 * 1024);
    const t = performance.now();
    await push.pushBlob(repo, config);
    await push.pushBlob(repo, layer);
    const res = await push.putManifest(repo, `p${i}-${randomBytes(3).toString("hex")}`, imageManifest(config, [layer]), OCI_MANIFEST);
    if (res.status !== 201) throw new Error(`push failed: ${res.status} ${res.text}`);
    lat.push(performance.now() - t);
  }
  return lat;
}

/**
 * Controls for the online run: the same pushes while a process unrelated to the registry loads
 * the machine the way a collection does, one core busy for `secs` (cpu), or `files` small files
 * unlinked as fast as it can (disk). What they cost the pushes is the machine's share of the
 * slowdown, not the collector's.
 */
async function pushesBeside(push: PushClient, kind: "cpu" | "disk", secs: number, dir: string, files: number): Promise<number[]> {
  let script: string;
  if (kind === "cpu") {
    script = `const end = Date.now() + ${Math.round(secs * 1000)}; while (Date.now() < end);`;
  } else {
    for (let i = 0; i < files; i++) {
      const sub = join(dir, (i % 256).toString(16).padStart(2, "0"));
      if (i < 256) mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, String(i)), randomBytes(spec.blobBytes));
    }
    script = `const fs = require("node:fs"); const path = require("node:path"); for (const d of fs.readdirSync(${JSON.stringify(dir)})) { const sub = path.join(${JSON.stringify(dir)}, d); for (const f of fs.readdirSync(sub)) fs.unlinkSync(path.join(sub, f)); fs.rmdirSync(sub); }`;
  }
  const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
  let done = false;
  child.once("exit", () => (done = true));
  return pushLoop(push, "bench/push", () => done, 100_000);
}

async function main() {
  const out: string[] = [];
  const say = (l: string) => {
    out.push(l);
    process.stderr.write(l + "\n");
  };
  const tmp = mkdtempSync(join(tmpdir(), "bench-gc-"));
  const homes: McrHome[] = [];
  try {
    let t = performance.now();
    const images = generate(spec);
    homes.push(await initHome(), await initHome());
    for (const h of homes) writeMcr(images, join(h.dir, "mcr.db"), join(h.dir, "layers"));
    const distRoot = join(tmp, "distribution");
    writeDistribution(images, distRoot);
    say(
      `content: ${spec.manifests} manifests, ${spec.manifests * spec.blobsPerManifest} blobs of ${spec.blobBytes} B in ${spec.repositories} repositories, ${images.filter((i) => !i.tag).length} untagged; written in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    // 1. Offline: mcr gc on a stopped registry.
    const offline = await timed(MCR_BIN, ["gc", "--untagged", "--grace", "0s", "--json", "--config", homes[1]!.config]);
    const off = JSON.parse(offline.stdout);
    say(
      `mcr offline: ${offline.secs.toFixed(2)} s, max RSS ${offline.maxRssMiB.toFixed(0)} MiB; removed ${off.manifests_removed} manifests, ${off.blobs_swept} blobs (${off.bytes_freed} B)`,
    );

    // 2. Online: through the running server, with a client pushing meanwhile.
    const mcr = await startMcr(homes[0]!);
    const client = new RegistryClient(mcr.url, homes[0]!.caPem);
    const push = new PushClient(client, mcr.url);
    try {
      const pid = mcr.child.pid!;
      // Warm (the server's JIT, its connections) before anything is timed: a cold server's first
      // pushes would make the baseline's p99 and flatter every ratio to it.
      await pushLoop(push, "bench/push", () => false, 50);
      const baseline = await pushLoop(push, "bench/push", () => false, PUSHES);
      const before = rssMiB(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 20);
      let gcDone = false;
      const during = pushLoop(push, "bench/push", () => gcDone, 100_000);
      t = performance.now();
      // The content was last used in 2000, so a 10-minute grace collects all of it while the
      // pushes made meanwhile keep the protection a grace gives (0s would void it, docs/gc.md).
      const online = JSON.parse((await run(MCR_BIN, ["gc", "--untagged", "--grace", "10m", "--json", "--config", homes[0]!.config])).stdout);
      const cliSecs = (performance.now() - t) / 1000;
      gcDone = true;
      const duringBig = await during;
      clearInterval(sampler);
      const serverSecs = (Date.parse(online.completed_at) - Date.parse(online.started_at)) / 1000;
      say(
        `mcr online: ${serverSecs.toFixed(2)} s in the server (${cliSecs.toFixed(2)} s for the command); RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MiB; removed ${online.manifests_removed} manifests, ${online.blobs_swept} blobs`,
      );
      say(`pushes during that run: ${duringBig.length}, p50 ${pct(duringBig, 0.5).toFixed(1)} ms, p99 ${pct(duringBig, 0.99).toFixed(1)} ms`);
      const ratio = pct(duringBig, 0.99) / pct(baseline, 0.99);
      say(
        `push p99 during the run / without GC (${baseline.length} pushes before it): ${pct(duringBig, 0.99).toFixed(1)} / ${pct(baseline, 0.99).toFixed(1)} ms = ${ratio.toFixed(2)}× ${ratio <= 1.2 ? "PASS" : "MISS"} (<= 1.2×)`,
      );

      for (const kind of ["cpu", "disk"] as const) {
        const t0 = performance.now();
        const lat = await pushesBeside(push, kind, serverSecs, join(tmp, "storm"), online.blobs_swept);
        say(
          `control, ${kind === "cpu" ? `one core busy for ${serverSecs.toFixed(1)} s` : `${online.blobs_swept} files unlinked (${((performance.now() - t0) / 1000).toFixed(1)} s)`} and no GC: ${lat.length} pushes, p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${pct(lat, 0.99).toFixed(1)} ms = ${(pct(lat, 0.99) / pct(baseline, 0.99)).toFixed(2)}× the baseline`,
        );
      }

      // Back-to-back runs (default grace: each one marks over all remaining rows) while pushing.
      let stop = false;
      let runs = 0;
      const loop = (async () => {
        while (!stop) {
          await run(MCR_BIN, ["gc", "--untagged", "--config", homes[0]!.config]);
          runs++;
        }
      })();
      const withGc = await pushLoop(push, "bench/push", () => false, PUSHES);
      stop = true;
      await loop;
      say(
        `pushes: without GC p50 ${pct(baseline, 0.5).toFixed(1)} ms, p99 ${pct(baseline, 0.99).toFixed(1)} ms; with back-to-back runs (${runs} runs) p50 ${pct(withGc, 0.5).toFixed(1)} ms, p99 ${pct(withGc, 0.99).toFixed(1)} ms`,
      );
    } finally {
      client.close();
      await mcr.stop();
    }

    // 3. distribution 2.8 on the same content (it must not serve while it collects).
    try {
      const config = join(tmp, "distribution.yml");
      writeFileSync(
        config,
        `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${distRoot}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n`,
      );
      const blobs = join(distRoot, "docker", "registry", "v2", "blobs");
      const beforeFiles = files(blobs);
      const dist = await timed("docker-registry", ["garbage-collect", "--delete-untagged", config]);
      say(
        `distribution garbage-collect --delete-untagged: ${dist.secs.toFixed(2)} s, max RSS ${dist.maxRssMiB.toFixed(0)} MiB; blob files ${beforeFiles} → ${files(blobs)}`,
      );
    } catch (err) {
      say(`distribution: not measured (${(err as Error).message}); apt-get install docker-registry`);
    }
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    for (const h of homes) removeHome(h);
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
