// The lock file both daemons keep beside their database (lib/process/instance-lock.ts): a
// live holder refuses, naming its pid; a dead one, or a pid that now belongs to another
// process, is taken over; release removes only this process's lock.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { acquireInstanceLock, LockHeldError, lockHolder } from "../../lib/process/instance-lock.ts";
import { lockAgentDatabase } from "../../agent/instance-lock.ts";

describe("instance lock", () => {
  let dir: string;
  let other: ChildProcess;
  const path = () => join(dir, "agent.db.lock");
  const plant = (holder: object) => writeFileSync(path(), JSON.stringify({ kind: "server", startedAt: "2024-01-02T03:04:05.000Z", ...holder }));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "instance-lock-"));
    other = spawn("sleep", ["60"], { stdio: "ignore" });
  });
  after(() => {
    other.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("the control: a free lock is taken, written whole with this pid and its start time, and released", () => {
    const lock = acquireInstanceLock(path(), "server");
    const onDisk = JSON.parse(readFileSync(path(), "utf8"));
    assert.equal(onDisk.pid, process.pid);
    assert.equal(onDisk.kind, "server");
    assert.equal(typeof onDisk.startTicks, "number");
    assert.deepEqual(readdirSync(dir), ["agent.db.lock"], "no temp file left behind");
    lock.release();
    assert.equal(existsSync(path()), false);
  });

  test("a live holder refuses, naming its pid", () => {
    plant({ pid: other.pid });
    assert.throws(
      () => acquireInstanceLock(path(), "server"),
      (e: unknown) => e instanceof LockHeldError && e.holder.pid === other.pid && e.message.includes(`pid ${other.pid}`),
    );
    assert.equal(lockHolder(path())?.pid, other.pid);
    assert.equal(JSON.parse(readFileSync(path(), "utf8")).pid, other.pid, "the holder's lock is untouched");
  });

  test("the agent's message names the pid, the database and the lock", () => {
    plant({ pid: other.pid });
    assert.throws(
      () => lockAgentDatabase(join(dir, "agent.db")),
      (e: Error) =>
        e.message ===
        `another mcp-agent server (pid ${other.pid}, since 2024-01-02T03:04:05.000Z) is using ${join(dir, "agent.db")} (lock ${path()}); stop it, or let it finish draining, before starting this one`,
    );
  });

  test("a lock of a dead process, a reused pid, or garbage is taken over", () => {
    for (const stale of [{ pid: 2 ** 22 + 12345 }, { pid: other.pid, startTicks: 1 }]) {
      plant(stale);
      assert.equal(lockHolder(path()), undefined);
      const lock = acquireInstanceLock(path(), "server");
      assert.equal(JSON.parse(readFileSync(path(), "utf8")).pid, process.pid);
      lock.release();
    }
    writeFileSync(path(), "not json");
    acquireInstanceLock(path(), "server").release();
    assert.deepEqual(readdirSync(dir), []);
  });

  test("release leaves a lock that is not this process's alone", () => {
    const lock = acquireInstanceLock(path(), "server");
    plant({ pid: other.pid });
    lock.release();
    assert.equal(JSON.parse(readFileSync(path(), "utf8")).pid, other.pid);
    rmSync(path());
  });

  test("a database whose folder does not exist is a clear error", () => {
    assert.throws(
      () => lockAgentDatabase(join(dir, "missing", "agent.db")),
      (e: Error) =>
        e.message === `cannot lock ${join(dir, "missing", "agent.db")}: its folder ${join(dir, "missing")} does not exist (mcp-agent init --dir makes it)`,
    );
  });
});
