// The platform's nodes: the registry keeps them (mcr's NodeService: an admin adds a node and
// gets a one-time join token, the node joins with it, an admin removes it). The console talks
// to the config's [[nodes]] and to every joined node the registry lists (a config entry of the
// same name wins), and refuses the certificates of removed nodes (the revoked serials) on
// every agent connection. A list that cannot be read leaves the nodes as they were, and says why.
import type { NodeRef } from "../clients/agents.ts";
import { mcrError, type McrAdmin } from "../clients/mcr-admin.ts";
import { ConsoleError } from "../output/errors.ts";
import { newNodeState } from "./nodes.ts";
import { platformNodeRow, type PlatformData, type PlatformNodeRow } from "./platform-types.ts";
import type { ConsoleData, GetState, PlatformActions, SetState, StoreDeps } from "./state.ts";
import type { NodeState } from "./types.ts";
import { samePlain } from "./wire.ts";

/** The nodes the console talks to: the config's, then the platform's joined nodes with a URL that the config does not name. */
export function mergeNodes(config: NodeRef[], platform: PlatformNodeRow[]): NodeRef[] {
  const named = new Set(config.map((n) => n.name));
  return [...config, ...platform.filter((n) => n.state === "joined" && n.url && !named.has(n.name)).map((n) => ({ name: n.name, url: n.url }))];
}

/** `nodes` for the pool's nodes `refs`: unchanged entries kept (no redraw), new ones not asked yet, each with its joined node's certificate times. */
function nodeStates(current: Record<string, NodeState>, refs: NodeRef[], config: Set<string>, platform: PlatformNodeRow[]): Record<string, NodeState> {
  const joined = new Map(platform.filter((n) => n.state === "joined").map((n) => [n.name, n]));
  const next: Record<string, NodeState> = {};
  for (const r of refs) {
    const cur = current[r.name];
    let n = cur && cur.url === r.url ? cur : newNodeState(r, config.has(r.name) ? "config" : "platform");
    const p = joined.get(r.name);
    const issued = p?.certIssuedAt ?? "";
    const expires = p?.certExpiresAt ?? "";
    if (n.certIssuedAt !== issued || n.certExpiresAt !== expires) n = { ...n, certIssuedAt: issued, certExpiresAt: expires };
    next[r.name] = n;
  }
  const keys = Object.keys(next);
  const before = Object.keys(current);
  const same = keys.length === before.length && keys.every((k, i) => before[i] === k && current[k] === next[k]);
  return same ? current : next;
}

