// The terminal around the TUI: the alternate screen entered by hand (Ink 6) and left on every
// exit path (q, Ctrl-C, a signal, a crash), with the mouse reporting that goes with it; a
// resize re-renders, clearing the screen when it shrinks. An exec (e) unmounts Ink and leaves
// the alternate screen (and the mouse) for the remote shell; when it ends, the TUI is drawn
// again on the screens it had open.
import { render } from "ink";
import { deployInProgress, deployLeftMessage } from "../store/deploy.ts";
import type { ConsoleStore } from "../store/state.ts";
import { execOnTerminal } from "../tty/exec-terminal.ts";
import { tuiAction } from "../store/commands.ts";
import { App } from "./app.tsx";
import { MOUSE_OFF, MOUSE_ON } from "./mouse.ts";
import type { ExecTarget, Route } from "./nav.ts";
import type { Theme } from "./theme.ts";

const ENTER_ALT = "\x1b[?1049h\x1b[H";
const LEAVE_ALT = "\x1b[?1049l";

/** Runs the TUI until the operator quits; resolves to the exit code. */
export async function runTui(
  store: ConsoleStore,
  opts: {
    color: boolean;
    /** SGR mouse reporting while the TUI has the screen (off: the terminal's own text selection). */
    mouse?: boolean;
    /** The colours (theme.ts): dark when absent. */
    theme?: Theme;
    stdout?: NodeJS.WriteStream;
    stdin?: NodeJS.ReadStream;
    stderr?: NodeJS.WritableStream;
  },
): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  const stderr = opts.stderr ?? process.stderr;
  let alternate = false;
  // The mouse goes with the alternate screen: on with it, off whenever it is left.
  const enter = () => {
    if (!alternate) stdout.write(ENTER_ALT + (opts.mouse ? MOUSE_ON : ""));
    alternate = true;
  };
  const leave = () => {
    if (alternate) stdout.write((opts.mouse ? MOUSE_OFF : "") + LEAVE_ALT);
    alternate = false;
  };
  const onCrash = (err: unknown) => {
    leave();
    process.stderr.write(`mcp: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  };
  process.on("exit", leave);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  // What survives an exec: the screens open, and how the exec ended (the footer's first message).
  let stack: Route[] | undefined;
  let notice: { text: string; bad: boolean } | undefined;
  let execTarget: ExecTarget | null = null;
  let quitting = false;
  const execAbort = new AbortController();
  const size = () => ({ width: Math.max(40, stdout.columns ?? 80), height: Math.max(10, stdout.rows ?? 24) });
  const element = (s: { width: number; height: number }) => (
    <App
      store={store}
      width={s.width}
      height={s.height}
      color={opts.color}
      {...(opts.theme ? { theme: opts.theme } : {})}
      {...(stack ? { stack } : {})}
      onStack={(opened) => (stack = opened)}
      onExec={(target) => (execTarget = target)}
      {...(notice ? { notice } : {})}
    />
  );
  let current = size();
  let app: ReturnType<typeof render> | null = null;
  const onResize = () => {
    if (!app) return; // an exec has the terminal: it forwards the size itself
    const next = size();
    if (next.width < current.width || next.height < current.height) stdout.write("\x1b[2J\x1b[H");
    current = next;
    app.rerender(element(next));
  };
  stdout.on("resize", onResize);
  const onSignal = () => {
    quitting = true;
    execAbort.abort(new Error("interrupted"));
    app?.unmount();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // The poller asks every node as soon as the screen is up: shown as being checked from the
  // first frame, not redrawn to say so a moment later.
  store.getState().markChecking();
  try {
    for (;;) {
      enter();
      current = size();
      // Up to 60 frames a second (Ink's default is 30): a key's frame waits at most ~17 ms for
      // the last one, which is what it waits while logs stream in and redraw the screen.
      app = render(element(current), { stdout, stdin, patchConsole: false, exitOnCtrlC: false, maxFps: 60 });
      await app.waitUntilExit();
      app = null;
      const target: ExecTarget | null = execTarget;
      execTarget = null;
      if (quitting || !target) break;
      leave();
      notice = await execFromTui(store, target, { stdin, stdout }, execAbort.signal);
      if (quitting) break;
    }
  } finally {
    stdout.off("resize", onResize);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
    leave();
    if (stdin.isTTY) stdin.setRawMode?.(false); // left during an exec, Ink is not there to do it
  }
  // A deploy still running when the console is left goes on (or stops, while building) without it: said once, on the normal screen.
  const d = store.getState().deployment;
  if (deployInProgress(d)) stderr.write(`mcp: ${deployLeftMessage(d)}\n`);
  return 0;
}

/** The TUI's e, on the normal screen: the shell of `target`, then a line for the footer on how it ended. */
async function execFromTui(
  store: ConsoleStore,
  target: ExecTarget,
  term: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream },
  signal: AbortSignal,
): Promise<{ text: string; bad: boolean }> {
  const what = `exec ${target.service}${target.component ? `/${target.component}` : ""}`;
  // Raw at once, as Ink left it a moment ago: a key typed meanwhile is the shell's, never a signal to the console.
  term.stdin.setRawMode?.(true);
  term.stdout.write(`mcp: ${what}: a shell in its container; exit it to come back to the console\r\n`);
  try {
    // Recorded in the command log (store/commands.ts): a shell that exits non-zero is a failure.
    const code = await store.getState().track(
      tuiAction(what),
      () => execOnTerminal(store.getState().exec, { ...target, command: [] }, term, signal),
      (c) => (c ? `exit code ${c}` : null),
    );
    return { text: `${what}: the shell exited${code ? ` with ${code}` : ""}`, bad: code !== 0 };
  } catch (err) {
    return { text: `${what}: ${(err as Error).message}`, bad: true };
  }
}
