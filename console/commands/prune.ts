// `mcp prune [--node N] [--older-than 168h] [--dry-run]`: removes the images on the nodes
// (every podman their agents use) that no release needs: the agents keep each service's
// current and previous release, every image a container uses, and images younger than
// --older-than. --dry-run lists what would go and the bytes it would free.
import { parseDuration } from "../../lib/config/types.ts";
import { ConsoleError, EXIT_CODES } from "../output/errors.ts";
import type { CommandSpec } from "./command.ts";
import { nodeJson, nodeNotes } from "../views/format.ts";
import { olderThanText, pruneNotes, pruneSection, pruneTotal } from "../views/prune.ts";
import { finite } from "./present.ts";

/** Seconds of a duration option ("168h", "30m", "7d", "0"). */
function seconds(v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined) throw new ConsoleError("usage", `--older-than must be a duration like 168h, 30m or 7d, not ${JSON.stringify(v)}`);
  return Math.floor(ms / 1000);
}

const command: CommandSpec = {
  name: "prune",
  args: "",
  summary: "remove images on the nodes that no release (current or previous) and no container uses",
  options: [
    { flags: "--node <name>", description: "only this node (default: every node)" },
    { flags: "--older-than <duration>", description: "keep images created within this time; 0: no age limit", default: "168h", parse: seconds },
    { flags: "--dry-run", description: "list what would be removed and the bytes it would free; remove nothing", default: false },
  ],
  async run(ctx, _args, o) {
    const store = ctx.store();
    const options = {
      ...(typeof o.node === "string" ? { node: o.node } : {}),
      olderThanSeconds: typeof o.olderThan === "number" ? o.olderThan : seconds(String(o.olderThan)),
      dryRun: o.dryRun === true,
    };
    const what = `${options.dryRun ? "dry run: " : ""}images older than ${olderThanText(options.olderThanSeconds)} that no release or container uses`;
    const out = await finite(
      ctx,
      () => store.getState().pruneImages(options),
      (results) => {
        const s = store.getState();
        return {
          dryRun: options.dryRun,
          olderThanSeconds: options.olderThanSeconds,
          nodes: Object.values(s.nodes)
            .filter((n) => results.some((r) => r.node === n.name))
            .map(nodeJson),
          results: results.flatMap((r) => (r.ok ? [r.value] : [])),
          bytesFreed: pruneTotal(s.prune),
          errors: s.prune?.errors ?? [],
        };
      },
      (s, done) => ({
        sections: [pruneSection(s.prune, what)],
        notes: [...pruneNotes(s.prune), ...nodeNotes(Object.values(s.nodes).filter((n) => !options.node || n.name === options.node))],
        ...(done ? {} : { pending: options.dryRun ? "asking the agents (dry run)" : "pruning" }),
      }),
    );
    // A node that failed: its error's code; an image the agent could not remove: failed.
    const failedNode = out.find((r) => !r.ok);
    if (failedNode && !failedNode.ok) return EXIT_CODES[failedNode.error.code];
    return out.some((r) => r.ok && r.value.images.some((i) => i.outcome === "failed")) ? EXIT_CODES.failed : 0;
  },
};

export default command;
