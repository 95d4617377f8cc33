// The command log in the store: what this console did (store `commands`, newest last), read
// from the log file once and added to as each action ends, so the commands screen shows an
// action of this TUI at once. `track` times an action and records how it ended; a log that
// cannot be written never fails the action (the record is kept in memory all the same).
import { KEEP, type CommandRecord } from "../clients/command-log.ts";

export type { CommandRecord };
import type { CommandActions, GetState, SetState, StoreDeps, TrackedCommand } from "./state.ts";

/** How an action that threw ended: stopped by the operator, or failed. */
export function outcomeOf(err: unknown): { outcome: "failed" | "interrupted"; error: string } {
  const e = err as { name?: string; message?: string } | null;
  const error = e?.message ?? String(err);
  const interrupted = e?.name === "AbortError" || /^interrupted\b|\binterrupted \(SIG/.test(error);
  return { outcome: interrupted ? "interrupted" : "failed", error };
}

export function commandActions(set: SetState, get: GetState, deps: StoreDeps): CommandActions {
  return {
    loadCommands() {
      const read = deps.commandLog?.read() ?? { records: [], skipped: 0 };
      // What this console recorded meanwhile is in the file too; an unwritable log keeps what memory has.
      set((s) => ({ commands: { records: deps.commandLog ? read.records.slice(-KEEP) : s.commands.records, skipped: read.skipped, loaded: true } }));
      return get().commands.records;
    },
    recordCommand(record: CommandRecord) {
      try {
        deps.commandLog?.append(record);
      } catch {
        // the log is a record of what happened, never a reason for it to fail
      }
      set((s) => ({ commands: { ...s.commands, records: [...s.commands.records, record].slice(-KEEP) } }));
    },
    async track<T>(what: TrackedCommand, work: () => Promise<T>, failure?: (result: T) => string | null): Promise<T> {
      const started = Date.now();
      const time = new Date(started).toISOString();
      const base = { time, where: what.where, command: what.command, target: what.target, ...(what.dryRun ? { dryRun: true } : {}) };
      try {
        const result = await work();
        const error = failure?.(result) ?? null;
        get().recordCommand({ ...base, outcome: error === null ? "ok" : "failed", error: error ?? "", durationMs: Date.now() - started });
        return result;
      } catch (err) {
        get().recordCommand({ ...base, ...outcomeOf(err), durationMs: Date.now() - started });
        throw err;
      }
    },
  };
}

/** The target of a TUI action from its label (`restart shop` → `shop`, `delete rule 4` → `rule 4`, `add node orbit` → `orbit`). */
export function labelTarget(label: string): string {
  const rule = /\brule (\d+)/.exec(label);
  if (rule) return `rule ${rule[1]}`;
  if (/\brule\b/.test(label)) return "rule";
  const node = /^(?:add|remove) node (\S+)/.exec(label);
  if (node) return node[1]!;
  const words = label
    .replace(/\bdry run\b/, "")
    .trim()
    .split(/\s+/);
  return words[1] ?? "";
}

/** A TUI action (its label as the footer shows it) to record: its target from the label, a dry run said so. */
export function tuiAction(label: string): TrackedCommand {
  return { where: "tui", command: label, target: labelTarget(label), ...(/\bdry run\b/.test(label) ? { dryRun: true } : {}) };
}
