// sync (definitions and the machine registry to each node's agent) and deploy (the
// agent's Deploy stream, per component), both after building the images the registry lacks.
import { definitionToProto } from "../../lib/services/to-proto.ts";
import { DeployPhase, DeployResponseSchema, type DeployResponse } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { componentImage, type LoadedDefinition } from "../definitions.ts";
import { agentError, ConsoleError, toConsoleError } from "../output/errors.ts";
import { fanOut, pickNodes, probe } from "./nodes.ts";
import type { DeployActions, GetState, SetState, StoreDeps } from "./state.ts";
import type { DeployState, SyncResultRow } from "./types.ts";
import { enumName, plain } from "./wire.ts";

const KEEP_EVENTS = 2000;

/** Every definition's node must be one of the console's [[nodes]] or the platform's joined nodes. */
async function checkNodes(defs: LoadedDefinition[], get: GetState, deps: StoreDeps): Promise<void> {
  const known = new Set(await pickNodes(get, deps));
  for (const d of defs)
    if (!known.has(d.def.node))
      throw new ConsoleError(
        "usage",
        `${d.file}: node ${JSON.stringify(d.def.node)} is not in the console config's [[nodes]] nor among the platform's joined nodes`,
      );
}

/** A deploy the console stops following (Ctrl-C, or the TUI left): what happens to it, and how to watch it. */
export function deployLeftMessage(d: DeployState): string {
  if (d.state === "building") return `interrupted while the images of ${d.service} were checked or built: nothing was deployed`;
  return `interrupted: the agent on ${d.node} carries on with the deploy of ${d.service} without the console; watch it with \`mcp status ${d.service}\` or \`mcp events ${d.service}\``;
}

/** The deployment still running, if any. */
export const deployInProgress = (d: DeployState | null): d is DeployState => d !== null && (d.state === "building" || d.state === "deploying");

/** One message of a Deploy (or Rollback) stream into `deployment` and `deployEvents`. */
export function applyProgress(set: SetState, service: string, node: string, p: DeployResponse): void {
  const phase = enumName(DeployPhase, p.phase, "failed");
  set((s) => {
    const seq = s.seq + 1;
    const deployEvents = [...s.deployEvents, { seq, service, node, ...plain(DeployResponseSchema, p), phase }];
    if (deployEvents.length > KEEP_EVENTS) deployEvents.splice(0, deployEvents.length - KEEP_EVENTS);
    const components =
      p.component && phase !== "done"
        ? {
            ...s.deployment!.components,
            [p.component]: { phase, message: p.message, image: p.image || s.deployment!.components[p.component]?.image || "" },
          }
        : s.deployment!.components;
    return { seq, deployEvents, deployment: { ...s.deployment!, components, ...(phase === "done" ? { state: "done" as const } : {}) } };
  });
}

export function deployActions(set: SetState, get: GetState, deps: StoreDeps): DeployActions {
  return {
    async sync(signal) {
      const defs = deps.definitions.all();
      if (defs.length === 0) throw new ConsoleError("not_found", `no service definitions in ${deps.definitions.dir}`);
      await checkNodes(defs, get, deps);
      const images = await get().ensureImages(defs, signal);
      const byNode = new Map<string, LoadedDefinition[]>();
      for (const d of defs) byNode.set(d.def.node, [...(byNode.get(d.def.node) ?? []), d]);
      const machineRegistry = deps.machineRegistry();
      const outcomes = await fanOut(get, [...byNode.keys()], async (node) => {
        const res = await deps.agents
          .client(node)
          .sync({ services: byNode.get(node)!.map((d) => definitionToProto(d.def)), machineRegistry }, deps.agents.call());
        return res.results;
      });
      const results: SyncResultRow[] = [];
      for (const o of outcomes) {
        for (const d of byNode.get(o.node)!) {
          const r = o.ok ? o.value.find((x) => x.service === d.def.name) : undefined;
          results.push({
            node: o.node,
            service: d.def.name,
            outcome: o.ok ? (r?.outcome ?? "unknown") : "failed",
            error: o.ok ? null : { code: o.error.code, message: o.error.message },
          });
        }
      }
      set({ syncResults: results });
      return { results, images };
    },

    async deploy(service, signal) {
      // The deployment is this one from the first moment: a definition that cannot be read
      // fails it, and no row of an earlier deploy is left on the screen.
      set({ deployment: { service, node: "", state: "building", components: {}, images: [], error: null }, deployEvents: [] });
      const fail = (e: ConsoleError) => {
        set((s) => ({ deployment: { ...s.deployment!, state: "failed", error: { code: e.code, message: e.message } } }));
        return e;
      };
      let d: LoadedDefinition;
      try {
        d = deps.definitions.get(service);
        await checkNodes([d], get, deps);
      } catch (err) {
        throw fail(toConsoleError(err));
      }
      const node = d.def.node;
      const images = [
        ...new Set(
          d.def.components
            .map((c) => componentImage(d.def, c, deps.registryHost))
            .filter((i) => i.inRegistry)
            .map((i) => i.ref),
        ),
      ];
      set((s) => ({ deployment: { ...s.deployment!, node, images } }));
      try {
        await probe(deps, node);
        await get().ensureImages([d], signal, { requireAll: true });
      } catch (err) {
        throw fail(signal?.aborted ? new ConsoleError("failed", deployLeftMessage(get().deployment!)) : agentError(err, node));
      }
      set((s) => ({ deployment: { ...s.deployment!, state: "deploying" } }));
      try {
        const stream = deps.agents
          .client(node)
          .deploy({ service, definition: definitionToProto(d.def) }, deps.agents.call({ stream: true, ...(signal ? { signal } : {}) }));
        for await (const p of stream) applyProgress(set, service, node, p);
        get().markNode(node, { ok: true });
      } catch (err) {
        // Interrupted: the agent goes on, and the message says so (once, not as "canceled").
        if (signal?.aborted) throw fail(new ConsoleError("failed", deployLeftMessage(get().deployment!)));
        const e = agentError(err, node);
        get().markNode(node, { ok: false, error: e });
        throw fail(e);
      }
      const final = get().deployment!;
      if (final.state !== "done") throw fail(new ConsoleError("failed", `node ${node}: the deploy stream ended without DONE`));
      return final;
    },
  };
}
