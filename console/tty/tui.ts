// Opens the full-screen console on this terminal: `mcp` with no command (main.ts) and the
// end of `mcp up` (commands/up.ts) both go through here, so commands never import the TUI.
// Ink, React and the screens are loaded only now, only on a terminal.
import type { ConsoleConfig } from "../config.ts";
import type { ConsoleStore } from "../store/state.ts";
import { claimTerminal } from "./terminal.ts";

/** Runs the TUI on `store` until the operator quits; resolves to the exit code. */
export async function openTui(
  store: ConsoleStore,
  opts: { color: boolean; tui: ConsoleConfig["tui"]; noMouse?: boolean; env?: NodeJS.ProcessEnv },
): Promise<number> {
  // The theme first: a wrong theme file is an error on the normal screen, before the TUI takes it.
  const { loadTheme } = await import("../tui/theme.ts");
  const theme = loadTheme(opts.tui, opts.env);
  claimTerminal();
  const { runTui } = await import("../tui/run.tsx");
  // --no-mouse, or [tui] mouse = false: the terminal keeps the mouse for its text selection.
  return runTui(store, { color: opts.color, mouse: opts.tui.mouse && !opts.noMouse, theme });
}
