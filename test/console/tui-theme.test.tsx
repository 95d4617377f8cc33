// TUI themes: the built-in dark and light, picked by [tui] theme or $MCP_THEME; a theme file
// overriding elements, refused with the file, the key and what is wrong; NO_COLOR over all of
// it; and a themed element's colour in a rendered frame.
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
// Ink's own chalk: frames carry colours only at a colour level above 0 (not a terminal here).
import chalk from "chalk";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { DARK, LIGHT, loadTheme, PLAIN } from "../../console/tui/theme.ts";
import { untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const none = { theme: "" as const, theme_file: "" };
const dir = mkdtempSync(join(tmpdir(), "mcp-theme-"));
const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));

describe("theme loading", () => {
  test("dark by default; light by [tui] theme or $MCP_THEME, the config's first", () => {
    assert.deepEqual(loadTheme(none, {}), DARK);
    assert.deepEqual(loadTheme({ ...none, theme: "light" }, {}), LIGHT);
    assert.deepEqual(loadTheme(none, { MCP_THEME: "light" }), LIGHT);
    assert.deepEqual(loadTheme({ ...none, theme: "dark" }, { MCP_THEME: "light" }), DARK);
    assert.throws(() => loadTheme(none, { MCP_THEME: "solarized" }), /theme "solarized" \(\$MCP_THEME\): there are dark and light/);
  });

  test("a theme file overrides two elements, over the theme chosen; $XDG_CONFIG_HOME/mcp/theme.toml when no file is named", () => {
    const f = file("two.toml", 'header = "#ff8700"\nok = "magenta"\n');
    assert.deepEqual(loadTheme({ theme: "light", theme_file: f }, {}), { ...LIGHT, header: "#ff8700", ok: "magenta" });
    const xdg = join(dir, "xdg");
    mkdirSync(join(xdg, "mcp"), { recursive: true });
    writeFileSync(join(xdg, "mcp", "theme.toml"), 'log_components = ["blue", "#00aa00"]\n');
    assert.deepEqual(loadTheme(none, { XDG_CONFIG_HOME: xdg }).log_components, ["blue", "#00aa00"]);
  });

  test("an unknown element and a bad colour are refused, naming the file, the key and what is wrong", () => {
    const unknown = file("unknown.toml", 'hedaer = "blue"\n');
    assert.throws(
      () => loadTheme({ ...none, theme_file: unknown }, {}),
      (e: Error) => {
        assert.match(e.message, new RegExp(`^theme ${unknown}: unknown element hedaer \\(the elements: header, footer_keys`));
        return true;
      },
    );
    const bad = file("bad.toml", 'ok = "purple"\n');
    assert.throws(
      () => loadTheme({ ...none, theme_file: bad }, {}),
      new RegExp(`theme ${bad}: ok: "purple" is not a colour: an Ink colour name \\(black, red`),
    );
    const hex = file("hex.toml", 'log_components = ["#12345"]\n');
    assert.throws(() => loadTheme({ ...none, theme_file: hex }, {}), new RegExp(`theme ${hex}: log_components.0: "#12345" is not a colour`));
    const type = file("type.toml", "spinner = 3\n");
    assert.throws(() => loadTheme({ ...none, theme_file: type }, {}), new RegExp(`theme ${type}: spinner: must be string`));
  });

  test("NO_COLOR (any value) wins: no element has a colour, whatever the theme and the file; a wrong file is still said", () => {
    const f = file("nc.toml", 'header = "blue"\n');
    const plain = loadTheme({ theme: "light", theme_file: f }, { NO_COLOR: "1" });
    assert.deepEqual(plain, PLAIN);
    assert.ok(Object.values(plain).every((v) => v === "" || (Array.isArray(v) && v.every((c) => c === ""))));
    assert.throws(() => loadTheme({ ...none, theme_file: file("nc-bad.toml", 'x = "red"\n') }, { NO_COLOR: "1" }), /unknown element x/);
  });
});

describe("a themed render", () => {
  test("the header's colour is the theme's (#ff8700), and none at all without colour", async () => {
    const level = chalk.level;
    chalk.level = 3;
    try {
      const { store } = fixtureStore({ rift: { health } }, {});
      const theme = { ...DARK, header: "#ff8700", ok: "#00aa00" };
      const ui = render(<App store={store} width={100} height={24} color={true} theme={theme} poll={false} />);
      await untilFrame(ui.lastFrame, /mcp/);
      assert.match(ui.lastFrame()!, /\x1b\[38;2;255;135;0m/, JSON.stringify(ui.lastFrame()!.slice(0, 200)));
      const plain = render(<App store={store} width={100} height={24} color={false} theme={theme} poll={false} />);
      await untilFrame(plain.lastFrame, /asking the agents/);
      assert.doesNotMatch(plain.lastFrame()!, /\x1b\[38;2;255;135;0m/);
    } finally {
      chalk.level = level;
    }
  });
});
