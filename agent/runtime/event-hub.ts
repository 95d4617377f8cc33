// One podman event subscription per runtime, however many watch it: every
// Events stream subscribes here and gets the events that carry its labels.
// The subscription starts with the first watcher and ends with the last. A
// watcher that falls more than MAX_QUEUED events behind is cut off (its stream
// fails and the client reconnects) rather than queued without bound.
import type { Logger } from "../../lib/log/logger.ts";
import { Channel } from "../../lib/sync/channel.ts";
import type { Runtime, RuntimeEvent } from "./runtime.ts";

export const MAX_QUEUED = 1000;

interface Feed {
  watchers: Set<Watcher>;
  stop: AbortController;
  /** The hub's tick at this feed's last event or at its opening; undefined until podman has taken the subscription. */
  tick?: number;
}

interface Watcher {
  labels: Record<string, string>;
  channel: Channel<RuntimeEvent>;
}

export class SlowWatcherError extends Error {
  override name = "SlowWatcherError";
  constructor() {
    super(`this event stream fell more than ${MAX_QUEUED} events behind and was cut off; watch again`);
  }
}

function carries(have: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

export class EventHub {
  private readonly feeds = new Map<Runtime, Feed>();
  /** Counts every feed's openings and events: a feed's tick is never repeated by a later one. */
  private ticks = 0;

  /** `feedLabels`: what every subscription asks podman for (the agent's managed label); watchers narrow it. */
  constructor(
    private readonly feedLabels: Record<string, string>,
    private readonly log?: Logger,
  ) {}

  /** Podman subscriptions open now (one per runtime being watched). */
  get subscriptions(): number {
    return this.feeds.size;
  }

  /**
   * A mark of what `runtime`'s feed has said: it moves with every event, and with a new
   * subscription after one ended. Undefined while no subscription is open (nothing would tell
   * of a change). The same mark twice: podman said nothing in between.
   */
  seen(runtime: Runtime): number | undefined {
    return this.feeds.get(runtime)?.tick;
  }

  /** Events of `runtime`'s managed containers that carry `labels`, until `signal` aborts. */
  watch(runtime: Runtime, labels: Record<string, string>, signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    const w: Watcher = { labels, channel: new Channel<RuntimeEvent>() };
    const feed = this.feedOf(runtime);
    feed.watchers.add(w);
    const leave = () => {
      feed.watchers.delete(w);
      w.channel.close();
      if (feed.watchers.size === 0 && this.feeds.get(runtime) === feed) {
        this.feeds.delete(runtime);
        feed.stop.abort();
      }
    };
    if (signal.aborted) leave();
    else signal.addEventListener("abort", leave, { once: true });
    const channel = w.channel;
    return (async function* () {
      try {
        yield* channel;
      } finally {
        signal.removeEventListener("abort", leave);
        leave();
      }
    })();
  }

  private feedOf(runtime: Runtime): Feed {
    const existing = this.feeds.get(runtime);
    if (existing) return existing;
    const feed: Feed = { watchers: new Set(), stop: new AbortController() };
    this.feeds.set(runtime, feed);
    this.log?.info({ subscriptions: this.feeds.size }, "podman event subscription opened");
    void this.pump(runtime, feed);
    return feed;
  }

  private async pump(runtime: Runtime, feed: Feed): Promise<void> {
    let failure: unknown;
    try {
      const opened = () => {
        feed.tick = ++this.ticks;
      };
      for await (const e of runtime.events(this.feedLabels, feed.stop.signal, opened)) {
        if (feed.tick !== undefined) feed.tick = ++this.ticks;
        for (const w of feed.watchers) {
          if (!carries(e.labels, w.labels)) continue;
          if (w.channel.pending >= MAX_QUEUED) {
            feed.watchers.delete(w);
            w.channel.close(new SlowWatcherError());
          } else w.channel.push(e);
        }
      }
    } catch (err) {
      failure = err;
    }
    // The subscription ended (podman went away, or the last watcher left): so do its watchers.
    feed.tick = undefined;
    if (this.feeds.get(runtime) === feed) this.feeds.delete(runtime);
    this.log?.info({ subscriptions: this.feeds.size, err: failure ? (failure as Error).message : undefined }, "podman event subscription closed");
    for (const w of feed.watchers) w.channel.close(feed.stop.signal.aborted ? undefined : (failure ?? new Error("podman's event stream ended")));
    feed.watchers.clear();
  }
}
