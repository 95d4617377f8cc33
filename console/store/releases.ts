// Releases of a service, from its node's agent: History into `releases[service]`, and
// Rollback, which the agent runs as a deploy of an earlier release (its images pinned by
// digest): its progress lands in `deployment` and `deployEvents` as a deploy's does, so
// the same live views show it.
import { ReleaseSchema } from "../../proto/gen/mcp/agent/v1/releases_pb.ts";
import { agentError, ConsoleError } from "../output/errors.ts";
import { applyProgress, deployLeftMessage } from "./deploy.ts";
import { probe } from "./nodes.ts";
import type { GetState, ReleaseActions, SetState, StoreDeps } from "./state.ts";
import { plain } from "./wire.ts";

export function releaseActions(set: SetState, get: GetState, deps: StoreDeps): ReleaseActions {
  return {
    async history(service) {
      const node = await get().nodeOf(service);
      try {
        const res = await deps.agents.client(node).history({ service }, deps.agents.call());
        const rows = res.releases.map((r) => plain(ReleaseSchema, r));
        set((s) => ({ releases: { ...s.releases, [service]: rows } }));
        return rows;
      } catch (err) {
        throw agentError(err, node);
      }
    },

    async rollback(service, number, signal) {
      set({ deployment: { service, node: "", state: "deploying", components: {}, images: [], error: null }, deployEvents: [] });
      const fail = (e: ConsoleError) => {
        set((s) => ({ deployment: { ...s.deployment!, state: "failed", error: { code: e.code, message: e.message } } }));
        return e;
      };
      let node = "";
      try {
        node = await get().nodeOf(service);
        set((s) => ({ deployment: { ...s.deployment!, node } }));
        await probe(deps, node);
        const stream = deps.agents.client(node).rollback({ service, release: number }, deps.agents.call({ stream: true, ...(signal ? { signal } : {}) }));
        for await (const m of stream) {
          if (m.msg.case === "release") {
            const to = m.msg.value.number;
            set((s) => ({ deployment: { ...s.deployment!, rollbackTo: to } }));
          } else if (m.msg.case === "progress") applyProgress(set, service, node, m.msg.value);
        }
        get().markNode(node, { ok: true });
      } catch (err) {
        if (signal?.aborted) throw fail(new ConsoleError("failed", deployLeftMessage(get().deployment!)));
        throw fail(err instanceof ConsoleError ? err : agentError(err, node));
      }
      const final = get().deployment!;
      if (final.state !== "done") throw fail(new ConsoleError("failed", `node ${node}: the rollback stream ended without DONE`));
      return final;
    },
  };
}
