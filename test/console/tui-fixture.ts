// A store against in-memory agents for the TUI and store tests of the console's defects:
// definitions written to a temporary folder, agents given as Connect service
// implementations, a log feed a test writes lines into while a screen follows it, and a
// command's context on such a store that writes to buffers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import { AgentService, LogStream, type LogsRequest } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { AgentPool } from "../../console/clients/agents.ts";
import { Context } from "../../console/commands/command.ts";
import { Definitions } from "../../console/definitions.ts";
import { Output, type Mode } from "../../console/output/output.ts";
import type { StoreDeps } from "../../console/store/state.ts";
import { createConsoleStore } from "../../console/store/store.ts";

export type AgentImpl = Partial<ServiceImpl<typeof AgentService>>;

const dirs: string[] = [];
export const removeFixtures = () => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));

export const health = () => ({ status: "ok", version: "1", node: "x", podmanVersion: "4.3.1" });

/** A running container of `service`'s `api` component, as an agent's List gives it. */
export const runningContainer = (service: string) => ({
  service,
  component: "api",
  container: `${service}-api`,
  image: "i",
  version: "v1",
  state: "running",
  startedAt: "",
  ports: [],
});

export const SHOP = 'name = "shop"\nnode = "rift"\nversion = "v1"\n[[components]]\nname = "api"\n[[components]]\nname = "web"\n';

/** A store whose nodes are `agents` (by name; at `urls`, else https://<name>.test:9444), with `definitions` (file name → TOML) in its services folder. */
export function fixtureStore(
  agents: Record<string, AgentImpl>,
  definitions: Record<string, string> = { shop: SHOP },
  over: Partial<StoreDeps> = {},
  urls: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "mcp-fixture-"));
  dirs.push(dir);
  mkdirSync(join(dir, "services"));
  mkdirSync(join(dir, "ws"));
  for (const [name, text] of Object.entries(definitions)) writeFileSync(join(dir, "services", `${name}.toml`), text);
  const pool = new AgentPool({
    nodes: Object.keys(agents).map((name) => ({ name, url: urls[name] ?? `https://${name}.test:9444` })),
    token: () => "t",
    timeoutMs: 500,
    transport: (n) => createRouterTransport(({ service }) => service(AgentService, agents[n.name]!)),
  });
  const deps: StoreDeps = {
    agents: pool,
    definitions: new Definitions(join(dir, "services")),
    registryHost: "mcr.test:8443",
    registry: () => ({ manifestExists: async () => true, close: () => undefined }),
    builder: () => ({ buildAndPush: async () => undefined }),
    workspace: join(dir, "ws"),
    machineRegistry: () => ({}),
    logFlushMs: 10,
    ...over,
  };
  return { store: createConsoleStore(deps), deps, dir };
}

/** Log lines a test writes while the agent's Logs stream is open: `first` lines per component at once, then each `write`. */
export class LogFeed {
  private waiting: (() => void)[] = [];
  private queued: { component: string; line: string }[] = [];
  constructor(private readonly first: number) {}

  write(component: string, line: string): void {
    this.queued.push({ component, line });
    for (const w of this.waiting.splice(0)) w();
  }

  async *logs(req: LogsRequest, signal: AbortSignal) {
    for (let i = 1; i <= this.first; i++) yield { component: req.component, stream: LogStream.STDOUT, line: `${req.component} line ${i}` };
    for (;;) {
      const mine = this.queued.filter((q) => q.component === req.component);
      this.queued = this.queued.filter((q) => q.component !== req.component);
      for (const q of mine) yield { component: q.component, stream: LogStream.STDOUT, line: q.line };
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    }
  }
}

/** A command's context on `deps` (an in-memory platform) writing to buffers, in `mode`. */
export function commandContext(configPath: string, mode: Mode, deps: Partial<StoreDeps>, signal = new AbortController().signal) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  const output = new Output(mode, stdout, stderr, false);
  const ctx = new Context({ configPath, out: output, env: {}, signal, deps });
  return { ctx, output, stdout: () => out, stderr: () => err };
}
