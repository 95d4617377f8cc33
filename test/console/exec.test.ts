// mcp exec against an in-memory agent (the agent's own Exec on the fake runtime, over an
// in-memory Connect transport): without a terminal the output by stream and the exit code,
// stdin forwarded from a pipe, --json's document; its arguments around `--`; on a terminal
// raw mode, keys read as Ink reads them, the window size and its changes, and the terminal
// restored however it ends.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, test } from "node:test";
import { silentLogger } from "../../lib/log/logger.ts";
import { agentService } from "../../agent/rpc/agent-service.ts";
import type { ExecAuditRecord } from "../../agent/registry/exec-audit.ts";
import { SharedRuntime } from "../../agent/runtime/provider.ts";
import type { ExecOptions } from "../../agent/runtime/runtime.ts";
import { Context } from "../../console/commands/command.ts";
import exec, { execTarget } from "../../console/commands/exec.ts";
import type { ConsoleError } from "../../console/output/errors.ts";
import { Output, type Mode } from "../../console/output/output.ts";
import { execOnTerminal } from "../../console/tty/exec-terminal.ts";
import { agentOn, removeAgents, serviceDef } from "../helpers/agent-service-fixture.ts";
import { FakeRuntime } from "../helpers/fake-runtime.ts";
import { fixtureStore, health, removeFixtures, type AgentImpl } from "./tui-fixture.ts";

after(removeFixtures);
after(removeAgents);

/** Node rift runs the real agent handlers on a fake podman with shop (api) deployed. */
async function platform() {
  const rt = new FakeRuntime();
  const a = await agentOn(rt, "aaaaaaaaaaaa", "");
  await a.deploy(serviceDef("shop"));
  const records: ExecAuditRecord[] = [];
  const impl = agentService({
    controller: a.controller,
    store: a.store,
    runtimes: new SharedRuntime(rt, {}),
    node: "rift",
    version: "test",
    log: silentLogger(),
    execAudit: { record: async (e) => void records.push(e) },
  });
  const sessions: { opts: ExecOptions; sizes: [number, number][] }[] = [];
  const runtimeExec = rt.exec.bind(rt);
  rt.exec = async (name, opts) => {
    const s = await runtimeExec(name, opts);
    const seen = { opts, sizes: [] as [number, number][] };
    sessions.push(seen);
    return { ...s, resize: async (rows, cols) => void seen.sizes.push([rows, cols]) };
  };
  const fx = fixtureStore(
    { rift: { ...(impl as AgentImpl), health } },
    { shop: 'name = "shop"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n' },
  );
  const config = join(fx.dir, "mcp.toml");
  writeFileSync(config, "");
  return { ...fx, config, records, sessions };
}

/** `mcp exec ARGS` in `mode` with `input` on a piped stdin; what it wrote and its exit code. */
async function mcpExec(p: Awaited<ReturnType<typeof platform>>, mode: Mode, args: string[], literal?: string[], input = "") {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  const stdin = new PassThrough();
  stdin.end(input);
  const ctx = new Context({
    configPath: p.config,
    out: new Output(mode, stdout, stderr, false),
    env: {},
    signal: new AbortController().signal,
    stdin: stdin as unknown as NodeJS.ReadStream,
    deps: p.deps,
  });
  const code = await exec.run(ctx, [...args, ...(literal ?? [])], literal ? { "--": literal } : {});
  return { code, stdout: out, stderr: err };
}

