// What the registry commands and screens share: GC run tables and lines, policy tables.
import { cell, type Section } from "../output/screen.ts";
import { bytes } from "../../lib/text/bytes.ts";
import type { GcRunRow, PolicyRow } from "../store/mcr-types.ts";
import { count, stateCell } from "./format.ts";

const opts = (r: GcRunRow) =>
  [r.options.dryRun ? "dry run" : "", r.options.untagged ? "untagged" : "", r.options.reconcile ? "reconcile" : ""].filter(Boolean).join(", ") || "-";

/** A run's grace window ("3600s" on the wire) as "1h", "1h30m", "0s"; "" when unknown. */
export function graceText(grace: string): string {
  const m = /^(\d+)s$/.exec(grace);
  if (!m) return grace;
  let left = Number(m[1]);
  const h = Math.floor(left / 3600);
  left -= h * 3600;
  const min = Math.floor(left / 60);
  left -= min * 60;
  return [h ? `${h}h` : "", min ? `${min}m` : "", left || (!h && !min) ? `${left}s` : ""].join("");
}

/**
 * Why a run that ended freed nothing may have: its grace window kept everything newer.
 * Empty unless the run ended, freed nothing, and had a window.
 */
export function gcGraceNote(r: GcRunRow): string {
  const freed = r.options.dryRun ? r.bytesMarked : r.bytesFreed;
  const grace = graceText(r.options.grace);
  if (r.running || r.phase === "failed" || freed > 0 || r.manifestsRemoved > 0 || !grace || grace === "0s") return "";
  return `nothing ${r.options.dryRun ? "would be" : "was"} freed older than the grace window (${grace}): blobs and manifests uploaded, mounted or used within it are always kept; a shorter grace (mcp gc --grace 0s, or w on the GC screen) collects them too`;
}

/** Who an audit row or a GC run names: the username when the console knows it, else the id as mcr gave it. */
export const actorName = (actors: Record<string, string> | null, id: string) => (id && actors?.[id]) || id;

/** A GC run as a two-column table (`actors`: id → username, for who started it). */
export function gcRunSection(title: string, r: GcRunRow, actors: Record<string, string> | null = null): Section {
  const rows: [string, string][] = [
    ["run", `${r.id} by ${actorName(actors, r.actor) || "?"}`],
    ["options", opts(r)],
    ["grace", graceText(r.options.grace) || "-"],
    ["phase", r.phase],
    ["started", r.startedAt],
    ["ended", r.completedAt || "-"],
    ["manifests", String(r.manifestsRemoved)],
    ["marked", `${count(r.blobsMarked, "blob")}, ${bytes(r.bytesMarked)}`],
    ["swept", `${count(r.blobsSwept, "blob")}, ${bytes(r.bytesFreed)} freed`],
    ["kept", `${r.blobsKept} (re-uploaded during the sweep)`],
  ];
  if (r.options.reconcile) rows.push(["orphans", `${count(r.orphanFiles, "file")}, ${bytes(r.orphanBytes)}; ${count(r.missingFiles, "row")} without a file`]);
  if (r.error) rows.push(["error", r.error]);
  return {
    title,
    columns: ["", ""],
    rows: rows.map(([k, v]) => [cell(k, "dim"), k === "phase" ? stateCell(v === "failed" ? "failed" : v) : cell(v, k === "error" ? "bad" : "")]),
  };
}

/** One line of GC progress (plain `mcp gc --watch`). */
export const gcLine = (r: GcRunRow) =>
  `${r.phase.padEnd(11)} marked ${count(r.blobsMarked, "blob")} (${bytes(r.bytesMarked)})  swept ${r.blobsSwept} (${bytes(r.bytesFreed)} freed)  manifests ${r.manifestsRemoved}${r.error ? `  error: ${r.error}` : ""}`;

/** The items a run removed (or would remove, dry run). */
export function gcItemsSection(r: GcRunRow, max = Infinity): Section {
  return {
    title: `${r.options.dryRun ? "would remove" : "removed"}${r.itemsOmitted ? ` (${r.itemsOmitted} more not listed)` : ""}`,
    columns: ["kind", "repository", "digest", "size"],
    drop: ["repository"],
    rows: r.items.slice(0, max).map((i) => [cell(i.kind), cell(i.repository || "-"), cell(i.digest), cell(bytes(i.size))]),
    empty: "nothing",
  };
}

export function policySection(rules: PolicyRow[]): Section {
  return {
    columns: ["id", "prio", "effect", "enabled", "actions", "roles", "on", "description"],
    drop: ["prio", "roles", "description"],
    rows: rules.map((p) => [
      cell(p.id),
      cell(p.priority),
      cell(p.effect, p.effect === "deny" ? "warn" : ""),
      cell(p.enabled ? "yes" : "no", p.enabled ? "ok" : "dim"),
      cell(p.actions.join(",") || "*"),
      cell([...p.roles, ...p.accountTypes.map((t) => `type:${t}`), ...(p.subjectUuid ? [`subject:${p.subjectUuid}`] : [])].join(",") || "*"),
      cell([...p.repositories, ...p.services.map((g) => `service:${g}`)].join(",") || "*"),
      cell(p.description),
    ]),
    empty: "no custom rules",
  };
}
