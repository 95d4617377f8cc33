// Nodes: every node (the config's and the platform's), whether its agent answers, its agent
// and podman versions, when a joined node's certificate expires, and the registry's nodes
// still to join (pending). `a` adds a node to the platform (a prompt for its name and, if it
// is not https://NAME:9444, its URL) and shows the join command until a key is pressed; `x`
// removes the selected node from the platform (after y/N). `p` prunes the selected node's
// images that no release or container uses and that are older than a week (after y/N); `d` is
// the dry run (nothing removed, so not asked). The last prune's images and a line per node are
// shown under the nodes. Shift + a letter (or < >) sorts the nodes.
import { useEffect, useMemo, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { useShallow } from "zustand/react/shallow";
import { ScreenView } from "../components/screen-view.tsx";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import type { AddedNode } from "../store/platform-types.ts";
import type { PruneOptions } from "../store/resource-types.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { certCell } from "../views/cert.ts";
import { count, runtimeMissing } from "../views/format.ts";
import { addedNotes, certNotes, joinCommand, nodeLines, nodeStateCell, platformNotes, shellLines } from "../views/nodes.ts";
import { olderThanText, pruneNotes, pruneSection } from "../views/prune.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { NODES_SORT } from "./columns.ts";
import { useSelection } from "./pick.ts";
import { useSort } from "./sorting.ts";

export const NODES_KEYS = `↑↓/jk move  p prune images  d dry run  a add node  x remove node  esc back  ? help  q quit  ${sortKeys(NODES_SORT)}`;

/** What `mcp prune` keeps by default: images younger than a week. */
export const PRUNE_OLDER_THAN_SECONDS = 168 * 3600;

/** The prompt's answer: `NAME [URL]`. */
function newNode(text: string): { name: string; url: string } | null {
  const [name = "", url = ""] = text.trim().split(/\s+/);
  return name ? { name, url } : null;
}

export function NodesScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const { nodes, prune, platform } = useStore(
    store,
    useShallow((s) => ({ nodes: s.nodes, prune: s.prune, platform: s.platform })),
  );
  const { sort, sortKey } = useSort(store, "nodes", NODES_SORT);
  const list = useMemo(() => sortRows(nodeLines(nodes, platform), NODES_SORT, sort), [nodes, platform, sort]);
  const { sel, move } = useSelection(list.length, Math.max(1, list.length));
  const current = list[sel];
  // The node just added, with its join command: shown until a key is pressed.
  const [added, setAdded] = useState<AddedNode | null>(null);
  useEffect(() => {
    const st = store.getState();
    void st.loadPlatformNodes();
    void st.refreshNodes().catch(() => undefined);
  }, [store]);

  const start = (node: string, dryRun: boolean) => {
    const options: PruneOptions = { node, olderThanSeconds: PRUNE_OLDER_THAN_SECONDS, dryRun };
    nav.run(`prune ${dryRun ? "dry run " : ""}${node}`, async () => {
      const out = await store.getState().pruneImages(options);
      const failed = out.find((o) => !o.ok);
      if (failed && !failed.ok) throw failed.error;
    });
  };
  const add = () =>
    nav.prompt("add node (NAME [URL]): ", "", (text) => {
      const n = newNode(text);
      if (!n) return;
      nav.run(`add node ${n.name}`, async () => setAdded(await store.getState().addNode({ ...n, hostnames: [], expiresSeconds: 0 })));
    });
  const remove = (name: string) => {
    if (!platform.nodes.some((n) => n.name === name))
      return nav.flash(`node ${name} is in the console config (mcp.toml), not the platform's: remove its [[nodes]] entry there`, true);
    nav.confirm(
      `Remove node ${name}? Its containers keep running as they are, no longer managed by the platform (stop them on ${name} first if they should go)`,
      () => nav.run(`remove node ${name}`, () => store.getState().removeNode(name)),
    );
  };
  useScreenKeys((input, key) => {
    // The join command stays until a key is pressed: that key only closes it.
    if (added) return (setAdded(null), true);
    if (move(input, key) || sortKey(input)) return true;
    if (input === "a") return (add(), true);
    if (!current) return false;
    if (input === "x") return (remove(current.name), true);
    if (current.state === "pending" && (input === "p" || input === "d")) return (nav.flash(`node ${current.name} has not joined yet`, true), true);
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

  if (added) {
    // The join command in lines a shell joins again, so that it can be copied off the screen.
    const lines = addedNotes(added, Date.now(), nav.width);
    const command = new Set(shellLines(joinCommand(added.token, added.registryUrl), nav.width));
    return (
      <Box flexDirection="column">
        {lines.map((n, i) => (
          <Text key={i} wrap={command.has(n.text) ? "truncate-end" : "wrap"} bold={command.has(n.text)} dimColor={nav.color && n.tone === "dim"}>
            {n.text || " "}
          </Text>
        ))}
        <Text dimColor={nav.color}>any key closes this</Text>
      </Box>
    );
  }
  // The prune's images get the lines the nodes and notes leave.
  const section = pruneSection(prune, prune ? `${prune.options.dryRun ? "dry run: " : ""}prune of ${prune.options.node ?? "every node"}` : undefined);
  const notes = [...certNotes(list), ...platformNotes(platform), ...pruneNotes(prune)];
  const room = Math.max(0, nav.height - list.length - notes.length - 6);
  const more = section.rows.length - room;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {count(list.length, "node")}
      </Text>
      <Table
        section={{
          columns: ["node", "url", "state", "agent", "podman", "cert", "from", "reason"],
          drop: ["reason", "from", "url"],
          ...(sort ? { sort } : {}),
          rows: list.map((n) => [
            cell(n.name),
            cell(n.url),
            nodeStateCell(n.state),
            cell(n.version || "-"),
            runtimeMissing(n) ? cell("missing", "bad") : cell(n.podmanVersion || "-"),
            certCell(n),
            cell(n.source),
            cell(n.reason, "dim"),
          ]),
        }}
        width={nav.width}
        color={nav.color}
        selected={sel}
      />
      {prune || notes.length ? (
        <Box marginTop={1}>
          <ScreenView
            screen={{
              sections: prune ? [{ ...section, rows: section.rows.slice(0, room), empty: section.rows.length ? "" : section.empty }] : [],
              notes: [...(more > 0 ? [cell(`… ${more} more (mcp prune --json lists them all)`, "dim")] : []), ...notes],
              ...(prune?.running ? { pending: "pruning" } : {}),
            }}
            width={nav.width}
            color={nav.color}
          />
        </Box>
      ) : null}
    </Box>
  );
}
