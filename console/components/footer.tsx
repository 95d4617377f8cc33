import { Text } from "ink";
import { paint, useTheme } from "../tui/theme.ts";
import { Spinner } from "./spinner.tsx";

export interface FooterPrompt {
  label: string;
  value: string;
  /** Characters before the cursor. */
  cursor: number;
}

export function Footer({
  keys,
  message,
  bad,
  prompt,
  busy = null,
  color,
  width,
}: {
  keys: string;
  message: string;
  bad: boolean;
  prompt: FooterPrompt | null;
  busy?: string | null;
  color: boolean;
  width: number;
}) {
  const theme = useTheme();
  const cut = (s: string) => (s.length > width ? s.slice(0, width - 1) + "…" : s);
  if (prompt !== null) {
    const chars = Array.from(prompt.label + prompt.value);
    const at = Array.from(prompt.label).length + prompt.cursor;
    // A long line shows its end around the cursor.
    const from = Math.max(0, at + 1 - (width - 1));
    const under = chars[at];
    return (
      <Text {...paint(theme.prompt, color)}>
        {chars.slice(from, at).join("")}
        {under === undefined ? "█" : <Text inverse>{under}</Text>}
        {chars.slice(at + 1, from + width - 1).join("")}
      </Text>
    );
  }
  // An action in progress: said until it ends (its result then replaces it).
  if (busy) return <Spinner label={cut(`${busy}…`)} color={color} />;
  if (message) return <Text {...paint(theme.bad, color && bad)}>{cut(message)}</Text>;
  return (
    <Text dimColor={color && !theme.footer_keys} {...paint(theme.footer_keys, color)}>
      {cut(keys)}
    </Text>
  );
}
