import { useEffect, useState } from "react";
import { Text } from "ink";
import { paint, useTheme } from "../tui/theme.ts";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Turns on its own while it is shown (only the spinner redraws, not the screen around it);
 * `tick` drives it instead where the caller has a clock of its own (the one-shot live view).
 */
export function Spinner({ tick, label, color }: { tick?: number; label: string; color: boolean }) {
  const theme = useTheme();
  const [own, setOwn] = useState(0);
  useEffect(() => {
    if (tick !== undefined) return;
    const t = setInterval(() => setOwn((n) => n + 1), 100);
    return () => clearInterval(t);
  }, [tick === undefined]);
  tick ??= own;
  return (
    <Text wrap="truncate-end">
      <Text {...paint(theme.spinner, color)}>{FRAMES[tick % FRAMES.length]}</Text> {label}
    </Text>
  );
}
