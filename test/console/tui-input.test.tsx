import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, runningContainer, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const LEFT = "\x1b[D";
const HOME = "\x1b[H";
const END = "\x1b[F";
const settle = () => new Promise((r) => setTimeout(r, 40));

function app() {
  const { store } = fixtureStore({ rift: { health, list: async () => ({ containers: ["s1", "s2", "s3", "s4", "s5"].map(runningContainer) }) } }, {});
  const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
  /** Writes each string as one read of the terminal. */
  const type = async (...reads: string[]) => {
    for (const r of reads) ui.stdin.write(r), await settle();
  };
  return { ui, store, type };
}

describe("TUI input: pasted and fast keys, the prompt line", () => {
  test('a pasted ":registry\\r" arrives in one read and jumps at once', async () => {
    const { ui, type } = app();
    await type(":registry\r");
    await untilFrame(ui.lastFrame, /^mcp registry/);
  });

  test("several backspaces in one read each delete a character", async () => {
    const { ui, type } = app();
    await type("/", "abcd", "\x7f\x7f\x7f");
    await untilFrame(ui.lastFrame, /^\/a█$/m);
    await type("\b\b");
    await untilFrame(ui.lastFrame, /^\/█$/m);
  });

  test("Ctrl-W deletes the word before the cursor, Ctrl-U the line; left, right, Home and End move the cursor", async () => {
    const { ui, type } = app();
    await type("/", "foo bar", "\x17");
    await untilFrame(ui.lastFrame, /^\/foo █$/m);
    await type("\x15");
    await untilFrame(ui.lastFrame, /^\/█$/m);
    await type("ac", LEFT, "b", HOME, "x", END, "y");
    await untilFrame(ui.lastFrame, /^\/xabcy█$/m);
    await type("\r");
    await untilFrame(ui.lastFrame, /filter: xabcy/);
  });

  test("fast movement keys in one read each move the selection", async () => {
    const { ui, store, type } = app();
    await store.getState().refreshContainers();
    await untilFrame(ui.lastFrame, /s5 +api/);
    await type("jjj\r");
    await untilFrame(ui.lastFrame, /^mcp service s4/);
  });
});
