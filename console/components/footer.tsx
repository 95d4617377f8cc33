// The TUI's bottom line: the prompt being typed, a message, or the keys of the screen.
import React from "react";
import { Text } from "ink";

export function Footer({ keys, message, bad, prompt, color, width }: { keys: string; message: string; bad: boolean; prompt: string | null; color: boolean; width: number }) {
  const cut = (s: string) => (s.length > width ? s.slice(0, width - 1) + "…" : s);
  if (prompt !== null) return <Text>{cut(prompt)}█</Text>;
  if (message) return <Text {...(color && bad ? { color: "red" } : {})}>{cut(message)}</Text>;
  return <Text dimColor={color}>{cut(keys)}</Text>;
}