describe("mcp exec without a terminal", () => {
  test("the output by stream as it comes, and the command's exit code", async () => {
    const p = await platform();
    assert.deepEqual(await mcpExec(p, "plain", ["shop"], ["echo", "hi", "there"]), { code: 0, stdout: "hi there\n", stderr: "" });
    assert.equal((await mcpExec(p, "plain", ["shop", "api"], ["exit", "3"])).code, 3);
    assert.deepEqual(await mcpExec(p, "plain", ["shop"], ["nope"]), { code: 127, stdout: "", stderr: "nope: not found\n" });
    assert.deepEqual(
      p.sessions.map((s) => [s.opts.tty, s.opts.stdin]),
      [
        [false, true],
        [false, true],
        [false, true],
      ],
      "no TTY; a piped stdin is forwarded",
    );
    assert.deepEqual(
      p.records.map((r) => `${r.type} ${r.component} ${r.command.join(" ")} ${r.exitCode ?? ""}`),
      [
        "exec_started api echo hi there ",
        "exec_finished api echo hi there 0",
        "exec_started api exit 3 ",
        "exec_finished api exit 3 3",
        "exec_started api nope ",
        "exec_finished api nope 127",
      ],
    );
  });

  test("stdin from a pipe reaches the command, and its end ends it", async () => {
    const p = await platform();
    assert.deepEqual(await mcpExec(p, "plain", ["shop"], ["cat"], "piped\nlines\n"), { code: 0, stdout: "piped\nlines\n", stderr: "" });
  });

  test("--json: one document with the exit code and both streams", async () => {
    const p = await platform();
    const ok = await mcpExec(p, "json", ["shop"], ["echo", "hi"]);
    assert.deepEqual([ok.code, JSON.parse(ok.stdout)], [0, { exitCode: 0, stdout: "hi\n", stderr: "" }]);
    const bad = await mcpExec(p, "json", ["shop"], ["nope"]);
    assert.deepEqual([bad.code, JSON.parse(bad.stdout)], [127, { exitCode: 127, stdout: "", stderr: "nope: not found\n" }]);
  });

  test("the agent's refusals are the console's errors", async () => {
    const p = await platform();
    await assert.rejects(
      mcpExec(p, "plain", ["shop", "web"], ["echo"]),
      (e: ConsoleError) => e.code === "not_found" && /node rift: service shop has no component web/.test(e.message),
    );
    await assert.rejects(mcpExec(p, "plain", ["blog"], ["echo"]), (e: ConsoleError) => e.code === "not_found");
  });

  test("arguments: service and component before --, the command after it (none: the shell)", () => {
    assert.deepEqual(execTarget(["shop"], undefined), { service: "shop", command: [] });
    assert.deepEqual(execTarget(["shop", "api"], undefined), { service: "shop", component: "api", command: [] });
    assert.deepEqual(execTarget(["shop", "ls", "-l"], ["ls", "-l"]), { service: "shop", command: ["ls", "-l"] });
    assert.deepEqual(execTarget(["shop", "api", "sh", "-c", "exit 3"], ["sh", "-c", "exit 3"]), {
      service: "shop",
      component: "api",
      command: ["sh", "-c", "exit 3"],
    });
    assert.deepEqual(execTarget(["shop", "api"], []), { service: "shop", component: "api", command: [] });
    assert.throws(() => execTarget(["shop", "api", "extra", "ls"], ["ls"]), /a service and a component before --, not 3/);
  });
});

/** A terminal: keys are emitted as data, raw mode and flowing are remembered, writes kept. */
class FakeTerminal {
  readonly stdin = Object.assign(new EventEmitter(), {
    isTTY: true,
    isRaw: false,
    modes: [] as boolean[],
    pending: [] as Buffer[],
    setRawMode(raw: boolean) {
      this.isRaw = raw;
      this.modes.push(raw);
      return this;
    },
    read() {
      return this.pending.shift() ?? null;
    },
  });
  readonly stdout = Object.assign(new EventEmitter(), {
    isTTY: true,
    rows: 30,
    columns: 100,
    written: "",
    write(d: Uint8Array | string) {
      this.written += Buffer.from(d).toString();
      return true;
    },
  });
  type(text: string) {
    this.stdin.pending.push(Buffer.from(text));
    this.stdin.emit("readable");
  }
  resize(rows: number, columns: number) {
    Object.assign(this.stdout, { rows, columns });
    this.stdout.emit("resize");
  }
}

const until = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(ok(), what);
};

describe("mcp exec on a terminal", () => {
  test("raw mode, a TTY of the terminal's size, keys and resizes forwarded, the terminal restored, the remote exit code", async () => {
    const p = await platform();
    const term = new FakeTerminal();
    const run = execOnTerminal(
      p.store.getState().exec,
      { service: "shop", command: ["cat"] },
      term as unknown as { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream },
    );
    await until("the session starts", () => p.sessions.length === 1);
    assert.deepEqual([p.sessions[0]!.opts.tty, p.sessions[0]!.opts.size], [true, { rows: 30, cols: 100 }]);
    assert.equal(term.stdin.isRaw, true);
    term.resize(40, 120);
    term.type("typed");
    await until("the echo", () => term.stdout.written === "typed");
    assert.deepEqual(p.sessions[0]!.sizes, [[40, 120]]);
    term.stdin.emit("end"); // the terminal hangs up: stdin's end
    assert.equal(await run, 0);
    assert.deepEqual(term.stdin.modes, [true, false], "raw mode on, then off again");
    assert.deepEqual([term.stdin.listenerCount("readable"), term.stdin.listenerCount("end"), term.stdout.listenerCount("resize")], [0, 0, 0]);
  });

  test("a refused exec restores the terminal too", async () => {
    const p = await platform();
    const term = new FakeTerminal();
    term.stdin.isRaw = false;
    await assert.rejects(
      execOnTerminal(
        p.store.getState().exec,
        { service: "shop", component: "db", command: [] },
        term as unknown as { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream },
      ),
      /no component db/,
    );
    assert.deepEqual([term.stdin.isRaw, term.stdin.listenerCount("readable")], [false, 0]);
  });
});
