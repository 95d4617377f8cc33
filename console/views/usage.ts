// Containers' resource use as tables and documents show it: CPU as "3.2%", memory as
// "41M/1.0G", and "-" where it is not known (a container that is not running, a node whose
// Stats failed or that is older than Stats). --json carries the numbers, null when unknown.
import { cell, type Cell } from "../output/screen.ts";
import type { ContainerStatsRow } from "../store/resource-types.ts";
import type { ConsoleState } from "../store/state.ts";

/** What `container` on `node` used at the node's last Stats; undefined when it did not say. */
// Each node's Stats rows by container name, made once per answer (the rows are never changed in place).
const byContainer = new WeakMap<ContainerStatsRow[], Map<string, ContainerStatsRow>>();

export function statsOf(s: Pick<ConsoleState, "stats">, node: string, container: string): ContainerStatsRow | undefined {
  const rows = s.stats[node];
  if (!rows) return undefined;
  let index = byContainer.get(rows);
  if (!index) byContainer.set(rows, (index = new Map(rows.map((r) => [r.container, r]))));
  return index.get(container);
}

/** "900B", "512K", "41M", "1.0G": short binary sizes for narrow columns. */
export function shortBytes(n: number): string {
  const units = ["K", "M", "G", "T"];
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(n || 0))}B`;
  let v = n;
  let i = -1;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i >= 2 || v < 10 ? `${v.toFixed(1)}${units[i]}` : `${Math.round(v)}${units[i]}`;
}

export const cpuText = (r: ContainerStatsRow | undefined) => (r ? `${r.cpuPercent.toFixed(1)}%` : "-");
export const memText = (r: ContainerStatsRow | undefined) => (r ? `${shortBytes(r.memUsedBytes)}/${shortBytes(r.memLimitBytes)}` : "-");

/** The CPU and MEM cells of a row. */
export const usageCells = (r: ContainerStatsRow | undefined): Cell[] => [cell(cpuText(r), r ? "" : "dim"), cell(memText(r), r ? "" : "dim")];

/** The numbers a --json document carries for a container (null when not known). */
export function usageJson(r: ContainerStatsRow | undefined) {
  return {
    cpuPercent: r ? Math.round(r.cpuPercent * 100) / 100 : null,
    memUsedBytes: r?.memUsedBytes ?? null,
    memLimitBytes: r?.memLimitBytes ?? null,
    netRxBytes: r?.netRxBytes ?? null,
    netTxBytes: r?.netTxBytes ?? null,
    blockReadBytes: r?.blockReadBytes ?? null,
    blockWriteBytes: r?.blockWriteBytes ?? null,
    pids: r?.pids ?? null,
  };
}

/** A note per node that answered but whose Stats did not: why its CPU and MEM show "-". */
export function statsNotes(s: Pick<ConsoleState, "statsErrors" | "nodes">, only?: string[]): Cell[] {
  return Object.entries(s.statsErrors)
    .filter(([node]) => (!only || only.includes(node)) && s.nodes[node]?.state === "ok")
    .map(([, message]) => cell(`${message} (CPU and MEM show -)`, "dim"));
}
