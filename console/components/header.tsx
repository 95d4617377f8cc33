import { Text } from "ink";
import type { NodeState } from "../store/types.ts";
import { paint, useTheme, type Theme } from "../tui/theme.ts";

const MARK: Record<string, [string, "ok" | "bad" | "warn" | "dim"]> = {
  ok: ["●", "ok"],
  unreachable: ["✗", "bad"],
  error: ["!", "bad"],
  checking: ["…", "warn"],
  unknown: ["?", "dim"],
};

export function Header({ nodes, title, color }: { nodes: NodeState[]; title: string; color: boolean }) {
  const theme: Theme = useTheme();
  // One line, cut at the terminal's edge: a wrapped header would push the screen down.
  return (
    <Text wrap="truncate-end">
      <Text bold {...paint(theme.header, color)}>
        mcp
      </Text>
      <Text {...paint(theme.header, color)}> {title} </Text>
      {nodes.map((n) => {
        const [mark, tone] = MARK[n.state] ?? ["?", "dim"];
        return (
          <Text key={n.name}>
            {"  "}
            <Text {...paint(theme[tone], color)}>{mark}</Text> {n.name}
            {n.state === "ok" || n.state === "unknown" ? "" : ` ${n.state}`}
            {n.state === "ok" && n.version && !n.podmanVersion ? " (no podman: install podman)" : ""}
          </Text>
        );
      })}
    </Text>
  );
}
