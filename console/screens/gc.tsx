// GC: the run in progress, live from GcService/Watch (joined mid-run when the screen opens),
// or the last run's result and what it removed. s starts a run (after y/N), d a dry run,
// u switches collecting untagged manifests for the next run, w sets its grace window;
// Shift + a letter (or < >) sorts what a run removed.
import { useEffect, useRef, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { gcGraceNote, gcItemsSection, gcRunSection, graceText } from "../views/registry.ts";
import { cell } from "../output/screen.ts";
import { count } from "../views/format.ts";
import { ScreenView } from "../components/screen-view.tsx";
import { bytes } from "../../lib/text/bytes.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";
import { sortKeys, sortRows } from "../views/sort.ts";
import { GC_SORT } from "./columns.ts";
import { useSort } from "./sorting.ts";

export const GC_KEYS = `s start  d dry run  u untagged on/off  w grace  r reload/join  esc back  ? help  q quit  ${sortKeys(GC_SORT)}`;

export function GcScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const gc = useStore(store, (s) => s.mcr.gc);
  const actors = useStore(store, (s) => s.mcr.actors);
  const error = useStore(store, (s) => s.mcr.errors.gc);
  const [untagged, setUntagged] = useState(false);
  const [grace, setGrace] = useState(""); // empty: the registry's [gc] grace
  const abort = useRef(new AbortController());
  const { sort, sortKey } = useSort(store, "gc", GC_SORT);

  const watch = (id?: string) => store.getState().watchGc(id, abort.current.signal);
  const load = () =>
    void store
      .getState()
      .gcStatus()
      .then(({ current }) => (current && !store.getState().mcr.gc.watching ? watch(current.id) : undefined))
      .catch(() => undefined);
  useEffect(() => {
    load();
    if (!store.getState().mcr.actors) void store.getState().resolveActors();
    const a = abort.current;
    return () => a.abort();
  }, []);

  // The result goes to the footer; a run left behind (Esc) goes on in mcr without a message.
  const start = (dryRun: boolean) =>
    void store
      .getState()
      .startGc({ dryRun, untagged, grace })
      .then((run) => watch(run.id))
      .then((r) => {
        if (!r || r.running) return;
        if (r.phase === "failed") return nav.flash(`gc failed: ${r.error}`, true);
        const kept = gcGraceNote(r) ? ` (the grace window of ${graceText(r.options.grace)} kept everything newer: w sets it)` : "";
        nav.flash(
          r.options.dryRun
            ? `gc dry run done: would free ${bytes(r.bytesMarked)}${kept}`
            : `gc done: ${count(r.blobsSwept, "blob")}, ${bytes(r.bytesFreed)} freed${kept}`,
        );
      })
      .catch((err: Error) => !abort.current.signal.aborted && nav.flash(`gc: ${err.message}`, true));
  useScreenKeys((input) => {
    if (sortKey(input)) return true;
    if (input === "u") return (setUntagged((u) => !u), true);
    if (input === "w") {
      return (
        nav.prompt("grace (0s, 30m, 1h; empty: the registry's default): ", grace, (v) => {
          const g = v.trim();
          if (g && !/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(g)) return nav.flash(`grace must be a duration like 0s, 30m or 1h, not ${JSON.stringify(g)}`, true);
          setGrace(g);
        }),
        true
      );
    }
    if (input === "r") return (load(), true);
    if (gc.current) return input === "s" || input === "d" ? (nav.flash(`a run is in progress (${gc.current.phase})`, true), true) : false;
    if (input === "s") return (nav.confirm(`Start garbage collection${untagged ? " (untagged manifests too)" : ""}?`, () => start(false)), true);
    if (input === "d") return (start(true), true);
    return false;
  });

  const run = gc.current ?? gc.last;
  const itemRows = Math.max(0, nav.height - 18);
  const graceNote = run ? gcGraceNote(run) : "";
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        next run: untagged {untagged ? "on" : "off"}, grace {grace || "the registry's default"}
        <Text dimColor={nav.color}>{gc.watching ? "  ·  watching" : ""}</Text>
      </Text>
      {error ? <Text {...(nav.color ? { color: "red" } : {})}>{error.message}</Text> : null}
      {run ? (
        <ScreenView
          screen={{
            sections: [
              gcRunSection(
                gc.current ? (run.options.dryRun ? "running (dry run)" : "running") : run.options.dryRun ? "last run (dry run)" : "last run",
                run,
                actors,
              ),
              ...(gc.current || itemRows < 2
                ? []
                : [{ ...gcItemsSection({ ...run, items: sortRows(run.items, GC_SORT, sort) }, itemRows), ...(sort ? { sort } : {}) }]),
            ],
            notes: graceNote ? [cell(graceNote, "warn")] : [],
            ...(gc.current ? { pending: `${run.phase}…` } : {}),
          }}
          width={nav.width}
          color={nav.color}
        />
      ) : (
        <Text dimColor={nav.color}>{error ? "" : "no run since the registry started"}</Text>
      )}
    </Box>
  );
}
