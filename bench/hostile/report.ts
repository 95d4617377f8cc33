// The figures of a run, judged against their targets, as text or as one JSON document.
import type { Family, FamilyResult } from "./attacker.ts";
import type { Sample } from "./honest.ts";
import { MiB, type Sampler } from "./sampler.ts";

export const TARGETS = { crashes: 0, peakRssMiB: 256, honestErrors: 0, p99Ms: 1_000, dbGrowthBytes: 1024 * 1024 } as const;

export interface Phase {
  name: string;
  families: Family[];
  from: number;
  to: number;
  results: FamilyResult[];
}

export interface RunInput {
  started: number;
  settings: { attackSeconds: number; baselineSeconds: number };
  baseline: { from: number; to: number };
  attack: { from: number; to: number };
  phases: Phase[];
  samples: Sample[];
  sampler: Sampler;
  daemons: Record<"mcr" | "agent", { exit?: { at: number; code: number | string }; stopExit?: number | string; logs: string }>;
  db: {
    filesBefore: number;
    filesAfter: number;
    pagesBefore: number;
    pagesAfter: number;
    baselineFilesGrowth: number;
    baselinePagesGrowth: number;
    auditRows: Record<string, { rows: number; bytes: number }>;
  };
  machine: {
    cores: number;
    loadBefore: number[];
    loadAfter: number[];
    othersCores: number;
    oursCores: number;
    runnerLoopDelayMs: { p99: number; max: number };
    acceptQueueOverflows: number;
  };
}

interface Latency {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  errorMessages: Record<string, number>;
}

const percentile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]! : NaN);

function latency(samples: Sample[], daemon: Sample["daemon"], from: number, to: number): Latency {
  const xs = samples.filter((s) => s.daemon === daemon && s.at >= from && s.at < to);
  const ms = xs.map((s) => s.ms).sort((a, b) => a - b);
  const errorMessages: Record<string, number> = {};
  for (const s of xs) if (s.error) errorMessages[`${s.what}: ${s.error}`] = (errorMessages[`${s.what}: ${s.error}`] ?? 0) + 1;
  return {
    requests: xs.length,
    errors: xs.filter((s) => s.error).length,
    p50: percentile(ms, 0.5),
    p99: percentile(ms, 0.99),
    max: ms.at(-1) ?? NaN,
    errorMessages,
  };
}

/** p50/p99 per kind of honest request ("manifest push", "Status", …). */
function byRequest(samples: Sample[], daemon: "mcr" | "agent", from: number, to: number): Record<string, { n: number; p50: number; p99: number }> {
  const kinds = new Map<string, number[]>();
  for (const s of samples) if (s.daemon === daemon && s.at >= from && s.at < to) kinds.set(s.what, [...(kinds.get(s.what) ?? []), s.ms]);
  return Object.fromEntries(
    [...kinds].map(([k, xs]) => [
      k,
      {
        n: xs.length,
        p50: percentile(
          xs.sort((a, b) => a - b),
          0.5,
        ),
        p99: percentile(xs, 0.99),
      },
    ]),
  );
}

/** Warnings and errors a daemon logged from `from` on, counted per message. */
function logSummary(logs: string, from: number): { warn: number; error: number; messages: Record<string, number> } {
  const out = { warn: 0, error: 0, messages: {} as Record<string, number> };
  for (const line of logs.split("\n")) {
    if (!line.startsWith("{")) continue;
    let l: { level?: number | string; time?: number | string; msg?: string };
    try {
      l = JSON.parse(line);
    } catch {
      continue;
    }
    const time = typeof l.time === "number" ? l.time : Date.parse(String(l.time));
    if (time < from) continue;
    const level = typeof l.level === "number" ? l.level : (({ warn: 40, error: 50, fatal: 60 } as Record<string, number>)[String(l.level)] ?? 30);
    if (level < 40) continue;
    if (level >= 50) out.error++;
    else out.warn++;
    out.messages[l.msg ?? "?"] = (out.messages[l.msg ?? "?"] ?? 0) + 1;
  }
  return out;
}

