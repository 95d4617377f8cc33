// What runs where: containers of every node (ps), one service's status, and the
// lifecycle operations (stop, start, restart, remove) on the service's node.
import {
  ComponentStateSchema,
  ContainerSummarySchema,
  StatusResponseSchema,
  type ContainerSummary,
  type StatusResponse,
} from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { agentError, ConsoleError } from "../output/errors.ts";
import { fanOut, LONG_CALL_MS, pickNodes, probe } from "./nodes.ts";
import type { GetState, ServiceActions, SetState, StoreDeps } from "./state.ts";
import type { ContainerRow, OpResult, PublishInfo, ServiceStatus } from "./types.ts";
import { plain, samePlain } from "./wire.ts";

export function containerRow(node: string, c: ContainerSummary): ContainerRow {
  return { node, ...plain(ContainerSummarySchema, c) };
}

/** What an agent older than routes and DNS says by answering without proxy and dns: nothing is configured there. */
/** Status calls in flight per node at once: a node with hundreds of services is not asked hundreds at a time. */
const STATUS_CONCURRENCY = 8;

/** Whether two plain values (rows from the wire) hold the same data. */
const same = (a: unknown, b: unknown) => a !== undefined && samePlain(a, b);

/** `fn` over `items`, at most `limit` at once, results in order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const NOT_CONFIGURED: PublishInfo = { configured: false, server: "", state: "", message: "" };

export function statusFromProto(node: string, r: StatusResponse): ServiceStatus {
  const s = plain(StatusResponseSchema, r);
  return { node, ...s, placement: s.placement ?? null, proxy: s.proxy ?? { ...NOT_CONFIGURED }, dns: s.dns ?? { ...NOT_CONFIGURED } };
}

/** Splits `service[/part]`. */
export function splitTarget(target: string): { service: string; part: string } {
  const cut = target.indexOf("/");
  return cut < 0 ? { service: target, part: "" } : { service: target.slice(0, cut), part: target.slice(cut + 1) };
}

