// Which containers are this agent's. Agents that share a podman (two `mcp up` homes, or a
// platform and the tests' agents on one machine) see each other's containers: each agent
// labels its own with its id (mcp.agent) and lists, adopts, reconciles, stops, removes and
// streams only those. A container another agent holds under a name this agent wants is left
// alone and the operation fails naming the holder.
//
// Containers made before agents labelled them (mcp.managed but no mcp.agent) are this
// agent's only when they are exactly what it deployed: the name it gives that service's
// component, the service and component labels, and the spec hash it recorded for it. So an
// upgraded agent keeps its running services, and a new agent never takes over an older one's.
import { NoSuchContainerError, type ContainerInfo, type Runtime } from "../runtime/runtime.ts";
import type { StateStore, StoredComponent } from "../state/store.ts";
import { LABELS, containerName, type AgentIdentity } from "./plan.ts";

/** A container (or an event's) as far as ownership goes. */
export interface Labelled {
  name: string;
  labels: Record<string, string>;
}

/** An operation met a container of another agent (or of no agent) under a name this agent wants. */
export class ForeignContainerError extends Error {
  override name = "ForeignContainerError";
}

export async function inspectOrAbsent(runtime: Runtime, name: string): Promise<ContainerInfo | undefined> {
  try {
    return await runtime.inspect(name);
  } catch (err) {
    if (err instanceof NoSuchContainerError) return undefined;
    throw err;
  }
}

export class Ownership {
  constructor(
    readonly identity: AgentIdentity,
    private readonly store: StateStore,
  ) {}

  /** Whether a container without the agent label is exactly what this agent last deployed (see the top). */
  private adoptable(c: Labelled, stored: StoredComponent[]): boolean {
    const service = c.labels[LABELS.service] ?? "";
    const component = c.labels[LABELS.component] ?? "";
    if (c.name !== containerName(this.identity.containerPrefix, service, component)) return false;
    const want = stored.find((s) => s.service === service && s.name === component);
    return !!want?.specHash && want.specHash === c.labels[LABELS.hash];
  }

  private older(c: Labelled): boolean {
    return c.labels[LABELS.managed] === "true" && c.labels[LABELS.agent] === undefined;
  }

  async owns(c: Labelled): Promise<boolean> {
    if (c.labels[LABELS.managed] !== "true") return false;
    const agent = c.labels[LABELS.agent];
    if (agent !== undefined) return agent === this.identity.id;
    return this.adoptable(c, await this.store.components(c.labels[LABELS.service] ?? ""));
  }

  /** The containers of `list` that are this agent's (one database read for any number of older ones). */
  async mine<T extends Labelled>(list: readonly T[]): Promise<T[]> {
    const stored = list.some((c) => this.older(c)) ? await this.store.components() : [];
    return list.filter(
      (c) => c.labels[LABELS.managed] === "true" && (c.labels[LABELS.agent] === this.identity.id || (this.older(c) && this.adoptable(c, stored))),
    );
  }

  /** Who holds a container that is not this agent's, in words. */
  holderOf(c: Labelled): string {
    const agent = c.labels[LABELS.agent];
    if (agent !== undefined) return `agent ${agent}${c.labels[LABELS.node] ? ` (node ${c.labels[LABELS.node]})` : ""}`;
    if (this.older(c)) return "an agent from before containers carried their agent's id (no mcp.agent label, and not what this agent deployed)";
    return "something other than an mcp-agent (no mcp.managed label)";
  }

  /** The error for `c`, which is not this agent's; `what`: what was not done to it ("not replaced"). */
  foreign(c: Labelled, what: string): ForeignContainerError {
    const hint = c.labels[LABELS.agent] !== undefined ? "; agents that share a podman need a [runtime] container_prefix each" : "";
    return new ForeignContainerError(`container ${c.name} is held by ${this.holderOf(c)}, not by this agent (${this.identity.id}); ${what}${hint}`);
  }

  /** The container named `name` when it is this agent's; undefined when there is none or it is another's. */
  async mineNamed(runtime: Runtime, name: string): Promise<ContainerInfo | undefined> {
    const info = await inspectOrAbsent(runtime, name);
    return info && (await this.owns(info)) ? info : undefined;
  }

  /** The container named `name`: undefined when there is none; ForeignContainerError (naming `what`) when it is another's. */
  async ownNamed(runtime: Runtime, name: string, what: string): Promise<ContainerInfo | undefined> {
    const info = await inspectOrAbsent(runtime, name);
    if (info && !(await this.owns(info))) throw this.foreign(info, what);
    return info;
  }

  /** Removes (with force) the container named `name` when it is this agent's. Returns what was there: "removed", "absent", or the other's container, left alone. */
  async removeMine(runtime: Runtime, name: string): Promise<"removed" | "absent" | ContainerInfo> {
    const info = await inspectOrAbsent(runtime, name);
    if (!info) return "absent";
    if (!(await this.owns(info))) return info;
    try {
      await runtime.remove(name, true);
    } catch (err) {
      if (err instanceof NoSuchContainerError) return "absent";
      throw err;
    }
    return "removed";
  }
}
