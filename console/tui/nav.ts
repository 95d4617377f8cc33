// The TUI's navigation and key routing, shared by the app and its screens through one
// React context: a stack of screens, one key dispatcher (dialogs first, then the screen,
// then the global keys), a confirmation dialog, a prompt line and a status message.
import { createContext, useContext, useLayoutEffect, useRef } from "react";
import type { DOMElement, Key } from "ink";

export type Route =
  | { screen: "services" }
  | { screen: "service"; service: string }
  | { screen: "logs"; target: string }
  | { screen: "describe"; target: string }
  | { screen: "deploy"; service: string }
  | { screen: "history"; service: string }
  | { screen: "help" }
  | { screen: "registry" }
  | { screen: "repository"; repo: string }
  | { screen: "manifest"; repo: string; reference: string }
  | { screen: "gc" }
  | { screen: "check" }
  | { screen: "policies" }
  | { screen: "audit" }
  | { screen: "nodes" }
  | { screen: "events" }
  | { screen: "commands" };

/** A component to exec into (the TUI's e): the console leaves the screen to it until it ends. */
export interface ExecTarget {
  service: string;
  component?: string;
}

/** Returns true when it used the key. */
export type KeyHandler = (input: string, key: Key) => boolean;

export interface Nav {
  route: Route;
  push(route: Route): void;
  back(): void;
  quit(): void;
  /** Asks y/n; `action` runs on y. */
  confirm(message: string, action: () => void): void;
  /** Opens the prompt line (`/` filter or search, `:` jump); `onChange` sees every edit. */
  prompt(label: string, initial: string, onSubmit: (value: string) => void, onChange?: (value: string) => void): void;
  /** A one-line message in the footer (errors in red). */
  flash(message: string, bad?: boolean): void;
  /** Runs an action: "what…" with a spinner in the footer while it runs, then its result (or error). */
  run(what: string, work: () => Promise<unknown>): void;
  /** Hands the terminal to a shell in the component's container; the TUI comes back, redrawn, when it exits. */
  exec(target: ExecTarget): void;
  /** The actions `run` is running, oldest first. */
  busy: string[];
  width: number;
  /** Lines the current screen may use. */
  height: number;
  color: boolean;
  /** The current screen's key handler goes here (see useScreenKeys). */
  screenKeys: { current: KeyHandler | null };
  /** Counts the screen's renders (each installs its latest key handler): the key queue waits for the next one. */
  screenRenders: { current: number };
  /** The mouse: the selectable table's rows (its Box, laid out by Ink) and what a click on its n-th visible row does (see useSelection). */
  rows: { current: DOMElement | null };
  rowClick: { current: RowClick | null };
}

/** A click on the n-th row shown: false when there is no such row, "open" when it was the selected one already (Enter's work). */
export type RowClick = (row: number) => boolean | "open";

export const NavContext = createContext<Nav | null>(null);

export function useNav(): Nav {
  const nav = useContext(NavContext);
  if (!nav) throw new Error("useNav outside the TUI");
  return nav;
}

/** Registers the screen's key handler; the latest closure is always the one called. */
export function useScreenKeys(handler: KeyHandler): void {
  const nav = useNav();
  const latest = useRef(handler);
  latest.current = handler;
  // Layout effects run inside the commit that draws the screen, before any key can be read after
  // its frame (a passive effect runs later, and a key read in between went to the old screen).
  useLayoutEffect(() => {
    nav.screenRenders.current++;
  });
  useLayoutEffect(() => {
    const h: KeyHandler = (i, k) => latest.current(i, k);
    nav.screenKeys.current = h;
    return () => {
      if (nav.screenKeys.current === h) nav.screenKeys.current = null;
    };
  }, [nav.screenKeys]);
}

/** `:services`, `:logs hello`, `:service hello`, `:deploy hello`, `:describe hello/api`, `:history hello`, `:registry`, `:repo NAME`, `:gc`, `:check`, `:policies`, `:audit`, `:nodes`, `:events`, `:commands`, `:help`: the route, or null. */
export function parseJump(text: string): Route | "quit" | null {
  const [cmd, arg] = text.trim().replace(/^:/, "").split(/\s+/, 2);
  switch (cmd) {
    case "services":
    case "svc":
    case "ps":
      return { screen: "services" };
    case "service":
    case "status":
    case "detail":
      return arg ? { screen: "service", service: arg } : null;
    case "logs":
    case "log":
      return arg ? { screen: "logs", target: arg } : null;
    case "deploy":
      return arg ? { screen: "deploy", service: arg } : null;
    case "describe":
    case "inspect":
      return arg ? { screen: "describe", target: arg } : null;
    case "history":
    case "releases":
      return arg ? { screen: "history", service: arg } : null;
    case "help":
      return { screen: "help" };
    case "registry":
    case "repos":
      return { screen: "registry" };
    case "repo":
    case "tags":
      return arg ? { screen: "repository", repo: arg } : null;
    case "gc":
      return { screen: "gc" };
    case "check":
      return { screen: "check" };
    case "policies":
    case "policy":
      return { screen: "policies" };
    case "audit":
      return { screen: "audit" };
    case "nodes":
    case "node":
      return { screen: "nodes" };
    case "events":
    case "event":
    case "ev":
      return { screen: "events" };
    case "commands":
    case "cmds":
      return { screen: "commands" };
    case "q":
    case "quit":
      return "quit";
    default:
      return null;
  }
}

/** Up/down movement keys: arrows and vim. */
export function movement(input: string, key: Key, page: number): number | "top" | "bottom" | null {
  if (key.upArrow || input === "k") return -1;
  if (key.downArrow || input === "j") return 1;
  if (key.pageUp || (key.ctrl && input === "b")) return -page;
  if (key.pageDown || (key.ctrl && input === "f") || input === " ") return page;
  if (input === "g" || key.home) return "top";
  if (input === "G" || key.end) return "bottom";
  return null;
}
