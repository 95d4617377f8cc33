// Services: every service-component of every node, with CPU and MEM (Stats every 2 s of the
// containers on screen); `/` filters, Shift + a letter (or < >) sorts, Enter opens the service,
// `l` its logs, `d` deploys it (after a confirmation), `e` opens a shell in the selected
// component's container (the TUI hands the terminal over until the shell exits).
import { useState } from "react";
import { Box, Text } from "ink";
import { count, emptyText, nodeNotes, stateCell } from "../views/format.ts";
import { ScreenView } from "../components/screen-view.tsx";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useView } from "../tui/clock.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { listNote } from "../views/nodes.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { SERVICES_SORT } from "./columns.ts";
import { useSelection } from "./pick.ts";
import { serviceRows } from "./rows.ts";
import { useSort } from "./sorting.ts";
import { useStatsPoll } from "./stats-poll.ts";

export const SERVICES_KEYS = `↑↓/jk move  enter open  l logs  e exec (a shell)  d deploy  / filter  : jump  ? help  q quit  ${sortKeys(SERVICES_SORT)}`;

export function ServicesScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const [filter, setFilter] = useState("");
  const { sort, sortKey } = useSort(store, "services", SERVICES_SORT);
  // Drawn again only when a row, the empty text or a note changes (a poll that found nothing new draws nothing).
  const { rows, loaded, empty, notes } = useView(
    store,
    (s, now) => {
      const nodes = Object.values(s.nodes);
      return {
        rows: sortRows(serviceRows(s, filter, now), SERVICES_SORT, sort),
        loaded: nodes.some((n) => n.checkedAt > 0),
        empty: emptyText(nodes, "no services"),
        notes: [...nodeNotes(nodes), ...listNote(s.platform)],
      };
    },
    [filter, sort],
  );
  const page = Math.max(1, nav.height - 3);
  const { sel, start, end, move } = useSelection(rows.length, page);
  const current = rows[sel];

  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (input === "/") {
      nav.prompt("/", filter, setFilter, setFilter);
      return true;
    }
    if (!current) return false;
    if (key.return) return (nav.push({ screen: "service", service: current.service }), true);
    if (input === "l") return (nav.push({ screen: "logs", target: current.service }), true);
    if (input === "e") return (nav.exec({ service: current.service, component: current.component }), true);
    if (input === "d") return (nav.confirm(`Deploy ${current.service}?`, () => nav.push({ screen: "deploy", service: current.service })), true);
    return false;
  });

  const visible = rows.slice(start, end);
  // Stats of the containers on screen (of every one while the rows are sorted by what Stats
  // says): rows scrolled out of view are not measured and sent every 2 s for nothing.
  const byUsage = sort?.column === "cpu" || sort?.column === "mem";
  const shown: Record<string, string[]> = {};
  for (const r of visible) if (r.container) (shown[r.node] ??= []).push(r.container);
  useStatsPoll(store, byUsage ? undefined : Object.keys(shown).sort(), byUsage ? undefined : shown);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {filter ? `filter: ${filter}  ` : ""}
        {count(rows.length, "component")}
        {rows.length > page ? `  (${start + 1}-${start + visible.length})` : ""}
      </Text>
      <Table
        section={{
          columns: ["service", "component", "node", "version", "state", "cpu", "mem", "uptime", "ports", "drift"],
          drop: ["uptime", "ports", "mem", "cpu", "version", "node"],
          ...(sort ? { sort } : {}),
          rows: visible.map((r) => [
            cell(r.service),
            cell(r.component),
            cell(r.node),
            cell(r.version),
            stateCell(r.state),
            cell(r.cpu, r.cpu === "-" ? "dim" : ""),
            cell(r.mem, r.mem === "-" ? "dim" : ""),
            cell(r.uptime),
            cell(r.ports),
            cell(r.drift || "-", r.drift ? "warn" : "dim"),
          ]),
          empty: loaded ? (filter ? "nothing matches the filter" : empty) : "asking the agents…",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
      {rows.length === 0 ? <ScreenView screen={{ sections: [], notes }} width={nav.width} color={nav.color} /> : null}
    </Box>
  );
}
