// Which podman a service's containers live in: the agent's own (no SMEP, or
// rootful isolation) or its service user's rootless podman (runuser).
import type { Logger } from "../../lib/log/logger.ts";
import type { Placer } from "../placement/placer.ts";
import { podmanWrapper } from "../placement/users.ts";
import type { StateStore } from "../state/store.ts";
import { podmanNode, type PodmanNode } from "./podman-node.ts";
import type { PullOptions, Runtime } from "./runtime.ts";

export interface ServiceRuntime {
  runtime: Runtime;
  /** Registry trust and credentials as that podman sees them. */
  pull: PullOptions;
}

export interface RuntimeSet {
  runtimes: Runtime[];
  /**
   * Services whose placement failed, with the error: which podman holds their containers is
   * unknown, so those containers are unknown too — never to be taken for missing.
   */
  failed: Map<string, Error>;
}

export interface RuntimeProvider {
  forService(service: string): Promise<ServiceRuntime>;
  /** Every podman that may hold managed containers, and the services whose podman could not be found. */
  all(): Promise<RuntimeSet>;
  /** The agent's own podman (health, version). */
  readonly shared: Runtime;
  /** The agent's own registry trust and credentials. */
  readonly agentPull: PullOptions;
  /** Stops the podman API services started for service users (the shared one is the caller's). */
  stop(): Promise<void>;
}

export class SharedRuntime implements RuntimeProvider {
  constructor(
    readonly shared: Runtime,
    readonly agentPull: PullOptions,
  ) {}
  async forService(): Promise<ServiceRuntime> {
    return { runtime: this.shared, pull: this.agentPull };
  }
  async all(): Promise<RuntimeSet> {
    return { runtimes: [this.shared], failed: new Map() };
  }
  async stop(): Promise<void> {}
}

/** Where a service user's podman API socket is: in its XDG_RUNTIME_DIR, which only it (and root) may enter. */
export const userSocketPath = (runtimeDir: string) => `${runtimeDir}/mcp-agent-podman.sock`;

/** Rootless isolation: one podman per service user, keyed by user name. */
export class ServiceUserRuntimes implements RuntimeProvider {
  private readonly byUser = new Map<string, PodmanNode>();

  constructor(
    readonly shared: Runtime,
    private readonly base: { command: string; log: Logger },
    private readonly store: StateStore,
    private readonly placer: Placer,
    readonly agentPull: PullOptions,
    /** The auth.json piped to a service user's podman for one image (McrSession.authFileFor); none without it. */
    private readonly pipedAuth?: (image: string) => Promise<string | null>,
  ) {}

  async forService(service: string): Promise<ServiceRuntime> {
    const def = await this.store.definition(service);
    if (!def) return { runtime: this.shared, pull: this.agentPull };
    const { placement } = await this.placer.placementFor(def);
    // Not deployed yet: no user, so no podman of its own and none of its containers anywhere.
    if (!this.placer.userExists(placement.user)) return { runtime: this.shared, pull: this.agentPull };
    const user = { name: placement.user, uid: placement.uid, home: this.placer.homeOf(placement.user), runtimeDir: `/run/user/${placement.uid}` };
    let node = this.byUser.get(user.name);
    if (!node) {
      const socketPath = userSocketPath(user.runtimeDir);
      node = podmanNode({ command: this.base.command, wrapper: podmanWrapper(user), socketPath, what: `${user.name}'s podman`, log: this.base.log });
      this.byUser.set(user.name, node);
    }
    const runtime = node.runtime;
    const pull = this.placer.pullOptionsFor(user, this.agentPull);
    return { runtime, pull: this.pipedAuth ? { ...pull, pipedAuth: this.pipedAuth } : pull };
  }

  async all(): Promise<RuntimeSet> {
    const runtimes = new Set<Runtime>([this.shared]);
    const failed = new Map<string, Error>();
    for (const def of await this.store.definitions()) {
      try {
        const { placement } = await this.placer.placementFor(def);
        if (!this.placer.userExists(placement.user)) continue; // never deployed: no podman to ask
        runtimes.add((await this.forService(def.name)).runtime);
      } catch (err) {
        // Its containers may well be running under its user: reported by the caller, not skipped.
        failed.set(def.name, err instanceof Error ? err : new Error(String(err)));
      }
    }
    return { runtimes: [...runtimes], failed };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.byUser.values()].map((n) => n.stop()));
    this.byUser.clear();
  }
}