export function figures(r: RunInput) {
  const daemon = (name: "mcr" | "agent") => {
    const d = r.daemons[name];
    const crashed = d.exit !== undefined;
    const attackRss = r.sampler.rssIn(name, r.attack.from, r.attack.to);
    const baseRss = r.sampler.rssIn(name, r.baseline.from, r.baseline.to);
    const honest = latency(r.samples, name, r.attack.from, r.attack.to);
    return {
      crashes: crashed ? 1 : 0,
      exit: d.exit,
      exitAtStop: d.stopExit,
      peakRssMiB: attackRss.peak / MiB,
      honest,
      byRequest: { baseline: byRequest(r.samples, name, r.baseline.from, r.baseline.to), attack: byRequest(r.samples, name, r.attack.from, r.attack.to) },
      baseline: { rssMeanMiB: baseRss.mean / MiB, rssPeakMiB: baseRss.peak / MiB, ...latency(r.samples, name, r.baseline.from, r.baseline.to) },
      logs: logSummary(d.logs, r.attack.from),
      verdicts: {
        crashes: crashed ? "MISS" : "PASS",
        peakRss: attackRss.peak / MiB < TARGETS.peakRssMiB ? "PASS" : "MISS",
        honestErrors: honest.errors === 0 && honest.requests > 0 ? "PASS" : "MISS",
        p99: honest.p99 < TARGETS.p99Ms ? "PASS" : "MISS",
      } as Record<string, "PASS" | "MISS">,
    };
  };
  const dbGrowth = r.db.filesAfter - r.db.filesBefore;
  const phases = r.phases.map((p) => ({
    name: p.name,
    families: p.families,
    seconds: (p.to - p.from) / 1000,
    mcrPeakRssMiB: r.sampler.rssIn("mcr", p.from, p.to).peak / MiB,
    agentPeakRssMiB: r.sampler.rssIn("agent", p.from, p.to).peak / MiB,
    mcr: latency(r.samples, "mcr", p.from, p.to),
    agent: latency(r.samples, "agent", p.from, p.to),
    podman: latency(r.samples, "podman", p.from, p.to),
    byRequest: { mcr: byRequest(r.samples, "mcr", p.from, p.to), agent: byRequest(r.samples, "agent", p.from, p.to) },
    maxLoad: r.sampler.maxLoadIn(p.from, p.to),
    attacks: p.results,
  }));
  return {
    when: new Date(r.started).toISOString(),
    settings: { ...r.settings, rssSampleMaxGapMs: r.sampler.maxGapMs },
    machine: r.machine,
    targets: TARGETS,
    mcr: {
      ...daemon("mcr"),
      db: { ...r.db, growthBytes: dbGrowth, pageGrowthBytes: r.db.pagesAfter - r.db.pagesBefore, verdict: dbGrowth < TARGETS.dbGrowthBytes ? "PASS" : "MISS" },
    },
    agent: daemon("agent"),
    podmanControl: { baseline: latency(r.samples, "podman", r.baseline.from, r.baseline.to), attack: latency(r.samples, "podman", r.attack.from, r.attack.to) },
    phases,
  };
}

export type Figures = ReturnType<typeof figures>;

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "-");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "-");
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

