// A table that fits the terminal: widths by string-width, the widest columns narrowed
// first, then the section's least needed columns left out; a bold header (with the sort
// column's ▲ or ▼), tones as colours. Renders only; no state of its own. A table with a
// selection tells the TUI where its rows are, for the mouse.
import React, { useContext, useEffect, useRef } from "react";
import { Box, Text, type DOMElement } from "ink";
import stringWidth from "string-width";
import { columnLayout, headerText, truncate, type Cell, type Section, type Tone } from "../output/screen.ts";
import { NavContext } from "../tui/nav.ts";
import { paint, useTheme, type Theme } from "../tui/theme.ts";

export const TONE_COLORS: Record<Tone, string | undefined> = { ok: "green", warn: "yellow", bad: "red", dim: "gray", "": undefined };

/** A tone's colour in the theme ("" none). */
export const toneColor = (theme: Theme, tone: Tone | undefined): string => (tone ? theme[tone] : "");

const fit = (text: string, width: number) => {
  const t = truncate(text, width);
  return t + " ".repeat(Math.max(0, width - stringWidth(t)));
};

export function CellText({ cell, width, color }: { cell: Cell; width: number; color: boolean }) {
  const theme = useTheme();
  return (
    <Text {...paint(toneColor(theme, cell.tone), color)} dimColor={color && cell.tone === "dim"}>
      {fit(cell.text, width)}
    </Text>
  );
}

export function Table({ section, width, color, selected }: { section: Section; width: number; color: boolean; selected?: number }) {
  // Narrow terminals: the section's least needed columns are left out before names are cut.
  const { kept, widths } = columnLayout(section, width);
  const nav = useContext(NavContext);
  const rows = useRef<DOMElement>(null);
  const selectable = selected !== undefined;
  const theme = useTheme();
  // The selected row: the theme's background, or inverse video.
  const mark = (r: number) => (selected !== r ? {} : color && theme.selection ? { backgroundColor: theme.selection } : { inverse: true });
  useEffect(() => {
    if (!nav || !selectable) return;
    const el = rows.current;
    nav.rows.current = el;
    return () => {
      if (nav.rows.current === el) nav.rows.current = null;
    };
  }, [nav?.rows, selectable]);
  return (
    <Box flexDirection="column">
      {section.title ? (
        <Text bold wrap="truncate-end">
          {section.title}
        </Text>
      ) : null}
      <Text bold {...paint(theme.table_header, color)}>
        {kept.map((i) => fit(headerText(section, i), widths[i]!)).join("  ")}
      </Text>
      <Box flexDirection="column" ref={rows}>
        {section.rows.map((row, r) => (
          <Text key={r} {...mark(r)}>
            {kept.map((i, k) => (
              <React.Fragment key={i}>
                {k > 0 ? "  " : ""}
                <CellText cell={row[i] ?? { text: "" }} width={widths[i]!} color={color} />
              </React.Fragment>
            ))}
          </Text>
        ))}
      </Box>
      {section.rows.length === 0 && section.empty ? (
        <Text dimColor={color} wrap="truncate-end">
          {section.empty}
        </Text>
      ) : null}
    </Box>
  );
}
