// One service's status and the platform's summary as tables: components, SMEP placement,
// routes and DNS records (`mcp status` and the TUI's service screen).
import { cell, type Cell, type Section } from "../output/screen.ts";
import type { ConsoleState } from "../store/state.ts";
import type { ServiceStatus } from "../store/types.ts";
import { emptyText, portsText, stateCell, uptime } from "./format.ts";
import { statsOf, usageCells } from "./usage.ts";
import { compareText } from "../../lib/text/compare.ts";

const syncTone = (state: string) => (/^(applied|in_sync)$/.test(state) ? "ok" : /^(unreachable|missing|differs|not_served)$/.test(state) ? "bad" : "warn");

/** Routes and DNS records (docs/routing.md), shown where the agent publishes them. */
export function publishSections(statuses: ServiceStatus[], many: boolean): Section[] {
  const out: Section[] = [];
  const lead = (st: ServiceStatus) => (many ? [cell(st.service)] : []);
  if (statuses.some((st) => st.proxy.configured)) {
    const rows = statuses.flatMap((st) =>
      st.routes.map((r) => [...lead(st), cell(r.component), cell(r.hostname), cell(r.port), cell(r.mode), cell(r.target), cell(r.state, syncTone(r.state))]),
    );
    out.push({
      title: "routes",
      columns: [...(many ? ["service"] : []), "component", "hostname", "port", "mode", "target", "state"],
      rows,
      empty: "no routes",
    });
  }
  if (statuses.some((st) => st.dns.configured)) {
    const rows = statuses.flatMap((st) =>
      st.dnsRecords.map((r) => [...lead(st), cell(r.name), cell(r.type), cell(r.addresses.join(", ")), cell(r.ttl), cell(r.state, syncTone(r.state))]),
    );
    out.push({ title: "dns records", columns: [...(many ? ["service"] : []), "name", "type", "addresses", "ttl", "state"], rows, empty: "no records" });
  }
  return out;
}

/** A note per node whose proxy or DNS server is not in sync (the agent's own words). */
export function publishNotes(statuses: ServiceStatus[]): Cell[] {
  const seen = new Map<string, Cell>();
  for (const st of statuses) {
    for (const [what, p] of [
      ["proxy", st.proxy],
      ["dns", st.dns],
    ] as const) {
      if (p.configured && p.state !== "in_sync")
        seen.set(`${st.node} ${what}`, cell(`${st.node}: ${what} ${p.state}: ${p.message}`, p.state === "unreachable" ? "bad" : "warn"));
    }
  }
  return [...seen.values()];
}

export function statusSummary(s: ConsoleState): Section {
  const rows = Object.values(s.statuses)
    .sort((a, b) => compareText(a.service, b.service))
    .flatMap((st) =>
      st.components.map((c) => [
        cell(st.service),
        cell(c.component),
        cell(st.node),
        cell(st.version),
        cell(c.desiredState),
        stateCell(c.observedState),
        ...usageCells(statsOf(s, st.node, c.container)),
        cell(c.drift || "-", c.drift ? "warn" : "dim"),
      ]),
    );
  return {
    columns: ["service", "component", "node", "version", "desired", "observed", "cpu", "mem", "drift"],
    rows,
    empty: emptyText(Object.values(s.nodes), "no services"),
    drop: ["version", "node", "desired", "mem", "cpu"],
  };
}

/** `usage`: the store's Stats answers (CPU and MEM show "-" without them). */
export function serviceSections(st: ServiceStatus, usage: Pick<ConsoleState, "stats"> = { stats: {} }, now = Date.now()): Section[] {
  const sections: Section[] = [
    {
      title: `${st.service} ${st.version} on ${st.node}${st.active ? "" : " (inactive)"}`,
      columns: ["component", "desired", "observed", "cpu", "mem", "drift", "image", "ports", "uptime"],
      drop: ["image", "uptime", "ports", "mem", "cpu"],
      rows: st.components.map((c) => [
        cell(c.component),
        cell(c.desiredState),
        stateCell(c.observedState),
        ...usageCells(statsOf(usage, st.node, c.container)),
        cell(c.drift || "-", c.drift ? "warn" : "dim"),
        cell(c.observedImage || c.desiredImage),
        cell(portsText(c.ports)),
        cell(c.observedState === "running" ? uptime(c.startedAt, now) : ""),
      ]),
    },
  ];
  const p = st.placement;
  if (p) {
    sections.push({
      title: "placement",
      columns: ["user", "uid", "sheet", "machine", "environment", "storage", "isolation", "ports"],
      drop: ["sheet", "machine", "isolation", "ports"],
      rows: [
        [
          cell(p.user),
          cell(p.uid),
          cell(`${p.sheet} S=${p.sheetNumber}`),
          cell(String(p.machineNumber).padStart(2, "0")),
          cell(p.environment),
          cell(p.storageRoot),
          cell(p.isolation),
          cell(`${p.ports[0] ?? ""}-${p.ports[p.ports.length - 1] ?? ""}`),
        ],
      ],
    });
  }
  if (st.recentEvents.length > 0) {
    sections.push({
      title: "recent events",
      columns: ["time", "component", "kind", "message"],
      drop: ["kind"],
      rows: st.recentEvents.slice(-10).map((e) => [cell(e.time, "dim"), cell(e.component), cell(e.kind), cell(e.message)]),
    });
  }
  if (st.unknownContainers.length > 0)
    sections.push({ title: "containers the agent does not know", columns: ["container"], rows: st.unknownContainers.map((c) => [cell(c, "warn")]) });
  return [...sections, ...publishSections([st], false)];
}
