// Starts the real `mcp-agent` binary with a home made by `mcp-agent init`,
// signed by an mcr home's platform CA and validating tokens against that mcr.
// Each home names its containers with a prefix of its own ("test-<hex>-") and takes its
// route ports from a random block of its own, so a test agent never wants a container name
// of a platform running on the machine (`mcp up`) or of another test, and skips their ports.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { REPO_ROOT, type McrHome, type McrProcess } from "./mcr-process.ts";

const run = promisify(execFile);
export const AGENT_BIN = join(REPO_ROOT, "bin", "mcp-agent");

export interface AgentHome {
  dir: string;
  config: string;
  storageRoot: string;
  /** [runtime] container_prefix: the agent's containers are `<prefix><service>-<component>`. */
  containerPrefix: string;
}

export interface AgentHomeOptions {
  mcr: McrProcess;
  mcrHome: McrHome;
  podmanDir: string;
  registryUser?: { username: string; password: string };
  /** Extra keys for the [storage] table. */
  storageToml?: string;
  /** Default: "test-<6 hex digits>-", this home's own. */
  containerPrefix?: string;
  /** [node] name; default "node1". */
  node?: string;
  extraToml?: string;
}

/**
 * 200 route ports at a random place below the kernel's ephemeral range: never where outgoing
 * connections take their source ports (one could take a route's port while its container is
 * swapped, even HAProxy's own connection to it), and seldom where another test agent's block
 * is. The agent skips any port that is taken when it assigns one; tests read the ports it gave.
 */
function testPortRange(): { start: number; end: number } {
  let ephemeralStart = 32768;
  try {
    ephemeralStart = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || ephemeralStart;
  } catch {
    // no procfs: Linux's default
  }
  const low = 20000;
  const high = Math.max(low + 200, ephemeralStart - 1);
  const start = low + Math.floor(Math.random() * (high - low - 200));
  return { start, end: start + 200 };
}

export async function initAgentHome(o: AgentHomeOptions): Promise<AgentHome> {
  const dir = mkdtempSync(join(tmpdir(), "agent-test-"));
  const containerPrefix = o.containerPrefix ?? `test-${randomBytes(3).toString("hex")}-`;
  const ports = testPortRange();
  const storageRoot = join(dir, "srv");
  mkdirSync(storageRoot);
  await run(AGENT_BIN, [
    "init",
    "--dir",
    dir,
    "--listen",
    "127.0.0.1:0",
    "--node",
    o.node ?? "node1",
    "--ca-dir",
    o.mcrHome.caDir,
    "--identity-url",
    o.mcr.url,
    "--registry",
    o.mcr.host,
  ]);
  const config = join(dir, "mcp-agent.toml");
  const text = `
[runtime]
container_prefix = "${containerPrefix}"
containers_conf = "${join(o.podmanDir, "containers.conf")}"
storage_conf = "${join(o.podmanDir, "storage.conf")}"
reconcile_interval = "1s"
stop_timeout = 2
start_grace = "1s"

[ports]
range_start = ${ports.start}
range_end = ${ports.end}

[storage]
root = "${storageRoot}"
${o.storageToml ?? ""}
`;
  // The generated config already has these sections: drop them and append ours.
  let base = readFileSync(config, "utf8")
    .replace(/\[runtime\][\s\S]*?(?=\n\[)/, "")
    .replace(/\[ports\][\s\S]*?(?=\n\[)/, "")
    .replace(/\[storage\][\s\S]*?(?=\n\[)/, "");
  if (o.registryUser) {
    writeFileSync(join(dir, "registry.password"), o.registryUser.password, { mode: 0o600 });
    base = base
      .replace(`# username = "agent-${o.node ?? "node1"}"`, `username = "${o.registryUser.username}"`)
      .replace(/# password_file = .*/, `password_file = "${join(dir, "registry.password")}"`);
  }
  writeFileSync(config, base + text + (o.extraToml ?? ""));
  return { dir, config, storageRoot, containerPrefix };
}

export function removeAgentHome(home: AgentHome): void {
  rmSync(home.dir, { recursive: true, force: true });
}

export interface AgentProcess {
  child: ChildProcess;
  port: number;
  url: string;
  logs(): string;
  /** Reconcile passes the agent has finished (its debug lines "reconcile pass done"). */
  passes(): number;
  /** Resolves when a reconcile pass that started after this call has finished. */
  nextPass(ms?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts the agent at log level debug, so that its reconcile passes can be awaited. */
export async function startAgentProcess(home: AgentHome, env: NodeJS.ProcessEnv = {}): Promise<AgentProcess> {
  const child = spawn(AGENT_BIN, ["server", "--config", home.config], {
    env: { ...process.env, MCP_AGENT_LOG_LEVEL: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logs = "";
  child.stdout!.on("data", (d: Buffer) => (logs += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | string>((res) => child.once("exit", (code, sig) => res(code ?? sig ?? -1)));
  const passes = () => logs.match(/"msg":"reconcile pass done"/g)?.length ?? 0;
  const started = () => logs.match(/"msg":"reconcile pass started"/g)?.length ?? 0;
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      rej(new Error(`mcp-agent did not start within 20s:\n${logs}`));
    }, 20_000);
    child.stderr!.on("data", () => {
      const m = /"port":(\d+).*"msg":"mcp-agent listening"/.exec(logs);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`mcp-agent exited (${code}) before listening:\n${logs}`));
    });
  });
  return {
    child,
    port,
    url: `https://localhost:${port}`,
    logs: () => logs,
    passes,
    nextPass(ms = 15_000) {
      // A pass already running when asked may have looked at podman too early: wait for the next to start.
      const target = started() + 1;
      return new Promise<void>((res, rej) => {
        const check = () => {
          if (passes() < target) return;
          done();
          res();
        };
        const timer = setTimeout(() => {
          done();
          rej(new Error(`mcp-agent finished no reconcile pass within ${ms} ms:\n${logs.slice(-4000)}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          child.stderr!.off("data", check);
        };
        child.stderr!.on("data", check); // after the listener that appends to `logs`
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** An AgentService client over HTTP/2 with keep-alive pings, trusting the platform CA. */
export function agentClient(url: string, caPem: string): Client<typeof AgentService> {
  return createClient(AgentService, createConnectTransport({ baseUrl: url, httpVersion: "2", nodeOptions: { ca: caPem }, pingIntervalMs: 10_000 }));
}

export function appendToml(home: AgentHome, text: string): void {
  appendFileSync(home.config, `\n${text}\n`);
}
