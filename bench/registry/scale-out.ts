// Registry benchmark, scale-out part: mcr on PostgreSQL + S3 and distribution 2.8 with its S3
// driver on the same S3 server — a real Ceph RADOS Gateway (memstore OSD), s3rver, or one after
// the other — in one run, beside mcr on its embedded default and the store serving the bytes
// itself; then manifest requests/s with two PostgreSQL + S3 replicas against one. Plain HTTP on
// loopback. Run by hand: `bash bench/registry/run-scale-out.sh` (README.md, docs/performance.md).
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { postgresBinDir, startPostgres, type PgServer } from "../../test/helpers/postgres.ts";
import { curlDigest } from "./client.ts";
import { intEnv, makeBlob, memory, othersCpuSeconds, othersDelta, pull, pushChunked, pushMonolithic, wrk, type Blob, type Transfer } from "./measure.ts";
import { DISTURBED_CORES, sample } from "./quiet.ts";
import { median } from "./report.ts";
import {
  blobKey,
  initScaleHome,
  killChildren,
  postgresCpu,
  live,
  OCI_MANIFEST,
  REPO,
  writeDistributionContent,
  pushContent,
  withoutPostgres,
  startDistribution,
  startMcr,
  startStore,
  type Proc,
  type Store,
  type StoreKind,
} from "./scale-out-servers.ts";
import { type Kind, Table } from "./scale-out-table.ts";
import { MCR_BIN } from "./servers.ts";

const run = promisify(execFile);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // as mcr does (docs/dependencies.md)
const MIB = 1024 * 1024;

function storesEnv(raw: string): StoreKind[] {
  const known: Record<string, StoreKind[]> = { radosgw: ["radosgw"], s3rver: ["s3rver"], both: ["radosgw", "s3rver"] };
  if (!known[raw]) throw new Error(`S3=${raw}: want radosgw, s3rver or both`);
  return known[raw];
}
const cfg = {
  blobMb: intEnv("BLOB_MB", 256),
  chunkMb: intEnv("CHUNK_MB", 64),
  reps: intEnv("REPS", 3, 1, 20),
  streams: intEnv("STREAMS", 8, 2, 64),
  wrkSeconds: intEnv("WRK_SECONDS", 10, 1, 120),
  stores: storesEnv(process.env.S3 || "radosgw"),
};
const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const tmp = process.env.BENCH_TMP!;
const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);
/** The embedded home's CA: plain HTTP needs none, but the bench's clients read the file. */
let CA = "";

// ---------------------------------------------------------------- figures

const label = {
  get: (n: number) => `blob GET MB/s, ${n} stream${n > 1 ? "s" : ""}`,
  push: (mode: string) => `push MB/s, ${mode}${mode === "chunked" ? ` (${cfg.chunkMb} MiB PATCHes)` : ""}`,
  serverCpu: (what: string) => `server CPU s/GB, ${what}`,
  storeCpu: (what: string) => `store CPU s/GB, ${what}`,
  manifest: "manifest GET req/s (wrk, 64 connections)",
  manifestStore: "store CPU during manifest GETs, cores",
  manifestDb: "PostgreSQL CPU during manifest GETs, cores",
};
const ROWS: [string, Kind][] = [
  ...[1, cfg.streams].flatMap((n): [string, Kind][] => [
    [label.get(n), "rate"],
    [label.serverCpu(`GET ×${n}`), "cpu"],
    [label.storeCpu(`GET ×${n}`), "cpu"],
  ]),
  ...["monolithic", "chunked"].flatMap((m): [string, Kind][] => [
    [label.push(m), "rate"],
    [label.serverCpu(`push ${m}`), "cpu"],
    [label.storeCpu(`push ${m}`), "cpu"],
  ]),
  [label.manifest, "rate"],
  [label.manifestStore, "cpu"],
  [label.manifestDb, "cpu"],
];
const tables: Table[] = [];
/** The stores running now (a phase's; stopped by its `finally`, or by the signal handler). */
const stores = new Set<Store>();
const others: number[] = [];
const disturbed: string[] = [];
function noteOthers(what: string, cores: number): void {
  others.push(cores);
  if (cores >= DISTURBED_CORES) disturbed.push(`${what} (${cores.toFixed(2)} cores)`);
}

// ---------------------------------------------------------------- measurements

interface Target {
  col: string;
  pid: number;
  blobUrl: string;
  /** Registry base URL; empty for the store itself (GETs only). */
  url: string;
  /** Files to read through before a GET (the embedded home's blob file). */
  files: string[];
  /** Untimed, before each push: makes the blob new to the store again. */
  beforePush?: () => Promise<void>;
}

