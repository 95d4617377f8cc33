// Events: every node's container events as they come (the TUI follows each node's Events
// stream from the start and the store keeps the last 1,000), newest first. `/` filters by
// service, component, node or kind (podman's action: start, died, remove…), Enter opens the
// event's service, Shift + a letter (or < >) sorts. A selection moved off the top stays on
// its event while new ones arrive above it; at the top it stays on the newest.
import { useEffect, useMemo, useRef, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { ScreenView } from "../components/screen-view.tsx";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { count, nodeNotes } from "../views/format.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { EVENTS_SORT } from "./columns.ts";
import { range, useSelection } from "./pick.ts";
import { eventRows } from "./rows.ts";
import { useSort } from "./sorting.ts";

export const EVENTS_KEYS = `↑↓/jk move  enter service  / filter  esc back  ? help  q quit  ${sortKeys(EVENTS_SORT)}`;

export function EventsScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const [filter, setFilter] = useState("");
  const events = useStore(store, (s) => s.events);
  const nodes = useStore(store, (s) => s.nodes);
  const { sort, sortKey } = useSort(store, "events", EVENTS_SORT);
  const rows = useMemo(() => sortRows(eventRows(events, filter), EVENTS_SORT, sort), [events, filter, sort]);
  const page = Math.max(1, nav.height - 3);
  const { sel, start, end, move, select } = useSelection(rows.length, page);
  const current = rows[sel];

  // The event the selection is on, once moved off the top: found again when rows arrive.
  const anchor = useRef<number | null>(null);
  useEffect(() => {
    if (anchor.current === null) return;
    const at = rows.findIndex((r) => r.seq === anchor.current);
    if (at >= 0 && at !== sel) select(at);
  }, [rows]);
  useEffect(() => {
    anchor.current = sel > 0 ? (rows[sel]?.seq ?? null) : null;
  }, [sel]);

  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (input === "/") return (nav.prompt("/", filter, setFilter, setFilter), true);
    if (!current) return false;
    if (key.return) return (nav.push({ screen: "service", service: current.service }), true);
    return false;
  });

  const down = nodeNotes(Object.values(nodes));
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {filter ? `filter: ${filter}  ` : ""}
        {count(rows.length, "event")}
        {filter ? ` of ${events.length}` : ""}, newest first unless sorted{range(start, end, rows.length)}
      </Text>
      <Table
        section={{
          columns: ["time", "node", "service", "component", "action"],
          drop: ["node", "component"],
          ...(sort ? { sort } : {}),
          rows: rows
            .slice(start, end)
            .map((e) => [cell(e.time.replace(/\.\d+Z$/, "Z"), "dim"), cell(e.node), cell(e.service), cell(e.component), cell(e.action, actionTone(e.action))]),
          empty: filter ? "nothing matches the filter" : "no events yet: they appear here as containers are created, start, stop, die or are removed",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
      {rows.length === 0 && down.length ? <ScreenView screen={{ sections: [], notes: down }} width={nav.width} color={nav.color} /> : null}
    </Box>
  );
}

/** A container that died or was killed stands out; one that started is fine. */
function actionTone(action: string) {
  if (/^(died|die|oom|kill)$/.test(action)) return "bad" as const;
  if (/^(start|restart)$/.test(action)) return "ok" as const;
  return "" as const;
}
