// The command log as a table (`mcp commands` and the TUI's commands screen): newest first,
// each record's time, where it ran, the command, its target, how it ended, how long it took
// and why it failed.
import { cell, type Cell, type Section } from "../output/screen.ts";
import type { CommandRecord } from "../store/commands.ts";

export const COMMAND_COLUMNS = ["time", "where", "command", "target", "result", "duration", "error"];

/** 850ms, 3.2s, 2m5s. */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

/** RESULT: the outcome, a dry run said so. */
export const resultText = (r: CommandRecord) => (r.dryRun ? `${r.outcome} (dry run)` : r.outcome);

export function commandCells(r: CommandRecord): Cell[] {
  return [
    cell(r.time.replace(/\.\d+Z$/, "Z"), "dim"),
    cell(r.where),
    cell(r.command),
    cell(r.target || "-"),
    cell(resultText(r), r.outcome === "ok" ? "ok" : r.outcome === "failed" ? "bad" : "warn"),
    cell(duration(r.durationMs)),
    cell(r.error || "-", r.error ? "bad" : ""),
  ];
}

/** The records given (already newest first) as one table. */
export function commandsSection(records: CommandRecord[], empty: string): Section {
  return { columns: COMMAND_COLUMNS, drop: ["where", "duration", "target"], rows: records.map(commandCells), empty };
}

/** How many lines of the log were skipped, as a note; empty when none. */
export function skippedNote(skipped: number, file: string): string {
  if (!skipped) return "";
  return `${skipped} line${skipped === 1 ? "" : "s"} of ${file} could not be read and ${skipped === 1 ? "was" : "were"} skipped`;
}