/** `work` with the store's CPU seconds spent meanwhile (0 without a store). */
async function withStore<T extends object>(store: Store | undefined, work: () => Promise<T>): Promise<T & { storeCpu: number }> {
  const s0 = store?.cpu() ?? 0;
  const t = await work();
  return { ...t, storeCpu: (store?.cpu() ?? 0) - s0 };
}

function record(t: Table, what: string, target: Target, store: Store | undefined, x: Transfer & { storeCpu: number }, mb: string, cpu: string): void {
  const gb = x.bytes / 1e9;
  t.add(mb, target.col, x.mbps);
  if (target.url) t.add(label.serverCpu(cpu), target.col, x.serverCpu / gb);
  if (store) t.add(label.storeCpu(cpu), target.col, x.storeCpu / gb);
  noteOthers(what, x.othersCores);
  say(`${what}: ${x.mbps.toFixed(0)} MB/s, server ${x.serverCpu.toFixed(2)} s, store ${x.storeCpu.toFixed(2)} s, others ${x.othersCores.toFixed(2)} cores`);
}

async function gets(t: Table, targets: Target[], blob: Blob, storeOf: (tg: Target) => Store | undefined): Promise<void> {
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const tg of rotate(targets, rep)) {
      for (const n of [1, cfg.streams]) {
        const what = `GET ×${n} ${tg.col}`;
        const x = await sample(what, () => withStore(storeOf(tg), () => pull(CA, tg.blobUrl, blob.size, n, tg.pid)), { files: tg.files, say });
        record(t, what, tg, storeOf(tg), x, label.get(n), `GET ×${n}`);
      }
    }
  }
}

async function pushes(t: Table, targets: Target[], blob: Blob, storeOf: (tg: Target) => Store | undefined): Promise<void> {
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const tg of rotate(targets, rep)) {
      for (const [mode, fn] of [
        ["monolithic", pushMonolithic],
        ["chunked", pushChunked],
      ] as const) {
        const what = `push ${mode} ${tg.col}`;
        const repo = `bench/push-${mode}-${rep}`;
        const x = await sample(what, () => withStore(storeOf(tg), () => fn(CA, tg.url, repo, blob, tg.pid)), {
          files: [blob.path, ...blob.chunks.map((c) => c.path)],
          flush: true,
          before: tg.beforePush,
          say,
        });
        record(t, what, tg, storeOf(tg), x, label.push(mode), `push ${mode}`);
      }
    }
  }
}

/**
 * Requests/s of wrk against each target at once (summed), with the store's and PostgreSQL's CPU
 * in cores meanwhile. PostgreSQL (outside the driver's process tree) is not counted as others'.
 */
async function manifestRps(targets: Proc[], connections: number, store?: Store) {
  const [before, db0] = [withoutPostgres(tmp, othersCpuSeconds()), postgresCpu(tmp)];
  const x = await withStore(store, async () => {
    const rs = await Promise.all(targets.map((p) => wrk(`${p.url}/v2/${REPO}/manifests/latest`, OCI_MANIFEST, connections, cfg.wrkSeconds)));
    return { rps: rs.reduce((s, r) => s + r.rps, 0) };
  });
  const cores = (seconds: number) => seconds / cfg.wrkSeconds;
  return {
    rps: x.rps,
    othersCores: cores(othersDelta(before, withoutPostgres(tmp, othersCpuSeconds()))),
    storeCores: cores(x.storeCpu),
    dbCores: cores(postgresCpu(tmp) - db0),
  };
}

async function manifests(t: Table, targets: [string, Proc][], store: Store): Promise<void> {
  for (const [, p] of targets) await wrk(`${p.url}/v2/${REPO}/manifests/latest`, OCI_MANIFEST, 64, 2); // warm-up
  for (let rep = 0; rep < cfg.reps; rep++) {
    for (const [col, p] of rotate(targets, rep)) {
      const what = `manifest GET ${col}`;
      const embedded = col === "mcr embedded";
      const x = await sample(what, () => manifestRps([p], 64, embedded ? undefined : store), { say });
      t.add(label.manifest, col, x.rps);
      if (!embedded) t.add(label.manifestStore, col, x.storeCores);
      if (col.startsWith("mcr PostgreSQL")) t.add(label.manifestDb, col, x.dbCores);
      noteOthers(what, x.othersCores);
      say(`${what}: ${x.rps.toFixed(0)} req/s, store ${x.storeCores.toFixed(2)} cores, others ${x.othersCores.toFixed(2)} cores`);
    }
  }
}

