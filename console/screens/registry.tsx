// Registry: the registry's readiness (its database and blob store), and every repository with
// its tags, manifests and size. Enter opens its tags, x deletes it (after y/N; blob files are
// freed by GC), c runs the integrity check (check.tsx), r reloads; Shift + a letter (or < >) sorts.
import { useEffect, useMemo } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import { bytes } from "../../lib/text/bytes.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { range, useSelection } from "./pick.ts";
import { count } from "../views/format.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { REGISTRY_SORT } from "./columns.ts";
import { useRegistryChanges } from "./registry-changes.ts";
import { useSort } from "./sorting.ts";
import { askCheck } from "./check.tsx";
import { toneColor } from "../components/table.tsx";
import { paint, useTheme } from "../tui/theme.ts";
import { healthCell, healthText } from "../views/registry-health.ts";

export const REGISTRY_KEYS = `↑↓/jk move  enter tags  x delete  c check  r reload  : jump  ? help  q quit  ${sortKeys(REGISTRY_SORT)}`;

export function RegistryScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const theme = useTheme();
  const listed = useStore(store, (s) => s.mcr.repos);
  const { sort, sortKey } = useSort(store, "registry", REGISTRY_SORT);
  const repos = useMemo(() => sortRows(listed, REGISTRY_SORT, sort), [listed, sort]);
  const loaded = useStore(store, (s) => s.mcr.reposLoaded);
  const error = useStore(store, (s) => s.mcr.errors.repos);
  const health = useStore(store, (s) => s.mcr.health);
  const page = Math.max(1, nav.height - 4);
  const { sel, start, end, move } = useSelection(repos.length, page);
  const load = () =>
    void store
      .getState()
      .listRepos()
      .catch(() => undefined);
  const reload = () => (load(), void store.getState().registryHealth());
  useEffect(reload, []);
  useRegistryChanges(store, load);

  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (input === "r") return (reload(), true);
    if (input === "c") return (askCheck(store, nav), true);
    const repo = repos[sel];
    if (!repo) return false;
    if (key.return) return (nav.push({ screen: "repository", repo: repo.name }), true);
    if (input === "x")
      return (
        nav.confirm(`Delete repository ${repo.name} (${count(repo.tagCount, "tag")})?`, () =>
          nav.run(`delete ${repo.name}`, () => store.getState().deleteRepo(repo.name)),
        ),
        true
      );
    return false;
  });

  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor={nav.color}>
        {count(repos.length, "repository", "repositories")}
        {range(start, end, repos.length)}
      </Text>
      {health ? (
        <Text wrap={health.status === "ok" ? "truncate-end" : "wrap"} {...paint(toneColor(theme, healthCell(health).tone), nav.color)}>
          {healthText(health)}
        </Text>
      ) : (
        <Text dimColor={nav.color}>asking the registry how it is…</Text>
      )}
      {error ? <Text {...(nav.color ? { color: "red" } : {})}>{error.message}</Text> : null}
      <Table
        section={{
          columns: ["repository", "tags", "manifests", "size", "pushed"],
          drop: ["manifests", "pushed"],
          ...(sort ? { sort } : {}),
          rows: repos.slice(start, end).map((r) => [cell(r.name), cell(r.tagCount), cell(r.manifestCount), cell(bytes(r.totalSize)), cell(r.pushedAt || "-")]),
          empty: loaded ? "no repositories" : error ? "" : "asking the registry…",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
    </Box>
  );
}
