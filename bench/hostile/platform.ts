// The platform under attack, as the integration tests set it up: a real mcr with
// authentication on, from a fresh `mcr init` home in a temp folder on an OS-picked port,
// and a real mcp-agent with podman storage of its own, validating tokens against that mcr
// and logged in to it with a system account. Default limits everywhere: the bench measures
// the configuration operators get. Each daemon logs to a file in its home (not to a pipe
// into the runner: the honest client's process must not spend its time on log lines).
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentService, type ServiceDefinition } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AGENT_BIN, initAgentHome, removeAgentHome, type AgentHome } from "../../test/helpers/agent-process.ts";
import { RegistryClient } from "../../test/helpers/https-client.ts";
import { addAccount, login } from "../../test/helpers/identity.ts";
import { initHome, MCR_BIN, removeHome, type McrHome } from "../../test/helpers/mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "../../test/helpers/podman.ts";

export const SERVICE = "honest-web";

export interface Daemon {
  name: "mcr" | "agent";
  pid: number;
  port: number;
  logFile: string;
  /** Set when the process exits; before the bench stops it, that is a crash. */
  exit?: { at: number; code: number | string };
  logs(): string;
  /** SIGTERM (or `signal`), then the exit code or signal name. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export interface Platform {
  mcrHome: McrHome;
  mcrUrl: string;
  agentUrl: string;
  daemons: { mcr: Daemon; agent: Daemon };
  /** The agent's podman environment (its containers.conf and storage). */
  podmanEnv: NodeJS.ProcessEnv;
  tokens: {
    /** The admin account's token for mcr, and for the agent. */
    mcrAdmin: string;
    agentAdmin: string;
    /** A system account's agent token (no agent rights), and a second admin's. */
    agentSystem: string;
    agentStreamAdmin: string;
  };
  /** Stops both daemons (SIGTERM, drained) and says how each ended. */
  stop(): Promise<{ mcr: number | string; agent: number | string }>;
  /** Stops what still runs; removes every temp folder and the podman storage. */
  cleanup(): Promise<void>;
}