// ---------------------------------------------------------------- one store

const storeRss = (s: Store) => `${(s.pids.reduce((sum, p) => sum + memory(p).rss, 0) / MIB).toFixed(0)} MiB`;

async function phase(kind: StoreKind, pg: PgServer, blob: Blob, embeddedConfig: string | undefined, info: string[]): Promise<void> {
  say(`--- ${kind} ---`);
  const store = await startStore(kind, tmp, Math.max(2 * 1024 * MIB, 8 * blob.size));
  stores.add(store);
  try {
    const config = await initScaleHome(join(tmp, `scale-${kind}`), await pg.createDatabase(`mcr_${kind}`), store);
    const mcr = await startMcr(tmp, `mcr-pg-${kind}`, config);
    const dist = await startDistribution(tmp, store);
    const embedded = embeddedConfig ? await startMcr(tmp, "mcr-embedded", embeddedConfig) : undefined;
    say("pushing the content every figure reads (untimed)");
    if (embedded) await pushContent(CA, embedded, blob);
    await pushContent(CA, mcr, blob);
    let distPush = "";
    try {
      await pushContent(CA, dist, blob);
    } catch (err) {
      distPush = (err as Error).message.split("\n")[0]!.slice(0, 160);
      say(`distribution cannot push to ${kind}: ${distPush}; writing its content straight into the bucket`);
      await writeDistributionContent(store, blob);
    }
    const [cMcr, cDist, cStore] = [`mcr PostgreSQL + ${kind}`, `distribution 2.8, ${kind}`, `${kind} itself (presigned GET)`];
    const blobPath = `/v2/${REPO}/blobs/${blob.digest}`;
    const hex = blob.digest.slice("sha256:".length);
    const targets: Target[] = [
      ...(embedded
        ? [
            {
              col: "mcr embedded",
              pid: embedded.pid,
              url: embedded.url,
              blobUrl: embedded.url + blobPath,
              files: [join(tmp, "embedded", "layers", "sha256", hex.slice(0, 2), hex)],
            },
          ]
        : []),
      { col: cMcr, pid: mcr.pid, url: mcr.url, blobUrl: mcr.url + blobPath, files: [], beforePush: () => store.remove(blobKey("mcr", blob.digest)) },
      {
        col: cDist,
        pid: dist.pid,
        url: dist.url,
        blobUrl: dist.url + blobPath,
        files: [],
        beforePush: () => store.remove(blobKey("distribution", blob.digest)),
      },
      { col: cStore, pid: store.s3.child.pid!, url: "", blobUrl: await store.presign(blobKey("mcr", blob.digest)), files: [] },
    ];
    for (const tg of targets) {
      const got = await curlDigest(CA, tg.blobUrl);
      if (got !== blob.digest) throw new Error(`${tg.col} served ${got}, expected ${blob.digest}`);
    }
    if (kind === "s3rver") {
      // s3rver keeps objects in files: read them through before each GET, like the embedded blob.
      const big = (d: string): string[] =>
        readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? big(join(d, e.name)) : statSync(join(d, e.name)).size >= blob.size ? [join(d, e.name)] : [],
        );
      for (const tg of targets.slice(-3)) tg.files = big(store.s3.dir);
    }
    info.push(`${kind}: store processes' RSS once the content was in ${storeRss(store)}`);
    const t = new Table(
      `PostgreSQL + ${kind} against distribution on the same ${kind}`,
      targets.map((x) => x.col),
      [cMcr, cDist],
      ROWS,
    );
    tables.push(t);
    const storeOf = (tg: Target) => (tg.col === "mcr embedded" ? undefined : store);
    await gets(t, targets, blob, storeOf);
    const registries: [string, Proc][] = [...(embedded ? [["mcr embedded", embedded] as [string, Proc]] : []), [cMcr, mcr], [cDist, dist]];
    await manifests(t, registries, store);
    const pushTargets = targets.filter((tg) => tg.url && (tg.col !== cDist || !distPush));
    await pushes(t, pushTargets, blob, storeOf);
    if (distPush) for (const m of ["monolithic", "chunked"]) t.note(label.push(m), cDist, `not possible on ${kind}`);
    if (distPush) info.push(`distribution's push to ${kind} failed: ${distPush}`);
    info.push(`${kind}: store processes' RSS at the end ${storeRss(store)}`);
    if (embedded) {
      await Promise.all([dist.stop(), embedded.stop()]);
      await replicas(mcr, config, info);
    }
  } catch (err) {
    for (const p of live) say(`last output of ${p.name}:\n${p.log().slice(-3000)}`);
    throw err;
  } finally {
    for (const p of [...live].reverse()) await p.stop().catch(() => undefined);
    stores.delete(store);
    await store.stop();
  }
}

