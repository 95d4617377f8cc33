// One repository: its tags with digest and size. Enter opens the tag's manifest, x deletes
// the tag (after y/N; the manifest stays until GC with untagged), r reloads; Shift + a
// letter (or < >) sorts.
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
import { REPOSITORY_SORT, tagLayers, tagSize } from "./columns.ts";
import { useRegistryChanges } from "./registry-changes.ts";
import { useSort } from "./sorting.ts";

export const REPOSITORY_KEYS = `↑↓/jk move  enter manifest  x delete tag  r reload  esc back  ? help  q quit  ${sortKeys(REPOSITORY_SORT)}`;

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

export function RepositoryScreen({ store, repo }: { store: ConsoleStore; repo: string }) {
  const nav = useNav();
  const detail = useStore(store, (s) => (s.mcr.repo?.repository.name === repo ? s.mcr.repo : null));
  const error = useStore(store, (s) => s.mcr.errors.repo);
  const { sort, sortKey } = useSort(store, "repository", REPOSITORY_SORT);
  // Each tag with its manifest, in the screen's sort.
  const tags = useMemo(
    () =>
      sortRows(
        (detail?.tags ?? []).map((tag) => ({ tag, manifest: detail?.manifests.find((m) => m.digest === tag.digest) })),
        REPOSITORY_SORT,
        sort,
      ),
    [detail, sort],
  );
  const page = Math.max(1, nav.height - 4);
  const { sel, start, end, move } = useSelection(tags.length, page);
  const load = () =>
    void store
      .getState()
      .loadRepo(repo)
      .catch(() => undefined);
  useEffect(load, [repo]);
  useRegistryChanges(store, load);

  useScreenKeys((input, key) => {
    if (move(input, key) || sortKey(input)) return true;
    if (input === "r") return (load(), true);
    const tag = tags[sel]?.tag;
    if (!tag) return false;
    if (key.return) return (nav.push({ screen: "manifest", repo, reference: tag.name }), true);
    if (input === "x")
      return (
        nav.confirm(`Delete tag ${repo}:${tag.name}?`, () => nav.run(`delete ${repo}:${tag.name}`, () => store.getState().deleteTag(repo, tag.name))), true
      );
    return false;
  });

  if (!detail) return <Text {...(error && nav.color ? { color: "red" } : {})}>{error ? error.message : `asking the registry for ${repo}…`}</Text>;
  const r = detail.repository;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        {r.name}: {count(r.tagCount, "tag")}, {count(r.manifestCount, "manifest")}, {bytes(r.totalSize)}
        <Text dimColor={nav.color}>{range(start, end, tags.length)}</Text>
      </Text>
      <Table
        section={{
          columns: ["tag", "digest", "size", "layers", "updated"],
          drop: ["layers", "updated"],
          ...(sort ? { sort } : {}),
          rows: tags
            .slice(start, end)
            .map(({ tag: t, manifest: m }) => [
              cell(t.name),
              cell(short(t.digest)),
              cell(m ? bytes(tagSize(m)!) : "-"),
              cell(tagLayers(m) ?? "-"),
              cell(t.updatedAt),
            ]),
          empty: "no tags",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
    </Box>
  );
}
