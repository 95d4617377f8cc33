// Commands: the command log, newest first: what this console did (the TUI's actions and the
// commands that change things, from every run on this machine) and how it ended. Read from
// the log file when the screen opens (and on r); an action this TUI finishes appears at once
// (the store adds it as it ends). `/` filters by command, target, result, where or error.
import { useEffect, useMemo, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { Table } from "../components/table.tsx";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { commandsSection, resultText, skippedNote } from "../views/commands.ts";
import { count } from "../views/format.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { COMMANDS_SORT } from "./columns.ts";
import { range, useSelection } from "./pick.ts";
import { useSort } from "./sorting.ts";

export const COMMANDS_KEYS = `↑↓/jk move  / filter  r reload  esc back  ? help  q quit  ${sortKeys(COMMANDS_SORT)}`;

export function CommandsScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const [filter, setFilter] = useState("");
  const [error, setError] = useState("");
  const log = useStore(store, (s) => s.commands);
  const { sort, sortKey } = useSort(store, "commands", COMMANDS_SORT);
  const load = () => {
    try {
      store.getState().loadCommands();
      setError("");
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(load, [store]);
  const rows = useMemo(() => {
    const newest = log.records.slice().reverse();
    const f = filter.toLowerCase();
    const kept = f ? newest.filter((r) => [r.command, r.target, resultText(r), r.where, r.error].some((t) => t.toLowerCase().includes(f))) : newest;
    return sortRows(kept, COMMANDS_SORT, sort);
  }, [log.records, filter, sort]);
  const page = Math.max(1, nav.height - 3);
  const { sel, start, end, move } = useSelection(rows.length, page);

  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (input === "/") return (nav.prompt("/", filter, setFilter, setFilter), true);
    if (input === "r") return (load(), true);
    return false;
  });

  const note = error || skippedNote(log.skipped, "the command log");
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {filter ? `filter: ${filter}  ` : ""}
        {count(rows.length, "command")}
        {filter ? ` of ${log.records.length}` : ""}, newest first unless sorted{range(start, end, rows.length)}
      </Text>
      <Table
        section={{
          ...commandsSection(
            rows.slice(start, end),
            filter ? "nothing matches the filter" : "nothing recorded yet: deploys, stops, deletes, GC runs and the other actions appear here as they end",
          ),
          ...(sort ? { sort } : {}),
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
      {note ? <Text color={nav.color ? "red" : undefined}>{note}</Text> : null}
    </Box>
  );
}
