// The TUI's e: on the services screen the selected component, on a service's screen its only
// component or the one asked for; the whole hand-over in runTui against the agent's own Exec
// on a fake podman: the alternate screen left for the shell, then the TUI drawn again on the
// screens it had open, the footer saying how the shell ended.
// First: Ink is loaded by the imports below, and it must not take this run for CI's.
import "../helpers/claim-terminal.ts";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { after, afterEach, describe, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { silentLogger } from "../../lib/log/logger.ts";
import { agentService } from "../../agent/rpc/agent-service.ts";
import { DEFAULT_SHELL } from "../../agent/rpc/exec.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import { App } from "../../console/tui/app.tsx";
import type { ExecTarget } from "../../console/tui/nav.ts";
import { claimTerminal } from "../../console/tty/terminal.ts";
import { agentOn, removeAgents, serviceDef } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";
import { ENTER, press, untilFrame } from "../helpers/ink-keys.ts";
import { fixtureStore, health, removeFixtures, type AgentImpl } from "./tui-fixture.ts";

after(removeFixtures);
after(removeAgents);
afterEach(() => cleanup());

/** Node rift: the agent's handlers on a fake podman running shop with `components`. */
async function platform(components: string[]) {
  const rt = new FakeRuntime();
  const a = await agentOn(rt, "aaaaaaaaaaaa", "");
  await a.deploy(serviceDef("shop", "v1", components));
  const impl = agentService({
    controller: a.controller,
    store: a.store,
    runtimes: new SharedRuntime(rt, {}),
    node: "rift",
    version: "test",
    log: silentLogger(),
    execAudit: { record: async () => undefined },
  });
  const toml = `name = "shop"\nnode = "rift"\nversion = "v1"\n${components.map((c) => `[[components]]\nname = "${c}"\n`).join("")}`;
  const fx = fixtureStore({ rift: { ...(impl as AgentImpl), health } }, { shop: toml });
  await fx.store.getState().fetchStatus();
  return { ...fx, rt };
}

describe("e in the TUI", () => {
  test("services screen: the selected component", async () => {
    const { store } = await platform(["api", "web"]);
    const asked: ExecTarget[] = [];
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} onExec={(t) => asked.push(t)} />);
    await untilFrame(ui.lastFrame, /shop +web/);
    await press(ui.stdin, "j", "e");
    assert.deepEqual(asked, [{ service: "shop", component: "web" }]);
  });

  test("service screen: its only component at once; with several, the one asked for", async () => {
    const one = await platform(["api"]);
    const asked: ExecTarget[] = [];
    let ui = render(
      <App
        store={one.store}
        width={120}
        height={24}
        color={false}
        poll={false}
        initial={{ screen: "service", service: "shop" }}
        onExec={(t) => asked.push(t)}
      />,
    );
    await untilFrame(ui.lastFrame, /e exec \(a shell\)/);
    await untilFrame(ui.lastFrame, /api +running/);
    await press(ui.stdin, "e");
    assert.deepEqual([...asked], [{ service: "shop", component: "api" }]);
    cleanup();
    const two = await platform(["api", "web"]);
    ui = render(
      <App
        store={two.store}
        width={120}
        height={24}
        color={false}
        poll={false}
        initial={{ screen: "service", service: "shop" }}
        onExec={(t) => asked.push(t)}
      />,
    );
    await untilFrame(ui.lastFrame, /web +running/);
    await press(ui.stdin, "e");
    await untilFrame(ui.lastFrame, /exec into which component \(api, web\): api/);
    await press(ui.stdin, "\x7f", "\x7f", "\x7f", ..."web", ENTER);
    assert.deepEqual(asked.at(-1), { service: "shop", component: "web" });
  });

  test("without a terminal to hand over, e says so", async () => {
    const { store } = await platform(["api"]);
    const ui = render(<App store={store} width={120} height={24} color={false} poll={false} />);
    await untilFrame(ui.lastFrame, /shop +api/);
    await press(ui.stdin, "e");
    await untilFrame(ui.lastFrame, /exec needs the terminal: mcp exec shop api/);
  });
});

/** A terminal for Ink and for the exec: what is written is kept. */
class FakeTty extends EventEmitter {
  isTTY = true;
  columns = 100;
  rows = 30;
  frames: string[] = [];
  write = (s: string | Uint8Array, cb?: () => void) => (this.frames.push(Buffer.from(s).toString()), cb?.(), true);
  output = () => this.frames.join("");
}
/** Keys for whoever reads: Ink, or the exec while it has the terminal (both read on 'readable'). */
class FakeStdin extends EventEmitter {
  isTTY = true;
  isRaw = false;
  modes: boolean[] = [];
  private data: string | null = null;
  write = (d: string) => ((this.data = d), this.emit("readable"));
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding() {}
  setRawMode(raw: boolean) {
    this.isRaw = raw;
    this.modes.push(raw);
  }
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

test("runTui: e leaves the alternate screen for the shell and comes back, redrawn, to the screens that were open", async () => {
  const { store, rt } = await platform(["api"]);
  const stdout = new FakeTty();
  const stdin = new FakeStdin();
  claimTerminal();
  const { runTui } = await import("../../console/tui/run.tsx");
  const tui = runTui(store, { color: false, stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream });
  try {
    await untilFrame(stdout.output, /mcp services/);
    stdin.write(":service shop\r");
    await untilFrame(stdout.output, /api +running +running/);
    const before = stdout.frames.length;
    stdin.write("e");
    // The fake podman has no shell: it says so and exits 127 at once.
    await untilFrame(stdout.output, /the shell exited with 127/);
    const during = stdout.frames.slice(before).join("");
    const left = during.indexOf("\x1b[?1049l");
    const line = during.indexOf("mcp: exec shop/api: a shell in its container; exit it to come back to the console");
    const shell = during.indexOf("/bin/sh: not found");
    const back = during.lastIndexOf("\x1b[?1049h");
    assert.ok(left >= 0 && left < line && line < shell && shell < back, JSON.stringify(during.slice(0, 400)));
    assert.match(during.slice(back), /mcp service shop/, "the service screen is drawn again");
    assert.ok(rt.calls.includes(`exec shop-api ${DEFAULT_SHELL.join(" ")}`));
    // Ink's raw mode, off at its exit; on again at once for the exec (and kept until Ink is back); Ink's again.
    assert.deepEqual(stdin.modes, [true, false, true, true, true, true]);
    stdin.write("\x1b");
    await untilFrame(stdout.output, /mcp services/);
  } finally {
    stdin.write("q");
  }
  assert.equal(await tui, 0);
  assert.equal(stdin.isRaw, false, "the terminal is left cooked");
});
