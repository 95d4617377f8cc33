// `mcp nodes`: every configured node, asked at once: reachable or not (and why), agent and podman versions.
import { cell } from "../output/screen.ts";
import type { CommandSpec } from "./command.ts";
import { nodeJson, partialExit, runtimeMissing, runtimeNote, stateCell } from "../views/format.ts";
import { finite } from "./present.ts";

const command: CommandSpec = {
  name: "nodes",
  args: "",
  summary: "the configured nodes and whether their agents answer",
  options: [],
  async run(ctx) {
    const store = ctx.store();
    const nodes = await finite(
      ctx,
      () => store.getState().refreshNodes(),
      (list) => ({ nodes: list.map(nodeJson) }),
      (s, done) => ({
        sections: [
          {
            columns: ["node", "url", "state", "agent", "podman", "reason"],
            rows: Object.values(s.nodes).map((n) => [
              cell(n.name),
              cell(n.url),
              stateCell(n.state),
              cell(n.version),
              runtimeMissing(n) ? cell("missing", "bad") : cell(n.podmanVersion),
              cell(n.reason, "dim"),
            ]),
          },
        ],
        notes: Object.values(s.nodes)
          .filter(runtimeMissing)
          .map((n) => cell(runtimeNote(n)!, "bad")),
        ...(done ? {} : { pending: "asking the agents" }),
      }),
    );
    return partialExit(nodes);
  },
};

export default command;
