// The mouse in the TUI: SGR sequences taken out of the input (wheel, left click; releases and
// other buttons dropped; a sequence cut across two reads; keys around it), the wheel moving
// the services screen's selection and scrolling the logs, a click selecting a row and a
// second click opening it.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
// Ink's own chalk: the selected row is drawn inverse only at a colour level above 0.
import chalk from "chalk";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { MouseReader } from "../../console/tui/mouse.ts";
import { press, untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, runningContainer, LogFeed, removeFixtures } from "./tui-fixture.ts";

const level = chalk.level;
after(() => ((chalk.level = level), removeFixtures()));
afterEach(() => cleanup());
/** The selected row (inverse) starts with `service`: waited for before Enter, which opens what the screen last drew. */
const selected = (service: string) => new RegExp(`\\x1b\\[7m${service} +api`);

const WHEEL_UP = "\x1b[<64;10;5M";
const WHEEL_DOWN = "\x1b[<65;10;5M";
/** A left press at the 1-based cell, as the terminal sends it. */
const click = (x: number, y: number) => `\x1b[<0;${x};${y}M`;
const release = (x: number, y: number) => `\x1b[<0;${x};${y}m`;

describe("mouse sequences in the input", () => {
  test("wheel notches and a left press become events; the press's cell is 0-based", () => {
    const r = new MouseReader();
    assert.deepEqual(r.read(WHEEL_UP), [{ kind: "wheel", dir: -1 }]);
    assert.deepEqual(r.read(WHEEL_DOWN), [{ kind: "wheel", dir: 1 }]);
    assert.deepEqual(r.read(click(3, 7)), [{ kind: "click", x: 2, y: 6 }]);
  });

  test("Ink's form (the ESC taken off) is read the same", () => {
    assert.deepEqual(new MouseReader().read("[<65;1;1M"), [{ kind: "wheel", dir: 1 }]);
  });

  test("releases, the right button and motion are dropped, never text", () => {
    const r = new MouseReader();
    assert.deepEqual(r.read(release(3, 7)), []);
    assert.deepEqual(r.read("\x1b[<2;3;7M"), []);
    assert.deepEqual(r.read("\x1b[<32;3;7M"), []);
  });

  test("a sequence cut across two reads is one event; nothing of it is text", () => {
    const r = new MouseReader();
    assert.deepEqual(r.read("j\x1b[<0;1"), ["j"]);
    assert.deepEqual(r.read("2;4Mk"), [{ kind: "click", x: 11, y: 3 }, "k"]);
    assert.deepEqual(r.read("[<6"), []);
    assert.deepEqual(r.read("5;1;1M"), [{ kind: "wheel", dir: 1 }]);
  });

  test("keys around sequences stay keys, in order; a read without one is itself", () => {
    const r = new MouseReader();
    assert.deepEqual(r.read(`jj${WHEEL_DOWN}k${click(1, 1)}${release(1, 1)}:q`), ["jj", { kind: "wheel", dir: 1 }, "k", { kind: "click", x: 0, y: 0 }, ":q"]);
    assert.deepEqual(r.read("[registry"), ["[registry"]);
    assert.deepEqual(r.read("\x1b[A"), ["\x1b[A"]);
    assert.deepEqual(r.read(""), [""]);
  });
});

function servicesApp() {
  chalk.level = 1;
  const { store } = fixtureStore({ rift: { health, list: async () => ({ containers: ["s1", "s2", "s3", "s4", "s5"].map(runningContainer) }) } }, {});
  const ui = render(<App store={store} width={100} height={24} color={false} poll={false} />);
  return { ui, store };
}

/** The terminal line (1-based) a row starting with `text` is drawn on. */
const lineOf = (frame: string, text: RegExp) => frame.split("\n").findIndex((l) => text.test(l)) + 1;

describe("TUI mouse", () => {
  test("the wheel moves the services selection three rows a notch, stopping at the last", async () => {
    const { ui, store } = servicesApp();
    await store.getState().refreshContainers();
    await untilFrame(ui.lastFrame, /s5 +api/);
    await press(ui.stdin, WHEEL_DOWN);
    await untilFrame(ui.lastFrame, selected("s4"));
    await press(ui.stdin, "\r");
    await untilFrame(ui.lastFrame, /mcp\S* service s4/);
    await press(ui.stdin, "\x1b");
    await untilFrame(ui.lastFrame, /s5 +api/);
    // Back on a new services screen, from the first row: s4, then s5 (the last: not past it), then three up: s2.
    await press(ui.stdin, WHEEL_DOWN, WHEEL_DOWN);
    await untilFrame(ui.lastFrame, selected("s5"));
    await press(ui.stdin, WHEEL_UP);
    await untilFrame(ui.lastFrame, selected("s2"));
    await press(ui.stdin, "\r");
    await untilFrame(ui.lastFrame, /mcp\S* service s2/);
  });

  test("a click selects a row, a second click on it opens it; a prompt line never sees the sequences", async () => {
    const { ui, store } = servicesApp();
    await store.getState().refreshContainers();
    const frame = await untilFrame(ui.lastFrame, /s5 +api/);
    const y = lineOf(frame, /^s3 +api/);
    assert.ok(y > 1, frame);
    await press(ui.stdin, click(5, y), release(5, y));
    await untilFrame(ui.lastFrame, selected("s3"));
    await press(ui.stdin, "/");
    await untilFrame(ui.lastFrame, /^\/█$/m);
    await press(ui.stdin, WHEEL_DOWN, click(5, y), "x");
    await untilFrame(ui.lastFrame, /^\/x█$/m);
    await press(ui.stdin, "\x1b");
    await untilFrame(ui.lastFrame, /↑↓\/jk move/);
    // The selection is s3: one more click on it opens it, as Enter does.
    await press(ui.stdin, click(5, y));
    await untilFrame(ui.lastFrame, /mcp\S* service s3/);
  });

  test("a click below the rows or on the table's header does nothing", async () => {
    const { ui, store } = servicesApp();
    await store.getState().refreshContainers();
    const frame = await untilFrame(ui.lastFrame, /s5 +api/);
    const header = lineOf(frame, /SERVICE +COMPONENT/);
    assert.ok(header > 1, frame);
    await press(ui.stdin, click(5, header), click(5, header), click(5, 20), click(5, 20));
    await untilFrame(ui.lastFrame, selected("s1"));
    await press(ui.stdin, "\r");
    await untilFrame(ui.lastFrame, /mcp\S* service s1/);
  });

  test("the wheel scrolls the logs a page a notch, and back down", async () => {
    const feed = new LogFeed(60);
    const { store } = fixtureStore({ rift: { health, logs: (req, ctx) => feed.logs(req, ctx.signal) } });
    const ui = render(<App store={store} width={80} height={24} color={false} poll={false} initial={{ screen: "logs", target: "shop/api" }} />);
    await untilFrame(ui.lastFrame, /^api line 60$/m);
    await press(ui.stdin, WHEEL_UP);
    // A page is the 20 lines under the status line (24 - header, footer, Ink's free line, status).
    await untilFrame(ui.lastFrame, /scrolled, 20 lines below/);
    await press(ui.stdin, WHEEL_UP);
    await untilFrame(ui.lastFrame, /scrolled, 40 lines below/);
    await press(ui.stdin, WHEEL_DOWN);
    await untilFrame(ui.lastFrame, /scrolled, 20 lines below/);
  });
});
