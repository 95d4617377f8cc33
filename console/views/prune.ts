// What a prune of the nodes' images did, or would do in a dry run (mcp prune and the TUI's
// nodes screen): each image with its outcome and why it was kept, and a line per node.
import { bytes } from "../../lib/text/bytes.ts";
import { cell, type Cell, type Section, type Tone } from "../output/screen.ts";
import type { PruneImageRow, PruneNodeResult, PruneState } from "../store/resource-types.ts";
import { count } from "./format.ts";

/** "168h" for 604800 seconds; "0s": no age limit. */
export function olderThanText(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** The image's first name, with how many more it has; its short id when it has none. */
export function imageName(i: PruneImageRow): string {
  const short = i.id.replace(/^sha256:/, "").slice(0, 12);
  if (i.names.length === 0) return `<none> ${short}`;
  return i.names.length > 1 ? `${i.names[0]} (+${i.names.length - 1})` : i.names[0]!;
}

const outcomeCell = (i: PruneImageRow, dryRun: boolean): Cell => {
  const tone: Tone = i.outcome === "removed" ? "ok" : i.outcome === "failed" ? "bad" : "dim";
  return cell(i.outcome === "removed" && dryRun ? "would remove" : i.outcome, tone);
};

/** One line for a node: "rift: removed 3 images, 12 MiB freed; kept 4". */
export function pruneLine(r: PruneNodeResult): string {
  const removed = r.images.filter((i) => i.outcome === "removed").length;
  const kept = r.images.filter((i) => i.outcome === "kept").length;
  const failed = r.images.filter((i) => i.outcome === "failed").length;
  const verb = r.dryRun ? "would remove" : "removed";
  const freed = `${bytes(r.bytesFreed)} ${r.dryRun ? "to free" : "freed"}`;
  return `${r.node}: ${verb} ${count(removed, "image")}, ${freed}; kept ${kept}${failed ? `; ${failed} could not be removed` : ""}`;
}

/** The images of every node's answer, removed ones first (as the agents order them). */
export function pruneSection(p: PruneState | null, title?: string): Section {
  const results = p?.results ?? [];
  const dryRun = p?.options.dryRun ?? false;
  return {
    ...(title ? { title } : {}),
    columns: ["node", "image", "size", "outcome", "reason", "created", "detail"],
    drop: ["created", "node", "detail"],
    rows: results
      .flatMap((r) => r.images)
      .map((i) => [
        cell(i.node),
        cell(imageName(i)),
        cell(bytes(i.sizeBytes)),
        outcomeCell(i, dryRun),
        cell(i.reason || "-", i.reason ? "" : "dim"),
        cell(i.created, "dim"),
        cell(i.detail, "dim"),
      ]),
    empty: p && !p.running ? "no images" : "",
  };
}

/** A line per node that answered, its warnings, and each node that failed. */
export function pruneNotes(p: PruneState | null): Cell[] {
  if (!p) return [];
  return [
    ...p.results.map((r) => cell(pruneLine(r), r.images.some((i) => i.outcome === "failed") ? "warn" : "ok")),
    ...p.results.flatMap((r) => r.warnings.map((w) => cell(`${r.node}: ${w}`, "warn"))),
    ...p.errors.map((e) => cell(e.message, "bad")),
  ];
}

export const pruneTotal = (p: PruneState | null) => (p?.results ?? []).reduce((a, r) => a + r.bytesFreed, 0);
