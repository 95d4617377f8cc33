// Turns the collected samples into Markdown tables, the ratios and their PASS/MISS verdicts.
import type { MemoryRun, Transfer, WrkResult } from "./measure.ts";
import type { Proto, ServerName } from "./servers.ts";

export interface GetRow {
  server: ServerName;
  proto: Proto;
  streams: number;
  samples: Transfer[];
}
export interface PushRow {
  server: ServerName;
  proto: Proto;
  mode: "monolithic" | "chunked";
  samples: Transfer[];
}
export interface ManifestRow {
  server: ServerName;
  proto: Proto;
  samples: WrkResult[];
}
export interface MemoryRow {
  proto: Proto;
  run: MemoryRun;
}

export interface Results {
  info: Record<string, string>;
  get: GetRow[];
  push: PushRow[];
  manifest: ManifestRow[];
  memory: MemoryRow[];
  /** VmHWM of the long-running mcr of each protocol phase, in bytes. */
  mcrPhaseHwm: Partial<Record<Proto, number>>;
  ciphers: Record<string, string>;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

const MIB = 1024 * 1024;
const f0 = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "–");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "–");

/** "median (min–max)" of the MB/s of some transfers. */
function mbps(samples: Transfer[]): string {
  const xs = samples.map((s) => s.mbps);
  if (xs.length === 0) return "–";
  if (xs.length === 1) return f0(xs[0]!);
  return `${f0(median(xs))} (${f0(Math.min(...xs))}–${f0(Math.max(...xs))})`;
}

/** Median CPU seconds the server spent per GB moved. */
const cpuPerGb = (samples: Transfer[]) => median(samples.map((s) => s.serverCpu / (s.bytes / 1e9)));

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export interface Verdict {
  what: string;
  value: number;
  target: string;
  pass: boolean;
  shown: string;
}

export function verdicts(r: Results, streams: number): Verdict[] {
  const get = (server: ServerName, proto: Proto, n: number) =>
    median(r.get.find((g) => g.server === server && g.proto === proto && g.streams === n)?.samples.map((s) => s.mbps) ?? []);
  const push = (server: ServerName, proto: Proto, mode: PushRow["mode"]) =>
    median(r.push.find((p) => p.server === server && p.proto === proto && p.mode === mode)?.samples.map((s) => s.mbps) ?? []);
  const out: Verdict[] = [];
  const protos = [...new Set(r.get.map((g) => g.proto))];
  const ratio = (what: string, value: number, min: number) => out.push({ what, value, target: `≥ ${min}×`, pass: value >= min, shown: `${f2(value)}×` });
  for (const proto of protos) {
    for (const n of [1, streams])
      ratio(`blob GET mcr/distribution, ${proto}, ${n} stream${n > 1 ? "s" : ""}`, get("mcr", proto, n) / get("distribution", proto, n), 1.5);
  }
  const getCpu = (server: ServerName, proto: Proto, n: number) =>
    cpuPerGb(r.get.find((g) => g.server === server && g.proto === proto && g.streams === n)?.samples ?? []);
  for (const proto of protos) {
    for (const n of [1, streams]) {
      const cell = `${proto}, ${n} stream${n > 1 ? "s" : ""}`;
      ratio(`blob GET mcr/nginx, ${cell}`, get("mcr", proto, n) / get("nginx", proto, n), 0.95);
      // Server CPU per GB no higher than nginx's + 10%.
      const cpu = getCpu("mcr", proto, n) / getCpu("nginx", proto, n);
      out.push({ what: `server CPU per GB mcr/nginx, ${cell}`, value: cpu, target: "≤ 1.1×", pass: cpu <= 1.1, shown: `${f2(cpu)}×` });
    }
  }
  for (const proto of [...new Set(r.push.map((p) => p.proto))]) {
    for (const mode of ["monolithic", "chunked"] as const)
      ratio(`push mcr/distribution, ${proto}, ${mode}`, push("mcr", proto, mode) / push("distribution", proto, mode), 1.5);
  }
  for (const m of r.memory) {
    out.push({
      what: `mcr RSS growth, ${m.run.streams} pulls, ${m.proto}`,
      value: m.run.growth,
      target: "< 64 MiB",
      pass: m.run.growth < 64 * MIB,
      shown: `${f0(m.run.growth / MIB)} MiB`,
    });
  }
  return out;
}

