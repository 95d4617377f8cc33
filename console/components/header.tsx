import { Text } from "ink";
import type { NodeState } from "../store/types.ts";

const MARK: Record<string, [string, string]> = {
  ok: ["●", "green"],
  unreachable: ["✗", "red"],
  error: ["!", "red"],
  checking: ["…", "yellow"],
  unknown: ["?", "gray"],
};

export function Header({ nodes, title, color }: { nodes: NodeState[]; title: string; color: boolean }) {
  // One line, cut at the terminal's edge: a wrapped header would push the screen down.
  return (
    <Text wrap="truncate-end">
      <Text bold>mcp</Text>
      <Text> {title} </Text>
      {nodes.map((n) => {
        const [mark, c] = MARK[n.state] ?? ["?", "gray"];
        return (
          <Text key={n.name}>
            {"  "}
            <Text {...(color ? { color: c } : {})}>{mark}</Text> {n.name}
            {n.state === "ok" || n.state === "unknown" ? "" : ` ${n.state}`}
            {n.state === "ok" && n.version && !n.podmanVersion ? " (no podman: install podman)" : ""}
          </Text>
        );
      })}
    </Text>
  );
}