export function formatText(f: Figures): string {
  const out: string[] = [];
  const row = (cells: string[], widths: number[]) =>
    out.push(
      "  " +
        cells
          .map((c, i) => c.padEnd(widths[i]!))
          .join("  ")
          .trimEnd(),
    );
  const m = f.machine;
  out.push(
    `hostile traffic bench, ${f.when}`,
    `  ${m.cores} cores; load average before ${m.loadBefore.join(" ")}, after ${m.loadAfter.join(" ")}; during the attacks the bench's processes used ${m.oursCores.toFixed(2)} cores, other processes ${m.othersCores.toFixed(2)}`,
    `  connections the kernel dropped during the attacks because an accept queue was full (machine-wide): ${m.acceptQueueOverflows}`,
    `  baseline ${f.settings.baselineSeconds} s, attacks ${f.settings.attackSeconds} s in ${f.phases.length} phases; RSS sampled every 75 ms (longest gap ${f0(f.settings.rssSampleMaxGapMs)} ms); runner event-loop delay p99 ${f1(m.runnerLoopDelayMs.p99)} ms, max ${f0(m.runnerLoopDelayMs.max)} ms`,
    "",
  );
  const w = [34, 26, 26, 14];
  row(["during the attacks", "mcr", "mcp-agent", "target"], w);
  const d = [f.mcr, f.agent];
  const v = (x: { verdicts: Record<string, string> }, k: string) => x.verdicts[k]!;
  row(["crashes (process exited)", ...d.map((x) => `${x.crashes} ${v(x, "crashes")}`), "0"], w);
  row(["peak RSS", ...d.map((x) => `${f1(x.peakRssMiB)} MiB ${v(x, "peakRss")}`), `< ${TARGETS.peakRssMiB} MiB`], w);
  row(["honest errors", ...d.map((x) => `${x.honest.errors} ${v(x, "honestErrors")}`), "0"], w);
  row(["honest requests", ...d.map((x) => `${x.honest.requests}`), ""], w);
  row(["honest p50 / p99 / max", ...d.map((x) => `${f1(x.honest.p50)} / ${f0(x.honest.p99)} / ${f0(x.honest.max)} ms ${v(x, "p99")}`), "p99 < 1000 ms"], w);
  row(["database growth (db + wal files)", `${kb(f.mcr.db.growthBytes)} ${f.mcr.db.verdict}`, "", "< 1024 KiB"], w);
  row(["idle baseline: RSS mean / peak", ...d.map((x) => `${f1(x.baseline.rssMeanMiB)} / ${f1(x.baseline.rssPeakMiB)} MiB`), ""], w);
  row(["idle baseline: p50 / p99 (requests)", ...d.map((x) => `${f1(x.baseline.p50)} / ${f0(x.baseline.p99)} ms (${x.baseline.requests})`), ""], w);
  row(["idle baseline: honest errors", ...d.map((x) => `${x.baseline.errors}`), ""], w);
  row(["warn / error log lines", ...d.map((x) => `${x.logs.warn} / ${x.logs.error}`), ""], w);
  const db = f.mcr.db;
  out.push(
    "",
    `  mcr database: files ${kb(db.filesBefore)} -> ${kb(db.filesAfter)}; SQLite pages ${kb(db.pagesBefore)} -> ${kb(db.pagesAfter)} (+${kb(db.pageGrowthBytes)});` +
      ` in the baseline the honest client alone grew the files by ${kb(db.baselineFilesGrowth)}, the pages by ${kb(db.baselinePagesGrowth)}`,
    `  audit rows written during the attacks: ${
      Object.entries(db.auditRows)
        .map(([t, a]) => `${t} ${a.rows} (${kb(a.bytes)})`)
        .join(", ") || "none"
    }`,
  );
  for (const [name, x] of [
    ["mcr", f.mcr],
    ["mcp-agent", f.agent],
  ] as const) {
    if (x.exit) out.push(`  ${name} EXITED during the run: ${JSON.stringify(x.exit)}`);
    for (const [msg, n] of Object.entries(x.honest.errorMessages)) out.push(`  ${name} honest error ×${n}: ${msg}`);
    const msgs = Object.entries(x.logs.messages)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8);
    if (msgs.length) out.push(`  ${name} warnings/errors logged: ${msgs.map(([msg, n]) => `"${msg}" ×${n}`).join("; ")}`);
  }
  out.push("", "  honest requests by kind, p50/p99 ms (count): idle baseline -> during the attacks");
  for (const [name, x] of [
    ["mcr", f.mcr],
    ["mcp-agent", f.agent],
  ] as const) {
    const kinds = Object.keys(x.byRequest.attack);
    const cell = (k: string) => {
      const b = x.byRequest.baseline[k];
      const a = x.byRequest.attack[k]!;
      return `${k} ${b ? `${f0(b.p50)}/${f0(b.p99)} (${b.n})` : "-"} -> ${f0(a.p50)}/${f0(a.p99)} (${a.n})`;
    };
    out.push(`  ${name}: ${kinds.map(cell).join("; ")}`);
  }
  const pc = f.podmanControl;
  out.push(
    `  control, podman ps on the agent's storage run by the bench: ${f0(pc.baseline.p50)}/${f0(pc.baseline.p99)} (${pc.baseline.requests}) -> ${f0(pc.attack.p50)}/${f0(pc.attack.p99)} (${pc.attack.requests}), ${pc.attack.errors} failed`,
  );
  out.push("", "  per phase");
  const pw = [20, 4, 14, 14, 22, 22, 16, 5];
  row(["phase", "s", "mcr peak RSS", "agent peak RSS", "mcr p50/p99 (n, err)", "agent p50/p99 (n, err)", "podman ps p50/p99", "load"], pw);
  for (const p of f.phases) {
    const lat = (l: Latency) => `${f0(l.p50)}/${f0(l.p99)} ms (${l.requests}, ${l.errors})`;
    row(
      [
        `${p.name}`,
        f0(p.seconds),
        `${f1(p.mcrPeakRssMiB)} MiB`,
        `${f1(p.agentPeakRssMiB)} MiB`,
        lat(p.mcr),
        lat(p.agent),
        `${f0(p.podman.p50)}/${f0(p.podman.p99)} ms`,
        f1(p.maxLoad),
      ],
      pw,
    );
  }
  out.push("", "  what the attackers got (outcome: count)");
  for (const p of f.phases) {
    for (const a of p.attacks) {
      const counts = Object.entries(a.counts)
        .map(([k, n]) => `${k}: ${n}`)
        .join("; ");
      const { lifetimes, ...extra } = (a.extra ?? {}) as { lifetimes?: Record<string, Record<string, number>> };
      out.push(
        `  [${p.name}] ${a.family}: ${counts || "nothing"}${Object.keys(extra).length ? ` ${JSON.stringify(extra)}` : ""}${a.error ? ` FAILED: ${a.error.split("\n")[0]}` : ""}`,
      );
      for (const [what, l] of Object.entries(lifetimes ?? {})) {
        out.push(
          `      ${what}: ${l.closed} closed by the daemon after ${f0(l.closed_median_ms!)} ms (median), ${f0(l.closed_max_ms!)} ms (max); ${l.still_open_at_end} open at the deadline`,
        );
      }
    }
  }
  return out.join("\n") + "\n";
}
