// Between its interval passes the reconciler looks again soon after podman says one of this
// agent's containers died or went away: it listens on the event hub's one subscription per
// podman (the one the Events streams share), so a crashed container is brought back in about
// a second instead of at the next interval. A feed that ends (podman's service restarting)
// is watched again after a pause; the interval passes cover what happens meanwhile.
import type { Logger } from "../../lib/log/logger.ts";
import type { EventHub } from "../runtime/event-hub.ts";
import type { RuntimeProvider } from "../runtime/provider.ts";
import type { Runtime } from "../runtime/runtime.ts";

/** podman's actions after which a container may need repair. */
const DRIFT_ACTIONS = new Set(["died", "remove", "oom", "stop"]);
/** Events that come together (a stop and its died, several components) make one pass. */
const SETTLE_MS = 300;
/** How often the set of podmans is looked at again (a service user's appears with its first deploy). */
const REFRESH_MS = 30_000;
const REWATCH_MS = 2000;

export interface DriftWatchOptions {
  runtimes: RuntimeProvider;
  events: EventHub;
  /** The labels of this agent's containers. */
  labels: Record<string, string>;
  /** Asks for a reconcile pass. */
  onDrift: () => void;
  log: Logger;
}

export class DriftWatch {
  private readonly watched = new Set<Runtime>();
  private readonly stopping = new AbortController();
  private settle: NodeJS.Timeout | undefined;
  private refresher: NodeJS.Timeout | undefined;

  constructor(private readonly o: DriftWatchOptions) {}

  start(): void {
    const refresh = () =>
      void this.refresh()
        .catch((err) => this.o.log.warn({ err }, "drift watch: cannot list the podmans to watch"))
        .finally(() => {
          if (!this.stopping.signal.aborted) this.refresher = setTimeout(refresh, REFRESH_MS);
        });
    refresh();
  }

  /** Watches every podman that is not watched yet. */
  async refresh(): Promise<void> {
    const { runtimes } = await this.o.runtimes.all();
    for (const rt of runtimes) if (!this.watched.has(rt)) void this.watch(rt);
  }

  private async watch(rt: Runtime): Promise<void> {
    this.watched.add(rt);
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        for await (const e of this.o.events.watch(rt, this.o.labels, signal)) {
          if (DRIFT_ACTIONS.has(e.action)) this.soon();
        }
      } catch (err) {
        if (!signal.aborted) this.o.log.debug({ err: (err as Error).message }, "drift watch: podman's event feed ended; watching again");
      }
      if (!signal.aborted) await new Promise((r) => setTimeout(r, REWATCH_MS).unref());
    }
    this.watched.delete(rt);
  }

  private soon(): void {
    if (this.settle || this.stopping.signal.aborted) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.o.onDrift();
    }, SETTLE_MS);
  }

  stop(): void {
    this.stopping.abort();
    clearTimeout(this.settle);
    clearTimeout(this.refresher);
  }
}
