// The console's one store (zustand/vanilla): state slices and the actions that call the
// agents, the registry and podman. Nothing here renders or prints; commands and screens
// read the state (getState/subscribe, or useStore in the TUI).
import { createStore, type StoreApi } from "zustand/vanilla";
import type { AgentPool } from "../clients/agents.ts";
import type { Builder } from "../clients/podman.ts";
import type { McrAdmin } from "../clients/mcr-admin.ts";
import type { RegistryApi } from "../clients/registry.ts";
import type { Definitions } from "../definitions.ts";
import { buildActions, type BuildActions } from "./build.ts";
import { deployActions, type DeployActions } from "./deploy.ts";
import { mcrActions, type McrActions } from "./mcr.ts";
import { initialMcr, type McrData } from "./mcr-types.ts";
import { nodeActions, type NodeActions } from "./nodes.ts";
import { serviceActions, type ServiceActions } from "./services.ts";
import { streamActions, type StreamActions } from "./streams.ts";
import type {
  AgentEventRow,
  BuildEvent,
  ContainerRow,
  DeployEvent,
  DeployState,
  ImageState,
  LogsState,
  NodeState,
  OpResult,
  ServiceStatus,
  SyncResultRow,
} from "./types.ts";

export interface StoreDeps {
  agents: AgentPool;
  definitions: Definitions;
  /** `<host:port>` of the registry images are tagged with; empty when none is configured. */
  registryHost: string;
  registry: () => RegistryApi;
  /** mcr's admin RPCs with the registry token (absent when no [registry] url is configured). */
  mcrAdmin?: () => McrAdmin;
  builder: () => Builder;
  /** Build workspace: each service's source is `<workspace>/<path>`. */
  workspace: string;
  /** The sheet's machine registry (name → number), shipped with sync. */
  machineRegistry: () => Record<string, number>;
  /** Lines kept per log view (older ones are dropped and counted). */
  logCapacity?: number;
  /** How often appended log lines are published (ms). */
  logFlushMs?: number;
}

export interface ConsoleData {
  nodes: Record<string, NodeState>;
  /** The last List answer per node. */
  containers: Record<string, ContainerRow[]>;
  statuses: Record<string, ServiceStatus>;
  deployment: DeployState | null;
  deployEvents: DeployEvent[];
  images: Record<string, ImageState>;
  buildEvents: BuildEvent[];
  syncResults: SyncResultRow[];
  logs: LogsState;
  events: AgentEventRow[];
  eventSeq: number;
  lastOp: OpResult | null;
  /** Sequence shared by deploy and build events (NDJSON writers follow it). */
  seq: number;
  /** The registry: repositories, GC, policies, audit, snapshots (store/mcr.ts). */
  mcr: McrData;
}

export type ConsoleState = ConsoleData & NodeActions & ServiceActions & BuildActions & DeployActions & StreamActions & McrActions;
export type ConsoleStore = StoreApi<ConsoleState>;
export type SetState = StoreApi<ConsoleState>["setState"];
export type GetState = StoreApi<ConsoleState>["getState"];

export function initialData(nodes: { name: string; url: string }[]): ConsoleData {
  return {
    nodes: Object.fromEntries(nodes.map((n) => [n.name, { name: n.name, url: n.url, state: "unknown", reason: "", version: "", podmanVersion: "", checkedAt: 0 }])),
    containers: {},
    statuses: {},
    deployment: null,
    deployEvents: [],
    images: {},
    buildEvents: [],
    syncResults: [],
    logs: { service: "", streams: {}, lines: [], seq: 0, dropped: 0 },
    events: [],
    eventSeq: 0,
    lastOp: null,
    seq: 0,
    mcr: initialMcr(),
  };
}

export function createConsoleStore(deps: StoreDeps): ConsoleStore {
  return createStore<ConsoleState>()((set, get) => ({
    ...initialData(deps.agents.nodes),
    ...nodeActions(set, get, deps),
    ...serviceActions(set, get, deps),
    ...buildActions(set, get, deps),
    ...deployActions(set, get, deps),
    ...streamActions(set, get, deps),
    ...mcrActions(set, get, deps),
  }));
}
