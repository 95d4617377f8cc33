// An exec on this terminal (`mcp exec` on a terminal, the TUI's e): the terminal in raw mode
// so that every key (Ctrl-C, Ctrl-D, arrows) reaches the remote process, its window size at
// the start and at every change, and the terminal as it was afterwards, however the exec
// ends: exit, error, a signal, or the process leaving.
import { Channel } from "../../lib/sync/channel.ts";
import type { ExecCall, ExecInput, ExecActions } from "../store/state.ts";

export interface ExecTerminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

/** Runs `call` (its command, or the shell) as a TTY exec on `term`; resolves to the remote exit code. */
export async function execOnTerminal(
  exec: ExecActions["exec"],
  call: Omit<ExecCall, "tty" | "stdin" | "rows" | "cols">,
  term: ExecTerminal = { stdin: process.stdin, stdout: process.stdout },
  signal?: AbortSignal,
): Promise<number> {
  const { stdin, stdout } = term;
  const input = new Channel<ExecInput>();
  const size = () => ({ rows: stdout.rows || 24, cols: stdout.columns || 80 });
  const wasRaw = stdin.isRaw === true;
  // Read as Ink reads ('readable', then read()): the stream is never switched to flowing mode,
  // so that Ink, drawn again afterwards, still gets its keys.
  const onReadable = () => {
    for (let d = stdin.read() as Buffer | string | null; d !== null; d = stdin.read() as Buffer | string | null)
      input.push({ stdin: typeof d === "string" ? Buffer.from(d) : d });
  };
  const onEnd = () => input.push({ eof: true });
  const onResize = () => input.push({ resize: size() });
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdin.off("readable", onReadable);
    stdin.off("end", onEnd);
    stdout.off("resize", onResize);
    try {
      stdin.setRawMode?.(wasRaw);
    } catch {
      /* the terminal is gone */
    }
    input.close();
  };
  // A process that exits while the exec runs (a second Ctrl-C of the console's own, a crash) leaves a usable terminal.
  process.once("exit", restore);
  try {
    stdin.setRawMode?.(true);
    stdin.on("readable", onReadable);
    stdin.on("end", onEnd);
    stdout.on("resize", onResize);
    return await exec(
      { ...call, tty: true, stdin: true, ...size() },
      { input, output: (_stream, data) => void stdout.write(data), ...(signal ? { signal } : {}) },
    );
  } finally {
    restore();
    process.off("exit", restore);
  }
}
