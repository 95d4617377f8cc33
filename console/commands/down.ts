// `mcp down [--home DIR]`: stops the daemons `mcp up` started (SIGTERM, then waits while they
// drain: mcr finishes in-flight requests, the agent its calls; containers keep running and
// the agent re-adopts them at the next `mcp up`).
import { stopDaemon, type Stopped } from "../platform/daemons.ts";
import { DAEMONS, defaultPlatformHome, platformPaths } from "../platform/paths.ts";
import type { CommandSpec } from "./command.ts";

const command: CommandSpec = {
  name: "down",
  args: "",
  summary: "stop the registry and agent that `mcp up` started (containers keep running)",
  options: [{ flags: "--home <dir>", description: "the platform home (default $XDG_DATA_HOME/metacircular)" }],
  async run(ctx, _args, opts) {
    const p = platformPaths((opts.home as string | undefined) ?? defaultPlatformHome(ctx.env));
    const stopped: Stopped[] = [];
    // The agent first: it validates tokens against the registry while it drains.
    for (const d of [...DAEMONS].reverse()) stopped.push(await stopDaemon(p, d));
    if (ctx.mode === "json") ctx.out.document({ home: p.home, daemons: stopped });
    else
      ctx.out.text(
        stopped
          .map((s) =>
            s.outcome === "not running"
              ? `${s.daemon}: not running\n`
              : `${s.daemon}: ${s.outcome === "stopped" ? "stopped" : "killed after the drain timeout"} (pid ${s.pid}, ${(s.ms / 1000).toFixed(1)} s)\n`,
          )
          .join(""),
      );
    return 0;
  },
};

export default command;
