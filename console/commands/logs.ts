// `mcp logs <service>[/<component>] [-f] [--tail N] [--since T] [--timestamps]`: container
// logs from the service's node. Without a component every component is followed, merged,
// each line prefixed by its component. --json: one NDJSON record a line. On a terminal the
// lines are written as they come (colour per component), so they scroll like any log. A
// follow that breaks and reconnects says so on stderr, and again when it has resumed.
import { ConsoleError } from "../output/errors.ts";
import { splitTarget } from "../store/services.ts";
import type { LogLine } from "../store/types.ts";
import { intOption, type CommandSpec } from "./command.ts";
import { stream } from "./present.ts";

const COLORS = [36, 35, 33, 32, 34, 91, 96, 95];

const command: CommandSpec = {
  name: "logs",
  args: "<target>",
  summary: "a service's logs (every component merged, prefixed) or one component's",
  options: [
    { flags: "-f, --follow", description: "keep following new lines until interrupted", default: false },
    { flags: "--tail <n>", description: "only the last N lines of each component", parse: intOption("--tail") },
    {
      flags: "--since <time>",
      description: "lines since an RFC 3339 time or for a duration like 10m",
      parse: (v) => {
        if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(v) && Number.isNaN(Date.parse(v)))
          throw new ConsoleError("usage", `--since must be an RFC 3339 time or a duration like 10m, not ${JSON.stringify(v)}`);
        return v;
      },
    },
    { flags: "--timestamps", description: "prefix each line with its time", default: false },
  ],
  async run(ctx, [target], opts) {
    const { part } = splitTarget(target!);
    const store = ctx.store();
    const colours = new Map<string, number>();
    const prefix = (l: LogLine) => {
      if (part) return "";
      if (!ctx.out.color) return `${l.component} | `;
      if (!colours.has(l.component)) colours.set(l.component, COLORS[colours.size % COLORS.length]!);
      return `\x1b[${colours.get(l.component)}m${l.component}\x1b[0m | `;
    };
    // Each component's follow: "reconnecting…" when it breaks, "resumed" once lines flow again.
    const said = new Map<string, string>();
    const unsubscribe = store.subscribe((s) => {
      for (const [component, state] of Object.entries(s.logs.streams)) {
        const before = said.get(component) ?? "";
        if (state === before) continue;
        said.set(component, state);
        if (state.startsWith("reconnecting")) ctx.out.note(`mcp: logs of ${component}: ${state}`);
        else if (state === "open" && before.startsWith("reconnecting")) ctx.out.note(`mcp: logs of ${component}: resumed`);
      }
    });
    await stream<LogLine, void>(
      ctx,
      {
        select: (s) => s.logs.lines,
        seq: (l) => l.seq,
        record: ({ seq: _seq, ...l }) => l,
        line: (l) => prefix(l) + l.line,
      },
      () =>
        store.getState().followLogs(
          target!,
          {
            follow: Boolean(opts.follow),
            tail: (opts.tail as number | undefined) ?? 0,
            since: (opts.since as string | undefined) ?? "",
            timestamps: Boolean(opts.timestamps),
          },
          ctx.signal,
        ),
    ).finally(unsubscribe);
    return 0;
  },
};

export default command;