/** Starts `bin` with its log in `logFile`, and waits for its "<listening>" line (20 s at most). */
async function startDaemon(name: Daemon["name"], bin: string, config: string, logFile: string, listening: string, env: NodeJS.ProcessEnv): Promise<Daemon> {
  const fd = openSync(logFile, "a");
  const child = spawn(bin, ["server", "--config", config], { env: { ...process.env, ...env }, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  const logs = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
  const exited = new Promise<number | string>((res) => child.once("exit", (code, signal) => res(code ?? signal ?? -1)));
  const d: Daemon = {
    name,
    pid: child.pid!,
    port: 0,
    logFile,
    logs,
    stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  void exited.then((code) => (d.exit = { at: Date.now(), code }));
  const re = new RegExp(`"port":(\\d+).*"msg":"${listening}"`);
  for (const end = Date.now() + 20_000; !d.port; ) {
    if (d.exit) throw new Error(`${name} exited (${d.exit.code}) before listening:\n${logs().slice(-4000)}`);
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error(`${name} did not start within 20 s:\n${logs().slice(-4000)}`);
    }
    const m = re.exec(logs());
    if (m) d.port = Number(m[1]);
    else await new Promise((r) => setTimeout(r, 100));
  }
  return d;
}

export async function startPlatform(say: (m: string) => void): Promise<Platform> {
  const undo: Array<() => Promise<unknown> | unknown> = [];
  const cleanup = async () => {
    for (const u of undo.reverse()) await Promise.resolve(u()).catch(() => undefined);
    undo.length = 0;
  };
  try {
    const mcrHome = await initHome("", { backend: "embedded" });
    undo.push(() => removeHome(mcrHome));
    const agentPassword = await addAccount(mcrHome, "agent-bench", "system", ["user"]);
    const systemPassword = await addAccount(mcrHome, "robot", "system", ["user"]);
    const streamAdminPassword = await addAccount(mcrHome, "ops", "human", ["admin"]);
    // No MCR_AUTH_DISABLED: the home's config has authentication on.
    const mcr = await startDaemon("mcr", MCR_BIN, mcrHome.config, join(mcrHome.dir, "mcr.log"), "mcr listening", {});
    undo.push(() => mcr.stop("SIGKILL"));
    const mcrUrl = `https://localhost:${mcr.port}`;
    say(`mcr pid ${mcr.pid} on ${mcrUrl}`);

    const anon = new RegistryClient(mcrUrl, mcrHome.caPem);
    const tokens = {
      mcrAdmin: await login(anon, "admin", mcrHome.adminPassword, "mcr"),
      agentAdmin: await login(anon, "admin", mcrHome.adminPassword, "mcp-agent"),
      agentSystem: await login(anon, "robot", systemPassword, "mcp-agent"),
      agentStreamAdmin: await login(anon, "ops", streamAdminPassword, "mcp-agent"),
    };
    anon.close();

    const pm: PodmanEnv = createPodmanEnv();
    undo.push(() => pm.cleanup());
    const mcrForAgent = { url: mcrUrl, host: `localhost:${mcr.port}` } as Parameters<typeof initAgentHome>[0]["mcr"];
    const agentHome: AgentHome = await initAgentHome({
      mcr: mcrForAgent,
      mcrHome,
      podmanDir: pm.dir,
      registryUser: { username: "agent-bench", password: agentPassword },
    });
    undo.push(() => removeAgentHome(agentHome));
    // Reconcile every 30 s as in production, not the tests' 1 s.
    writeFileSync(agentHome.config, readFileSync(agentHome.config, "utf8").replace('reconcile_interval = "1s"', 'reconcile_interval = "30s"'));
    const agent = await startDaemon("agent", AGENT_BIN, agentHome.config, join(agentHome.dir, "mcp-agent.log"), "mcp-agent listening", {
      MCP_AGENT_LOG_LEVEL: "info",
    });
    undo.push(() => agent.stop("SIGKILL"));
    const agentUrl = `https://localhost:${agent.port}`;
    say(`mcp-agent pid ${agent.pid} on ${agentUrl}`);

    const def = {
      name: SERVICE,
      node: "node1",
      version: "v1",
      components: [{ name: "api", image: `localhost:${mcr.port}/bench/honest:honest` }],
    } as unknown as ServiceDefinition;
    const sessions = new Http2SessionManager(agentUrl, {}, { ca: mcrHome.caPem });
    try {
      await createClient(AgentService, createConnectTransport({ baseUrl: agentUrl, httpVersion: "2", sessionManager: sessions })).sync(
        { services: [def] },
        { headers: { Authorization: `Bearer ${tokens.agentAdmin}` } },
      );
    } finally {
      sessions.abort(); // an open session would make the agent wait for it when it stops
    }

    return {
      mcrHome,
      mcrUrl,
      agentUrl,
      daemons: { mcr, agent },
      podmanEnv: pm.env,
      tokens,
      async stop() {
        const agentExit = await agent.stop();
        return { mcr: await mcr.stop(), agent: agentExit };
      },
      cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** mcr.db plus its write-ahead log, in bytes: what the disk holds. */
export function databaseFileBytes(home: McrHome): number {
  return ["mcr.db", "mcr.db-wal"].map((f) => join(home.dir, f)).reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0);
}

export function walBytes(home: McrHome): number {
  const f = join(home.dir, "mcr.db-wal");
  return existsSync(f) ? statSync(f).size : 0;
}

/**
 * The database's size as SQLite counts it (pages × page size, the log's pages included),
 * read through a read-only connection: unlike the files, it does not jump when the
 * write-ahead log is reused or checkpointed.
 */
export function databasePageBytes(home: McrHome): number {
  const db = new Database(join(home.dir, "mcr.db"), { readonly: true, fileMustExist: true });
  try {
    return (db.pragma("page_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number);
  } finally {
    db.close();
  }
}

/** Audit rows per event type written at or after `since` (read once mcr has stopped). */
export function auditRowsSince(home: McrHome, since: number): Record<string, { rows: number; bytes: number }> {
  const db = new Database(join(home.dir, "mcr.db"), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        "SELECT event_type AS type, count(*) AS n, sum(length(event_time) + length(event_type) + coalesce(length(actor_id), 0) + coalesce(length(repository), 0) + coalesce(length(digest), 0) + coalesce(length(ip_address), 0) + coalesce(length(details), 0)) AS bytes FROM audit_log WHERE event_time >= ? GROUP BY event_type ORDER BY n DESC",
      )
      .all(new Date(since).toISOString()) as { type: string; n: number; bytes: number }[];
    return Object.fromEntries(rows.map((r) => [r.type, { rows: r.n, bytes: r.bytes }]));
  } finally {
    db.close();
  }
}
