// Nodes: every configured node, whether its agent answers, its agent and podman versions.
// `p` prunes the selected node's images that no release or container uses and that are older
// than a week (after y/N); `d` is the dry run (nothing removed, so not asked). The last
// prune's images and a line per node are shown under the nodes. Shift + a letter (or < >)
// sorts the nodes.
import { useEffect, useMemo } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { useShallow } from "zustand/react/shallow";
import { ScreenView } from "../components/screen-view.tsx";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import type { PruneOptions } from "../store/resource-types.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { count, runtimeMissing, stateCell } from "../views/format.ts";
import { olderThanText, pruneNotes, pruneSection } from "../views/prune.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { NODES_SORT } from "./columns.ts";
import { useSelection } from "./pick.ts";
import { useSort } from "./sorting.ts";

export const NODES_KEYS = `↑↓/jk move  p prune images  d dry run  esc back  ? help  q quit  ${sortKeys(NODES_SORT)}`;

/** What `mcp prune` keeps by default: images younger than a week. */
export const PRUNE_OLDER_THAN_SECONDS = 168 * 3600;

export function NodesScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const { nodes, prune } = useStore(
    store,
    useShallow((s) => ({ nodes: s.nodes, prune: s.prune })),
  );
  const { sort, sortKey } = useSort(store, "nodes", NODES_SORT);
  const list = useMemo(() => sortRows(Object.values(nodes), NODES_SORT, sort), [nodes, sort]);
  const { sel, move } = useSelection(list.length, Math.max(1, list.length));
  const current = list[sel];
  useEffect(() => {
    void store
      .getState()
      .refreshNodes()
      .catch(() => undefined);
  }, [store]);

  const start = (node: string, dryRun: boolean) => {
    const options: PruneOptions = { node, olderThanSeconds: PRUNE_OLDER_THAN_SECONDS, dryRun };
    nav.run(`prune ${dryRun ? "dry run " : ""}${node}`, async () => {
      const out = await store.getState().pruneImages(options);
      const failed = out.find((o) => !o.ok);
      if (failed && !failed.ok) throw failed.error;
    });
  };
  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (!current) return false;
    if (input === "p")
      return (
        nav.confirm(`Prune images on ${current.name} that no release or container uses, older than ${olderThanText(PRUNE_OLDER_THAN_SECONDS)}?`, () =>
          start(current.name, false),
        ),
        true
      );
    if (input === "d") return (start(current.name, true), true);
    return false;
  });

  // The prune's images get the lines the nodes and notes leave.
  const section = pruneSection(prune, prune ? `${prune.options.dryRun ? "dry run: " : ""}prune of ${prune.options.node ?? "every node"}` : undefined);
  const notes = pruneNotes(prune);
  const room = Math.max(0, nav.height - list.length - notes.length - 6);
  const more = section.rows.length - room;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {count(list.length, "node")}
      </Text>
      <Table
        section={{
          columns: ["node", "url", "state", "agent", "podman", "reason"],
          drop: ["reason", "url"],
          ...(sort ? { sort } : {}),
          rows: list.map((n) => [
            cell(n.name),
            cell(n.url),
            stateCell(n.state),
            cell(n.version || "-"),
            runtimeMissing(n) ? cell("missing", "bad") : cell(n.podmanVersion || "-"),
            cell(n.reason, "dim"),
          ]),
        }}
        width={nav.width}
        color={nav.color}
        selected={sel}
      />
      {prune ? (
        <Box marginTop={1}>
          <ScreenView
            screen={{
              sections: [{ ...section, rows: section.rows.slice(0, room), empty: section.rows.length ? "" : section.empty }],
              notes: [...(more > 0 ? [cell(`… ${more} more (mcp prune --json lists them all)`, "dim")] : []), ...notes],
              ...(prune.running ? { pending: "pruning" } : {}),
            }}
            width={nav.width}
            color={nav.color}
          />
        </Box>
      ) : null}
    </Box>
  );
}
