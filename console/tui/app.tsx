// `mcp` with no arguments: the full-screen console. The terminal's alternate screen is
// entered by hand (Ink 6) and left on every exit path (q, Ctrl-C, a signal, a crash); the
// root box is one line shorter than the terminal (a full-height frame makes Ink 6 redraw
// everything: flicker); a resize re-renders, clearing the screen when it shrinks. One key
// dispatcher: the prompt line or the confirmation first, then the screen, then global keys.
// An exec (e) unmounts Ink and leaves the alternate screen for the remote shell; when it
// ends, the TUI is drawn again on the screens it had open.
import { useEffect, useMemo, useRef, useState } from "react";
import { Box, render, useApp, useInput, type Key } from "ink";
import { useStore } from "zustand";
import { Confirm } from "../components/confirm.tsx";
import { Footer } from "../components/footer.tsx";
import { Header } from "../components/header.tsx";
import { deployInProgress, deployLeftMessage } from "../store/deploy.ts";
import type { ConsoleStore } from "../store/state.ts";
import { NavContext, parseJump, type ExecTarget, type KeyHandler, type Nav, type Route } from "./nav.ts";
import { execOnTerminal } from "../tty/exec-terminal.ts";
import { editPrompt, splitKeys, type PromptLine } from "./keys.ts";
import { startPoller } from "./poller.ts";
import { KEYS, routeBody, routeTitle } from "./routes.tsx";

export interface AppProps {
  store: ConsoleStore;
  width: number;
  height: number;
  color: boolean;
  initial?: Route;
  /** Poll the agents (off in tests that drive the store themselves). */
  poll?: boolean;
  /** The screens open, oldest first (to come back to after an exec); `onStack` hears every change. */
  stack?: Route[];
  onStack?: (stack: Route[]) => void;
  /** Hands the terminal to an exec (runTui); the App exits right after calling it. Absent: e says it needs a terminal. */
  onExec?: (target: ExecTarget) => void;
  /** A footer message to start with (how the last exec ended). */
  notice?: { text: string; bad: boolean };
}

type PromptState = PromptLine & { label: string; submit: (v: string) => void; change?: (v: string) => void };
type ConfirmState = { message: string; action: () => void };

