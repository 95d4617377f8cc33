// The logs screen while lines keep arriving: a view scrolled back (k, g, PgUp) stays put, and
// n/N say which match they are on, scrolling only to a match that is not on the screen.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, LogFeed, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

const PAGE_UP = "\x1b[5~";

/** The first log line under the status line. */
const topLine = (frame: string) => frame.split("\n")[2] ?? "";

function logsApp(first = 40) {
  const feed = new LogFeed(first);
  const { store } = fixtureStore({ rift: { health, logs: (req, ctx) => feed.logs(req, ctx.signal) } });
  const ui = render(<App store={store} width={80} height={24} color={false} poll={false} initial={{ screen: "logs", target: "shop/api" }} />);
  return { ui, feed };
}

describe("TUI logs: scrolled views and search", () => {
  test("a view scrolled back with k, g or PgUp stays put while lines arrive; G follows again", async () => {
    const { ui, feed } = logsApp();
    await untilFrame(ui.lastFrame, /^api line 40$/m);
    await press(ui.stdin, "k");
    let f = await untilFrame(ui.lastFrame, /scrolled, 1 line below/);
    const top = topLine(f);
    assert.equal(top, "api line 20");
    for (let i = 41; i <= 50; i++) feed.write("api", `api line ${i}`);
    f = await untilFrame(ui.lastFrame, /scrolled, 11 lines below/);
    assert.equal(topLine(f), top, "new lines below do not move a scrolled view");

    await press(ui.stdin, "g");
    f = await untilFrame(ui.lastFrame, /^api line 1$/m);
    assert.equal(topLine(f), "api line 1");
    for (let i = 51; i <= 55; i++) feed.write("api", `api line ${i}`);
    f = await untilFrame(ui.lastFrame, /scrolled, 35 lines below/);
    assert.equal(topLine(f), "api line 1");

    await press(ui.stdin, "G");
    await untilFrame(ui.lastFrame, /following[\s\S]*^api line 55$/m);
    await press(ui.stdin, PAGE_UP);
    f = await untilFrame(ui.lastFrame, /scrolled, 20 lines below/);
    const paged = topLine(f);
    assert.equal(paged, "api line 16");
    for (let i = 56; i <= 60; i++) feed.write("api", `api line ${i}`);
    f = await untilFrame(ui.lastFrame, /scrolled, 25 lines below/);
    assert.equal(topLine(f), paged);
  });

  test('n/N say "match i of N" and scroll only to a match that is off the screen', async () => {
    const { ui } = logsApp();
    await untilFrame(ui.lastFrame, /^api line 40$/m);
    await press(ui.stdin, "/", ..."line 25", ENTER);
    await untilFrame(ui.lastFrame, /\/line 25 1 match/);
    await press(ui.stdin, "n");
    let f = await untilFrame(ui.lastFrame, /\/line 25 match 1 of 1/);
    assert.match(f, /following/, "a match on the screen does not scroll");
    assert.match(f, /^api line 40$/m);

    await press(ui.stdin, "/", ..."\x7f".repeat(7), ..."line 1", ENTER);
    await untilFrame(ui.lastFrame, /\/line 1 11 matches/);
    await press(ui.stdin, "n");
    f = await untilFrame(ui.lastFrame, /\/line 1 match 1 of 11/);
    assert.match(f, /scrolled/);
    assert.equal(topLine(f), "api line 1");
    await press(ui.stdin, "N");
    f = await untilFrame(ui.lastFrame, /\/line 1 match 11 of 11/);
    assert.equal(topLine(f), "api line 1", "line 19 is on the screen: the view stays");
  });
});
