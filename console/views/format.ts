// Small formatting pieces the command views share.
import { cell, stateTone, type Cell } from "../output/screen.ts";
import type { NodeState, PortRow } from "../store/types.ts";
import { certWarning } from "./cert.ts";

/** "1 tag", "2 tags", "0 repositories": a count and its noun, singular for one. */
export const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * "45s", "12m", "3h12m", "3d4h" since an RFC 3339 time; "" when not started. Seconds only in
 * the first minute. Older ages are counted to the last whole minute of the clock (at most a
 * minute short, never under 1m), so that a screen of containers started at different
 * seconds changes once a minute, all at once, instead of at each one's own second.
 */
export function uptime(startedAt: string, now = Date.now()): string {
  const t = Date.parse(startedAt);
  if (!startedAt || Number.isNaN(t)) return "";
  let s = Math.max(0, Math.floor((now - t) / 1000));
  if (s >= 60) s = Math.max(60, Math.floor((Math.floor(now / 60_000) * 60_000 - t) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m`;
  return `${s}s`;
}

export const portsText = (ports: PortRow[]) => ports.map((p) => `${p.route ? `${p.route}:` : ""}${p.hostPort}`).join(",");

const answered = (n: NodeState) => n.state !== "unreachable" && n.state !== "error";

/** What to do about a node that cannot be reached: on this machine it is `mcp up`'s agent. */
export function unreachableHint(n: NodeState): string {
  let host = "";
  try {
    host = new URL(n.url).hostname;
  } catch {
    // not a URL: no hint of where it runs
  }
  if (/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(host)) return `node ${n.name} runs on this machine: \`mcp up\` starts the platform here`;
  return `is mcp-agent running on ${host || n.name}, and is ${n.url} reachable from here?`;
}

/** One note per node that did not answer, with what to do about it. */
export function nodeNotes(nodes: NodeState[]): Cell[] {
  const down = nodes
    .filter((n) => !answered(n))
    .flatMap((n) => {
      const said = n.reason.startsWith(`node ${n.name}`) ? n.reason : `node ${n.name}: ${n.state}: ${n.reason}`;
      return n.state === "unreachable" ? [cell(said, "bad"), cell(unreachableHint(n), "warn")] : [cell(said, "bad")];
    });
  return [...down, ...nodes.filter(runtimeMissing).map((n) => cell(runtimeNote(n)!, "bad"))];
}

/** An empty table's line: "no managed containers", unless no node (or not every node) answered. */
export function emptyText(nodes: NodeState[], what: string): string {
  const up = nodes.filter(answered);
  if (nodes.length > 0 && up.length === 0) return `no node answered (${nodes.map((n) => `${n.name} ${n.state}`).join(", ")})`;
  return up.length < nodes.length ? `${what} on the nodes that answered (${up.map((n) => n.name).join(", ")})` : what;
}

/** A node whose agent answers but has no container runtime: what to install. */
export const RUNTIME_HINT =
  "podman is not installed on the node (or does not answer): install it (Debian: apt-get install podman runc; or bash scripts/setup.sh) and restart the agent";
export const runtimeMissing = (n: Pick<NodeState, "version" | "podmanVersion"> & { state: string }) =>
  n.state === "ok" && n.version !== "" && n.podmanVersion === "";
export const runtimeNote = (n: NodeState) => (runtimeMissing(n) ? `node ${n.name}: ${RUNTIME_HINT}` : undefined);

export const nodeJson = (n: NodeState) => ({
  name: n.name,
  url: n.url,
  state: n.state,
  reason: n.reason || (runtimeMissing(n) ? RUNTIME_HINT : ""),
  version: n.version,
  podmanVersion: n.podmanVersion,
  runtime: n.version === "" ? "unknown" : n.podmanVersion ? "ok" : "missing",
  source: n.source,
  certExpiresAt: n.certExpiresAt,
  certWarning: certWarning(n),
});

/** Exit code of a multi-node read: 6 when a node could not be reached (its data is missing). */
export const partialExit = (nodes: NodeState[]) => (nodes.some((n) => n.state === "unreachable") ? 6 : 0);

export const stateCell = (state: string) => cell(state, stateTone(state));
