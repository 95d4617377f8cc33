// `mcp status [service]`: desired vs observed state per component, drift, ports, SMEP
// placement, routes and DNS records, and recent events of one service (on its node), or of
// every service of every node with the registry's readiness (its database and blob store).
import type { ConsoleState } from "../store/state.ts";
import type { CommandSpec } from "./command.ts";
import { nodeJson, nodeNotes, partialExit } from "../views/format.ts";
import { publishNotes, publishSections, serviceSections, statusSummary } from "../views/service-status.ts";
import { statsNotes, statsOf, usageJson } from "../views/usage.ts";
import { listNote } from "../views/nodes.ts";
import { healthSection } from "../views/registry-health.ts";
import { finite, platformNoteOnStderr } from "./present.ts";
import { compareText } from "../../lib/text/compare.ts";

const all = (s: ConsoleState) => Object.values(s.statuses).sort((a, b) => compareText(a.service, b.service));

const command: CommandSpec = {
  name: "status",
  args: "[service]",
  summary: "desired vs observed state, drift, ports, placement, routes, DNS records and events of a service (or of all)",
  options: [],
  async run(ctx, [service]) {
    const store = ctx.store();
    const results = await finite(
      ctx,
      async () => {
        const st = store.getState();
        // One service: its node's Stats once its node is known; every service: Status, Stats and the registry's health at once.
        if (!service) return (await Promise.all([st.fetchStatus(), st.refreshStats(), st.registryHealth()]))[0];
        const out = await st.fetchStatus(service);
        await st.refreshStats([out[0]!.node]);
        return out;
      },
      (out) => {
        const s = store.getState();
        const services = out.flatMap((r) => (r.ok ? r.value : []));
        return {
          nodes: Object.values(s.nodes).map(nodeJson),
          services: services.map((st) => ({ ...st, components: st.components.map((c) => ({ ...c, ...usageJson(statsOf(s, st.node, c.container)) })) })),
          ...(service ? {} : { registry: s.mcr.health }),
        };
      },
      (s, done) => {
        const one = service ? s.statuses[service] : undefined;
        const shown = one ? [one] : service ? [] : all(s);
        return {
          sections: one
            ? serviceSections(one, s)
            : service
              ? []
              : [statusSummary(s), ...publishSections(shown, true), ...(s.mcr.health ? [healthSection(s.mcr.health)] : [])],
          notes: [...nodeNotes(Object.values(s.nodes)), ...listNote(s.platform), ...publishNotes(shown), ...statsNotes(s, one ? [one.node] : undefined)],
          ...(done ? {} : { pending: service ? `asking ${service}'s node` : "asking the agents" }),
        };
      },
    );
    platformNoteOnStderr(ctx);
    return service ? 0 : partialExit(results.map((r) => store.getState().nodes[r.node]!));
  },
};

export default command;