/** Manifest GETs against one PostgreSQL + S3 replica, then two on the same database and bucket. */
async function replicas(first: Proc, config: string, info: string[]): Promise<void> {
  const second = await startMcr(tmp, "mcr-pg-2", config);
  await wrk(`${second.url}/v2/${REPO}/manifests/latest`, OCI_MANIFEST, 64, 2);
  const figure = async (what: string, targets: Proc[], connections: number) => {
    const xs: number[] = [];
    const db: number[] = [];
    for (let i = 0; i < cfg.reps; i++) {
      const x = await sample(what, () => manifestRps(targets, connections), { say });
      noteOthers(what, x.othersCores);
      xs.push(x.rps);
      db.push(x.dbCores);
    }
    say(`${what}: ${xs.map((x) => x.toFixed(0)).join(", ")} req/s`);
    return `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}); PostgreSQL ${median(db).toFixed(2)} cores`;
  };
  const one = await figure("one replica", [first], 64);
  const two = await figure("two replicas", [first, second], 32);
  info.push(
    "",
    "| manifest GET req/s, PostgreSQL + S3 | one replica (64 connections) | two replicas (32 + 32 connections) |",
    "|---|---|---|",
    `| wrk | ${one} | ${two} |`,
  );
}

// ---------------------------------------------------------------- the run

/** First line a tool prints about itself. */
function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0]!.trim() || "unknown";
}

async function main(): Promise<void> {
  // The helpers' temporary folders (PostgreSQL, Ceph, s3rver) go inside the run's, which
  // run-scale-out.sh removes whatever happens.
  process.env.TMPDIR = tmp;
  mkdirSync(join(tmp, "pids"), { recursive: true });
  let pg: PgServer | undefined;
  let stopping: Promise<void> | undefined;
  const cleanup = () =>
    (stopping ??= (async () => {
      for (const p of [...live].reverse()) await p.stop().catch(() => undefined);
      for (const s of [...stores]) await s.stop().catch(() => undefined);
      stores.clear();
      await pg?.stop().catch(() => undefined);
    })());
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      say(`${sig}: stopping every server`);
      void cleanup()
        .then(killChildren)
        .finally(() => process.exit(130));
    });
  }
  const started = new Date().toISOString();
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  say(`writing a ${cfg.blobMb} MiB blob`);
  const blob = makeBlob(tmp, cfg.blobMb, cfg.chunkMb);
  const info: string[] = [];
  try {
    pg = await startPostgres();
    await run(MCR_BIN, ["init", "--dir", join(tmp, "embedded"), "--listen", "127.0.0.1:0"]);
    CA = join(tmp, "embedded", "certs", "ca.pem");
    for (const [i, kind] of cfg.stores.entries()) await phase(kind, pg, blob, i === 0 ? join(tmp, "embedded", "mcr.toml") : undefined, info);
  } finally {
    await cleanup();
  }
  const out = [
    `Run of ${started}: ${cpus()[0]?.model ?? "?"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average at start ${load}`,
    `${cfg.blobMb} MiB blob, ${cfg.chunkMb} MiB chunks, ${cfg.reps} runs per figure, median (min–max); plain HTTP on loopback; every server, PostgreSQL and the store on the same machine`,
    `software: node ${process.version}; ${tool("docker-registry", ["--version"])}; ${tool("radosgw", ["--version"]).split(" (")[0]}; ${tool(join(postgresBinDir() ?? "", "postgres"), ["--version"])}; ${tool("wrk", ["--version"]).split(" ").slice(0, 2).join(" ")}`,
    `CPU used by other processes during the timed runs: median ${median(others).toFixed(2)} cores, max ${Math.max(...others).toFixed(2)} cores`,
    disturbed.length ? `disturbed (kept after three attempts): ${disturbed.join("; ")}` : `no figure disturbed (others under ${DISTURBED_CORES} cores)`,
    "",
    ...tables.flatMap((t) => [t.render(), ""]),
    ...info,
  ];
  process.stdout.write(`\n${out.join("\n")}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
