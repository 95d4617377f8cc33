// Runs the platform's daemons for `mcp up` / `mcp down`: `mcr server` and `mcp-agent server`
// in the background on loopback (or attached, --foreground), with a pid file and a log file
// each in the platform home; health checks; SIGTERM and waiting for the drain.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:http2";
import { request } from "node:https";
import { join, resolve } from "node:path";
import { binDir, type Daemon, type PlatformPaths } from "./paths.ts";
import { MCR_SERVER_NODE_FLAGS } from "../../lib/process/node-flags.ts";

export interface DaemonState {
  daemon: Daemon;
  pid: number;
  /** True when this call started it; false when it was running already. */
  started: boolean;
  child?: ChildProcess;
}

const configOf = (p: PlatformPaths, d: Daemon) => (d === "mcr" ? p.mcrConfig : p.agentConfig);

/**
 * The environment a daemon starts with. The agent's podman calls get `[runtime]
 * containers_conf` and `storage_conf` in place of $CONTAINERS_CONF and
 * $CONTAINERS_STORAGE_CONF, and a home made where the machine's limits are low names a
 * containers.conf of its own there. Files the environment of `mcp up` names are the
 * operator's choice for this platform's podman, as they are for the console's builds: they
 * reach the agent as its overrides ($MCP_AGENT_RUNTIME_…, which win over its config), unless
 * those are set already.
 */
export function daemonEnv(d: Daemon, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (d !== "mcp-agent") return env;
  const out = { ...env };
  for (const [podman, agent] of [
    ["CONTAINERS_CONF", "MCP_AGENT_RUNTIME_CONTAINERS_CONF"],
    ["CONTAINERS_STORAGE_CONF", "MCP_AGENT_RUNTIME_STORAGE_CONF"],
  ] as const) {
    // Absolute: the agent resolves a relative path against its config's folder, podman against the working folder.
    if (env[podman] && !env[agent]) out[agent] = resolve(env[podman]);
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8")); // a zombie has exited
  } catch {
    return true;
  }
}

/** The pid of the daemon running with this home's config, or undefined (a stale pid file is removed). */
export function runningPid(p: PlatformPaths, d: Daemon): number | undefined {
  const file = p.pid(d);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  let ours = false;
  if (pid > 0 && alive(pid)) {
    try {
      ours = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(configOf(p, d));
    } catch {
      ours = true; // no /proc: trust the pid file
    }
  }
  if (!ours) rmSync(file, { force: true });
  return ours ? pid : undefined;
}

/** Starts the daemon unless it runs already; resolves once it answers its health check. */
export async function ensureDaemon(p: PlatformPaths, d: Daemon, ca: string, url: string, foreground: boolean, env: NodeJS.ProcessEnv): Promise<DaemonState> {
  const pid = runningPid(p, d);
  if (pid) {
    await waitHealthy(d, url, ca, () => alive(pid) || `${d} (pid ${pid}) exited`, p.log(d));
    return { daemon: d, pid, started: false };
  }
  const log = openSync(p.log(d), "a", 0o600);
  // mcr's server takes node flags (lib/process/node-flags.ts), so node is started directly.
  const [cmd, args] = d === "mcr" ? [process.execPath, [...MCR_SERVER_NODE_FLAGS, join(binDir(), d)]] : [join(binDir(), d), [] as string[]];
  const child = spawn(cmd, [...args, "server", "--config", configOf(p, d)], {
    detached: !foreground,
    stdio: ["ignore", foreground ? "inherit" : log, foreground ? "inherit" : log],
    env: daemonEnv(d, env),
  });
  closeSync(log);
  let exit: string | undefined;
  child.once("exit", (code, sig) => (exit = `${d} exited (${sig ?? code}) before it was healthy`));
  writeFileSync(p.pid(d), `${child.pid}\n`, { mode: 0o600 });
  if (!foreground) child.unref();
  try {
    await waitHealthy(d, url, ca, () => exit ?? true, p.log(d));
  } catch (err) {
    if (!exit) child.kill("SIGTERM");
    rmSync(p.pid(d), { force: true });
    throw err;
  }
  return { daemon: d, pid: child.pid!, started: true, child };
}

async function waitHealthy(d: Daemon, url: string, ca: string, running: () => true | string | boolean, logFile: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "";
  for (;;) {
    const r = running();
    if (r !== true) throw new Error(`${typeof r === "string" ? r : `${d} is not running`}; its log ${logFile} ends:\n${tail(logFile)}`);
    try {
      await (d === "mcr" ? registryHealth(url, ca) : agentHealth(url, ca));
      return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${d} did not become healthy at ${url} within ${ms / 1000} s (${last}); log: ${logFile}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no log)";
  }
}

function registryHealth(url: string, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/health`, { ca, timeout: 2000, minVersion: "TLSv1.3" }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += body.length < 4096 ? c.toString() : ""));
      res.on("end", () => {
        if (res.statusCode === 200) return resolve();
        // 503 names what does not answer: the database, the bucket or the blob folder.
        let why = "";
        try {
          why = String(JSON.parse(body).error ?? "");
        } catch {}
        reject(new Error(`HTTP ${res.statusCode}${why ? `: ${why}` : ""}`));
      });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** The agent's Health RPC (Connect, JSON over HTTP/2): no token needed. */
export function agentHealth(url: string, ca: string): Promise<{ status: string; version: string; podmanVersion?: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { ca, minVersion: "TLSv1.3" });
    const fail = (err: Error) => (session.destroy(), reject(err));
    session.on("error", fail);
    session.setTimeout(2000, () => fail(new Error("timed out")));
    const req = session.request({ ":method": "POST", ":path": "/mcp.agent.v1.AgentService/Health", "content-type": "application/json" });
    let body = "";
    let status = 0;
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      session.close();
      if (status !== 200) return reject(new Error(`HTTP ${status}: ${body.slice(0, 200)}`));
      resolve(JSON.parse(body));
    });
    req.on("error", fail);
    req.end("{}");
  });
}

export interface Stopped {
  daemon: Daemon;
  pid: number;
  /** How it ended: "stopped" (exited after SIGTERM), "killed" (did not exit in time), "not running". */
  outcome: "stopped" | "killed" | "not running";
  ms: number;
}

/** SIGTERM, then waits for the drain (mcr up to its shutdown_timeout, the agent 30 s); SIGKILL after `ms`. */
export async function stopDaemon(p: PlatformPaths, d: Daemon, ms = 90_000): Promise<Stopped> {
  const pid = runningPid(p, d);
  const started = Date.now();
  if (!pid) return { daemon: d, pid: 0, outcome: "not running", ms: 0 };
  process.kill(pid, "SIGTERM");
  let outcome: Stopped["outcome"] = "stopped";
  while (alive(pid)) {
    if (Date.now() - started > ms) {
      process.kill(pid, "SIGKILL");
      outcome = "killed";
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  rmSync(p.pid(d), { force: true });
  return { daemon: d, pid, outcome, ms: Date.now() - started };
}
