import { Text } from "ink";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export function Spinner({ tick, label, color }: { tick: number; label: string; color: boolean }) {
  return (
    <Text wrap="truncate-end">
      <Text {...(color ? { color: "cyan" } : {})}>{FRAMES[tick % FRAMES.length]}</Text> {label}
    </Text>
  );
}
