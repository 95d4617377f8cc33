// The services screen's rows: every service-component across all nodes, from the agents'
// containers and statuses (drift and desired state come from Status); the events screen's.
import { uptime, portsText } from "../views/format.ts";
import { cpuText, memText, statsOf } from "../views/usage.ts";
import type { ConsoleState } from "../store/state.ts";
import type { AgentEventRow } from "../store/types.ts";
import { compareText } from "../../lib/text/compare.ts";

export interface ServiceRow {
  service: string;
  component: string;
  node: string;
  /** Its container's name ("" when there is none yet). */
  container: string;
  version: string;
  state: string;
  /** "3.2%", "41M/1.0G"; "-" when the node's Stats did not say (not running, or Stats failed). */
  cpu: string;
  mem: string;
  /** What they are as numbers (to sort by); null when not known. */
  cpuPercent: number | null;
  memBytes: number | null;
  uptime: string;
  /** When a running container started; "" otherwise. */
  startedAt: string;
  ports: string;
  drift: string;
}

export function serviceRows(s: Pick<ConsoleState, "containers" | "statuses" | "nodes" | "stats">, filter = "", now = Date.now()): ServiceRow[] {
  const usage = (node: string, container: string) => {
    const r = statsOf(s, node, container);
    return { cpu: cpuText(r), mem: memText(r), cpuPercent: r?.cpuPercent ?? null, memBytes: r?.memUsedBytes ?? null };
  };
  const rows = new Map<string, ServiceRow>();
  for (const c of Object.values(s.containers).flat()) {
    rows.set(`${c.node}/${c.service}/${c.component}`, {
      service: c.service,
      component: c.component,
      node: c.node,
      container: c.container,
      version: c.version,
      state: c.state,
      ...usage(c.node, c.container),
      uptime: c.state === "running" ? uptime(c.startedAt, now) : "",
      startedAt: c.state === "running" ? c.startedAt : "",
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
        container: c.container,
        version: st.version,
        state: c.observedState || "missing",
        ...usage(st.node, c.container),
        uptime: "",
        startedAt: "",
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
    .sort((a, b) => compareText(a.service, b.service) || compareText(a.component, b.component) || compareText(a.node, b.node));
}

/**
 * The events screen's rows: the store's events newest first, those matching every word of
 * `filter` in their service, component, action (podman's kind of event) or node.
 */
export function eventRows(events: readonly AgentEventRow[], filter = ""): AgentEventRow[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const out: AgentEventRow[] = [];
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    const text = `${e.service} ${e.component} ${e.action} ${e.node}`.toLowerCase();
    if (words.every((w) => text.includes(w))) out.push(e);
  }
  return out;
}
