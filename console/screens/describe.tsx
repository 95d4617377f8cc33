// Describe (i on the service screen, or :describe NAME[/COMPONENT]): a component's (or every
// component's) container, image and its id and digest, command, environment with secrets
// masked, mounts, ports, labels, restart policy and times, read top to bottom and scrolled
// with the usual keys; r asks the agent again.
import { useEffect, useMemo, useState } from "react";
import { Box, Text } from "ink";
import stringWidth from "string-width";
import { useStore } from "zustand";
import { CellText, toneColor } from "../components/table.tsx";
import { paint, useTheme } from "../tui/theme.ts";
import { cell, columnLayout, truncate, type Cell, type Section } from "../output/screen.ts";
import type { ConsoleStore } from "../store/state.ts";
import { movement, useNav, useScreenKeys } from "../tui/nav.ts";
import { describeNotes, describeSections } from "../views/describe.ts";

export const DESCRIBE_KEYS = "↑↓/jk scroll  r reload  esc back  ? help  q quit";

/** One line of the screen: a title or a table header (bold), a row of cells with their widths, a note, or a gap. */
type Line = { bold: string } | { cells: Cell[]; widths: number[] } | { note: Cell } | { gap: true };

/** The sections as lines that fit `width`: each table laid out once, its rows one line each. */
function layout(sections: Section[], notes: Cell[], width: number): Line[] {
  const lines: Line[] = [];
  for (const s of sections) {
    if (lines.length) lines.push({ gap: true });
    const { kept, widths } = columnLayout(s, width);
    const pick = (cells: Cell[]) => ({ cells: kept.map((i) => cells[i] ?? cell("")), widths: kept.map((i) => widths[i]!) });
    if (s.title) lines.push({ bold: truncate(s.title, width) });
    // Two-column name/value tables have no header.
    if (s.columns.some((c) => c)) lines.push({ bold: truncate(kept.map((i) => s.columns[i]!.toUpperCase().padEnd(widths[i]!)).join("  "), width) });
    for (const r of s.rows) lines.push(pick(r));
    if (!s.rows.length && s.empty) lines.push({ cells: [cell(s.empty, "dim")], widths: [width] });
  }
  // Notes wrap (an error is read whole), a line each, so that scrolling counts them.
  if (notes.length) lines.push({ gap: true }, ...notes.flatMap((n) => wrap(n.text, width).map((text) => ({ note: { ...n, text } }))));
  return lines;
}

/** `text` in lines of at most `width` columns, broken between words (a longer word is cut). */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if (line && stringWidth(next) > width) {
      out.push(line);
      line = word;
    } else line = next;
  }
  out.push(line);
  return out.map((l) => truncate(l, width));
}

export function DescribeScreen({ store, target }: { store: ConsoleStore; target: string }) {
  const nav = useNav();
  const theme = useTheme();
  const described = useStore(store, (s) => s.describes[target]);
  // Why the last ask failed: shown in place of the description, never "asking…" beside it.
  const [error, setError] = useState("");
  const load = () =>
    void store
      .getState()
      .describe(target)
      .then(() => setError(""))
      .catch((err: Error) => setError(err.message));
  useEffect(load, [target]);

  const lines = useMemo(() => (described ? layout(describeSections(described), describeNotes(described), nav.width) : []), [described, nav.width]);
  const page = Math.max(1, nav.height - 1);
  const [top, setTop] = useState(0);
  const maxTop = Math.max(0, lines.length - page);
  const from = Math.min(top, maxTop);
  useScreenKeys((input, key) => {
    if (input === "r") return (load(), true);
    const m = movement(input, key, page);
    if (m === null) return false;
    setTop((t) => (m === "top" ? 0 : m === "bottom" ? maxTop : Math.max(0, Math.min(maxTop, Math.min(t, maxTop) + m))));
    return true;
  });

  const red = nav.color ? { color: "red" } : {};
  if (error) return <Text {...red}>{error}</Text>;
  if (!described) return <Text dimColor={nav.color}>asking {target.split("/")[0]}'s node…</Text>;
  return (
    <Box flexDirection="column">
      <Text dimColor={nav.color} wrap="truncate-end">
        {target}
        {lines.length > page ? `  (${from + 1}-${from + page} of ${lines.length} lines, ↑↓ scroll)` : ""}
      </Text>
      {lines.slice(from, from + page).map((l, i) =>
        "gap" in l ? (
          <Text key={i}> </Text>
        ) : "bold" in l ? (
          <Text key={i} bold wrap="truncate-end">
            {l.bold}
          </Text>
        ) : "note" in l ? (
          <Text key={i} wrap="truncate-end" {...paint(toneColor(theme, l.note.tone), nav.color)}>
            {l.note.text}
          </Text>
        ) : (
          <Text key={i} wrap="truncate-end">
            {l.cells.map((c, k) => (
              <Text key={k}>
                {k > 0 ? "  " : ""}
                <CellText cell={c} width={l.widths[k]!} color={nav.color} />
              </Text>
            ))}
          </Text>
        ),
      )}
    </Box>
  );
}
