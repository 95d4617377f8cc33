// The services screen's rows: every service-component across all nodes, from the agents'
// containers and statuses (drift and desired state come from Status).
import { uptime, portsText } from "../views/format.ts";
import type { ConsoleState } from "../store/state.ts";

export interface ServiceRow {
  service: string;
  component: string;
  node: string;
  version: string;
  state: string;
  uptime: string;
  ports: string;
  drift: string;
}

export function serviceRows(s: Pick<ConsoleState, "containers" | "statuses" | "nodes">, filter = "", now = Date.now()): ServiceRow[] {
  const rows = new Map<string, ServiceRow>();
  for (const c of Object.values(s.containers).flat()) {
    rows.set(`${c.node}/${c.service}/${c.component}`, {
      service: c.service,
      component: c.component,
      node: c.node,
      version: c.version,
      state: c.state,
      uptime: c.state === "running" ? uptime(c.startedAt, now) : "",
      ports: portsText(c.ports),
      drift: "",
    });
  }
  for (const st of Object.values(s.statuses)) {
    for (const c of st.components) {
      const key = `${st.node}/${st.service}/${c.component}`;
      const row = rows.get(key) ?? {
        service: st.service,
        component: c.component,
        node: st.node,
        version: st.version,
        state: c.observedState || "missing",
        uptime: "",
        ports: portsText(c.ports),
        drift: "",
      };
      row.drift = c.drift;
      rows.set(key, row);
    }
  }
  // A node that cannot be reached: its last known rows are marked.
  for (const row of rows.values()) if (s.nodes[row.node]?.state === "unreachable") row.state = "unreachable";
  const f = filter.toLowerCase();
  return [...rows.values()]
    .filter((r) => !f || `${r.service} ${r.component} ${r.node}`.toLowerCase().includes(f))
    .sort((a, b) => a.service.localeCompare(b.service) || a.component.localeCompare(b.component) || a.node.localeCompare(b.node));
}
