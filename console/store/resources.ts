// Resources on the nodes: what each node's running containers use (Stats: asked by ps and
// status, and every 2 s by the TUI's services and service screens while they are open) and
// the removal of images no release uses (PruneImages).
import { agentError } from "../output/errors.ts";
import { fanOut, LONG_CALL_MS, pickNodes, probe } from "./nodes.ts";
import { pruneResult, statsRow, type PruneNodeResult } from "./resource-types.ts";
import type { GetState, NodeOutcome, ResourceActions, SetState, StoreDeps } from "./state.ts";
import { samePlain } from "./wire.ts";

export function resourceActions(set: SetState, get: GetState, deps: StoreDeps): ResourceActions {
  // Nodes with a Stats call in flight: a poll never piles calls onto a node slower than it.
  const asking = new Set<string>();

  const statsOf = async (node: string, containers: string[] = []) => {
    asking.add(node);
    try {
      const res = await deps.agents.client(node).stats({ containers }, deps.agents.call());
      const rows = res.containers.map((c) => statsRow(node, c));
      set((s) => {
        // The same figures as last time (idle containers): nothing changes, nothing redraws.
        if (!(node in s.statsErrors) && samePlain(s.stats[node], rows)) return {};
        const { [node]: _gone, ...statsErrors } = s.statsErrors;
        return { stats: { ...s.stats, [node]: rows }, statsErrors };
      });
    } catch (err) {
      // Only the numbers are missing (shown as "-"): the node's List says whether it is up.
      const message = agentError(err, node).message;
      set((s) => ({ stats: { ...s.stats, [node]: [] }, statsErrors: { ...s.statsErrors, [node]: message } }));
    } finally {
      asking.delete(node);
    }
  };

  return {
    async refreshStats(nodes, only) {
      let names: string[];
      try {
        names = await pickNodes(get, deps, nodes);
      } catch {
        return; // no nodes: the command's own call says so
      }
      const due = names.filter((n) => !asking.has(n) && get().nodes[n]?.state !== "unreachable");
      await Promise.all(due.map((n) => statsOf(n, only?.[n])));
    },

    async pruneImages(options) {
      const nodes = await pickNodes(get, deps, options.node ? [options.node] : undefined);
      set({ prune: { options, running: true, results: [], errors: [] } });
      let out: NodeOutcome<PruneNodeResult>[] = [];
      try {
        out = await fanOut(get, nodes, async (node) => {
          await probe(deps, node);
          const req = { olderThanSeconds: BigInt(options.olderThanSeconds), dryRun: options.dryRun };
          const r = pruneResult(node, await deps.agents.client(node).pruneImages(req, deps.agents.call({ timeoutMs: LONG_CALL_MS })));
          set((s) => (s.prune ? { prune: { ...s.prune, results: [...s.prune.results, r] } } : {}));
          return r;
        });
        return out;
      } finally {
        const errors = out.flatMap((o) => (o.ok ? [] : [{ node: o.node, code: o.error.code, message: o.error.message }]));
        set((s) => (s.prune ? { prune: { ...s.prune, running: false, errors } } : {}));
      }
    },
  };
}
