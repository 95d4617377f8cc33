// `mcp status [service]`: desired vs observed state per component, drift, ports, SMEP
// placement and recent events of one service (on its node), or of every service of every node.
import { cell, type Section } from "../output/screen.ts";
import type { ServiceStatus } from "../store/types.ts";
import type { ConsoleState } from "../store/store.ts";
import type { CommandSpec } from "./command.ts";
import { nodeJson, nodeNotes, partialExit, portsText, stateCell, uptime } from "./format.ts";
import { finite } from "./present.ts";

function serviceSections(st: ServiceStatus): Section[] {
  const sections: Section[] = [
    {
      title: `${st.service} ${st.version} on ${st.node}${st.active ? "" : " (inactive)"}`,
      columns: ["component", "desired", "observed", "drift", "image", "ports", "uptime"],
      rows: st.components.map((c) => [cell(c.component), cell(c.desiredState), stateCell(c.observedState), cell(c.drift || "-", c.drift ? "warn" : "dim"), cell(c.observedImage || c.desiredImage), cell(portsText(c.ports)), cell(c.observedState === "running" ? uptime(c.startedAt) : "")]),
    },
  ];
  const p = st.placement;
  if (p) {
    sections.push({
      title: "placement",
      columns: ["user", "uid", "sheet", "machine", "environment", "storage", "isolation", "ports"],
      rows: [[cell(p.user), cell(p.uid), cell(`${p.sheet} S=${p.sheetNumber}`), cell(String(p.machineNumber).padStart(2, "0")), cell(p.environment), cell(p.storageRoot), cell(p.isolation), cell(`${p.ports[0] ?? ""}-${p.ports[p.ports.length - 1] ?? ""}`)]],
    });
  }
  if (st.recentEvents.length > 0) {
    sections.push({ title: "recent events", columns: ["time", "component", "kind", "message"], rows: st.recentEvents.slice(-10).map((e) => [cell(e.time, "dim"), cell(e.component), cell(e.kind), cell(e.message)]) });
  }
  if (st.unknownContainers.length > 0) sections.push({ title: "containers the agent does not know", columns: ["container"], rows: st.unknownContainers.map((c) => [cell(c, "warn")]) });
  return sections;
}

function summary(s: ConsoleState): Section {
  const rows = Object.values(s.statuses)
    .sort((a, b) => a.service.localeCompare(b.service))
    .flatMap((st) => st.components.map((c) => [cell(st.service), cell(c.component), cell(st.node), cell(st.version), cell(c.desiredState), stateCell(c.observedState), cell(c.drift || "-", c.drift ? "warn" : "dim")]));
  return { columns: ["service", "component", "node", "version", "desired", "observed", "drift"], rows, empty: "no services" };
}

const command: CommandSpec = {
  name: "status",
  args: "[service]",
  summary: "desired vs observed state, drift, ports, placement and events of a service (or of all)",
  options: [],
  async run(ctx, [service]) {
    const store = ctx.store();
    const results = await finite(
      ctx,
      () => store.getState().fetchStatus(service),
      (out) => ({ nodes: Object.values(store.getState().nodes).map(nodeJson), services: out.flatMap((r) => (r.ok ? r.value : [])) }),
      (s, done) => {
        const one = service ? s.statuses[service] : undefined;
        return {
          sections: one ? serviceSections(one) : service ? [] : [summary(s)],
          notes: nodeNotes(Object.values(s.nodes)),
          ...(done ? {} : { pending: service ? `asking ${service}'s node` : "asking the agents" }),
        };
      },
    );
    return service ? 0 : partialExit(results.map((r) => store.getState().nodes[r.node]!));
  },
};

export default command;
