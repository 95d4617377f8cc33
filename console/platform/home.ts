// Creates the platform home on first `mcp up` with the binaries' own commands, as an
// operator would (docs/install.md): the CA in its own folder, `mcr init` (config, database,
// first admin account, node signer), the console's config for the local node and registry,
// and, once mcr runs, the local agent joined with a token like any other node (ensureAgent).
// Every step that is done already is skipped.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { binDir, type PlatformPaths } from "./paths.ts";

const exec = promisify(execFile);

export const NODE_NAME = "local";

export interface Endpoints {
  registryUrl: string;
  registryHost: string;
  agentUrl: string;
}

/** Runs one of the platform's binaries; a failure names the command and its stderr. */
export async function runBin(name: "mcr" | "mcp-agent", args: string[], input?: string): Promise<string> {
  const p = exec(join(binDir(), name), args, { maxBuffer: 16 * 1024 * 1024 });
  if (input !== undefined) p.child.stdin!.end(input);
  try {
    return (await p).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${name} ${args[0]} ${args[1] ?? ""} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** `preferred` when given and free on loopback, else a port the OS picks. */
async function freePort(preferred: number | undefined): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((res) => {
      const s = createServer();
      s.once("error", () => res(undefined));
      s.listen(port, "127.0.0.1", () => {
        const got = (s.address() as { port: number }).port;
        s.close(() => res(got));
      });
    });
  return (preferred !== undefined ? await tryPort(preferred) : undefined) ?? (await tryPort(0))!;
}

const portOf = (config: string) => {
  const m = /^listen_addr = "[^"]*:(\d+)"/m.exec(readFileSync(config, "utf8"));
  if (!m) throw new Error(`${config}: no listen_addr`);
  return Number(m[1]);
};

/** The agent's port: its config's, or the one chosen for it before it joined. */
const agentPortOf = (p: PlatformPaths) => (existsSync(p.agentConfig) ? portOf(p.agentConfig) : Number(readFileSync(p.agentPort, "utf8").trim()));

export function endpoints(p: PlatformPaths): Endpoints {
  const r = portOf(p.mcrConfig);
  return { registryUrl: `https://localhost:${r}`, registryHost: `localhost:${r}`, agentUrl: `https://localhost:${agentPortOf(p)}` };
}

/**
 * The local agent joins the running registry as node "local" the way every other node does
 * (docs/nodes.md): `mcp node add` through the admin API, then `mcp-agent join` with the token.
 * Its home gets a container prefix of its own and the platform home's storage. Returns the
 * files it created (none when the agent had joined already).
 */
export async function ensureAgent(
  p: PlatformPaths,
  registryUrl: string,
  addNode: (name: string, url: string, hostnames: string[]) => Promise<string>,
): Promise<string[]> {
  if (existsSync(p.agentConfig)) return [];
  const port = agentPortOf(p);
  const token = await addNode(NODE_NAME, `https://localhost:${port}`, ["127.0.0.1", "::1"]);
  // Every home's agent shares the machine's podman: its own prefix keeps the container names
  // of two homes (or of the tests' agents) apart, so each can run a service `hello`.
  await runBin("mcp-agent", [
    "join",
    "--token",
    token,
    registryUrl,
    "--dir",
    p.agent,
    "--listen",
    `127.0.0.1:${port}`,
    "--container-prefix",
    `mcp-${randomBytes(3).toString("hex")}-`,
  ]);
  const storage = join(p.agent, "srv");
  mkdirSync(storage, { recursive: true, mode: 0o700 });
  // Not /srv: the platform home is all `mcp up` writes to, and it may run as a normal user.
  const text = readFileSync(p.agentConfig, "utf8").replace(/^\[storage\]\nroot = .*$/m, `[storage]\nroot = ${JSON.stringify(storage)}`);
  const conf = podmanLimitsConf(p);
  writeFileAtomic(p.agentConfig, conf ? text.replace(/^\[runtime\]\n/m, `[runtime]\ncontainers_conf = ${JSON.stringify(conf)}\n`) : text, 0o600);
  rmSync(p.agentPort, { force: true });
  return [p.agentConfig, p.agentPassword, ...(conf ? [conf] : [])];
}

/**
 * Makes whatever part of the home is missing; returns the files it created. `usualPorts`:
 * the registry on 8443 and the agent on 9444 when they are free (the default home), else
 * ports the OS picks.
 */
