// Nodes that join a test platform with tokens, each on its own loopback address with its own
// folder and its own podman storage, so that each is a separate node as far as the platform
// can tell: `mcr init` on 127.0.0.2, `mcp-agent join` into a temp folder, then the real
// `mcp-agent server` on the node's address.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { AGENT_BIN, startAgentProcess, type AgentHome, type AgentProcess } from "./agent-process.ts";
import { createServer } from "node:net";
import { createPodmanEnv, type PodmanEnv } from "./podman.ts";

const run = promisify(execFile);

/** `mcp-agent join`: its stdout, or an Error carrying its stderr. */
export async function joinAgent(token: string, registryUrl: string, dir: string, extra: string[] = []): Promise<string> {
  try {
    return (await run(AGENT_BIN, ["join", "--token", token, registryUrl, "--dir", dir, ...extra])).stdout;
  } catch (err) {
    throw new Error((err as { stderr?: string }).stderr?.trim() || (err as Error).message);
  }
}

export interface JoinedNode {
  name: string;
  address: string;
  home: AgentHome;
  pm: PodmanEnv;
  agent: AgentProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * Joins `name` (registered at https://<address>:<port>) with `token` and starts its agent with
 * its own podman storage and a container prefix of its own. The caller stops it.
 */
export async function joinAndStart(
  name: string,
  address: string,
  port: number,
  token: string,
  registryUrl: string,
  env: NodeJS.ProcessEnv = {},
): Promise<JoinedNode> {
  const dir = mkdtempSync(join(tmpdir(), `node-${name}-`));
  const pm = createPodmanEnv();
  const prefix = `test-${randomBytes(3).toString("hex")}-`;
  try {
    await joinAgent(token, registryUrl, dir, ["--container-prefix", prefix]);
    const config = join(dir, "mcp-agent.toml");
    const storageRoot = join(dir, "srv");
    mkdirSync(storageRoot);
    const start = 20000 + Math.floor(Math.random() * 10000);
    const text = readFileSync(config, "utf8")
      .replace(
        /\[runtime\][\s\S]*?(?=\n\[)/,
        `[runtime]\ncontainer_prefix = "${prefix}"\ncontainers_conf = "${join(pm.dir, "containers.conf")}"\nstorage_conf = "${join(pm.dir, "storage.conf")}"\nreconcile_interval = "2s"\nstop_timeout = 2\nstart_grace = "1s"\n`,
      )
      .replace(/\[ports\][\s\S]*?(?=\n\[)/, `[ports]\nrange_start = ${start}\nrange_end = ${start + 200}\n`)
      .replace(/\[storage\][\s\S]*?(?=\n\[)/, `[storage]\nroot = "${storageRoot}"\n`);
    writeFileSync(config, text);
    const home: AgentHome = { dir, config, storageRoot, containerPrefix: prefix };
    const agent = await startAgentProcess(home, env);
    if (agent.port !== port) throw new Error(`the agent of ${name} listens on ${agent.port}, not the registered ${port}`);
    return {
      name,
      address,
      home,
      pm,
      agent,
      url: `https://${address}:${port}`,
      async stop() {
        await agent.stop();
        await pm.cleanup();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await pm.cleanup();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A TCP port the OS picks on `address`, free when this returns. */
export function freePortOn(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, address, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}
