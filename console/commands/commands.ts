// `mcp commands [--limit N]`: the command log, newest first: what this console (the commands
// that change things, and the TUI's actions) did on this machine and how it ended. Also the
// one place that decides which commands are recorded and how (`recorded`, `recordRun`, used
// by main.ts around every command), so that no command records itself.
import { CommandLog, type CommandRecord } from "../clients/command-log.ts";
import { stateHome } from "../config.ts";
import { ConsoleError, toConsoleError } from "../output/errors.ts";
import { cell, plainScreen } from "../output/screen.ts";
import { outcomeOf } from "../store/commands.ts";
import { commandsSection, skippedNote } from "../views/commands.ts";
import { intOption, type CommandSpec, type Context } from "./command.ts";

/** What a run of `name` is recorded as (its target, a dry run), or null when the command changes nothing. */
export function recorded(name: string, args: string[], opts: Record<string, unknown>): { target: string; dryRun?: boolean } | null {
  const [first = "", second = ""] = args;
  switch (name) {
    case "deploy":
    case "rollback":
    case "stop":
    case "start":
    case "restart":
    case "remove":
    case "build":
      return { target: first };
    case "exec":
      // The service and, when it came before the command, the component; the command line is in `command`.
      return { target: second && !(opts["--"] as string[] | undefined)?.includes(second) ? `${first}/${second}` : first };
    case "sync":
      return { target: "every node" };
    case "prune":
      return { target: (opts.node as string | undefined) ?? "every node", ...(opts.dryRun === true ? { dryRun: true } : {}) };
    case "gc":
      return { target: "registry", ...(opts.dryRun === true ? { dryRun: true } : {}) };
    case "snapshot":
      return { target: "registry" };
    case "login":
    case "logout":
      return { target: "identity" };
    case "registry":
      return first === "delete" ? { target: second } : null;
    case "node":
      return first === "add" || first === "remove" ? { target: second } : null;
    case "policy":
      return ["create", "update", "delete", "enable", "disable"].includes(first) ? { target: second ? `rule ${second}` : "rule" } : null;
    default:
      return null;
  }
}

/** `mcp` and the arguments as typed, the value of an option named like a password, token or secret masked. */
export function commandLine(argv: string[], spec: CommandSpec): string {
  const secretValue = (flag: string) =>
    /pass|token|secret|key/i.test(flag) && spec.options.some((o) => o.flags.split(/[ ,]+/).includes(flag) && o.flags.includes("<"));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = /^(--[^=]+)=/.exec(a);
    if (eq && /pass|token|secret|key/i.test(eq[1]!)) out.push(`${eq[1]}=***`);
    else if (secretValue(a) && i + 1 < argv.length) out.push(a, "***"), i++;
    else out.push(a);
  }
  return ["mcp", ...out.map((a) => (a === "" || /[\s"'\\$`]/.test(a) ? JSON.stringify(a) : a))].join(" ");
}

/** The log of this console's state folder. */
export function commandLog(env: NodeJS.ProcessEnv): CommandLog {
  return new CommandLog(stateHome(env));
}

let pending: (() => void) | null = null;

/** Records the command running now as interrupted (main.ts, on a second Ctrl-C, just before it exits). */
export function recordPendingAsInterrupted(): void {
  pending?.();
}

/** Runs the command; when it changes things, appends how it ended to the command log (a log that cannot be written changes nothing). */
export async function recordRun(ctx: Context, spec: CommandSpec, argv: string[], args: string[], opts: Record<string, unknown>): Promise<number> {
  const what = recorded(spec.name, args, opts);
  if (!what) return spec.run(ctx, args, opts);
  const started = Date.now();
  let done = false;
  const write = (outcome: CommandRecord["outcome"], error: string) => {
    if (done) return;
    done = true;
    try {
      commandLog(ctx.env).append({
        time: new Date(started).toISOString(),
        where: "cli",
        command: commandLine(argv, spec),
        target: what.target,
        outcome,
        error,
        durationMs: Date.now() - started,
        ...(what.dryRun ? { dryRun: true } : {}),
      });
    } catch {
      // the log is a record of what happened, never a reason for it to fail
    }
  };
  pending = () => write("interrupted", "interrupted");
  try {
    const code = await spec.run(ctx, args, opts);
    if (ctx.signal.aborted) write("interrupted", (ctx.signal.reason as Error)?.message ?? "interrupted");
    else write(code === 0 ? "ok" : "failed", code === 0 ? "" : `exit code ${code}`);
    return code;
  } catch (err) {
    const o = ctx.signal.aborted ? { outcome: "interrupted" as const, error: toConsoleError(err).message } : outcomeOf(toConsoleError(err));
    write(o.outcome, o.error);
    throw err;
  } finally {
    pending = null;
  }
}

const command: CommandSpec = {
  name: "commands",
  args: "",
  summary: "what this console did (deploys, stops, deletes, GC, TUI actions…) and how it ended, newest first",
  options: [{ flags: "-n, --limit <n>", description: "the newest N records (default 50; 0: all)", default: 50, parse: intOption("--limit") }],
  async run(ctx, _args, opts) {
    const log = commandLog(ctx.env);
    let read: ReturnType<CommandLog["read"]>;
    try {
      read = log.read();
    } catch (err) {
      throw new ConsoleError("failed", `${log.file}: ${(err as Error).message}`);
    }
    const limit = Number(opts.limit ?? 50);
    const newest = read.records.slice().reverse();
    const records = limit > 0 ? newest.slice(0, limit) : newest;
    if (ctx.mode === "json") ctx.out.document({ file: log.file, skipped: read.skipped, commands: records });
    else {
      const note = skippedNote(read.skipped, log.file);
      ctx.out.text(plainScreen({ sections: [commandsSection(records, `nothing recorded yet in ${log.file}`)], notes: note ? [cell(note)] : [] }));
    }
    return 0;
  },
};

export default command;
