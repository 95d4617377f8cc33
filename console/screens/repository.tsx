// One repository: its tags with digest and size. Enter opens the tag's manifest, x deletes
// the tag (after y/N; the manifest stays until GC with untagged), r reloads.
import { useEffect } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import { bytes } from "../../lib/text/bytes.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { range, useSelection } from "./pick.ts";
import { count } from "../views/format.ts";
import { useRegistryChanges } from "./registry-changes.ts";

export const REPOSITORY_KEYS = "↑↓/jk move  enter manifest  x delete tag  r reload  esc back  ? help  q quit";

const short = (digest: string) => digest.replace(/^sha256:/, "").slice(0, 12);

export function RepositoryScreen({ store, repo }: { store: ConsoleStore; repo: string }) {
  const nav = useNav();
  const detail = useStore(store, (s) => (s.mcr.repo?.repository.name === repo ? s.mcr.repo : null));
  const error = useStore(store, (s) => s.mcr.errors.repo);
  const tags = detail?.tags ?? [];
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
    if (move(input, key)) return true;
    if (input === "r") return (load(), true);
    const tag = tags[sel];
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
  const manifest = (digest: string) => detail.manifests.find((m) => m.digest === digest);
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
          rows: tags.slice(start, end).map((t) => {
            const m = manifest(t.digest);
            return [
              cell(t.name),
              cell(short(t.digest)),
              cell(m ? bytes(m.size + m.blobsSize) : "-"),
              cell(m ? m.blobs.filter((b) => b.role === "layer").length : "-"),
              cell(t.updatedAt),
            ];
          }),
          empty: "no tags",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
    </Box>
  );
}
