// The console's state: what the agents, the registry and the builds have said. The TUI
// reads it with useStore(store, selector); scripted modes with getState()/subscribe().
// Where a row is what an agent answered, its type is the generated message's (wire.ts).
import type {
  AgentEvent,
  ComponentState,
  ComponentStatus,
  ContainerSummary,
  DeployPhase,
  DeployResponse,
  DnsRecord,
  EventsResponse,
  LogsResponse,
  LogStream,
  Placement,
  PortBinding,
  PublishStatus,
  RouteStatus,
  StatusResponse,
} from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import type { Release } from "../../proto/gen/mcp/agent/v1/releases_pb.ts";
import type { ErrorCode } from "../output/errors.ts";
import type { EnumName, Plain } from "./wire.ts";

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
}

export type NodeConnState = "unknown" | "checking" | "ok" | "unreachable" | "error";

export interface NodeState {
  name: string;
  url: string;
  state: NodeConnState;
  /** Why it is unreachable or in error. */
  reason: string;
  version: string;
  podmanVersion: string;
  /** ms since the epoch of the last answer or failure. */
  checkedAt: number;
  /** Where the console has the node from: its config's [[nodes]] (which wins on a name both have), or the platform's joined nodes (store/platform.ts). */
  source: "config" | "platform";
  /** The certificate the registry issued a joined node of this name (RFC 3339; "" when the registry lists none). */
  certIssuedAt: string;
  certExpiresAt: string;
}

export type PortRow = Plain<PortBinding>;

/** A managed container as its node's List answers it. */
export interface ContainerRow extends Plain<ContainerSummary> {
  node: string;
}

export type ComponentStatusRow = Plain<ComponentStatus>;
export type EventRow = Plain<AgentEvent>;
export type PlacementInfo = Plain<Placement>;
export type RouteRow = Plain<RouteStatus>;
export type DnsRecordRow = Plain<DnsRecord>;
export type PublishInfo = Plain<PublishStatus>;

/** One service's Status answer from its node (statusFromProto in services.ts). */
export interface ServiceStatus extends Omit<Plain<StatusResponse>, "placement" | "proxy" | "dns"> {
  node: string;
  /** null: the service has no SMEP placement on its node. */
  placement: PlacementInfo | null;
  /** An agent older than routes and DNS answers without them: "not configured" (services.ts). */
  proxy: PublishInfo;
  dns: PublishInfo;
}

/** "pulling", "creating", …, "done": the generated DeployPhase's names (wire.ts). */
export type DeployPhaseName = EnumName<typeof DeployPhase>;

/** One message of the agent's Deploy stream, numbered (`seq`) for NDJSON writers. */
export interface DeployEvent extends Omit<Plain<DeployResponse>, "phase"> {
  seq: number;
  service: string;
  node: string;
  phase: DeployPhaseName;
}

export interface DeployState {
  service: string;
  node: string;
  state: "building" | "deploying" | "done" | "failed";
  /** The last phase of each component, in the order they were reported. */
  components: Record<string, { phase: DeployPhaseName; message: string; image: string }>;
  /** Refs of the registry images this deploy checks (keys of `images` in the store). */
  images: string[];
  error: ErrorInfo | null;
  /** A rollback: the release it puts back. */
  rollbackTo?: number;
}

export type ImagePhase = "checking" | "exists" | "building" | "pushing" | "pushed" | "failed" | "cannot_build";

export interface ImageState {
  service: string;
  image: string;
  ref: string;
  phase: ImagePhase;
  message: string;
  layers: Record<string, string>;
}

export interface BuildEvent {
  seq: number;
  service: string;
  image: string;
  ref: string;
  phase: ImagePhase;
  message: string;
  layer?: { digest: string; status: string };
}

export interface SyncResultRow {
  node: string;
  service: string;
  /** created, updated, unchanged; or failed with the node's error. */
  outcome: string;
  error: ErrorInfo | null;
}

/** A line of the agent's Logs stream, with where it comes from. */
export interface LogLine extends Omit<Plain<LogsResponse>, "stream"> {
  seq: number;
  node: string;
  service: string;
  stream: EnumName<typeof LogStream>;
}

export interface LogsState {
  service: string;
  /** Per component: connecting, open, ended, or the error. */
  streams: Record<string, string>;
  lines: LogLine[];
  /** seq of the last line appended. */
  seq: number;
  /** Lines pushed out of the ring buffer. */
  dropped: number;
}

/** A lifecycle event from a node's Events stream, numbered (`seq`) for NDJSON writers. */
export interface AgentEventRow extends Plain<EventsResponse> {
  seq: number;
  node: string;
}

export interface OpResult {
  op: "stop" | "start" | "restart" | "remove";
  node: string;
  service: string;
  component: string;
  /** Component → observed state after the operation; for remove, the removed containers. */
  components: Plain<ComponentState>[];
}

/** One release as the console keeps it (releases.ts; the definition deployed is in definitionJson). */
export type ReleaseRow = Plain<Release>;
