// Stats: the resource use of this agent's running containers, from every podman it uses.
// Each ask costs one podman call per podman (the stats of every running container at once).
// Whose a container is and which service and component it runs come from its labels, which
// never change for a container id: they are listed once per new id and remembered, so a
// console that polls every 2 s does not make the agent list containers every 2 s.
// podman's answer (about 20 ms for 25 containers: it reads each one's cgroup and network
// counters) is a sample shared by every ask within SAMPLE_MS of it and by the asks that come
// while it is taken, unless this agent changed a container through that podman since (a
// runtime that keeps no count of its changes shares only the ask under way): two
// consoles, or a script calling `mcp ps` in a loop, cost podman one call a second at most.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Logger } from "../../lib/log/logger.ts";
import { NAME_RE } from "../../lib/services/definition.ts";
import { quote } from "../../lib/text/quote.ts";
import type { ContainerStatsSchema, StatsResponseSchema } from "../../proto/gen/mcp/agent/v1/resources_pb.ts";
import type { Ownership } from "../controller/ownership.ts";
import { LABELS } from "../controller/plan.ts";
import type { ContainerStats, Runtime } from "../runtime/runtime.ts";
import type { Access } from "./access.ts";

export interface StatsDeps {
  /** Every podman that may hold this agent's containers (the provider's `all()`). */
  runtimes: () => Promise<Runtime[]>;
  ownership: Ownership;
  access: Access;
  log: Logger;
  now?: () => number;
}

/** How long one podman stats answer serves other asks. */
export const SAMPLE_MS = 1000;

interface Sample {
  at: number;
  changes: number | undefined;
  /** podman has not answered yet: every ask shares it. */
  pending: boolean;
  stats: Promise<ContainerStats[]>;
}

/** A running container's stats with its labels. */
interface Measured {
  name: string;
  labels: Record<string, string>;
  stats: ContainerStats;
}

/** Names one Stats call may ask for (a screen asks for the rows it shows). */
const MAX_NAMES = 1000;

const int = (n: number) => BigInt(Math.max(0, Math.round(Number.isFinite(n) ? n : 0)));

export class StatsReader {
  /** Per podman: container id → its labels (empty for a container that is not managed). */
  private readonly labels = new WeakMap<Runtime, Map<string, Record<string, string>>>();
  private readonly samples = new WeakMap<Runtime, Sample>();
  private readonly now: () => number;

  constructor(private readonly d: StatsDeps) {
    this.now = d.now ?? Date.now;
  }

  /** podman's stats of `rt`: the shared sample while it is young and the agent changed nothing there. */
  private sample(rt: Runtime): Promise<ContainerStats[]> {
    const changes = rt.changes?.();
    const now = this.now();
    const kept = this.samples.get(rt);
    // A runtime that keeps no change count (the CLI's) shares only the ask under way.
    if (kept && kept.changes === changes && (kept.pending || (changes !== undefined && now - kept.at < SAMPLE_MS))) return kept.stats;
    const sample: Sample = { at: now, changes, pending: true, stats: rt.stats() };
    this.samples.set(rt, sample);
    sample.stats.then(
      () => (sample.pending = false),
      // A failed ask is not kept: the next one asks podman again.
      () => this.samples.get(rt) === sample && this.samples.delete(rt),
    );
    return sample.stats;
  }

  /** One podman's running containers, each with its labels (listed only when an id is new). */
  private async measure(rt: Runtime): Promise<Measured[]> {
    const stats = await this.sample(rt);
    let known = this.labels.get(rt);
    if (!known) this.labels.set(rt, (known = new Map()));
    if (stats.some((s) => !known.has(s.id))) {
      const listed = new Map((await rt.list({ [LABELS.managed]: "true" })).map((c) => [c.id, c.labels]));
      for (const s of stats) if (!known.has(s.id)) known.set(s.id, listed.get(s.id) ?? {});
    }
    // Only the ids running now are remembered: the map stays the size of the podman.
    const running = new Set(stats.map((s) => s.id));
    for (const id of known.keys()) if (!running.has(id)) known.delete(id);
    return stats.map((s) => ({ name: s.name, labels: known.get(s.id) ?? {}, stats: s }));
  }

  /**
   * The Stats RPC: this agent's running containers (of `service`, or of every service the
   * caller may read; only those named in `only` when it names any).
   */
  async read(service: string, ctx: HandlerContext, only: readonly string[] = []): Promise<MessageInitShape<typeof StatsResponseSchema>> {
    if (service && !NAME_RE.test(service)) throw new ConnectError(`invalid service name ${quote(service)}`, Code.InvalidArgument);
    if (only.length > MAX_NAMES) throw new ConnectError(`containers: ${only.length} names given; at most ${MAX_NAMES}`, Code.InvalidArgument);
    const named = new Set(only);
    if (service) this.d.access.check(ctx, "agent:read", service);
    const runtimes = await this.d.runtimes();
    const results = await Promise.allSettled(runtimes.map((rt) => this.measure(rt)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    // One podman that does not answer leaves its containers out (logged); none answering is an error.
    if (failures.length && failures.length === results.length) throw failures[0]!.reason;
    for (const f of failures) this.d.log.warn({ err: f.reason }, "stats: a podman did not answer; its containers are left out");
    const measured = results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    const mine = await this.d.ownership.mine(measured);
    const serviceOf = (m: Measured) => m.labels[LABELS.service] ?? "";
    const wanted = mine.filter((m) => (!service || serviceOf(m) === service) && (named.size === 0 || named.has(m.name)));
    // As List: only the services the caller may read, and one who may read none of them is told so.
    const visible = wanted.filter((m) => this.d.access.may(ctx, "agent:read", serviceOf(m)));
    if (wanted.length && !visible.length) this.d.access.check(ctx, "agent:read", serviceOf(wanted[0]!));
    const key = (m: Measured) => `${serviceOf(m)}/${m.labels[LABELS.component] ?? ""}/${m.name}`;
    const containers = visible
      .sort((a, b) => key(a).localeCompare(key(b)))
      .map(
        (m): MessageInitShape<typeof ContainerStatsSchema> => ({
          service: serviceOf(m),
          component: m.labels[LABELS.component] ?? "",
          container: m.name,
          cpuPercent: Number.isFinite(m.stats.cpuPercent) ? Math.max(0, m.stats.cpuPercent) : 0,
          memUsedBytes: int(m.stats.memUsedBytes),
          memLimitBytes: int(m.stats.memLimitBytes),
          netRxBytes: int(m.stats.netInBytes),
          netTxBytes: int(m.stats.netOutBytes),
          blockReadBytes: int(m.stats.blockInBytes),
          blockWriteBytes: int(m.stats.blockOutBytes),
          pids: Math.max(0, Math.round(m.stats.pids || 0)),
        }),
      );
    return { containers };
  }
}
