// The command log file (console/clients/command-log.ts): records appended and read back, the
// file 0600 in a 0700 folder, bounded to the newest records by an atomic rewrite, a corrupt
// line skipped and counted, and appends from two processes at once kept whole.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CommandLog, type CommandRecord } from "../../console/clients/command-log.ts";

const root = mkdtempSync(join(tmpdir(), "mcp-command-log-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `state-${n++}`, "mcp");

const rec = (i: number, over: Partial<CommandRecord> = {}): CommandRecord => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  where: "cli",
  command: `mcp restart svc${i}`,
  target: `svc${i}`,
  outcome: "ok",
  error: "",
  durationMs: 12,
  ...over,
});

describe("command log", () => {
  test("appends records and reads them back, oldest first; a missing log is empty", () => {
    const log = new CommandLog(fresh());
    assert.deepEqual(log.read(), { records: [], skipped: 0 });
    log.append(rec(1));
    log.append(rec(2, { outcome: "failed", error: "node rift: boom\n  at line 2", dryRun: true }));
    const { records, skipped } = log.read();
    assert.equal(skipped, 0);
    assert.deepEqual(
      records.map((r) => r.command),
      ["mcp restart svc1", "mcp restart svc2"],
    );
    assert.equal(records[1]!.error, "node rift: boom at line 2", "one line");
    assert.equal(records[1]!.dryRun, true);
    assert.equal(readFileSync(log.file, "utf8").split("\n").length, 3, "one line per record");
  });

  test("the file is 0600 in a 0700 folder, also when they were open to others before", () => {
    const dir = fresh();
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "commands.log"), "", { mode: 0o644 });
    chmodSync(join(dir, "commands.log"), 0o644);
    const log = new CommandLog(dir);
    log.append(rec(1));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(log.file).mode & 0o777, 0o600);
    const other = new CommandLog(fresh());
    other.append(rec(1));
    assert.equal(statSync(other.dir).mode & 0o777, 0o700);
    assert.equal(statSync(other.file).mode & 0o777, 0o600);
  });

  test("past rewriteAt records, the newest keep are written to a temporary file renamed over the log", () => {
    const log = new CommandLog(fresh(), { keep: 10, rewriteAt: 12 });
    for (let i = 1; i <= 12; i++) log.append(rec(i));
    assert.equal(log.read().records.length, 12, "not past the bound yet");
    const before = statSync(log.file).ino;
    log.append(rec(13));
    const { records } = log.read();
    assert.deepEqual(
      records.map((r) => r.target),
      Array.from({ length: 10 }, (_, i) => `svc${i + 4}`),
    );
    assert.notEqual(statSync(log.file).ino, before, "a new file, renamed into place");
    assert.equal(statSync(log.file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(log.dir), ["commands.log"], "no temporary or lock file left");
  });

  test("a corrupt line is skipped and counted; the records around it are kept", () => {
    const log = new CommandLog(fresh());
    log.append(rec(1));
    appendFileSync(log.file, '{"time":"torn wri\nnot json at all\n{"time":"x","where":"elsewhere"}\n');
    log.append(rec(2));
    const { records, skipped } = log.read();
    assert.equal(skipped, 3);
    assert.deepEqual(
      records.map((r) => r.target),
      ["svc1", "svc2"],
    );
  });

  test("two writers in one process and two processes appending at once: every record whole", async () => {
    const dir = fresh();
    const a = new CommandLog(dir);
    const b = new CommandLog(dir);
    for (let i = 0; i < 20; i++) (i % 2 ? a : b).append(rec(i));
    const script = `
      import { CommandLog } from ${JSON.stringify(new URL("../../console/clients/command-log.ts", import.meta.url).pathname)};
      const log = new CommandLog(process.argv[1]);
      for (let i = 0; i < 150; i++) log.append({ time: new Date().toISOString(), where: "cli", command: "mcp stop " + process.argv[2] + "-" + i + " " + "x".repeat(400), target: process.argv[2], outcome: "ok", error: "", durationMs: i });
    `;
    const run = (who: string) =>
      new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, dir, who], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        p.stderr.on("data", (d: Buffer) => (err += d.toString()));
        p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`writer ${who}: ${code} ${err}`))));
      });
    await Promise.all([run("p1"), run("p2")]);
    const { records, skipped } = a.read();
    assert.equal(skipped, 0, "no line torn or interleaved");
    assert.equal(records.length, 320);
    for (const who of ["p1", "p2"]) {
      const mine = records.filter((r) => r.target === who).map((r) => r.durationMs);
      assert.deepEqual(
        mine,
        Array.from({ length: 150 }, (_, i) => i),
        `${who}'s records in its order`,
      );
    }
  });
});