export function App({ store, width, height, color, initial, poll = true, stack: opened, onStack, onExec, notice }: AppProps) {
  const { exit } = useApp();
  const [stack, setStack] = useState<Route[]>(opened ?? [initial ?? { screen: "services" }]);
  useEffect(() => void onStack?.(stack), [stack]);
  // Dialog state lives in refs too: keys typed faster than React re-renders must reach the
  // dialog that was just opened, not the screen under it.
  const [prompt, setPromptState] = useState<PromptState | null>(null);
  const [confirm, setConfirmState] = useState<ConfirmState | null>(null);
  const promptRef = useRef<PromptState | null>(null);
  const confirmRef = useRef<ConfirmState | null>(null);
  const setPrompt = (p: PromptState | null) => ((promptRef.current = p), setPromptState(p));
  const setConfirm = (c: ConfirmState | null) => ((confirmRef.current = c), setConfirmState(c));
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(notice ?? null);
  const [tick, setTick] = useState(0);
  const [busy, setBusy] = useState<string[]>([]);
  const screenKeys = useRef<KeyHandler | null>(null);
  const nodes = useStore(store, (s) => s.nodes);
  const route = stack[stack.length - 1]!;

  useEffect(() => (poll ? startPoller(store) : undefined), [store, poll]);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 250);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    if (!message) return;
    const t = setTimeout(() => setMessage(null), 5000);
    return () => clearTimeout(t);
  }, [message]);

  const bodyHeight = Math.max(3, height - 3); // header, footer, and the line Ink 6 needs free
  const nav: Nav = useMemo(
    () => ({
      route,
      push: (r) => (setMessage(null), setStack((s) => [...s, r])),
      back: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
      quit: () => exit(),
      confirm: (m, action) => setConfirm({ message: m, action }),
      prompt: (label, initialValue, submit, change) =>
        setPrompt({ label, value: initialValue, cursor: Array.from(initialValue).length, submit, ...(change ? { change } : {}) }),
      flash: (text, bad = false) => setMessage({ text, bad }),
      run: (what, work) => {
        setBusy((b) => [...b, what]);
        void work()
          .then(
            () => setMessage({ text: `${what}: done`, bad: false }),
            (err: Error) => setMessage({ text: `${what}: ${err.message}`, bad: true }),
          )
          .finally(() => setBusy((b) => b.filter((_, i) => i !== b.indexOf(what))));
      },
      exec: (target) => {
        if (!onExec) return setMessage({ text: `exec needs the terminal: mcp exec ${target.service} ${target.component ?? ""}`.trimEnd(), bad: true });
        onExec(target);
        exit();
      },
      busy,
      width,
      height: bodyHeight,
      color,
      tick,
      screenKeys,
    }),
    [route, width, bodyHeight, color, tick, busy, onExec],
  );

  // One key at a time: a pasted or fast read (":registry\r", three backspaces) is split first.
  const dispatch = (input: string, key: Key) => {
    if (key.ctrl && input === "c") return exit();
    const prompt = promptRef.current;
    const confirm = confirmRef.current;
    if (prompt) {
      const edited = editPrompt(prompt, input, key);
      if (edited === "cancel") {
        prompt.change?.("");
        return setPrompt(null);
      }
      if (edited === "submit") {
        setPrompt(null);
        return prompt.submit(prompt.value);
      }
      if (edited.value !== prompt.value) prompt.change?.(edited.value);
      return setPrompt({ ...prompt, ...edited });
    }
    if (confirm) {
      setConfirm(null);
      if (input === "y" || input === "Y") confirm.action();
      return;
    }
    if (screenKeys.current?.(input, key)) return;
    if (input === "q") return exit();
    if (key.escape) return nav.back();
    if (input === "?") return nav.push({ screen: "help" });
    if (input === ":") {
      return nav.prompt(":", "", (v) => {
        const r = parseJump(v);
        if (r === "quit") return exit();
        // A deploy changes a node: asked first, as the d key does.
        if (r && r.screen === "deploy") nav.confirm(`Deploy ${r.service}?`, () => nav.push(r));
        else if (r) nav.push(r);
        else
          setMessage({
            text: `unknown screen ${JSON.stringify(v)}: try :services, :service NAME, :logs NAME, :deploy NAME, :describe NAME[/COMPONENT], :history NAME, :registry, :gc, :policies, :audit, :nodes, :events, :help`,
            bad: true,
          });
      });
    }
  };
  // Keys go through in order. The prompt line and the confirmation read refs, so keys for them
  // go at once; after a key for a screen the next one waits for the render, so that it meets
  // the screen as that key left it (a selection moved, a screen opened).
  const queue = useRef<[string, Key][]>([]);
  const draining = useRef(false);
  const drain = () => {
    draining.current = true;
    while (queue.current.length > 0) {
      const [input, key] = queue.current.shift()!;
      const dialog = promptRef.current !== null || confirmRef.current !== null;
      dispatch(input, key);
      if (!dialog && queue.current.length > 0) return void setTimeout(drain, 0);
    }
    draining.current = false;
  };
  useInput((input, key) => {
    queue.current.push(...splitKeys(input, key));
    if (!draining.current) drain();
  });

  const body = routeBody(route, store);
  const title = routeTitle(route);
  return (
    <NavContext.Provider value={nav}>
      <Box flexDirection="column" width={width} height={height - 1} overflow="hidden">
        <Header nodes={Object.values(nodes)} title={title} color={color} />
        <Box flexDirection="column" height={bodyHeight} overflow="hidden">
          {confirm ? <Confirm message={confirm.message} color={color} /> : null}
          {body}
        </Box>
        <Footer
          keys={KEYS[route.screen]}
          message={message?.text ?? ""}
          bad={message?.bad ?? false}
          prompt={prompt}
          busy={busy.at(-1) ?? null}
          tick={tick}
          color={color}
          width={width}
        />
      </Box>
    </NavContext.Provider>
  );
}

const ENTER_ALT = "\x1b[?1049h\x1b[H";
const LEAVE_ALT = "\x1b[?1049l";

/** Runs the TUI until the operator quits; resolves to the exit code. */
export async function runTui(
  store: ConsoleStore,
  opts: { color: boolean; stdout?: NodeJS.WriteStream; stdin?: NodeJS.ReadStream; stderr?: NodeJS.WritableStream },
): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  const stderr = opts.stderr ?? process.stderr;
  let alternate = false;
  const enter = () => {
    if (!alternate) stdout.write(ENTER_ALT);
    alternate = true;
  };
  const leave = () => {
    if (alternate) stdout.write(LEAVE_ALT);
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
  try {
    for (;;) {
      enter();
      current = size();
      app = render(element(current), { stdout, stdin, patchConsole: false, exitOnCtrlC: false });
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
    const code = await execOnTerminal(store.getState().exec, { ...target, command: [] }, term, signal);
    return { text: `${what}: the shell exited${code ? ` with ${code}` : ""}`, bad: code !== 0 };
  } catch (err) {
    return { text: `${what}: ${(err as Error).message}`, bad: true };
  }
}
