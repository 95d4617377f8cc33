// `mcp up [--home DIR] [--foreground]`: a running platform on this machine in one command.
// Creates the platform home on first use (console/platform/home.ts), starts `mcr`, joins the
// local agent with a token on first use, starts `mcp-agent` on loopback unless they run already, waits until both are healthy, logs the
// console in, then opens the TUI (on a terminal), prints the endpoints and files (--json,
// plain), or with --foreground keeps the daemons attached until Ctrl-C.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { addNodeAsAdmin, ensureLogin } from "../platform/access.ts";
import { ensureDaemon, stopDaemon, type DaemonState } from "../platform/daemons.ts";
import { endpoints, ensureAgent, ensureHome } from "../platform/home.ts";
import { DAEMONS, defaultPlatformHome, platformPaths } from "../platform/paths.ts";
import { ConsoleError } from "../output/errors.ts";
import { Context, type CommandSpec } from "./command.ts";
import { nodeJson, runtimeNote } from "../views/format.ts";

const command: CommandSpec = {
  name: "up",
  args: "",
  summary: "create (first time) and start a registry and an agent on this machine, log in, open the console",
  options: [
    { flags: "--home <dir>", description: "the platform home (default $XDG_DATA_HOME/metacircular)" },
    { flags: "--foreground", description: "keep the daemons attached (their logs on this terminal) until Ctrl-C", default: false },
  ],
  async run(ctx, _args, opts) {
    const p = platformPaths((opts.home as string | undefined) ?? defaultPlatformHome(ctx.env));
    const foreground = opts.foreground === true;
    const say = (s: string) => ctx.mode !== "json" && ctx.out.note(s);
    let created: string[];
    try {
      created = await ensureHome(p, opts.home === undefined);
    } catch (err) {
      throw new ConsoleError("failed", `creating the platform home ${p.home}: ${(err as Error).message}`);
    }
    if (created.length) say(`mcp up: created the platform home ${p.home}`);
    const e = endpoints(p);
    const ca = readFileSync(join(p.mcr, "certs", "ca.pem"), "utf8");
    const states: DaemonState[] = [];
    try {
      states.push(await ensureDaemon(p, "mcr", ca, e.registryUrl, foreground, ctx.env));
      // The local agent joins like any other node: a token from the registry, its key made here.
      const joined = await ensureAgent(p, e.registryUrl, (name, url, hostnames) => addNodeAsAdmin(p, e.registryUrl, ca, { name, url, hostnames }));
      created.push(...joined);
      states.push(await ensureDaemon(p, "mcp-agent", ca, e.agentUrl, foreground, ctx.env));
    } catch (err) {
      if (foreground) for (const s of states) await stopDaemon(p, s.daemon);
      throw new ConsoleError("failed", (err as Error).message);
    }
    for (const s of states) say(`mcp up: ${s.daemon} ${s.started ? "started" : "already running"} (pid ${s.pid}, log ${p.log(s.daemon)})`);

    const home = new Context({ configPath: p.consoleConfig, out: ctx.out, env: ctx.env, signal: ctx.signal });
    try {
      const session = await ensureLogin(p, home.credentials(), e.registryUrl, ca).catch((err: Error) => {
        throw new ConsoleError("unauthenticated", `logging the console in: ${err.message}`);
      });
      const nodes = await home.store().getState().refreshNodes();
      const doc = {
        home: p.home,
        registry: {
          url: e.registryUrl,
          host: e.registryHost,
          pid: states[0]!.pid,
          started: states[0]!.started,
          config: p.mcrConfig,
          log: p.log("mcr"),
          pidFile: p.pid("mcr"),
          adminPasswordFile: p.adminPassword,
        },
        agent: {
          node: nodes[0]?.name ?? "",
          url: e.agentUrl,
          pid: states[1]!.pid,
          started: states[1]!.started,
          config: p.agentConfig,
          log: p.log("mcp-agent"),
          pidFile: p.pid("mcp-agent"),
        },
        ca: { cert: join(p.mcr, "certs", "ca.pem"), dir: p.ca },
        console: { config: p.consoleConfig, credentials: home.credentials().file, username: session.username, services: p.services, workspace: p.workspace },
        nodes: nodes.map(nodeJson),
        created,
      };
      const notes = nodes.map(runtimeNote).filter((n): n is string => !!n);
      if (ctx.mode === "json") ctx.out.document(doc);
      else if (ctx.mode === "plain" || foreground) ctx.out.text(summary(doc, notes, foreground));
      else {
        for (const n of notes) ctx.out.note(`mcp up: ${n}`);
        const { openTui } = await import("../tty/tui.ts");
        return await openTui(home.store(), { color: ctx.out.color, tui: home.config().tui });
      }
      if (!foreground) return 0;
      await new Promise<void>((r) => (ctx.signal.aborted ? r() : ctx.signal.addEventListener("abort", () => r(), { once: true })));
      for (const d of [...DAEMONS].reverse()) {
        const s = await stopDaemon(p, d);
        ctx.out.note(`mcp up: ${d} ${s.outcome}${s.pid ? ` (pid ${s.pid}, ${s.ms} ms)` : ""}`);
      }
      return 0;
    } finally {
      home.close();
    }
  },
};

function summary(
  d: {
    home: string;
    registry: { url: string; config: string; log: string; adminPasswordFile: string };
    agent: { url: string; config: string; log: string };
    ca: { cert: string };
    console: { config: string };
  },
  notes: string[],
  foreground: boolean,
): string {
  return [
    `platform home  ${d.home}`,
    `registry       ${d.registry.url}  (config ${d.registry.config}, log ${d.registry.log})`,
    `agent          ${d.agent.url}  (config ${d.agent.config}, log ${d.agent.log})`,
    `CA             ${d.ca.cert}`,
    `console        ${d.console.config} (logged in as admin; password in ${d.registry.adminPasswordFile})`,
    ...notes.map((n) => `note           ${n}`),
    foreground ? "Ctrl-C stops both daemons." : "`mcp` opens the console; `mcp down` stops the daemons.",
    "",
  ].join("\n");
}

export default command;
