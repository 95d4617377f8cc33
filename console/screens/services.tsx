// Services: every service-component of every node; `/` filters, Enter opens the service,
// `l` its logs, `d` deploys it (after a confirmation).
import React, { useMemo, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { useShallow } from "zustand/react/shallow";
import { stateCell } from "../views/format.ts";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import type { ConsoleStore } from "../store/state.ts";
import { movement, useNav, useScreenKeys } from "../tui/nav.ts";
import { serviceRows } from "./rows.ts";

export const SERVICES_KEYS = "↑↓/jk move  enter open  l logs  d deploy  / filter  : jump  ? help  q quit";

export function ServicesScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const [filter, setFilter] = useState("");
  const [selected, setSelected] = useState(0);
  // Stable references from the store (useShallow), rows computed from them.
  const { containers, statuses, nodes } = useStore(store, useShallow((s) => ({ containers: s.containers, statuses: s.statuses, nodes: s.nodes })));
  const rows = useMemo(() => serviceRows({ containers, statuses, nodes }, filter), [containers, statuses, nodes, filter, nav.tick >> 4]);
  const loaded = Object.values(nodes).some((n) => n.checkedAt > 0);
  const sel = Math.min(selected, Math.max(0, rows.length - 1));
  const page = Math.max(1, nav.height - 3);
  const current = rows[sel];

  useScreenKeys((input, key) => {
    const m = movement(input, key, page);
    if (m !== null) {
      setSelected(m === "top" ? 0 : m === "bottom" ? rows.length - 1 : Math.max(0, Math.min(rows.length - 1, sel + m)));
      return true;
    }
    if (input === "/") {
      nav.prompt("/", filter, setFilter, setFilter);
      return true;
    }
    if (!current) return false;
    if (key.return) return nav.push({ screen: "service", service: current.service }), true;
    if (input === "l") return nav.push({ screen: "logs", target: current.service }), true;
    if (input === "d") return nav.confirm(`Deploy ${current.service}?`, () => nav.push({ screen: "deploy", service: current.service })), true;
    return false;
  });

  // The rows that fit, keeping the selection in view.
  const start = Math.max(0, Math.min(sel - Math.floor(page / 2), rows.length - page));
  const visible = rows.slice(start, start + page);
  return (
    <Box flexDirection="column">
      <Text dimColor={nav.color}>{filter ? `filter: ${filter}  ` : ""}{rows.length} components{rows.length > page ? `  (${start + 1}-${start + visible.length})` : ""}</Text>
      <Table
        section={{
          columns: ["service", "component", "node", "version", "state", "uptime", "ports", "drift"],
          rows: visible.map((r) => [cell(r.service), cell(r.component), cell(r.node), cell(r.version), stateCell(r.state), cell(r.uptime), cell(r.ports), cell(r.drift || "-", r.drift ? "warn" : "dim")]),
          empty: loaded ? (filter ? "nothing matches the filter" : "no services") : "asking the agents…",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
    </Box>
  );
}
