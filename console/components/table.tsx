// A table that fits the terminal: widths by string-width, the widest column truncated
// first, a bold header, tones as colours. Renders only; no state of its own.
import React from "react";
import { Box, Text } from "ink";
import stringWidth from "string-width";
import { columnWidths, truncate, type Cell, type Section, type Tone } from "../output/screen.ts";

export const TONE_COLORS: Record<Tone, string | undefined> = { ok: "green", warn: "yellow", bad: "red", dim: "gray", "": undefined };

const fit = (text: string, width: number) => {
  const t = truncate(text, width);
  return t + " ".repeat(Math.max(0, width - stringWidth(t)));
};

export function CellText({ cell, width, color }: { cell: Cell; width: number; color: boolean }) {
  const c = color ? TONE_COLORS[cell.tone ?? ""] : undefined;
  return <Text {...(c ? { color: c } : {})} dimColor={color && cell.tone === "dim"}>{fit(cell.text, width)}</Text>;
}

export function Table({ section, width, color, selected }: { section: Section; width: number; color: boolean; selected?: number }) {
  const widths = columnWidths(section, width);
  return (
    <Box flexDirection="column">
      {section.title ? <Text bold>{section.title}</Text> : null}
      <Text bold>{section.columns.map((c, i) => fit(c.toUpperCase(), widths[i]!)).join("  ")}</Text>
      {section.rows.map((row, r) => (
        <Text key={r} inverse={selected === r}>
          {row.map((cellValue, i) => (
            <React.Fragment key={i}>
              {i > 0 ? "  " : ""}
              <CellText cell={cellValue} width={widths[i]!} color={color} />
            </React.Fragment>
          ))}
        </Text>
      ))}
      {section.rows.length === 0 && section.empty ? <Text dimColor={color}>{section.empty}</Text> : null}
    </Box>
  );
}
