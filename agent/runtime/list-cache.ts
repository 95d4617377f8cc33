// The List RPC's podman listing, kept while nothing can have changed it. podman's `GET
// /containers/json` costs about 20 ms for 25 containers (it asks the OCI runtime for each
// one's state), and every `mcp ps` and every TUI poll asks for it. A listing is reused only
// while all of these hold:
// - the event hub's subscription to that podman was open before the listing began and has
//   said nothing since (every create, start, stop, death and removal is an event);
// - this agent has made no change through that podman since the listing began (its own
//   change's event may still be on the way when the caller asks again);
// - it is younger than MAX_AGE_MS, which bounds the harm of an event podman never sent.
import type { EventHub } from "./event-hub.ts";
import type { ContainerInfo, Runtime } from "./runtime.ts";

export const MAX_AGE_MS = 30_000;

interface Kept {
  mark: string;
  at: number;
  containers: readonly ContainerInfo[];
}

export class ContainerListCache {
  private readonly kept = new WeakMap<Runtime, Kept>();

  constructor(
    private readonly hub: EventHub,
    /** What is listed: the labels the hub's subscriptions ask for (the agent's managed label). */
    private readonly labels: Record<string, string>,
    private readonly now: () => number = Date.now,
  ) {}

  /** `rt`'s containers that carry the labels: the kept listing when nothing can have changed it. */
  async list(rt: Runtime): Promise<readonly ContainerInfo[]> {
    const mark = this.markOf(rt);
    const hit = this.kept.get(rt);
    if (mark !== undefined && hit?.mark === mark && this.now() - hit.at < MAX_AGE_MS) return hit.containers;
    const at = this.now();
    const containers = Object.freeze(await rt.list(this.labels));
    // Kept under the mark from before podman was asked: an event or a change of the agent's
    // that came while it answered has moved the mark, so the next List asks again.
    if (mark !== undefined) this.kept.set(rt, { mark, at, containers });
    return containers;
  }

  private markOf(rt: Runtime): string | undefined {
    const seen = this.hub.seen(rt);
    const changes = rt.changes?.();
    return seen === undefined || changes === undefined ? undefined : `${seen}/${changes}`;
  }
}
