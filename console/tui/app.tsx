// `mcp` with no arguments: the full-screen console (run.tsx puts it on the terminal). The
// root box is one line shorter than the terminal (a full-height frame makes Ink 6 redraw
// everything: flicker). One key dispatcher: the prompt line or the confirmation first, then
// the screen, then global keys; the mouse's wheel and clicks go to the screen (mouse.ts).
import { useEffect, useMemo, useRef, useState } from "react";
import { Box, useApp, useInput, type DOMElement, type Key } from "ink";
import { useStore } from "zustand";
import { Confirm } from "../components/confirm.tsx";
import { Footer } from "../components/footer.tsx";
import { Header } from "../components/header.tsx";
import { tuiAction } from "../store/commands.ts";
import type { ConsoleStore } from "../store/state.ts";
import { NavContext, parseJump, type ExecTarget, type KeyHandler, type Nav, type Route, type RowClick } from "./nav.ts";
import { editPrompt, NO_KEY, splitKeys, type PromptLine } from "./keys.ts";
import { mouseKeys, MouseReader, rowAt, type MouseEvent } from "./mouse.ts";
import { startPoller } from "./poller.ts";
import { DARK, PLAIN, ThemeContext, type Theme } from "./theme.ts";
import { KEYS, routeBody, routeTitle } from "./routes.tsx";

export interface AppProps {
  store: ConsoleStore;
  width: number;
  height: number;
  color: boolean;
  /** The colours (theme.ts; dark when absent); none at all without `color`. */
  theme?: Theme;
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

export function App({ store, width, height, color, theme = DARK, initial, poll = true, stack: opened, onStack, onExec, notice }: AppProps) {
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
  const [busy, setBusy] = useState<string[]>([]);
  const screenKeys = useRef<KeyHandler | null>(null);
  const screenRenders = useRef(0);
  const rows = useRef<DOMElement | null>(null);
  const rowClick = useRef<RowClick | null>(null);
  const nodes = useStore(store, (s) => s.nodes);
  const registry = useStore(store, (s) => s.mcr.health);
  const route = stack[stack.length - 1]!;

  useEffect(() => (poll ? startPoller(store) : undefined), [store, poll]);
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
        // Recorded in the command log with how it ended (store/commands.ts).
        void store
          .getState()
          .track(tuiAction(what), work)
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
      screenKeys,
      screenRenders,
      rows,
      rowClick,
    }),
    [route, width, bodyHeight, color, busy, onExec],
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
            text: `unknown screen ${JSON.stringify(v)}: try :services, :service NAME, :logs NAME, :deploy NAME, :describe NAME[/COMPONENT], :history NAME, :registry, :gc, :check, :policies, :audit, :nodes, :events, :commands, :help`,
            bad: true,
          });
      });
    }
  };
  // Keys go through in order. The prompt line and the confirmation read refs, so keys for them
  // go at once; after a key for a screen the next one waits for the render, so that it meets
  // the screen as that key left it (a selection moved, a screen opened).
  // A mouse event becomes the keys it stands for (mouse.ts), or none while a dialog is open.
  const queue = useRef<([string, Key] | MouseEvent)[]>([]);
  const draining = useRef(false);
  const mouse = useRef(new MouseReader());
  // The next key waits for the screen's next render, or 50 ms when the key changed nothing.
  const afterRender = (rendered: number, since = Date.now()) =>
    setTimeout(() => (screenRenders.current !== rendered || Date.now() - since > 50 ? drain() : afterRender(rendered, since)), 1);
  const drain = () => {
    draining.current = true;
    while (queue.current.length > 0) {
      const next = queue.current.shift()!;
      const dialog = promptRef.current !== null || confirmRef.current !== null;
      if (!Array.isArray(next)) {
        if (!dialog) queue.current.unshift(...mouseKeys(next, route.screen, rowAt(rows.current, next), rowClick.current));
        continue;
      }
      const rendered = screenRenders.current;
      dispatch(...next);
      if (!dialog && queue.current.length > 0) return void afterRender(rendered);
    }
    draining.current = false;
  };
  useInput((input, key) => {
    const pieces = mouse.current.read(input);
    const alone = pieces.length === 1 && pieces[0] === input;
    for (const p of pieces) queue.current.push(...(typeof p !== "string" ? [p] : splitKeys(p, alone ? key : NO_KEY)));
    if (!draining.current) drain();
  });

  const body = routeBody(route, store);
  const title = routeTitle(route);
  return (
    <NavContext.Provider value={nav}>
      <ThemeContext.Provider value={color ? theme : PLAIN}>
        <Box flexDirection="column" width={width} height={height - 1} overflow="hidden">
          <Header nodes={Object.values(nodes)} title={title} color={color} registry={registry} />
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
            color={color}
            width={width}
          />
        </Box>
      </ThemeContext.Provider>
    </NavContext.Provider>
  );
}
