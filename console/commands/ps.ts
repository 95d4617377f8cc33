// `mcp ps`: every managed container on every node, asked at once; a node that does not
// answer in time is listed as unreachable and the others are shown all the same.
import { cell } from "../output/screen.ts";
import type { ConsoleState } from "../store/state.ts";
import type { CommandSpec } from "./command.ts";
import { emptyText, nodeJson, nodeNotes, partialExit, portsText, stateCell, uptime } from "../views/format.ts";
import { statsNotes, statsOf, usageCells, usageJson } from "../views/usage.ts";
import { listNote } from "../views/nodes.ts";
import { finite, platformNoteOnStderr } from "./present.ts";
import { compareText } from "../../lib/text/compare.ts";

export const containerRows = (s: ConsoleState) =>
  Object.values(s.containers)
    .flat()
    .sort((a, b) => compareText(a.service, b.service) || compareText(a.component, b.component) || compareText(a.node, b.node));

const command: CommandSpec = {
  name: "ps",
  args: "",
  summary: "every managed container on every node",
  options: [],
  async run(ctx) {
    const store = ctx.store();
    await finite(
      ctx,
      // List and Stats at once: a node whose Stats fails still lists its containers.
      async () => (await Promise.all([store.getState().refreshContainers(), store.getState().refreshStats()]))[0],
      () => {
        const s = store.getState();
        return {
          nodes: Object.values(s.nodes).map(nodeJson),
          containers: containerRows(s).map((c) => ({ ...c, ...usageJson(statsOf(s, c.node, c.container)) })),
        };
      },
      (s, done) => ({
        sections: [
          {
            columns: ["service", "component", "node", "version", "state", "cpu", "mem", "uptime", "ports"],
            rows: containerRows(s).map((c) => [
              cell(c.service),
              cell(c.component),
              cell(c.node),
              cell(c.version),
              stateCell(c.state),
              ...usageCells(statsOf(s, c.node, c.container)),
              cell(c.state === "running" ? uptime(c.startedAt) : ""),
              cell(portsText(c.ports)),
            ]),
            empty: done ? emptyText(Object.values(s.nodes), "no managed containers") : "",
          },
        ],
        notes: [...nodeNotes(Object.values(s.nodes)), ...listNote(s.platform), ...statsNotes(s)],
        ...(done ? {} : { pending: "asking the agents" }),
      }),
    );
    platformNoteOnStderr(ctx);
    return partialExit(Object.values(store.getState().nodes));
  },
};

export default command;
