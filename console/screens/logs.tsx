// Logs: a service's components merged (each line prefixed and coloured by component) or one
// component. f follow on/off, p pause, ↑↓/jk/PgUp/PgDn scroll back, / search (highlighted,
// n/N next/previous), w wrap, t timestamps. Lines come from the store's bounded buffer,
// published in batches; only the visible window is rendered.
import React, { useEffect, useMemo, useRef, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import type { ConsoleStore } from "../store/state.ts";
import type { LogLine } from "../store/types.ts";
import { movement, useNav, useScreenKeys } from "../tui/nav.ts";
import { displayLines, matches, splitMatches } from "./log-view.ts";

export const LOGS_KEYS = "f follow  p pause  ↑↓/jk scroll  / search  n/N next/prev  w wrap  t timestamps  esc back";

const COLORS = ["cyan", "magenta", "yellow", "green", "blue", "redBright"];

export function LogsScreen({ store, target }: { store: ConsoleStore; target: string }) {
  const nav = useNav();
  const [follow, setFollow] = useState(true);
  const [paused, setPaused] = useState(false);
  const [wrap, setWrap] = useState(true);
  const [timestamps, setTimestamps] = useState(false);
  const [term, setTerm] = useState("");
  const [offset, setOffset] = useState(0); // display lines from the bottom
  const [current, setCurrent] = useState(-1); // the match n/N went to
  const logs = useStore(store, (s) => s.logs);
  const frozen = useRef<LogLine[] | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    store
      .getState()
      .followLogs(target, { follow: true, tail: 500, since: "", timestamps }, abort.signal)
      .catch((err: Error) => !abort.signal.aborted && nav.flash(err.message, true));
    return () => abort.abort();
  }, [target, timestamps]);

  if (paused && !frozen.current) frozen.current = logs.lines;
  if (!paused) frozen.current = null;
  const lines = frozen.current ?? logs.lines;
  const prefixed = !target.includes("/");
  const height = Math.max(1, nav.height - 1);
  const shown = useMemo(() => displayLines(lines, { width: nav.width, wrap, prefixed }), [lines, nav.width, wrap, prefixed]);
  const found = useMemo(() => matches(lines, term), [lines, term]);
  const maxOffset = Math.max(0, shown.length - height);
  const off = follow ? 0 : Math.min(offset, maxOffset);
  const end = shown.length - off;
  const visible = shown.slice(Math.max(0, end - height), end);
  const colourOf = useMemo(() => {
    const m = new Map<string, string>();
    return (c: string) => (m.has(c) ? m.get(c)! : (m.set(c, COLORS[m.size % COLORS.length]!), m.get(c)!));
  }, [target]);

  const jump = (dir: 1 | -1) => {
    if (found.length === 0) return nav.flash(term ? `no line matches ${JSON.stringify(term)}` : "no search: press /", true);
    const next = dir > 0 ? (found.find((i) => i > current) ?? found[0]!) : ([...found].reverse().find((i) => i < current) ?? found[found.length - 1]!);
    setCurrent(next);
    const at = shown.findIndex((d) => d.source === next);
    setFollow(false);
    setOffset(Math.max(0, shown.length - at - Math.ceil(height / 2)));
  };

  useScreenKeys((input, key) => {
    const m = movement(input, key, height);
    if (m !== null) {
      if (m === "bottom") return setFollow(true), setOffset(0), true;
      setFollow(false);
      setOffset(m === "top" ? maxOffset : Math.max(0, Math.min(maxOffset, off - m)));
      return true;
    }
    if (input === "f") return setFollow(!follow), setOffset(0), true;
    if (input === "p") return setPaused(!paused), true;
    if (input === "w") return setWrap(!wrap), true;
    if (input === "t") return setTimestamps(!timestamps), true;
    if (input === "n") return jump(1), true;
    if (input === "N") return jump(-1), true;
    if (input === "/") return nav.prompt("/", term, (v) => (setTerm(v), setCurrent(-1)), setTerm), true;
    return false;
  });

  const streams = Object.entries(logs.streams).filter(([, st]) => st !== "open" && st !== "ended").map(([c, st]) => `${c}: ${st}`);
  const status = [target, follow ? "following" : `scrolled ${off}`, paused ? "PAUSED" : "", wrap ? "wrap" : "", timestamps ? "timestamps" : "", term ? `/${term} ${found.length} match${found.length === 1 ? "" : "es"}` : "", logs.dropped ? `${logs.dropped} old lines dropped` : "", ...streams].filter(Boolean).join("  ·  ");
  return (
    <Box flexDirection="column" height={nav.height}>
      <Text dimColor={nav.color}>{status}</Text>
      {visible.map((d, i) => (
        <Text key={i} wrap="truncate-end">
          {d.prefix ? <Text {...(nav.color ? { color: colourOf(d.component) } : {})}>{d.prefix}</Text> : null}
          {splitMatches(d.text, term).map((part, j) =>
            j % 2 === 1 ? (
              <Text key={j} inverse bold={d.source === current}>
                {part}
              </Text>
            ) : (
              <Text key={j} {...(nav.color && d.stderr ? { color: "red" } : {})}>
                {part}
              </Text>
            ),
          )}
        </Text>
      ))}
    </Box>
  );
}
