// Two real `mcp-agent server` processes on one config: the second fails at once, naming the
// pid that holds the database, and never listens; a clean stop releases the lock; the lock of
// a killed agent does not keep the next one from starting. The agents run without
// authentication and without podman (nothing here deploys).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { AGENT_BIN, startAgentProcess, type AgentHome, type AgentProcess } from "../helpers/agent-process.ts";

const run = promisify(execFile);

describe("one mcp-agent server per database", () => {
  let tmp: string;
  let home: AgentHome;
  const started: AgentProcess[] = [];
  const env = () => ({
    MCP_AGENT_AUTH_DISABLED: "true",
    MCP_AGENT_STORAGE_ROOT: home.storageRoot,
    MCP_AGENT_RUNTIME_PODMAN: "/nonexistent/podman",
    MCP_AGENT_RUNTIME_RECONCILE_INTERVAL: "1h",
  });
  const start = async () => {
    const a = await startAgentProcess(home, env());
    started.push(a);
    return a;
  };
  const lockFile = () => join(home.dir, "agent.db.lock");

  /** Runs a second server on the same config: it must exit by itself, quickly. */
  async function second(): Promise<{ code: number; stderr: string; ms: number }> {
    const t0 = Date.now();
    try {
      const { stderr } = await run(AGENT_BIN, ["server", "--config", home.config], { env: { ...process.env, ...env() }, timeout: 20_000 });
      return { code: 0, stderr, ms: Date.now() - t0 };
    } catch (err) {
      const e = err as { code: number; stderr: string; killed?: boolean };
      assert.equal(e.killed ?? false, false, "the second agent had to be killed: it kept running");
      return { code: e.code, stderr: e.stderr, ms: Date.now() - t0 };
    }
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "agent-lock-"));
    const dir = join(tmp, "agent");
    await run(AGENT_BIN, ["init", "--dir", dir, "--ca-dir", join(tmp, "ca"), "--listen", "127.0.0.1:0", "--node", "node1"]);
    home = { dir, config: join(dir, "mcp-agent.toml"), storageRoot: join(tmp, "srv"), containerPrefix: "" }; // no podman: no containers
    mkdirSync(home.storageRoot);
  });
  after(async () => {
    for (const a of started) await a.stop("SIGKILL");
    rmSync(tmp, { recursive: true, force: true });
  });

  test("a second server with the same config fails at once, naming the pid that holds the database", async () => {
    const first = await start();
    const holder = JSON.parse(readFileSync(lockFile(), "utf8"));
    assert.equal(holder.pid, first.child.pid);
    const r = await second();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^mcp-agent: another mcp-agent server \\(pid ${first.child.pid}, since [^)]+\\) is using ${join(home.dir, "agent.db")} \\(lock ${lockFile()}\\)`,
        "m",
      ),
    );
    assert.doesNotMatch(r.stderr, /listening/);
    assert.ok(r.ms < 10_000, `refused after ${r.ms} ms`);
    assert.equal(JSON.parse(readFileSync(lockFile(), "utf8")).pid, first.child.pid, "the first agent keeps its lock");
    assert.equal(first.child.exitCode, null, "the first agent still runs");

    assert.equal(await first.stop(), 0);
    assert.equal(existsSync(lockFile()), false, "a clean stop releases the lock");
    const next = await start();
    assert.equal(JSON.parse(readFileSync(lockFile(), "utf8")).pid, next.child.pid);
    await next.stop();
  });

  test("the lock of a killed agent does not keep the next one from starting", async () => {
    const killed = await start();
    assert.equal(await killed.stop("SIGKILL"), "SIGKILL");
    assert.equal(JSON.parse(readFileSync(lockFile(), "utf8")).pid, killed.child.pid, "left behind by kill -9");
    const next = await start();
    assert.equal(JSON.parse(readFileSync(lockFile(), "utf8")).pid, next.child.pid);
    const code = await next.stop();
    assert.equal(code, 0, next.logs().slice(-3000));
    assert.equal(existsSync(lockFile()), false);
  });
});