export function serviceActions(set: SetState, get: GetState, deps: StoreDeps): ServiceActions {
  const statusOn = async (node: string, service: string) => statusFromProto(node, await deps.agents.client(node).status({ service }, deps.agents.call()));
  /** When each node's service's status was last asked, by "node/service" (the TUI's poll asks again only when it has a reason). */
  const askedAt = new Map<string, number>();
  /** "node/service" whose Status the node answered not_found to (a container the agent has no record of). */
  const unknown = new Set<string>();
  // A status asked again that says nothing new keeps its object: nothing that shows it redraws.
  const keepStatuses = (list: ServiceStatus[]) =>
    set((s) => {
      const fresh = list.filter((st) => !same(s.statuses[st.service], st));
      return fresh.length ? { statuses: { ...s.statuses, ...Object.fromEntries(fresh.map((st) => [st.service, st])) } } : {};
    });

  return {
    async refreshContainers() {
      const results = await fanOut(get, await pickNodes(get, deps), async (node) => {
        const res = await deps.agents.client(node).list({}, deps.agents.call());
        return res.containers.map((c) => containerRow(node, c));
      });
      set((s) => {
        const containers = { ...s.containers };
        for (const r of results) containers[r.node] = r.ok ? r.value : [];
        return { containers };
      });
      return results;
    },

    async nodeOf(service) {
      if (deps.definitions.has(service)) {
        const node = deps.definitions.get(service).def.node;
        await pickNodes(get, deps, [node]);
        return node;
      }
      const results = await fanOut(get, await pickNodes(get, deps), (node) => statusOn(node, service));
      const found = results.filter((r) => r.ok);
      if (found.length > 0) return found[0]!.node;
      const failures = results.filter((r): r is Extract<typeof r, { ok: false }> => !r.ok);
      const other = failures.find((f) => f.error.code !== "not_found");
      if (other) throw other.error;
      throw new ConsoleError("not_found", `service ${service}: no definition in ${deps.definitions.dir} and no node runs it`);
    },

    async fetchStatus(service, nodes, poll) {
      if (service) {
        const node = await get().nodeOf(service);
        const out = await fanOut(get, [node], async (n) => [await statusOn(n, service)]);
        const r = out[0]!;
        if (!r.ok) throw r.error;
        keepStatuses(r.value);
        return out;
      }
      const lists = new Map<string, ContainerRow[]>();
      const out = await fanOut(get, await pickNodes(get, deps, nodes), async (node) => {
        const list = await deps.agents.client(node).list({}, deps.agents.call());
        const rows = list.containers.map((c) => containerRow(node, c));
        lists.set(node, rows);
        // The node answered: its rows show at once, its statuses (drift, desired state) follow.
        get().markNode(node, { ok: true });
        if (!same(get().containers[node], rows)) set((s) => ({ containers: { ...s.containers, [node]: rows } }));
        const services = [...new Set(list.containers.map((c) => c.service))].sort();
        const known = get().statuses;
        const now = Date.now();
        // A poll keeps what it knows and has no reason to doubt (no event, not too old).
        const stale = (svc: string) =>
          !poll ||
          (known[svc]?.node !== node && !unknown.has(`${node}/${svc}`)) ||
          poll.changed.has(svc) ||
          now - (askedAt.get(`${node}/${svc}`) ?? 0) > poll.maxAgeMs;
        const found = await mapLimit(services, STATUS_CONCURRENCY, async (svc): Promise<ServiceStatus | null> => {
          if (!stale(svc)) return known[svc]?.node === node ? known[svc]! : null;
          const key = `${node}/${svc}`;
          try {
            const st = await statusOn(node, svc);
            unknown.delete(key);
            return st;
          } catch (err) {
            // One service the agent has no record of (or removed since the List) is not the node failing.
            if (agentError(err, node).code !== "not_found") throw err;
            unknown.add(key);
            return null;
          } finally {
            askedAt.set(key, Date.now());
          }
        });
        return found.filter((st): st is ServiceStatus => st !== null);
      });
      set((s) => {
        // A node's services that are gone from its list are dropped; unreachable nodes keep what was last seen.
        const answered = new Set(out.filter((r) => r.ok).map((r) => r.node));
        const statuses = Object.fromEntries(Object.entries(s.statuses).filter(([, st]) => !answered.has(st.node)));
        for (const r of out) if (r.ok) for (const st of r.value) statuses[st.service] = same(s.statuses[st.service], st) ? s.statuses[st.service]! : st;
        const containers = { ...s.containers };
        for (const [node, rows] of lists) containers[node] = same(s.containers[node], rows) ? s.containers[node]! : rows;
        // A poll that found nothing new changes nothing: no view redraws for it.
        const unchanged = (a: Record<string, unknown>, b: Record<string, unknown>) =>
          Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
        return {
          ...(unchanged(statuses, s.statuses) ? {} : { statuses }),
          ...(unchanged(containers, s.containers) ? {} : { containers }),
        };
      });
      return out;
    },

    async lifecycle(op, service, component = "") {
      const node = await get().nodeOf(service);
      const client = deps.agents.client(node);
      try {
        const req = { service, component };
        await probe(deps, node);
        const call = deps.agents.call({ timeoutMs: LONG_CALL_MS });
        const res = op === "stop" ? await client.stop(req, call) : op === "start" ? await client.start(req, call) : await client.restart(req, call);
        get().markNode(node, { ok: true });
        const result: OpResult = { op, node, service, component, components: res.components.map((c) => plain(ComponentStateSchema, c)) };
        set({ lastOp: result });
        return result;
      } catch (err) {
        const e = agentError(err, node);
        get().markNode(node, { ok: false, error: e });
        throw e;
      }
    },

    async remove(service) {
      const node = await get().nodeOf(service);
      try {
        await probe(deps, node);
        const res = await deps.agents.client(node).remove({ service }, deps.agents.call({ timeoutMs: LONG_CALL_MS }));
        get().markNode(node, { ok: true });
        const result: OpResult = {
          op: "remove",
          node,
          service,
          component: "",
          components: res.removedContainers.map((c) => ({ component: "", container: c, state: "removed" })),
        };
        // Gone from every view at once, not at the next poll.
        set((s) => {
          const statuses = { ...s.statuses };
          delete statuses[service];
          const rows = s.containers[node] ?? [];
          return { lastOp: result, statuses, containers: { ...s.containers, [node]: rows.filter((c) => c.service !== service) } };
        });
        return result;
      } catch (err) {
        const e = agentError(err, node);
        get().markNode(node, { ok: false, error: e });
        throw e;
      }
    },
  };
}
