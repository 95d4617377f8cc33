// Logs: a service's components merged (each line prefixed and coloured by component) or one
// component. f follow on/off, p pause, ↑↓/jk/PgUp/PgDn scroll back (a scrolled view stays
// put while lines arrive), / search (highlighted, n/N next/previous), w wrap, t timestamps.
// Lines come from the store's bounded buffer, published in batches; only the visible window
// is rendered.
import { useEffect, useMemo, useRef, useState } from "react";
import { Box, Text } from "ink";
import { useStore } from "zustand";
import type { ConsoleStore } from "../store/state.ts";
import type { LogLine } from "../store/types.ts";
import { movement, useNav, useScreenKeys } from "../tui/nav.ts";
import { paint, useTheme } from "../tui/theme.ts";
import { anchorAt, displayIndexOf, displayLines, indexOfAnchor, matches, splitMatches, type Anchor } from "./log-view.ts";

export const LOGS_KEYS = "f follow  p pause  ↑↓/jk scroll  / search  n/N next/prev  w wrap  t timestamps  esc back";

export function LogsScreen({ store, target }: { store: ConsoleStore; target: string }) {
  const nav = useNav();
  const theme = useTheme();
  const [follow, setFollow] = useState(true);
  const [paused, setPaused] = useState(false);
  const [wrap, setWrap] = useState(true);
  const [timestamps, setTimestamps] = useState(false);
  const [term, setTerm] = useState("");
  // Scrolled back, the view is held by its top line (a log line's seq), so lines arriving
  // below or dropped above never move what is on the screen.
  const [anchor, setAnchor] = useState<Anchor | null>(null);
  const [current, setCurrent] = useState(-1); // seq of the match n/N went to
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
  const maxStart = Math.max(0, shown.length - height);
  const start = follow || !anchor ? maxStart : Math.min(maxStart, indexOfAnchor(shown, anchor));
  const visible = shown.slice(start, start + height);
  const below = shown.length - start - visible.length;
  const colourOf = useMemo(() => {
    const m = new Map<string, string>();
    const colours = theme.log_components;
    return (c: string) => (m.has(c) ? m.get(c)! : (m.set(c, colours[m.size % colours.length]!), m.get(c)!));
  }, [target, theme]);

  const scrollTo = (index: number) => {
    setFollow(false);
    setAnchor(anchorAt(shown, Math.max(0, Math.min(maxStart, index))));
  };
  const matchNumber = found.findIndex((i) => lines[i]!.seq === current);

  // n/N: the next match becomes current; the view moves only when it is not on the screen.
  const jump = (dir: 1 | -1) => {
    if (found.length === 0) return nav.flash(term ? `no line matches ${JSON.stringify(term)}` : "no search: press /", true);
    const seqs = found.map((i) => lines[i]!.seq);
    const before = seqs.filter((q) => q < current).length;
    const nextAt = dir > 0 ? seqs.findIndex((q) => q > current) : before - 1;
    const at = nextAt >= 0 ? nextAt : dir > 0 ? 0 : seqs.length - 1;
    setCurrent(seqs[at]!);
    const index = displayIndexOf(shown, seqs[at]!);
    if (index < start || index >= start + height) scrollTo(index - Math.floor(height / 2));
  };

  useScreenKeys((input, key) => {
    const m = movement(input, key, height);
    if (m !== null) {
      if (m === "bottom") return (setFollow(true), setAnchor(null), true);
      scrollTo(m === "top" ? 0 : start + m);
      return true;
    }
    if (input === "f") return (follow ? scrollTo(start) : (setFollow(true), setAnchor(null)), true);
    if (input === "p") return (setPaused(!paused), true);
    if (input === "w") return (setWrap(!wrap), true);
    if (input === "t") return (setTimestamps(!timestamps), true);
    if (input === "n") return (jump(1), true);
    if (input === "N") return (jump(-1), true);
    if (input === "/") return (nav.prompt("/", term, (v) => (setTerm(v), setCurrent(-1)), setTerm), true);
    return false;
  });

  const streams = Object.entries(logs.streams)
    .filter(([, st]) => st !== "open" && st !== "ended")
    .map(([c, st]) => `${c}: ${st}`);
  const search = !term
    ? ""
    : matchNumber >= 0
      ? `/${term} match ${matchNumber + 1} of ${found.length}`
      : `/${term} ${found.length} match${found.length === 1 ? "" : "es"}`;
  const status = [
    target,
    follow ? "following" : `scrolled, ${below} line${below === 1 ? "" : "s"} below`,
    paused ? "PAUSED" : "",
    wrap ? "wrap" : "",
    timestamps ? "timestamps" : "",
    search,
    logs.dropped ? `${logs.dropped} old lines dropped` : "",
    ...streams,
  ]
    .filter(Boolean)
    .join("  ·  ");
  return (
    <Box flexDirection="column" height={nav.height}>
      <Text dimColor={nav.color} wrap="truncate-end">
        {status}
      </Text>
      {visible.map((d, i) => (
        <Text key={i} wrap="truncate-end">
          {d.prefix ? <Text {...paint(colourOf(d.line.component), nav.color)}>{d.prefix}</Text> : null}
          {splitMatches(d.text, term).map((part, j) =>
            j % 2 === 1 ? (
              <Text key={j} inverse bold={d.line.seq === current}>
                {part}
              </Text>
            ) : (
              <Text key={j} {...paint(theme.log_stderr, nav.color && d.line.stream === "stderr")}>
                {part}
              </Text>
            ),
          )}
        </Text>
      ))}
    </Box>
  );
}
