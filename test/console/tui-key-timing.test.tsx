import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { App } from "../../console/tui/app.tsx";
import { untilFrame } from "../helpers/ink-keys.ts";
import { mcrStore, fakeMcr } from "./mcr-fake.ts";

afterEach(() => cleanup());

describe("TUI keys and screen changes", () => {
  // A terminal can deliver a key the moment a frame is out. The new screen's handler must be in
  // place by then, or the key goes to the screen that was (or to none).
  test("a key read as soon as a new screen's first frame is written reaches that screen", async () => {
    const ui = render(<App store={mcrStore(fakeMcr())} width={100} height={30} color={false} poll={false} initial={{ screen: "registry" }} />);
    await untilFrame(ui.lastFrame, /team\/web/);
    const stdout = ui.stdout as unknown as { write: (f: string) => void };
    const write = stdout.write;
    let sent = false;
    stdout.write = (frame: string) => {
      write(frame);
      if (!sent && /keys of each screen/.test(frame)) {
        sent = true;
        queueMicrotask(() => ui.stdin.write("G"));
      }
    };
    ui.stdin.write("?");
    await untilFrame(ui.lastFrame, /^sort +shift\+letter sort by that column/m, 3000);
    assert.ok(sent);
  });
});
