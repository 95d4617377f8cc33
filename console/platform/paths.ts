// Where `mcp up` keeps the platform it runs on this machine: one folder (the platform home,
// `$XDG_DATA_HOME/metacircular` or `--home`) holding the registry's home, the agent's home,
// the CA (a folder of its own: no daemon's home ever holds the key), the console's config,
// and each daemon's pid and log file.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface PlatformPaths {
  home: string;
  ca: string;
  mcr: string;
  mcrConfig: string;
  adminPassword: string;
  agent: string;
  agentConfig: string;
  agentPassword: string;
  /** The port chosen for the agent before it has joined (its config names it after). */
  agentPort: string;
  consoleConfig: string;
  services: string;
  workspace: string;
  pid(daemon: Daemon): string;
  log(daemon: Daemon): string;
}

export type Daemon = "mcr" | "mcp-agent";
export const DAEMONS: Daemon[] = ["mcr", "mcp-agent"];

export function defaultPlatformHome(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "metacircular");
}

export function platformPaths(home: string): PlatformPaths {
  home = resolve(home);
  const mcr = join(home, "mcr");
  const agent = join(home, "agent");
  return {
    home,
    ca: join(home, "ca"),
    mcr,
    mcrConfig: join(mcr, "mcr.toml"),
    adminPassword: join(mcr, "admin.password"),
    agent,
    agentConfig: join(agent, "mcp-agent.toml"),
    agentPassword: join(agent, "registry.password"),
    agentPort: join(home, "run", "agent-port"),
    consoleConfig: join(home, "mcp.toml"),
    services: join(home, "services"),
    workspace: join(home, "src"),
    pid: (d) => join(home, "run", `${d}.pid`),
    log: (d) => join(home, "log", `${d}.log`),
  };
}

/** The folder holding bin/mcr and bin/mcp-agent: up from this module (a bundle in dist/, or the sources). */
export function binDir(from = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "bin", "mcr")) && existsSync(join(dir, "bin", "mcp-agent"))) return join(dir, "bin");
  }
  throw new Error(`cannot find bin/mcr and bin/mcp-agent above ${from}`);
}
