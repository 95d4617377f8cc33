// The console's state: what the agents, the registry and the builds have said. The TUI
// reads it with useStore(store, selector); scripted modes with getState()/subscribe().
import type { ErrorCode } from "../output/errors.ts";

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
}

export interface PortRow {
  route: string;
  hostPort: number;
  hostIp: string;
}

export interface ContainerRow {
  node: string;
  service: string;
  component: string;
  container: string;
  image: string;
  version: string;
  state: string;
  startedAt: string;
  ports: PortRow[];
}

export interface ComponentStatusRow {
  component: string;
  container: string;
  desiredState: string;
  observedState: string;
  desiredImage: string;
  observedImage: string;
  drift: string;
  ports: PortRow[];
  startedAt: string;
}

export interface EventRow {
  time: string;
  service: string;
  component: string;
  kind: string;
  message: string;
}

export interface PlacementInfo {
  sheet: string;
  sheetNumber: number;
  machineNumber: number;
  environment: string;
  uid: number;
  user: string;
  ports: number[];
  storageRoot: string;
  isolation: string;
  ephemeralPorts: number[];
}

/** A route of the service in its agent's route table (docs/routing.md). */
export interface RouteRow {
  component: string;
  route: string;
  hostname: string;
  port: number;
  mode: string;
  target: string;
  certificate: string;
  /** applied or pending. */
  state: string;
}

export interface DnsRecordRow {
  name: string;
  type: string;
  addresses: string[];
  ttl: number;
  /** in_sync, missing, differs or unknown. */
  state: string;
}

/** The agent's proxy or DNS server: configured at all, and in sync, drifting or unreachable. */
export interface PublishInfo {
  configured: boolean;
  server: string;
  state: string;
  message: string;
}

export interface ServiceStatus {
  node: string;
  service: string;
  version: string;
  active: boolean;
  components: ComponentStatusRow[];
  recentEvents: EventRow[];
  unknownContainers: string[];
  placement: PlacementInfo | null;
  routes: RouteRow[];
  dnsRecords: DnsRecordRow[];
  proxy: PublishInfo;
  dns: PublishInfo;
}

export type DeployPhaseName = "pulling" | "creating" | "starting" | "running" | "unchanged" | "failed" | "done";

export interface DeployEvent {
  seq: number;
  service: string;
  node: string;
  component: string;
  phase: DeployPhaseName;
  message: string;
  container: string;
  image: string;
}

export interface DeployState {
  service: string;
  node: string;
  state: "building" | "deploying" | "done" | "failed";
  /** The last phase of each component, in the order they were reported. */
  components: Record<string, { phase: DeployPhaseName; message: string; image: string }>;
  error: ErrorInfo | null;
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

export interface LogLine {
  seq: number;
  node: string;
  service: string;
  component: string;
  stream: "stdout" | "stderr";
  line: string;
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

export interface AgentEventRow {
  seq: number;
  node: string;
  time: string;
  service: string;
  component: string;
  container: string;
  action: string;
}

export interface OpResult {
  op: "stop" | "start" | "restart" | "remove";
  node: string;
  service: string;
  component: string;
  /** Component → observed state after the operation; for remove, the removed containers. */
  components: { component: string; container: string; state: string }[];
}
