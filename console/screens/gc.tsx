// GC: the run in progress, live from GcService/Watch (joined mid-run when the screen opens),
// or the last run's result and what it removed. s starts a run (after y/N), d a dry run,
// u switches collecting untagged manifests for the next run.
import React, { useEffect, useRef, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import { gcItemsSection, gcRunSection } from "../views/registry.ts";
import { ScreenView } from "../components/screen-view.tsx";
import { bytes } from "../../lib/text/bytes.ts";
import type { ConsoleStore } from "../store/state.ts";
import { useNav, useScreenKeys } from "../tui/nav.ts";

export const GC_KEYS = "s start  d dry run  u untagged on/off  r reload/join  esc back  ? help  q quit";

export function GcScreen({ store }: { store: ConsoleStore }) {
  const nav = useNav();
  const gc = useStore(store, (s) => s.mcr.gc);
  const error = useStore(store, (s) => s.mcr.errors.gc);
  const [untagged, setUntagged] = useState(false);
  const abort = useRef(new AbortController());

  const watch = (id?: string) => store.getState().watchGc(id, abort.current.signal);
  const load = () =>
    void store
      .getState()
      .gcStatus()
      .then(({ current }) => (current && !store.getState().mcr.gc.watching ? watch(current.id) : undefined))
      .catch(() => undefined);
  useEffect(() => {
    load();
    const a = abort.current;
    return () => a.abort();
  }, []);

  // The result goes to the footer; a run left behind (Esc) goes on in mcr without a message.
  const start = (dryRun: boolean) =>
    void store
      .getState()
      .startGc({ dryRun, untagged })
      .then((run) => watch(run.id))
      .then((r) => {
        if (!r || r.running) return;
        if (r.phase === "failed") return nav.flash(`gc failed: ${r.error}`, true);
        nav.flash(r.options.dryRun ? `gc dry run done: would free ${bytes(r.bytesMarked)}` : `gc done: ${r.blobsSwept} blobs, ${bytes(r.bytesFreed)} freed`);
      })
      .catch((err: Error) => !abort.current.signal.aborted && nav.flash(`gc: ${err.message}`, true));
  useScreenKeys((input) => {
    if (input === "u") return setUntagged((u) => !u), true;
    if (input === "r") return load(), true;
    if (gc.current) return input === "s" || input === "d" ? (nav.flash(`a run is in progress (${gc.current.phase})`, true), true) : false;
    if (input === "s") return nav.confirm(`Start garbage collection${untagged ? " (untagged manifests too)" : ""}?`, () => start(false)), true;
    if (input === "d") return start(true), true;
    return false;
  });

  const run = gc.current ?? gc.last;
  const itemRows = Math.max(0, nav.height - 16);
  return (
    <Box flexDirection="column">
      <Text>
        next run: untagged {untagged ? "on" : "off"}
        <Text dimColor={nav.color}>{gc.watching ? "  ·  watching" : ""}</Text>
      </Text>
      {error ? <Text {...(nav.color ? { color: "red" } : {})}>{error.message}</Text> : null}
      {run ? (
        <ScreenView
          screen={{
            sections: [gcRunSection(gc.current ? (run.options.dryRun ? "running (dry run)" : "running") : run.options.dryRun ? "last run (dry run)" : "last run", run), ...(gc.current || itemRows < 2 ? [] : [gcItemsSection(run, itemRows)])],
            notes: [],
            ...(gc.current ? { pending: `${run.phase}…` } : {}),
          }}
          width={nav.width}
          color={nav.color}
          tick={nav.tick}
        />
      ) : (
        <Text dimColor={nav.color}>{error ? "" : "no run since the registry started"}</Text>
      )}
    </Box>
  );
}
