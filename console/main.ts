#!/usr/bin/env node
// mcp: the operator console. Parses argv once and picks the mode once: `--json` (one JSON
// document, or NDJSON for streams), plain text when stdout is not a terminal, Ink on a
// terminal. Each command is one file under commands/; this file only wires them up.
import { Command, CommanderError, Option } from "commander";
import { installLightHeaders } from "./clients/light-headers.ts";
import { version } from "../lib/version.ts";
import { Context, type CommandSpec } from "./commands/command.ts";
import { recordPendingAsInterrupted, recordRun } from "./commands/commands.ts";
import { COMMANDS } from "./commands/index.ts";
import { ConsoleError, EXIT_CODES, toConsoleError } from "./output/errors.ts";
import { Output, pickMode } from "./output/output.ts";

// Before any RPC: keeps Node from loading undici for its Headers (clients/light-headers.ts).
installLightHeaders();
const argv = process.argv.slice(2);
// Arguments after a literal `--` are a command's own (`mcp exec svc -- tool --json`), never the console's.
const literal = argv.indexOf("--");
const json = (literal >= 0 ? argv.slice(0, literal) : argv).includes("--json");
const mode = pickMode(json, process.stdout);
const out = new Output(mode, process.stdout, process.stderr, mode === "tty" && !process.env.NO_COLOR);
const aborter = new AbortController();
let ctx: Context | undefined;

async function finish(code: number): Promise<never> {
  ctx?.close();
  await out.flush();
  process.exit(code);
}

function onSignal(signal: NodeJS.Signals) {
  if (aborter.signal.aborted) {
    recordPendingAsInterrupted(); // the command running is recorded as interrupted
    process.exit(130);
  }
  aborter.abort(new ConsoleError("failed", `interrupted (${signal})`));
}
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

const program = new Command("mcp")
  .description("Metacircular operator console (see docs/console.md)")
  .version(version)
  .option("--config <file>", "console config (default $XDG_CONFIG_HOME/mcp/mcp.toml)")
  .option("--no-mouse", "the TUI leaves the mouse to the terminal (its text selection)")
  .exitOverride()
  .configureOutput({ writeErr: (s) => (json ? undefined : process.stderr.write(s)), outputError: (s, write) => write(s) });

function register(spec: CommandSpec): void {
  const cmd = program
    .command(`${spec.name}${spec.args ? ` ${spec.args}` : ""}`)
    .description(spec.summary)
    .exitOverride();
  for (const o of spec.options) {
    const opt = new Option(o.flags, o.description);
    if (o.default !== undefined) opt.default(o.default);
    if (o.parse) opt.argParser((v: string) => o.parse!(v));
    cmd.addOption(opt);
  }
  cmd.option("--json", "JSON output: one document, or NDJSON for streams", false);
  cmd.action(async (...params: unknown[]) => {
    const opts = (params[params.length - 2] ?? {}) as Record<string, unknown>;
    // commander drops the `--` itself: what followed it is passed on as opts["--"].
    if (literal >= 0) opts["--"] = argv.slice(literal + 1);
    const args = params
      .slice(0, -2)
      .flat()
      .filter((a): a is string => typeof a === "string");
    ctx = new Context({ configPath: program.opts().config as string | undefined, out, env: process.env, signal: aborter.signal });
    // A command that changes things is recorded in the command log with how it ended (commands/commands.ts).
    const code = await recordRun(ctx, spec, argv, args, opts);
    await finish(code);
  });
}

/** The command argv names: its first word that is no console option (`--config F` skipped). */
function commandWord(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--config") i++;
    else if (!args[i]!.startsWith("-")) return args[i];
  }
  return undefined;
}

// Only the command asked for is set up: commander's set-up of every command's options costs a
// few ms of each start. Help, and a word that is no command, get them all.
const asked = COMMANDS.find((c) => c.name === commandWord(literal >= 0 ? argv.slice(0, literal) : argv));
const helpAsked = argv.some((a) => a === "--help" || a === "-h");
for (const spec of asked && !helpAsked ? [asked] : COMMANDS) register(spec);

async function main(): Promise<void> {
  try {
    const tuiArgv = argv.filter((a) => a !== "--no-mouse");
    if (tuiArgv.length === 0 || (tuiArgv.length === 2 && tuiArgv[0] === "--config")) {
      // No command: the full-screen TUI on a terminal, the help otherwise.
      if (mode !== "tty") return (program.outputHelp(), finish(0));
      ctx = new Context({ configPath: tuiArgv[1], out, env: process.env, signal: aborter.signal });
      const store = ctx.store();
      const { openTui } = await import("./tty/tui.ts");
      return finish(await openTui(store, { color: out.color, tui: ctx.config().tui, noMouse: argv.includes("--no-mouse") }));
    }
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return finish(0);
      // One rule for every error (docs/console.md, "Errors"): with --json the document on
      // stdout and the line on stderr; without, commander has written the line to stderr.
      const e = new ConsoleError("usage", err.message.replace(/^error: /, ""));
      if (json) out.error(e);
      return finish(EXIT_CODES.usage);
    }
    const e = toConsoleError(err);
    out.error(e);
    return finish(e.exitCode);
  }
}

void main();
