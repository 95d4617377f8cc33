import { Text } from "ink";
import type { RegistryHealth } from "../store/mcr-types.ts";
import type { NodeState } from "../store/types.ts";
import { paint, useTheme, type Theme } from "../tui/theme.ts";

const MARK: Record<string, [string, "ok" | "bad" | "warn" | "dim"]> = {
  ok: ["●", "ok"],
  unreachable: ["✗", "bad"],
  error: ["!", "bad"],
  checking: ["…", "warn"],
  unknown: ["?", "dim"],
};

/** The registry's mark: ready, not ready (its database or blob store does not answer) or not answering. */
const REGISTRY_MARK: Record<RegistryHealth["status"], [string, "ok" | "bad", string]> = {
  ok: ["●", "ok", ""],
  unavailable: ["✗", "bad", " not ready"],
  unreachable: ["✗", "bad", " unreachable"],
};

function RegistryMark({ health, theme, color }: { health: RegistryHealth; theme: Theme; color: boolean }) {
  const [mark, tone, state] = REGISTRY_MARK[health.status];
  return (
    <Text>
      {"  "}
      <Text {...paint(theme[tone], color)}>{mark}</Text> registry{state}
    </Text>
  );
}

export function Header({ nodes, title, color, registry }: { nodes: NodeState[]; title: string; color: boolean; registry?: RegistryHealth | null }) {
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
      {registry ? <RegistryMark health={registry} theme={theme} color={color} /> : null}
    </Text>
  );
}
