// GC that frees nothing says the grace window kept what is newer, and the TUI sets the grace.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import gcCommand from "../../console/commands/gc.ts";
import { App } from "../../console/tui/app.tsx";
import { graceText } from "../../console/views/registry.ts";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { fakeMcr, mcrStore } from "./mcr-fake.ts";
import { commandContext, fixtureStore, removeFixtures } from "./tui-fixture.ts";

after(removeFixtures);
afterEach(() => cleanup());

describe("GC and its grace window", () => {
  test("grace as people write it", () => {
    assert.deepEqual(["3600s", "5400s", "0s", "90s", "1800s"].map(graceText), ["1h", "1h30m", "0s", "1m30s", "30m"]);
  });

  test("TUI: a dry run that would free 0 B says the grace window kept everything newer; w sets the grace of the next run", async () => {
    const mcr = fakeMcr();
    const ui = render(<App store={mcrStore(mcr)} width={120} height={30} color={false} poll={false} initial={{ screen: "gc" }} />);
    let f = await untilFrame(ui.lastFrame, /next run: untagged off, grace the registry's default/);
    assert.match(f, /w grace/);
    await press(ui.stdin, "d");
    await untilFrame(ui.lastFrame, /running \(dry run\)/);
    mcr.gcProgress({ phase: "done", running: false });
    f = await untilFrame(ui.lastFrame, /gc dry run done: would free 0 B \(the grace window of 1h kept everything newer: w sets it\)/);
    assert.match(f, /grace +1h/);
    assert.match(f, /nothing would be freed older than the grace window \(1h\)/);
    await press(ui.stdin, "w", ..."0s", ENTER);
    await untilFrame(ui.lastFrame, /next run: untagged off, grace 0s/);
    await press(ui.stdin, "d");
    await untilFrame(ui.lastFrame, /running \(dry run\)/);
    assert.deepEqual(mcr.gcStarts, ["", "0s"]);
    mcr.gcProgress({ phase: "done", running: false });
    f = await untilFrame(ui.lastFrame, /gc dry run done: would free 0 B$/m);
    assert.doesNotMatch(f, /nothing would be freed older/);
  });

  test("mcp gc (plain text): a run that freed nothing says why under the table", async () => {
    const mcr = fakeMcr();
    const { dir, deps } = fixtureStore({}, {}, { mcrAdmin: () => mcr.client });
    const config = join(dir, "mcp.toml");
    writeFileSync(config, "");
    const { ctx, stdout } = commandContext(config, "plain", deps);
    const run = gcCommand.run(ctx, [], { dryRun: false, untagged: false, reconcile: false, watch: false });
    await untilFrame(() => (mcr.gcRunning ? "running" : ""), /running/);
    mcr.gcProgress({ phase: "done", running: false });
    assert.equal(await run, 0);
    assert.match(stdout(), /^grace +1h$/m);
    assert.match(stdout(), /nothing was freed older than the grace window \(1h\)/);
  });
});
