// One manifest: media type, size, tags, and its config and layers with their sizes (an
// index lists the manifests it holds). ↑↓ scroll the layers; r reloads.
import { useEffect } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { Table } from "../components/table.tsx";
import { cell } from "../output/screen.ts";
import { bytes } from "../../lib/text/bytes.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { range, useSelection } from "./pick.ts";

export const MANIFEST_KEYS = "↑↓/jk scroll  r reload  esc back  ? help  q quit";

export function ManifestScreen({ store, repo, reference }: { store: ConsoleStore; repo: string; reference: string }) {
  const nav = useNav();
  const detail = useStore(store, (s) => (s.mcr.manifest?.repository === repo && s.mcr.manifest.reference === reference ? s.mcr.manifest : null));
  const error = useStore(store, (s) => s.mcr.errors.manifest);
  const blobs = detail?.manifest.blobs ?? [];
  const page = Math.max(1, nav.height - 6);
  const { sel, start, end, move } = useSelection(blobs.length, page);
  const load = () =>
    void store
      .getState()
      .loadManifest(repo, reference)
      .catch(() => undefined);
  useEffect(load, [repo, reference]);

  useScreenKeys((input, key) => {
    if (move(input, key)) return true;
    if (input === "r") return (load(), true);
    return false;
  });

  if (!detail) return <Text {...(error && nav.color ? { color: "red" } : {})}>{error ? error.message : `asking the registry for ${repo}:${reference}…`}</Text>;
  const m = detail.manifest;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        {repo}@{m.digest}
      </Text>
      <Text wrap="truncate">
        {m.mediaType} {bytes(m.size)} created {m.createdAt} tags {m.tags.join(",") || "-"}
      </Text>
      <Text wrap="truncate-end">
        layers and config: {blobs.length}, {bytes(m.blobsSize)}
        <Text dimColor={nav.color}>{range(start, end, blobs.length)}</Text>
      </Text>
      <Table
        section={{
          columns: ["role", "digest", "size", "media type"],
          drop: ["media type"],
          rows: blobs.slice(start, end).map((b) => [cell(b.role), cell(b.digest), cell(bytes(b.size)), cell(b.mediaType)]),
          empty: m.childDigests.length ? `an index of ${m.childDigests.length} manifests: ${m.childDigests.join(", ")}` : "no blobs",
        }}
        width={nav.width}
        color={nav.color}
        selected={sel - start}
      />
    </Box>
  );
}
