// The TUI's commands screen (:commands): the command log newest first, what an action of this
// TUI did appearing at once (nav.run records it as it ends), `/` filtering, and the record
// written to the log file with where it ran, the target and how it ended.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { CommandLog } from "../../console/clients/command-log.ts";
import { tuiAction } from "../../console/store/commands.ts";
import { App } from "../../console/tui/app.tsx";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

const state = mkdtempSync(join(tmpdir(), "mcp-tui-commands-"));
after(() => (removeFixtures(), rmSync(state, { recursive: true, force: true })));
afterEach(() => cleanup());

const status = {
  service: "shop",
  version: "v1",
  active: true,
  node: "rift",
  components: [
    {
      component: "api",
      container: "shop-api",
      desiredState: "running",
      observedState: "running",
      desiredImage: "i",
      observedImage: "i",
      drift: "",
      ports: [],
      startedAt: "",
    },
  ],
  recentEvents: [],
  unknownContainers: [],
};

describe("the commands screen", () => {
  test("lists the log newest first; an action of this TUI appears at once; / filters", async () => {
    const commandLog = new CommandLog(join(state, "a"));
    commandLog.append({
      time: "2026-01-01T10:00:00.000Z",
      where: "cli",
      command: "mcp deploy blog",
      target: "blog",
      outcome: "ok",
      error: "",
      durationMs: 4200,
    });
    const { store } = fixtureStore({ rift: { health } }, undefined, { commandLog });
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} initial={{ screen: "commands" }} />);
    let f = await untilFrame(ui.lastFrame, /mcp deploy blog/);
    assert.match(f, /TIME\s+WHERE\s+COMMAND\s+TARGET\s+RESULT\s+DURATION\s+ERROR/);
    assert.match(f, /cli\s+mcp deploy blog\s+blog\s+ok\s+4\.2s\s+-/);
    await assert.rejects(
      store.getState().track(tuiAction("delete team/app:v1"), async () => {
        throw new Error("permission denied: registry:delete");
      }),
    );
    f = await untilFrame(ui.lastFrame, /delete team\/app:v1/);
    const lines = f.split("\n");
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    assert.ok(at(/delete team\/app:v1/) < at(/mcp deploy blog/), "newest first");
    assert.match(f, /tui\s+delete team\/app:v1\s+team\/app:v1\s+failed\s+\S+\s+permission denied: registry:delete/);
    await press(ui.stdin, "/", ..."deploy", ENTER);
    f = await untilFrame(ui.lastFrame, /filter: deploy/);
    assert.doesNotMatch(f, /team\/app/);
    assert.match(f, /1 command of 2/);
    // Sorted by duration (D): the longest first; D again, the shortest first.
    await press(ui.stdin, "/", "\x15", ENTER); // Ctrl-U: the filter cleared
    await untilFrame(ui.lastFrame, /2 commands, newest first unless sorted/);
    await press(ui.stdin, "D");
    f = await untilFrame(ui.lastFrame, /DURATION ?▼/);
    assert.ok(f.indexOf("mcp deploy blog") < f.indexOf("delete team/app:v1"), "4.2 s before the failed delete's few ms");
    await press(ui.stdin, "D");
    f = await untilFrame(ui.lastFrame, /DURATION ?▲/);
    assert.ok(f.indexOf("delete team/app:v1") < f.indexOf("mcp deploy blog"));
  });

  test("a TUI action (s on the service screen) is recorded in the log file and shown by :commands", async () => {
    const commandLog = new CommandLog(join(state, "b"));
    const { store } = fixtureStore(
      { rift: { health, status: async () => status, stop: async () => ({ components: [{ component: "api", container: "shop-api", state: "exited" }] }) } },
      undefined,
      { commandLog },
    );
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} initial={{ screen: "service", service: "shop" }} />);
    await untilFrame(ui.lastFrame, /shop v1 on rift/);
    await press(ui.stdin, "s", "y");
    await untilFrame(ui.lastFrame, /stop shop: done/);
    const [r] = commandLog.read().records;
    assert.equal(r?.where, "tui");
    assert.equal(r?.command, "stop shop");
    assert.equal(r?.target, "shop");
    assert.equal(r?.outcome, "ok");
    await press(ui.stdin, ":", ..."commands", ENTER);
    const f = await untilFrame(ui.lastFrame, /tui\s+stop shop\s+shop\s+ok/);
    assert.match(f, /commands/);
  });
});
