// The TUI's colours: a theme maps each element (the header, the footer's keys, the selection,
// a table's header, the tones, the logs' components, the prompt, the spinner…) to a colour,
// an Ink colour name or #rrggbb; "" is the terminal's own (and, for the selection, inverse
// video). Two built in, dark (the default) and light; `[tui] theme` or $MCP_THEME picks one,
// and a theme file (`[tui] theme_file`, else $XDG_CONFIG_HOME/mcp/theme.toml) overrides any
// element, checked as strictly as mcp.toml. NO_COLOR wins over all of it: no colour at all.
// Components read the theme through ThemeContext and only render it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createContext, useContext } from "react";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { ConfigError } from "../../lib/config/load.ts";
import { configHome, type ConsoleConfig } from "../config.ts";

export interface Theme {
  /** The header's "mcp" and the screen's title. */
  header: string;
  footer_keys: string;
  /** The selected row's background; "" inverts it. */
  selection: string;
  table_header: string;
  ok: string;
  warn: string;
  bad: string;
  dim: string;
  /** A colour per component in a service's merged logs, in turn. */
  log_components: string[];
  log_stderr: string;
  prompt: string;
  spinner: string;
  confirm: string;
}

export const DARK: Theme = {
  header: "",
  footer_keys: "",
  selection: "",
  table_header: "",
  ok: "green",
  warn: "yellow",
  bad: "red",
  dim: "gray",
  log_components: ["cyan", "magenta", "yellow", "green", "blue", "redBright"],
  log_stderr: "red",
  prompt: "",
  spinner: "cyan",
  confirm: "yellow",
};

/** Dark text colours for a light background (yellow and cyan are unreadable there). */
export const LIGHT: Theme = {
  header: "blue",
  footer_keys: "#555555",
  selection: "",
  table_header: "blue",
  ok: "#006400",
  warn: "#8a5a00",
  bad: "#b00000",
  dim: "#6c6c6c",
  log_components: ["blue", "magenta", "#8a5a00", "#006400", "#005f87", "#b00000"],
  log_stderr: "#b00000",
  prompt: "blue",
  spinner: "blue",
  confirm: "#8a5a00",
};

/** NO_COLOR: no element has a colour. */
export const PLAIN: Theme = Object.fromEntries(Object.entries(DARK).map(([k, v]) => [k, Array.isArray(v) ? [""] : ""])) as unknown as Theme;

export const THEMES: Record<string, Theme> = { dark: DARK, light: LIGHT };

const NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white", "gray", "grey"];
/** Ink's colour names (chalk's: red, redBright, gray…) and #rrggbb. */
export const COLOR_NAMES = [...NAMES, ...NAMES.slice(0, 8).map((n) => `${n}Bright`)];
const colour = z.string().refine((c) => COLOR_NAMES.includes(c) || /^#[0-9a-fA-F]{6}$/.test(c), {
  message: `is not a colour: an Ink colour name (${COLOR_NAMES.join(", ")}) or #rrggbb`,
});

const themeFileSchema = z
  .object({
    header: colour,
    footer_keys: colour,
    selection: colour,
    table_header: colour,
    ok: colour,
    warn: colour,
    bad: colour,
    dim: colour,
    log_components: z.array(colour).min(1, "needs at least one colour"),
    log_stderr: colour,
    prompt: colour,
    spinner: colour,
    confirm: colour,
  })
  .partial()
  .strict();

/** A theme file's overrides, checked: an unknown element or a bad colour is an error naming the file and the key. */
export function readThemeFile(file: string): Partial<Theme> {
  let raw: unknown;
  try {
    raw = parseToml(readFileSync(file, "utf8"));
  } catch (err) {
    throw new ConfigError(`theme ${file}: ${(err as Error).message}`);
  }
  const parsed = themeFileSchema.safeParse(raw);
  if (parsed.success) return parsed.data as Partial<Theme>;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys")
    throw new ConfigError(`theme ${file}: unknown element ${issue.keys.join(", ")} (the elements: ${Object.keys(DARK).join(", ")})`);
  const value = issue.path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], raw);
  const key = issue.path.map(String).join(".");
  const what = issue.code === "invalid_type" ? `must be ${issue.expected}` : `${JSON.stringify(value)} ${issue.message}`;
  throw new ConfigError(`theme ${file}: ${key}: ${what}`);
}

/** The theme the TUI draws with: `[tui] theme` or $MCP_THEME (else dark), the theme file over it; PLAIN with NO_COLOR. */
export function loadTheme(tui: Pick<ConsoleConfig["tui"], "theme" | "theme_file">, env: NodeJS.ProcessEnv = process.env): Theme {
  const name = tui.theme || env.MCP_THEME || "dark";
  const base = THEMES[name];
  if (!base) throw new ConfigError(`theme ${JSON.stringify(name)} ($MCP_THEME): there are ${Object.keys(THEMES).join(" and ")}`);
  const fallback = join(configHome(env), "theme.toml");
  const file = tui.theme_file || (existsSync(fallback) ? fallback : "");
  // Read even under NO_COLOR: a wrong file is said, not hidden until colours are on again.
  const theme = file ? { ...base, ...readThemeFile(file) } : base;
  return env.NO_COLOR ? PLAIN : theme;
}

export const ThemeContext = createContext<Theme>(DARK);

export const useTheme = (): Theme => useContext(ThemeContext);

/** Ink's colour prop for `c`, or none ("" or no colour). */
export const paint = (c: string | undefined, on = true): { color?: string } => (on && c ? { color: c } : {});
