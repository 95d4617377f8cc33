// A deploy the console stops following: Ctrl-C during `mcp deploy`, or the TUI left while
// one runs. The agent carries on; the console says so, and how to watch it, once.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { DeployPhase } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import deployCommand from "../../console/commands/deploy.ts";
import type { ConsoleError } from "../../console/output/errors.ts";
import { claimTerminal } from "../../console/tty/terminal.ts";
import { untilFrame } from "../helpers/ink-keys.ts";
import { commandContext, fixtureStore, health, removeFixtures, type AgentImpl } from "./tui-fixture.ts";

after(removeFixtures);

/** An agent whose deploy reports one component and then works until the call is cancelled. */
function slowAgent(): { agent: AgentImpl; started: Promise<void> } {
  let began!: () => void;
  const started = new Promise<void>((r) => (began = r));
  const agent: AgentImpl = {
    health,
    async *deploy(_req, ctx) {
      yield { component: "api", phase: DeployPhase.CREATING, message: "creating a replacement container", container: "shop-api", image: "i" };
      began();
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
    },
  };
  return { agent, started };
}

/** A terminal for Ink: what is written is kept; keys are written to `stdin`. */
class FakeTty extends EventEmitter {
  isTTY = true;
  columns = 100;
  rows = 30;
  frames: string[] = [];
  write = (s: string, cb?: () => void) => (this.frames.push(s), cb?.(), true);
  /** Everything written so far (Ink writes changes, not whole frames). */
  output = () => this.frames.join("");
}
class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write = (d: string) => ((this.data = d), this.emit("readable"));
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

const LEFT = /interrupted: the agent on rift carries on with the deploy of shop without the console; watch it with `mcp status shop` or `mcp events shop`/;

describe("a deploy left running", () => {
  test("Ctrl-C during a deploy: the error says the agent carries on and how to watch it", async () => {
    const { agent, started } = slowAgent();
    const { store } = fixtureStore({ rift: agent });
    const abort = new AbortController();
    const deploy = store.getState().deploy("shop", abort.signal);
    await started;
    abort.abort(new Error("interrupted (SIGINT)"));
    await assert.rejects(deploy, (e: ConsoleError) => {
      assert.equal(e.code, "failed");
      assert.match(e.message, LEFT);
      assert.doesNotMatch(e.message, /SIGINT|canceled/);
      return true;
    });
  });

  test("mcp deploy on a terminal: the live view leaves the error out, so it is printed once (by main, on stderr)", async () => {
    const { agent, started } = slowAgent();
    const { dir, deps } = fixtureStore({ rift: agent });
    const config = join(dir, "mcp.toml");
    writeFileSync(config, '[[nodes]]\nname = "rift"\nurl = "https://rift.test:9444"\n');
    const tty = new FakeTty();
    const abort = new AbortController();
    const { ctx, output } = commandContext(config, "tty", deps, abort.signal);
    (output as { stdout: unknown }).stdout = tty;
    const run = deployCommand.run(ctx, ["shop"], {});
    await started;
    abort.abort(new Error("interrupted (SIGINT)"));
    await assert.rejects(run, LEFT);
    assert.match(tty.frames.join(""), /creating a replacement container/);
    assert.doesNotMatch(tty.frames.join(""), /carries on/);
  });

  test("the TUI left (q) during a deploy says, once, after the screen is restored, that the agent carries on", async () => {
    const { agent, started } = slowAgent();
    const { store } = fixtureStore({ rift: agent });
    const stdout = new FakeTty();
    const stdin = new FakeStdin();
    let stderr = "";
    // As the console does before it loads Ink (console/tty/tui.ts): with $CI set (as on CI),
    // Ink would otherwise draw only the last frame, at exit.
    claimTerminal();
    const { runTui } = await import("../../console/tui/run.tsx");
    const tui = runTui(store, {
      color: false,
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      stderr: { write: (s: string) => ((stderr += s), true) } as NodeJS.WritableStream,
    });
    try {
      await untilFrame(stdout.output, /mcp services/);
      stdin.write(":deploy shop\r");
      await untilFrame(stdout.output, /Deploy shop\?/);
      stdin.write("y");
      await started;
      await untilFrame(stdout.output, /creating a replacement container/);
    } finally {
      stdin.write("q"); // leaves the TUI whatever happened above, so that a failure cannot hang the run
    }
    assert.equal(await tui, 0);
    assert.equal(
      stderr.match(
        /interrupted: the agent on rift carries on with the deploy of shop without the console; watch it with `mcp status shop` or `mcp events shop`/g,
      )?.length,
      1,
      stderr,
    );
  });
});