export function platformActions(set: SetState, get: GetState, deps: StoreDeps): PlatformActions {
  let first: Promise<unknown> | null = null;
  const client = (): McrAdmin => {
    const c = deps.mcrAdmin?.();
    if (!c) throw new ConsoleError("usage", "no [registry] url in the console config: the registry keeps the platform's nodes");
    return c;
  };

  /** Keeps the registry's revoked serials for the commands after this one (clients/revoked-list.ts); a note when that fails. */
  const keep = (revoked: string[]): string => {
    try {
      deps.revokedList?.save(revoked);
      return "";
    } catch (err) {
      return `the revoked node certificates could not be kept in ${deps.revokedList?.file} (${(err as Error).message}): a command that cannot read the registry's node list will not know them`;
    }
  };

  /** The registry's list into the pool (nodes, revoked serials) and the store; what left the pool leaves every view. */
  const apply = (list: PlatformNodeRow[], revoked: string[], listed = true) => {
    deps.agents.setRevoked(revoked);
    const unkept = keep(revoked);
    const refs = mergeNodes(deps.agents.configNodes, list);
    const { removed } = deps.agents.setNodes(refs);
    const config = new Set(deps.agents.configNodes.map((n) => n.name));
    set((s) => {
      const prev = s.platform;
      const platform: PlatformData = {
        nodes: samePlain(prev.nodes, list) ? prev.nodes : list,
        revokedSerials: samePlain(prev.revokedSerials, revoked) ? prev.revokedSerials : revoked,
        listed: prev.listed || listed,
        error: "",
        note: unkept,
      };
      const out: Partial<ConsoleData> = {
        platform: samePlain(prev, platform) ? prev : platform,
        nodes: nodeStates(s.nodes, refs, config, list),
      };
      if (removed.length === 0) return out;
      const gone = new Set(removed);
      const without = <T>(r: Record<string, T>) => Object.fromEntries(Object.entries(r).filter(([k]) => !gone.has(k)));
      return {
        ...out,
        containers: without(s.containers),
        stats: without(s.stats),
        statsErrors: without(s.statsErrors),
        statuses: Object.fromEntries(Object.entries(s.statuses).filter(([, st]) => !gone.has(st.node))),
      };
    });
  };

  /** What the failure note adds about the revoked serials still refused (those kept from an earlier list). */
  const keptNote = (): string => {
    const n = deps.agents.revokedSerials.length;
    if (!deps.revokedList || n === 0) return "";
    let at = "";
    try {
      at = deps.revokedList.read()?.listedAt ?? "";
    } catch {
      // Read at start already: a file broken since then changes nothing for this command.
    }
    return `; the ${n} revoked node certificate${n === 1 ? "" : "s"} it listed${at ? ` at ${at}` : ""} ${n === 1 ? "is" : "are"} still refused`;
  };

  const load = async (): Promise<PlatformData> => {
    if (!deps.mcrAdmin) return get().platform; // no registry: the config's nodes are all there is
    try {
      const c = client();
      const r = await c.node.listNodes({}, c.call({ timeoutMs: deps.agents.timeoutMs }));
      apply(r.nodes.map(platformNodeRow), r.revokedSerials);
    } catch (err) {
      const error = mcrError(err).message;
      const note = get().platform.listed
        ? `the registry's node list could not be read again (${error}): its nodes as last listed`
        : `the registry's node list could not be read (${error}): only the config's [[nodes]]${keptNote()}`;
      set((s) => (s.platform.note === note ? {} : { platform: { ...s.platform, error, note } }));
    }
    return get().platform;
  };

  /** A NodeService call, its failure in the console's terms. */
  const call = async <T>(work: (c: McrAdmin) => Promise<T>): Promise<T> => {
    try {
      return await work(client());
    } catch (err) {
      throw mcrError(err);
    }
  };

  return {
    loadPlatformNodes() {
      const p = load();
      first ??= p;
      return p;
    },

    async platformReady() {
      await (first ??= load());
    },

    listNodes: () =>
      call(async (c) => {
        const r = await c.node.listNodes({}, c.call());
        apply(r.nodes.map(platformNodeRow), r.revokedSerials);
        first ??= Promise.resolve();
        return get().platform;
      }),

    addNode: (n) =>
      call(async (c) => {
        const r = await c.node.addNode({ name: n.name, url: n.url, hostnames: n.hostnames, expiresSeconds: n.expiresSeconds }, c.call());
        if (!r.node) throw new ConsoleError("failed", `the registry added node ${n.name} but did not say how`);
        const node = platformNodeRow(r.node);
        set((s) => ({ platform: { ...s.platform, nodes: [...s.platform.nodes.filter((x) => x.name !== node.name), node] } }));
        return { node, token: r.token, registryUrl: c.url };
      }),

    removeNode: (name) =>
      call(async (c) => {
        const r = await c.node.removeNode({ name }, c.call());
        const p = get().platform;
        // The pool's serials: the registry's last list, or the kept one when it was not read.
        apply(
          p.nodes.filter((x) => x.name !== name),
          [...new Set([...deps.agents.revokedSerials, ...r.revokedSerials])],
          false,
        );
        const node = r.node ? platformNodeRow(r.node) : (p.nodes.find((x) => x.name === name) ?? null);
        if (!node) throw new ConsoleError("failed", `the registry removed node ${name} but did not say which`);
        return { node, revokedSerials: r.revokedSerials };
      }),
  };
}
