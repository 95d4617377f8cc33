// Node connection states and the fan-out every multi-node action uses: every node is
// asked at once, each call has the node timeout, and a node that does not answer is
// marked unreachable (with the reason) without failing or delaying the others. The nodes
// are the config's and the platform's joined ones (platform.ts).
import { agentError, ConsoleError } from "../output/errors.ts";
import type { GetState, NodeActions, NodeOutcome, SetState, StoreDeps } from "./state.ts";
import type { NodeState } from "./types.ts";

/** Operations that wait for podman (stop timeouts, pulls) get this long once the node has answered a probe. */
export const LONG_CALL_MS = 300_000;

/** Health with the short node timeout: a node that does not answer fails here, not after a long deadline. */
export async function probe(deps: StoreDeps, node: string): Promise<void> {
  try {
    await deps.agents.client(node).health({}, deps.agents.call({ anonymous: true }));
  } catch (err) {
    throw agentError(err, node);
  }
}

/** A node as the store first shows it: not asked yet. */
export function newNodeState(n: { name: string; url: string }, source: NodeState["source"]): NodeState {
  return { name: n.name, url: n.url, state: "unknown", reason: "", version: "", podmanVersion: "", checkedAt: 0, source, certIssuedAt: "", certExpiresAt: "" };
}

/** Why the platform's nodes may be missing, when they could not be listed: added to "no such node" errors. */
const platformHint = (get: GetState) => (get().platform.error ? ` (the registry's node list could not be read: ${get().platform.error})` : "");

/**
 * The nodes a fan-out goes to: all, or the named ones (which must be the config's or the
 * platform's). Every node, or a name the pool does not have, waits for the platform's node
 * list to have been asked once (store/platform.ts); names it has go at once, so that the TUI's
 * first polls of the config's nodes never wait for the registry.
 */
export async function pickNodes(get: GetState, deps: StoreDeps, names?: string[]): Promise<string[]> {
  if (!names || names.some((n) => !deps.agents.node(n))) {
    // The handshakes with the nodes already known go on while the list is read; no call is made before it.
    deps.agents.warm(names?.filter((n) => deps.agents.node(n)) ?? deps.agents.nodes.map((n) => n.name));
    await get().platformReady();
  }
  const all = deps.agents.nodes.map((n) => n.name);
  if (all.length === 0)
    throw new ConsoleError(
      "usage",
      deps.mcrAdmin
        ? `no [[nodes]] in the console config and no node has joined the platform${platformHint(get)}: \`mcp node add\` one, or add its agent (name, url) to the config`
        : "no [[nodes]] in the console config: add each node's agent (name, url)",
    );
  if (!names) return all;
  for (const n of names)
    if (!all.includes(n))
      throw new ConsoleError(
        "usage",
        `node ${JSON.stringify(n)} is not in the console config's [[nodes]] nor among the platform's joined nodes${platformHint(get)}`,
      );
  return names;
}

/**
 * Calls `fn` on every node at once. Connection failures mark the node unreachable; the
 * results of the others are kept. When no node answered because the session was refused, or
 * because the console could not make a call at all (a usage error: no identity to log in at),
 * that error is thrown (one line: run `mcp login`, or what the config lacks).
 */
export async function fanOut<T>(get: GetState, nodes: string[], fn: (node: string) => Promise<T>): Promise<NodeOutcome<T>[]> {
  const out = await Promise.all(
    nodes.map(async (node): Promise<NodeOutcome<T>> => {
      try {
        const value = await fn(node);
        get().markNode(node, { ok: true });
        return { node, ok: true, value };
      } catch (err) {
        const error = agentError(err, node);
        // A usage error is the console's own (no identity to take a token from): the node was never asked.
        if (error.code !== "usage") get().markNode(node, { ok: false, error });
        return { node, ok: false, error };
      }
    }),
  );
  const refusal = out.find(
    (o): o is Extract<NodeOutcome<T>, { ok: false }> =>
      !o.ok && (o.error.code === "unauthenticated" || o.error.code === "permission_denied" || o.error.code === "usage"),
  );
  if (refusal && !out.some((o) => o.ok)) throw refusal.error;
  return out;
}

export function nodeActions(set: SetState, get: GetState, deps: StoreDeps): NodeActions {
  return {
    async refreshNodes(only) {
      const names = await pickNodes(get, deps, only);
      get().markChecking();
      const results = await fanOut(get, names, async (node) => deps.agents.client(node).health({}, deps.agents.call({ anonymous: true })));
      set((s) => {
        const nodes = { ...s.nodes };
        for (const r of results) if (r.ok) nodes[r.node] = { ...nodes[r.node]!, version: r.value.version, podmanVersion: r.value.podmanVersion };
        return { nodes };
      });
      return names.map((n) => get().nodes[n]!);
    },

    markChecking() {
      if (!Object.values(get().nodes).some((n) => n.state === "unknown")) return;
      set((s) => ({ nodes: Object.fromEntries(Object.entries(s.nodes).map(([k, n]) => [k, n.state === "unknown" ? { ...n, state: "checking" } : n])) }));
    },

    markNode(node, outcome) {
      set((s) => {
        const cur = s.nodes[node];
        if (!cur) return {};
        const now = Date.now();
        // Nothing new (the common case, every poll): the same object, so that no view redraws for it.
        if (outcome.ok && cur.state === "ok" && cur.reason === "" && cur.checkedAt > 0) return {};
        if (outcome.ok) return { nodes: { ...s.nodes, [node]: { ...cur, state: "ok", reason: "", checkedAt: now } } };
        const e = outcome.error;
        // Not-found, invalid and failed operations are answers: the node is up.
        const state = e.code === "unreachable" ? "unreachable" : e.code === "unauthenticated" || e.code === "permission_denied" ? "error" : "ok";
        return { nodes: { ...s.nodes, [node]: { ...cur, state, reason: state === "ok" ? "" : e.message, checkedAt: now } } };
      });
    },
  };
}
