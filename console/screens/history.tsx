// History: a service's releases (each deploy and rollback), newest first, from its node.
// `R` puts the selected release back (after y/N): the agent deploys it again with its images
// pinned by digest, and the deploy screen shows the progress. `r` asks the node again.
import { useEffect, useMemo, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { Table } from "../components/table.tsx";
import type { ConsoleStore } from "../store/state.ts";
import { useView } from "../tui/clock.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { releasesSection } from "../views/releases.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { HISTORY_SORT } from "./columns.ts";
import { useSort } from "./sorting.ts";
import { useSelection } from "./pick.ts";

export const HISTORY_KEYS = `↑↓/jk move  R roll back to this release  r reload  esc back  ? help  q quit  ${sortKeys(HISTORY_SORT)}`;

export function HistoryScreen({ store, service }: { store: ConsoleStore; service: string }) {
  const nav = useNav();
  const releases = useStore(store, (s) => s.releases[service]);
  const [error, setError] = useState<string | null>(null);
  const { sort, sortKey } = useSort(store, "history", HISTORY_SORT);
  const list = useMemo(() => sortRows(releases ?? [], HISTORY_SORT, sort), [releases, sort]);
  const page = Math.max(1, nav.height - 4);
  const { sel, start, end, move } = useSelection(list.length, page);
  const load = () => {
    setError(null);
    store
      .getState()
      .history(service)
      .catch((err: Error) => setError(err.message));
  };
  useEffect(load, [service]);
  // A rollback made from here (or a deploy) is a new release: ask again when it ends.
  const deploying = useStore(store, (s) => (s.deployment?.service === service ? s.deployment.state : null));
  useEffect(() => {
    if (deploying === "done" || deploying === "failed") load();
  }, [deploying]);

  const current = list[sel];
  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (input === "r") return (load(), true);
    if (input === "R" && current) {
      if (current.result !== "deployed") return (nav.flash(`release ${current.number} failed when it was deployed; pick one that ran`, true), true);
      nav.confirm(`Roll ${service} back to release ${current.number} (${current.version})?`, () => {
        nav.run(`rollback ${service} to ${current.number}`, () => store.getState().rollback(service, current.number));
        nav.push({ screen: "deploy", service });
      });
      return true;
    }
    return false;
  });

  // Its "ago" column follows the clock; drawn again only when a cell changes.
  const section = useView(
    store,
    (_, now) => {
      const out = releasesSection(service, list.slice(start, end), now);
      return sort ? { ...out, sort } : out;
    },
    [service, list, start, end, sort],
  );
  return (
    <Box flexDirection="column">
      {error ? (
        <Text color={nav.color ? "red" : undefined} wrap="wrap">
          {error}
        </Text>
      ) : releases === undefined ? (
        <Text dimColor={nav.color}>asking {service}'s node…</Text>
      ) : (
        <Table section={section} width={nav.width} color={nav.color} selected={sel - start} />
      )}
    </Box>
  );
}
