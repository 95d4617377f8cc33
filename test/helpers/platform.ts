// A platform for an integration test: a real mcr (authentication on) from a fresh home, the
// admin's token for it, an agent home pointed at it with its own podman storage, and the
// real mcp-agent; stop() ends both daemons and removes everything they made.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mcp } from "./console.ts";
import { agentClient, initAgentHome, startAgentProcess, type AgentHome, type AgentProcess } from "./agent-process.ts";
import { RegistryClient } from "./https-client.ts";
import { addAccount, login } from "./identity.ts";
import { initHome, removeHome, startMcr, type McrHome, type McrProcess } from "./mcr-process.ts";
import { createPodmanEnv, type PodmanEnv } from "./podman.ts";

export interface PlatformOptions {
  /** Environment of mcr ($MCR_…). */
  mcrEnv?: NodeJS.ProcessEnv;
  /** Environment of the agent ($MCP_AGENT_…). */
  agentEnv?: NodeJS.ProcessEnv;
  /** The agent's own registry account, made on mcr before the agent starts. */
  agentAccount?: { username: string; type: "human" | "system"; roles: string[] };
  /** Called with the mcr home before mcr starts (accounts made offline, say). */
  beforeMcr?: (home: McrHome) => Promise<void>;
}

export interface TestPlatform {
  mcrHome: McrHome;
  mcr: McrProcess;
  /** The admin's token for mcr (service "mcr"). */
  adminToken: string;
  pm: PodmanEnv;
  agentHome: AgentHome;
  agent: AgentProcess;
  /** The admin's token for the agent (service "mcp-agent"). */
  agentAdminToken: string;
  agentClient(): ReturnType<typeof agentClient>;
  stop(): Promise<void>;
}

export async function startPlatform(o: PlatformOptions = {}): Promise<TestPlatform> {
  const p: Partial<TestPlatform> = {};
  const stop = async () => {
    await p.agent?.stop();
    await p.mcr?.stop();
    await p.pm?.cleanup();
    if (p.agentHome) rmSync(p.agentHome.dir, { recursive: true, force: true });
    if (p.mcrHome) removeHome(p.mcrHome);
  };
  try {
    p.mcrHome = await initHome();
    const registryUser = o.agentAccount
      ? { username: o.agentAccount.username, password: await addAccount(p.mcrHome, o.agentAccount.username, o.agentAccount.type, o.agentAccount.roles) }
      : undefined;
    await o.beforeMcr?.(p.mcrHome);
    p.mcr = await startMcr(p.mcrHome, o.mcrEnv ?? {}, { auth: true });
    const rc = new RegistryClient(p.mcr.url, p.mcrHome.caPem);
    p.adminToken = await login(rc, "admin", p.mcrHome.adminPassword);
    p.agentAdminToken = await login(rc, "admin", p.mcrHome.adminPassword, "mcp-agent");
    p.pm = createPodmanEnv();
    p.agentHome = await initAgentHome({ mcr: p.mcr, mcrHome: p.mcrHome, podmanDir: p.pm.dir, ...(registryUser ? { registryUser } : {}) });
    p.agent = await startAgentProcess(p.agentHome, o.agentEnv ?? {});
  } catch (err) {
    await stop();
    throw err;
  }
  const done = p as TestPlatform;
  done.agentClient = () => agentClient(done.agent.url, done.mcrHome.caPem);
  done.stop = stop;
  return done;
}

/**
 * A console of the test's own for `p`: an mcp.toml naming its node and registry in a temp
 * folder (XDG config and state there), logged in as the admin. The caller removes `dir`.
 */
export async function adminConsole(p: TestPlatform, prefix: string): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, "config", "mcp", "services"), { recursive: true });
  writeFileSync(
    join(dir, "config", "mcp", "mcp.toml"),
    `ca_cert = "${p.mcrHome.caPath}"\n\n[[nodes]]\nname = "node1"\nurl = "${p.agent.url}"\n\n[registry]\nurl = "${p.mcr.url}"\n`,
  );
  const env = { ...p.pm.env, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state"), NO_COLOR: "1" };
  const logged = await mcp(["login", "--username", "admin", "--password-stdin"], env, `${p.mcrHome.adminPassword}\n`);
  if (logged.code !== 0) throw new Error(`mcp login failed: ${logged.stderr}`);
  return { dir, env };
}
