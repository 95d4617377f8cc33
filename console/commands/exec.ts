// `mcp exec <service> [component] [-- command…]`: a command, or the image's shell, in the
// running container of a service's component (the component may be left out when the service
// has one), on the node the service lives on. On a terminal (stdin and stdout, no --json) it
// is interactive: raw mode, a TTY on the remote side, window resizes forwarded, the terminal
// restored however it ends. Otherwise the command runs without a TTY, stdin is forwarded
// when it is a pipe or a file, its stdout and stderr are written as they come (--json: one
// document {exitCode, stdout, stderr} at the end). Exits with the command's exit code.
import { Channel } from "../../lib/sync/channel.ts";
import { ConsoleError } from "../output/errors.ts";
import type { ExecCall, ExecInput } from "../store/state.ts";
import { execOnTerminal } from "../tty/exec-terminal.ts";
import type { CommandSpec, Context } from "./command.ts";

/** Service, component and command from the arguments; what follows `--` is the command (main.ts passes it as opts["--"]). */
export function execTarget(args: string[], literal: string[] | undefined): Omit<ExecCall, "tty" | "stdin"> {
  const positional = literal ? args.slice(0, args.length - literal.length) : args.slice(0, 2);
  if (positional.length > 2) throw new ConsoleError("usage", `exec takes a service and a component before --, not ${positional.length} arguments`);
  const [service, component] = positional;
  if (!service) throw new ConsoleError("usage", "exec needs a service");
  return { service, ...(component ? { component } : {}), command: literal ?? args.slice(2) };
}

/** Without a terminal: the command's output as it comes (or collected for --json), stdin forwarded unless it is a terminal. */
async function runPlain(ctx: Context, call: Omit<ExecCall, "tty" | "stdin">): Promise<number> {
  const stdin = ctx.stdin;
  const forward = !stdin.isTTY;
  const input = new Channel<ExecInput>();
  const onData = (d: Buffer | string) => input.push({ stdin: typeof d === "string" ? Buffer.from(d) : d });
  const onEnd = () => input.push({ eof: true });
  if (forward) {
    stdin.on("data", onData);
    stdin.once("end", onEnd);
  }
  const collected = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const output = (stream: "stdout" | "stderr", data: Uint8Array) => {
    if (ctx.mode === "json") collected[stream].push(Buffer.from(data));
    else (stream === "stderr" ? ctx.out.stderr : ctx.out.stdout).write(data);
  };
  let code: number;
  try {
    code = await ctx
      .store()
      .getState()
      .exec({ ...call, tty: false, stdin: forward }, { input, output, signal: ctx.signal });
  } finally {
    input.close();
    if (forward) {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
    }
  }
  if (ctx.mode === "json")
    ctx.out.document({ exitCode: code, stdout: Buffer.concat(collected.stdout).toString("utf8"), stderr: Buffer.concat(collected.stderr).toString("utf8") });
  return code;
}

const command: CommandSpec = {
  name: "exec",
  args: "<service> [component] [command...]",
  summary: "a command (after --), or a shell, in a service's running container; exits with its code",
  options: [],
  async run(ctx, args, opts) {
    const call = execTarget(args, opts["--"] as string[] | undefined);
    if (ctx.mode === "tty" && ctx.stdin.isTTY) {
      const stdout = ctx.out.stdout as NodeJS.WriteStream;
      return execOnTerminal(ctx.store().getState().exec, call, { stdin: ctx.stdin, stdout }, ctx.signal);
    }
    return runPlain(ctx, call);
  },
};

export default command;