export async function ensureHome(p: PlatformPaths, usualPorts: boolean): Promise<string[]> {
  const created: string[] = [];
  for (const d of [p.home, join(p.home, "run"), join(p.home, "log"), p.services, p.workspace]) mkdirSync(d, { recursive: true, mode: 0o700 });
  if (!existsSync(p.mcrConfig)) {
    const port = await freePort(usualPorts ? 8443 : undefined);
    await runBin("mcr", ["init", "--dir", p.mcr, "--ca-dir", p.ca, "--listen", `127.0.0.1:${port}`]);
    created.push(p.mcrConfig, p.adminPassword);
  }
  // A home made before node signers gets one (its CA folder is the home's own).
  if (!existsSync(join(p.mcr, "signer", "signer.pem"))) await runBin("mcr", ["cert", "signer", "--config", p.mcrConfig, "--ca-dir", p.ca]);
  // The agent's port is chosen now, so that the console's config can name it; it joins once mcr runs.
  if (!existsSync(p.agentConfig) && !existsSync(p.agentPort)) writeFileAtomic(p.agentPort, `${await freePort(usualPorts ? 9444 : undefined)}\n`, 0o600);
  if (!existsSync(p.consoleConfig)) {
    writeConsoleConfig(p, endpoints(p));
    created.push(p.consoleConfig);
  }
  const registry = join(p.home, "machine-registry");
  if (!existsSync(registry)) writeFileSync(registry, `${NODE_NAME}=01\n`, { mode: 0o600 });
  return created;
}

/** podman's defaults as root: containers get these limits unless containers.conf says otherwise. */
const PODMAN_LIMITS = { nofile: 1_048_576, nproc: 4_194_304 };

/**
 * On a machine whose hard limits are below podman's defaults (VMs and containers often are),
 * every `podman run` as root fails ("error setting rlimit type 7"). Then the agent gets a
 * containers.conf with the machine's own hard limits as the containers' defaults.
 */
function podmanLimitsConf(p: PlatformPaths): string | undefined {
  let limits: string;
  try {
    limits = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return undefined;
  }
  const hard = (name: string) => {
    const m = new RegExp(`^Max ${name}\\s+\\S+\\s+(\\S+)`, "m").exec(limits);
    return m && m[1] !== "unlimited" ? Number(m[1]) : Infinity;
  };
  const nofile = hard("open files");
  // Above kernel.pid_max, runc refuses the process limit here (32768 on this project's VM) although the hard limit is higher.
  let pidMax = Infinity;
  try {
    pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim()) || Infinity;
  } catch {
    // no procfs value: the hard limit alone
  }
  const nproc = Math.min(hard("processes"), pidMax);
  if (process.getuid?.() !== 0 || (nofile >= PODMAN_LIMITS.nofile && nproc >= PODMAN_LIMITS.nproc)) return undefined;
  const n = (v: number, d: number) => (Number.isFinite(v) ? Math.min(v, d) : d);
  const file = join(p.agent, "containers.conf");
  const ulimits = [
    `"nofile=${n(nofile, PODMAN_LIMITS.nofile)}:${n(nofile, PODMAN_LIMITS.nofile)}"`,
    `"nproc=${n(nproc, PODMAN_LIMITS.nproc)}:${n(nproc, PODMAN_LIMITS.nproc)}"`,
  ];
  writeFileAtomic(
    file,
    `# Written by mcp up: this machine's hard limits are below podman's defaults.\n[containers]\ndefault_ulimits = [${ulimits.join(", ")}]\n`,
    0o644,
  );
  return file;
}

function writeConsoleConfig(p: PlatformPaths, e: Endpoints): void {
  const q = JSON.stringify;
  writeFileAtomic(
    p.consoleConfig,
    `# mcp's config for the platform \`mcp up\` runs on this machine (docs/console.md).
# mcp reads it when $XDG_CONFIG_HOME/mcp/mcp.toml does not exist; \`mcp --config ${p.consoleConfig}\` otherwise.
ca_cert = ${q(join(p.mcr, "certs", "ca.pem"))}

[[nodes]]
name = ${q(NODE_NAME)}
url = ${q(e.agentUrl)}

[registry]
url = ${q(e.registryUrl)}

[build]
workspace = ${q(p.workspace)}

[services]
dir = ${q(p.services)}

[placement]
machine_registry = ${q(join(p.home, "machine-registry"))}

[storage]
root = ${q(join(p.agent, "srv"))}
`,
    0o600,
  );
}
