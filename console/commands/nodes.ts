// `mcp nodes`: every node, asked at once: reachable or not (and why), agent and podman versions,
// when a joined node's certificate expires; and the registry's readiness (its database and
// blob store). The nodes are the config's [[nodes]] and the platform's joined nodes
// (store/platform.ts); notes say why the registry's are missing and which certificates should
// have been renewed.
import { cell } from "../output/screen.ts";
import type { CommandSpec } from "./command.ts";
import { certCell } from "../views/cert.ts";
import { nodeJson, partialExit, runtimeMissing, runtimeNote, stateCell } from "../views/format.ts";
import { certNotes, platformNotes } from "../views/nodes.ts";
import { finite, platformNoteOnStderr } from "./present.ts";
import { healthSection } from "../views/registry-health.ts";

const command: CommandSpec = {
  name: "nodes",
  args: "",
  summary: "the nodes (the config's and the platform's) and whether their agents answer",
  options: [],
  async run(ctx) {
    const store = ctx.store();
    const nodes = await finite(
      ctx,
      async () => (await Promise.all([store.getState().refreshNodes(), store.getState().registryHealth()]))[0],
      (list) => {
        const { platform: p, mcr } = store.getState();
        return {
          nodes: list.map(nodeJson),
          platform: { listed: p.listed, note: p.note, pending: p.nodes.filter((n) => n.state === "pending").map((n) => n.name) },
          registry: mcr.health,
        };
      },
      (s, done) => ({
        sections: [
          {
            columns: ["node", "url", "state", "agent", "podman", "cert", "reason"],
            rows: Object.values(s.nodes).map((n) => [
              cell(n.name),
              cell(n.url),
              stateCell(n.state),
              cell(n.version),
              runtimeMissing(n) ? cell("missing", "bad") : cell(n.podmanVersion),
              certCell(n),
              cell(n.reason, "dim"),
            ]),
          },
          ...(s.mcr.health ? [healthSection(s.mcr.health)] : []),
        ],
        notes: [
          ...Object.values(s.nodes)
            .filter(runtimeMissing)
            .map((n) => cell(runtimeNote(n)!, "bad")),
          ...certNotes(Object.values(s.nodes)),
          ...platformNotes(s.platform),
        ],
        ...(done ? {} : { pending: "asking the agents" }),
      }),
    );
    platformNoteOnStderr(ctx);
    return partialExit(nodes);
  },
};

export default command;
