// What main.ts records around each command (console/commands/commands.ts): a command that
// changes things, with its command line, target, outcome, error and duration; a read is not
// recorded; no secret reaches the log (an option named like a token, exec's input and output);
// `mcp commands` lists the records newest first, as a table and as JSON.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, test } from "node:test";
import { ConnectError, Code } from "@connectrpc/connect";
import { Context, type CommandSpec } from "../../console/commands/command.ts";
import commandsCommand, { commandLine, recordRun } from "../../console/commands/commands.ts";
import psCommand from "../../console/commands/ps.ts";
import stopCommand from "../../console/commands/stop.ts";
import { CommandLog } from "../../console/clients/command-log.ts";
import { Output, type Mode } from "../../console/output/output.ts";
import { fixtureStore, health, removeFixtures } from "./tui-fixture.ts";

const state = mkdtempSync(join(tmpdir(), "mcp-command-record-"));
after(() => (removeFixtures(), rmSync(state, { recursive: true, force: true })));

function setup(mode: Mode = "plain", signal = new AbortController().signal) {
  const { dir, deps } = fixtureStore(
    {
      rift: {
        health,
        list: async () => ({ containers: [] }),
        stop: async (req) => {
          if (req.service === "shop") throw new ConnectError("podman: no such container shop-api", Code.Internal);
          return { components: [{ component: "api", container: `${req.service}-api`, state: "exited" }] };
        },
      },
    },
    {
      shop: 'name = "shop"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n',
      blog: 'name = "blog"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n',
    },
  );
  const config = join(dir, "mcp.toml");
  writeFileSync(config, "");
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  const ctx = new Context({ configPath: config, out: new Output(mode, stdout, new PassThrough(), false), env: { XDG_STATE_HOME: state }, signal, deps });
  return { ctx, stdout: () => out };
}
const log = new CommandLog(join(state, "mcp"));

describe("the command log from the commands", () => {
  test("a failed and a successful stop are recorded with outcome, error and duration; ps is not", async () => {
    const { ctx } = setup();
    await assert.rejects(recordRun(ctx, stopCommand, ["stop", "shop"], ["shop"], {}), /no such container/);
    assert.equal(await recordRun(ctx, stopCommand, ["stop", "blog"], ["blog"], {}), 0);
    assert.equal(await recordRun(ctx, psCommand, ["ps"], [], {}), 0);
    const { records, skipped } = log.read();
    assert.equal(skipped, 0);
    assert.equal(records.length, 2, "ps changes nothing: not recorded");
    const [failed, ok] = records;
    assert.equal(failed!.where, "cli");
    assert.equal(failed!.command, "mcp stop shop");
    assert.equal(failed!.target, "shop");
    assert.equal(failed!.outcome, "failed");
    assert.match(failed!.error, /node rift: podman: no such container shop-api/);
    assert.equal(ok!.command, "mcp stop blog");
    assert.equal(ok!.outcome, "ok");
    assert.equal(ok!.error, "");
    assert.ok(ok!.durationMs >= 0 && !Number.isNaN(Date.parse(ok!.time)));
  });

  test("an exec's command line is recorded, never its input or output; an option named like a token is masked; an abort is interrupted", async () => {
    const { ctx } = setup();
    const exec: CommandSpec = {
      name: "exec",
      args: "",
      summary: "",
      options: [],
      async run(c) {
        c.out.text("SECRET_OUTPUT_VALUE\n");
        return 3;
      },
    };
    const opts = { "--": ["sh", "-c", "cat /run/secret"] };
    assert.equal(
      await recordRun(ctx, exec, ["exec", "shop", "api", "--", "sh", "-c", "cat /run/secret"], ["shop", "api", "sh", "-c", "cat /run/secret"], opts),
      3,
    );
    const fake: CommandSpec = { name: "login", args: "", summary: "", options: [{ flags: "--token <t>", description: "" }], run: async () => 0 };
    assert.equal(commandLine(["login", "--token", "hunter2", "--api-key=abc", "-u", "ops"], fake), "mcp login --token *** --api-key=*** -u ops");
    await recordRun(ctx, fake, ["login", "--token", "hunter2"], [], { token: "hunter2" });
    const abort = new AbortController();
    const interrupted = setup("plain", abort.signal);
    const slow: CommandSpec = { ...fake, name: "deploy", run: async () => (abort.abort(new Error("interrupted (SIGINT)")), 1) };
    await recordRun(interrupted.ctx, slow, ["deploy", "shop"], ["shop"], {});
    const text = readFileSync(log.file, "utf8");
    assert.doesNotMatch(text, /SECRET_OUTPUT_VALUE|hunter2/);
    const records = log.read().records.slice(-3);
    assert.equal(records[0]!.command, 'mcp exec shop api -- sh -c "cat /run/secret"');
    assert.equal(records[0]!.target, "shop/api");
    assert.equal(records[0]!.outcome, "failed");
    assert.equal(records[0]!.error, "exit code 3");
    assert.equal(records[1]!.command, "mcp login --token ***");
    assert.equal(records[2]!.outcome, "interrupted");
    assert.equal(records[2]!.error, "interrupted (SIGINT)");
  });

  test("mcp commands: newest first, as a table and as JSON, with --limit", async () => {
    const plain = setup();
    assert.equal(await commandsCommand.run(plain.ctx, [], { limit: 2 }), 0);
    const lines = plain.stdout().trimEnd().split("\n");
    assert.match(lines[0]!, /^TIME\s+WHERE\s+COMMAND\s+TARGET\s+RESULT\s+DURATION\s+ERROR$/);
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /cli\s+mcp deploy shop\s+shop\s+interrupted/);
    const json = setup("json");
    assert.equal(await commandsCommand.run(json.ctx, [], { limit: 0 }), 0);
    const doc = JSON.parse(json.stdout()) as { file: string; skipped: number; commands: { command: string }[] };
    assert.equal(doc.file, log.file);
    assert.equal(doc.commands.length, 5);
    assert.deepEqual(doc.commands.map((c) => c.command).slice(-2), ["mcp stop blog", "mcp stop shop"]);
  });
});
