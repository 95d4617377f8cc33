// bench/hostile: a real mcr (authentication on) and a real mcp-agent under hostile traffic
// while an honest client keeps working. After an idle baseline (honest client only), the
// attack families run in phases, one family or two at a time and then all at once; the
// attackers live in a process of their own (attacker.ts) and use loopback source addresses
// other than the honest client's 127.0.0.1. Prints, per daemon: crashes, peak RSS, honest
// errors, honest request count and latency, and mcr's database growth, each against its
// target; `--json` prints the same as one JSON document. Run by hand:
//   bash bench/hostile/run.sh [--seconds 60] [--baseline 10] [--json] [--phases 1,5] [--keep-logs DIR] [--save FILE]
import { fork, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { basename, join } from "node:path";
import { FAMILIES, type Family, type FamilyResult, type FromAttacker, type ToAttacker } from "./attacker.ts";
import { HonestClient } from "./honest.ts";
import { auditRowsSince, databaseFileBytes, databasePageBytes, SERVICE, startPlatform, walBytes, type Platform } from "./platform.ts";
import { figures, formatText, type Phase } from "./report.ts";
import { listenOverflows, loadAverage, machineBusySeconds, processSeconds, Sampler } from "./sampler.ts";

const PHASES: Array<{ name: string; families: Family[] }> = [
  { name: "bodies (1, 2)", families: ["crash-bodies", "fake-tokens"] },
  { name: "sockets (3)", families: ["sockets"] },
  { name: "audit flood (4)", families: ["audit"] },
  { name: "stream floods (5)", families: ["streams"] },
  { name: "all at once", families: [...FAMILIES] },
];

function option(name: string, env: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = Number(i >= 0 ? process.argv[i + 1] : (process.env[env] ?? fallback));
  if (!Number.isFinite(v) || v <= 0 || v > 3600) throw new Error(`--${name} (or $${env}) must be a number of seconds between 1 and 3600`);
  return v;
}

const ATTACK_SECONDS = option("seconds", "ATTACK_SECONDS", 60);
const BASELINE_SECONDS = option("baseline", "BASELINE_SECONDS", 10);
const JSON_OUT = process.argv.includes("--json");
/** `--phases 3,5`: only those phases (1-based), each still SECONDS / 5 long. */
const ONLY = process.argv.includes("--phases") ? new Set(process.argv[process.argv.indexOf("--phases") + 1]!.split(",").map(Number)) : undefined;
/** `--save FILE`: the JSON document is written there too. */
const SAVE = process.argv.includes("--save") ? process.argv[process.argv.indexOf("--save") + 1] : undefined;
/** `--keep-logs DIR`: the daemons' logs are copied there before the temp folders go. */
const KEEP_LOGS = process.argv.includes("--keep-logs") ? process.argv[process.argv.indexOf("--keep-logs") + 1] : undefined;
const say = (m: string) => process.stderr.write(`bench/hostile: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** SQLite's default checkpoint comes at 1000 pages of log: about 4 MB with 4 KiB pages. */
const WAL_WORKING_BYTES = 4_000_000;

interface Attacker {
  child: ChildProcess;
  phase(families: Family[], ms: number): Promise<FamilyResult[]>;
}

/**
 * An attackers' process. Each family gets one of its own: when they all run at once, one
 * family's handshakes and megabytes must not starve another's timers.
 */
async function startAttacker(p: Platform): Promise<Attacker> {
  const child = fork(new URL("./attacker.ts", import.meta.url).pathname, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const next = () =>
    new Promise<FromAttacker>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`an attackers' process exited (${code})`));
      child.once("exit", onExit);
      child.once("message", (m: FromAttacker) => {
        child.off("exit", onExit);
        resolve(m);
      });
    });
  const send = (m: ToAttacker) => child.send(m);
  const ready = next();
  send({
    type: "config",
    config: {
      ca: p.mcrHome.caPem,
      mcr: { port: p.daemons.mcr.port },
      agent: { port: p.daemons.agent.port, pid: p.daemons.agent.pid },
      systemToken: p.tokens.agentSystem,
      adminToken: p.tokens.agentStreamAdmin,
      service: SERVICE,
    },
  });
  await ready;
  return {
    child,
    async phase(families, ms) {
      const done = next();
      send({ type: "phase", families, ms });
      // Every family stops at the deadline; their last requests time out within 15 s.
      const m = await Promise.race([done, sleep(ms + 60_000).then(() => undefined)]);
      if (m?.type !== "phase-done") throw new Error(`the attackers did not finish the phase within ${ms / 1000 + 60} s`);
      return m.results;
    },
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadAverage();
  let platform: Platform | undefined;
  const attackers = new Map<Family, Attacker>();
  let honest: HonestClient | undefined;
  const cleanup = async () => {
    for (const a of attackers.values()) a.child.kill("SIGKILL");
    honest?.close();
    await platform?.cleanup();
  };
  process.once("SIGINT", () => {
    say("interrupted: cleaning up");
    void cleanup().finally(() => process.exit(130));
  });
  try {
    platform = await startPlatform(say);
    const { daemons, mcrHome } = platform;
    honest = new HonestClient({
      mcrPort: daemons.mcr.port,
      agentUrl: platform.agentUrl,
      ca: mcrHome.caPem,
      mcrToken: platform.tokens.mcrAdmin,
      agentToken: platform.tokens.agentAdmin,
      service: SERVICE,
      podmanEnv: platform.podmanEnv,
    });
    await honest.prepare();
    for (const f of FAMILIES) attackers.set(f, await startAttacker(platform));
    const sampler = new Sampler({ mcr: daemons.mcr.pid, agent: daemons.agent.pid });
    sampler.start(75);

    honest.start();
    // Not counted: connections and caches warm up, and the write-ahead log grows to its
    // working size (SQLite reuses the file after each checkpoint but never shrinks it), so
    // that the database's growth under attack is not the log filling up.
    const warm = Date.now();
    while (Date.now() - warm < 30_000 && (Date.now() - warm < 2_000 || walBytes(mcrHome) < WAL_WORKING_BYTES)) await sleep(250);
    say(`warmed up in ${((Date.now() - warm) / 1000).toFixed(1)} s; write-ahead log ${(walBytes(mcrHome) / 1024).toFixed(0)} KiB`);
    say(`idle baseline, ${BASELINE_SECONDS} s`);
    const baseline = { from: Date.now(), to: 0 };
    const baseFiles = databaseFileBytes(mcrHome);
    const basePages = databasePageBytes(mcrHome);
    await sleep(BASELINE_SECONDS * 1000);
    baseline.to = Date.now();
    const baselineGrowth = { files: databaseFileBytes(mcrHome) - baseFiles, pages: databasePageBytes(mcrHome) - basePages };

    sampler.resetLoopDelay();
    const attack = { from: Date.now(), to: 0 };
    const db = { filesBefore: databaseFileBytes(mcrHome), pagesBefore: databasePageBytes(mcrHome) };
    // The bench's own processes: the runner (with its podman control calls), the daemons (with
    // the agent's podman calls) and the attackers. The rest of the machine's busy time is others'.
    const ours = () => processSeconds([process.pid, daemons.mcr.pid, daemons.agent.pid, ...[...attackers.values()].map((a) => a.child.pid!)]);
    const cpuBefore = { machine: machineBusySeconds(), ours: ours() };
    const overflowsBefore = listenOverflows();
    const phases: Phase[] = [];
    for (const [i, p] of PHASES.entries()) {
      if (ONLY && !ONLY.has(i + 1)) continue;
      const ms = (ATTACK_SECONDS * 1000) / PHASES.length;
      say(`phase ${p.name}: ${p.families.join(", ")} for ${(ms / 1000).toFixed(0)} s`);
      const from = Date.now();
      const results = (await Promise.all(p.families.map((f) => attackers.get(f)!.phase([f], ms)))).flat();
      phases.push({ ...p, from, to: Date.now(), results });
      for (const r of results) if (r.error) say(`${r.family} failed: ${r.error}`);
    }
    attack.to = Date.now();
    const seconds = (attack.to - attack.from) / 1000;
    const oursCores = (ours() - cpuBefore.ours) / seconds;
    const othersCores = Math.max(0, machineBusySeconds() - cpuBefore.machine - (ours() - cpuBefore.ours)) / seconds;
    const acceptQueueOverflows = listenOverflows() - overflowsBefore;
    const dbAfter = { filesAfter: databaseFileBytes(mcrHome), pagesAfter: databasePageBytes(mcrHome) };
    const loopDelay = sampler.loopDelayMs();
    await honest.stop();
    honest.close();
    sampler.stop();
    for (const a of attackers.values()) a.child.send({ type: "exit" } satisfies ToAttacker);

    const crashed = { mcr: daemons.mcr.exit, agent: daemons.agent.exit };
    say("stopping the daemons");
    const stopExit = await platform.stop();
    if (KEEP_LOGS) {
      mkdirSync(KEEP_LOGS, { recursive: true });
      for (const d of [daemons.mcr, daemons.agent]) copyFileSync(d.logFile, join(KEEP_LOGS, basename(d.logFile)));
      say(`logs copied to ${KEEP_LOGS}`);
    }
    const result = figures({
      started,
      settings: { attackSeconds: ATTACK_SECONDS, baselineSeconds: BASELINE_SECONDS },
      baseline,
      attack,
      phases,
      samples: honest.samples,
      sampler,
      daemons: {
        mcr: { exit: crashed.mcr, stopExit: stopExit.mcr, logs: daemons.mcr.logs() },
        agent: { exit: crashed.agent, stopExit: stopExit.agent, logs: daemons.agent.logs() },
      },
      db: {
        ...db,
        ...dbAfter,
        baselineFilesGrowth: baselineGrowth.files,
        baselinePagesGrowth: baselineGrowth.pages,
        auditRows: auditRowsSince(mcrHome, attack.from),
      },
      machine: { cores: cpus().length, loadBefore, loadAfter: loadAverage(), othersCores, oursCores, runnerLoopDelayMs: loopDelay, acceptQueueOverflows },
    });
    if (SAVE) writeFileSync(SAVE, JSON.stringify({ ...result, samples: honest.samples }) + "\n");
    process.stdout.write(JSON_OUT ? JSON.stringify(result, null, 2) + "\n" : formatText(result));
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/hostile failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
