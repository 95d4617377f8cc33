import { Text } from "ink";
import { paint, useTheme } from "../tui/theme.ts";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function Spinner({ tick, label, color }: { tick: number; label: string; color: boolean }) {
  const theme = useTheme();
  return (
    <Text wrap="truncate-end">
      <Text {...paint(theme.spinner, color)}>{FRAMES[tick % FRAMES.length]}</Text> {label}
    </Text>
  );
}
