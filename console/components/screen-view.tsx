import { Box, Text } from "ink";
import type { Screen } from "../output/screen.ts";
import { Spinner } from "./spinner.tsx";
import { paint, useTheme } from "../tui/theme.ts";
import { Table, toneColor } from "./table.tsx";

export function ScreenView({ screen, width, color }: { screen: Screen; width: number; color: boolean }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column">
      {screen.sections.map((s, i) => (
        <Box key={i} marginBottom={i < screen.sections.length - 1 ? 1 : 0}>
          <Table section={s} width={width} color={color} />
        </Box>
      ))}
      {/* Notes wrap: an error or a warning is read whole. */}
      {screen.notes.map((n, i) => (
        <Box key={`n${i}`} width={width}>
          <Text wrap="wrap" {...paint(toneColor(theme, n.tone), color)} dimColor={color && n.tone === "dim"}>
            {n.text}
          </Text>
        </Box>
      ))}
      {screen.pending ? <Spinner label={screen.pending} color={color} /> : null}
      {screen.pending === undefined ? null : <Text> </Text>}
    </Box>
  );
}
