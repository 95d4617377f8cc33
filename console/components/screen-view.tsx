// A command's Screen on a TTY: its tables, its notes, and a spinner while it works.
import React from "react";
import { Box, Text } from "ink";
import type { Screen } from "../output/screen.ts";
import { Spinner } from "./spinner.tsx";
import { CellText, Table } from "./table.tsx";
import stringWidth from "string-width";

export function ScreenView({ screen, width, color, tick }: { screen: Screen; width: number; color: boolean; tick: number }) {
  return (
    <Box flexDirection="column">
      {screen.sections.map((s, i) => (
        <Box key={i} marginBottom={i < screen.sections.length - 1 ? 1 : 0}>
          <Table section={s} width={width} color={color} />
        </Box>
      ))}
      {screen.notes.map((n, i) => (
        <CellText key={`n${i}`} cell={n} width={Math.min(width, stringWidth(n.text))} color={color} />
      ))}
      {screen.pending ? <Spinner tick={tick} label={screen.pending} color={color} /> : null}
      {screen.pending === undefined ? null : <Text> </Text>}
    </Box>
  );
}
