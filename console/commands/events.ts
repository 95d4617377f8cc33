// `mcp events [service]`: lifecycle events of managed containers (create, start, died,
// stop, remove…) from every node, or from the service's node, until interrupted.
import type { AgentEventRow } from "../store/types.ts";
import type { CommandSpec } from "./command.ts";
import { stream } from "./present.ts";

const command: CommandSpec = {
  name: "events",
  args: "[service]",
  summary: "follow container lifecycle events of every node (or of one service)",
  options: [],
  async run(ctx, [service]) {
    const store = ctx.store();
    let noted = new Set<string>();
    // A node that drops out is said on stderr; the others keep streaming.
    const unsubscribe = store.subscribe((s) => {
      for (const n of Object.values(s.nodes)) {
        if (n.state === "unreachable" && !noted.has(n.name)) ctx.out.note(`mcp: node ${n.name}: ${n.reason}`);
      }
      noted = new Set(
        Object.values(s.nodes)
          .filter((n) => n.state === "unreachable")
          .map((n) => n.name),
      );
    });
    try {
      await stream<AgentEventRow, void>(
        ctx,
        {
          select: (s) => s.events,
          seq: (e) => e.seq,
          record: ({ seq: _seq, ...e }) => e,
          line: (e) => `${e.time}  ${e.node}  ${e.service}/${e.component}  ${e.action}  ${e.container}`,
        },
        () => store.getState().followEvents(service, ctx.signal),
      );
    } finally {
      unsubscribe();
    }
    return 0;
  },
};

export default command;