export function render(r: Results, streams: number): string {
  const parts: string[] = [];
  const others = [...r.get, ...r.push]
    .flatMap((row) => row.samples.map((s) => s.othersCores))
    .concat(
      r.manifest.flatMap((m) => m.samples.map((s) => s.othersCores ?? 0)),
      r.memory.map((m) => m.run.transfer.othersCores),
    );
  if (others.length) r.info["CPU used by other processes during the timed runs"] = `median ${f2(median(others))} cores, max ${f2(Math.max(...others))} cores`;
  parts.push(
    Object.entries(r.info)
      .map(([k, v]) => `- ${k}: ${v}`)
      .join("\n"),
  );
  if (Object.keys(r.ciphers).length)
    parts.push(
      "TLS as negotiated by curl:\n" +
        Object.entries(r.ciphers)
          .map(([k, v]) => `- ${k}: ${v}`)
          .join("\n"),
    );

  const cell = (server: ServerName, proto: Proto, n: number) => r.get.find((g) => g.server === server && g.proto === proto && g.streams === n)?.samples ?? [];
  const getRows: string[][] = [];
  for (const proto of [...new Set(r.get.map((g) => g.proto))]) {
    for (const server of ["mcr", "distribution", "nginx"] as const) {
      const one = cell(server, proto, 1);
      const many = cell(server, proto, streams);
      if (!one.length && !many.length) continue;
      getRows.push([server, proto, mbps(one), mbps(many), `${f2(cpuPerGb(one))} / ${f2(cpuPerGb(many))}`]);
    }
  }
  parts.push(
    `### Blob GET, MB/s (median (min–max) of the runs; 1 MB = 10^6 bytes)\n\n` +
      table(["server", "proto", "1 stream", `${streams} streams`, `server CPU s/GB (1 / ${streams})`], getRows),
  );

  const pushRows: string[][] = [];
  for (const proto of [...new Set(r.push.map((p) => p.proto))]) {
    for (const server of ["mcr", "distribution"] as const) {
      const of = (mode: PushRow["mode"]) => r.push.find((p) => p.server === server && p.proto === proto && p.mode === mode)?.samples ?? [];
      pushRows.push([server, proto, mbps(of("monolithic")), mbps(of("chunked")), `${f2(cpuPerGb(of("monolithic")))} / ${f2(cpuPerGb(of("chunked")))}`]);
    }
  }
  parts.push(
    `### Blob push, MB/s (POST → PUT, and POST → PATCH chunks → PUT)\n\n` +
      table(["server", "proto", "monolithic", "chunked", "server CPU s/GB (mono / chunked)"], pushRows),
  );

  if (r.manifest.length) {
    parts.push(
      `### Manifest GET by tag, wrk, 64 connections\n\n` +
        table(
          ["server", "proto", "requests/s", "p50 ms", "p99 ms"],
          r.manifest.map((m) => [
            m.server,
            m.proto,
            `${f0(median(m.samples.map((s) => s.rps)))} (${f0(Math.min(...m.samples.map((s) => s.rps)))}–${f0(Math.max(...m.samples.map((s) => s.rps)))})`,
            f2(median(m.samples.map((s) => s.p50ms))),
            f2(median(m.samples.map((s) => s.p99ms))),
          ]),
        ),
    );
  }

  if (r.memory.length) {
    parts.push(
      `### mcr memory during concurrent pulls (fresh process, one warm-up pull first)\n\n` +
        table(
          ["proto", "pulls", "VmRSS before", "max VmRSS during", "growth", "VmHWM", "aggregate MB/s"],
          r.memory.map((m) => [
            m.proto,
            String(m.run.streams),
            `${f0(m.run.rssBefore / MIB)} MiB`,
            `${f0(m.run.rssMaxDuring / MIB)} MiB`,
            `${f0(m.run.growth / MIB)} MiB`,
            `${f0(m.run.hwm / MIB)} MiB`,
            f0(m.run.transfer.mbps),
          ]),
        ) +
        (Object.keys(r.mcrPhaseHwm).length
          ? `\n\nVmHWM of the mcr that served the push/GET phases: ${Object.entries(r.mcrPhaseHwm)
              .map(([p, v]) => `${p} ${f0(v / MIB)} MiB`)
              .join(", ")}`
          : ""),
    );
  }

  const v = verdicts(r, streams);
  parts.push(
    `### Targets\n\n` +
      table(
        ["ratio", "value", "target", "result"],
        v.map((x) => [x.what, x.shown, x.target, x.pass ? "PASS" : "MISS"]),
      ) +
      `\n\n${v.filter((x) => x.pass).length} of ${v.length} targets met.`,
  );
  return parts.join("\n\n") + "\n";
}
