// The store's shape, types only: what it holds (ConsoleData), what each slice can do (the
// *Actions interfaces), and what the slices are given (StoreDeps, SetState, GetState). The
// slices (nodes.ts, platform.ts, services.ts, build.ts, deploy.ts, streams.ts, mcr.ts, mcr-streams.ts,
// mcr-health.ts, view-state.ts, releases.ts) import it; store.ts puts them together. It imports no
// slice, so no slice imports another through the store.
import type { StoreApi } from "zustand/vanilla";
import type { PolicyRule, UpdateRuleRequest } from "../../proto/gen/mcr/v1/policy_pb.ts";
import type { AgentPool } from "../clients/agents.ts";
import type { CommandLog, CommandRecord } from "../clients/command-log.ts";
import type { McrAdmin } from "../clients/mcr-admin.ts";
import type { RevokedList } from "../clients/revoked-list.ts";
import type { Builder } from "../clients/podman.ts";
import type { RegistryApi } from "../clients/registry.ts";
import type { Definitions, LoadedDefinition } from "../definitions.ts";
import type { ConsoleError } from "../output/errors.ts";
import type {
  AuditFilter,
  AuditRow,
  CheckRow,
  GcRunRow,
  ManifestDetail,
  McrData,
  PolicyRow,
  RegistryHealth,
  RepoDetail,
  RepoRow,
  SnapshotRow,
  VerifySample,
} from "./mcr-types.ts";
import type { AddedNode, NewNode, PlatformData, RemovedNode } from "./platform-types.ts";
import type { ContainerStatsRow, PruneNodeResult, PruneOptions, PruneState } from "./resource-types.ts";
import type { ServiceDescription } from "./describe-types.ts";
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
  ReleaseRow,
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
  /** Who the registry token belongs to (the identity API's token validation); absent in tests that need no names. */
  whoami?: () => Promise<{ subject: string; username: string } | null>;
  /** Lines kept per log view (older ones are dropped and counted). */
  logCapacity?: number;
  /** How often appended log lines are published (ms). */
  logFlushMs?: number;
  /** The command log file (commands.ts); absent: records are kept in memory only. */
  commandLog?: CommandLog;
  /** Where the registry's revoked serials are kept between commands (absent without a registry, and in tests). */
  revokedList?: RevokedList;
}

export interface ConsoleData {
  nodes: Record<string, NodeState>;
  /** The last List answer per node. */
  containers: Record<string, ContainerRow[]>;
  statuses: Record<string, ServiceStatus>;
  deployment: DeployState | null;
  /** Each service's releases as History last answered (releases.ts). */
  releases: Record<string, ReleaseRow[]>;
  deployEvents: DeployEvent[];
  images: Record<string, ImageState>;
  buildEvents: BuildEvent[];
  /** What the last image check or build found odd in the definitions: a [build.images] entry no component runs. */
  buildWarnings: string[];
  syncResults: SyncResultRow[];
  logs: LogsState;
  events: AgentEventRow[];
  eventSeq: number;
  lastOp: OpResult | null;
  /** Sequence shared by deploy and build events (NDJSON writers follow it). */
  seq: number;
  /** The registry: repositories, GC, policies, audit, snapshots (store/mcr.ts). */
  mcr: McrData;
  /** The last Stats answer per node: its running containers' use (resources.ts). */
  stats: Record<string, ContainerStatsRow[]>;
  /** Why a node's last Stats failed (its containers are listed all the same); absent when it answered. */
  statsErrors: Record<string, string>;
  /** The last image prune (resources.ts). */
  prune: PruneState | null;
  /** Describe answers by target, `service` or `service/component` (describe.ts). */
  describes: Record<string, ServiceDescription>;
  /** Each TUI table screen's sort for the session, by screen (view-state.ts); absent: the screen's own order. */
  sorts: Record<string, SortState>;
  /** The command log, oldest first (commands.ts): read once with loadCommands, added to as actions end. */
  commands: { records: CommandRecord[]; skipped: number; loaded: boolean };
  /** The platform's nodes, from the registry (platform.ts). */
  platform: PlatformData;
}

/** A table sorted by one of its columns (by name), ascending unless `desc`. */
export interface SortState {
  column: string;
  desc: boolean;
}

/** What one node said in a fan-out (nodes.ts): its answer, or why it gave none. */
export type NodeOutcome<T> = { node: string; ok: true; value: T } | { node: string; ok: false; error: ConsoleError };

/** nodes.ts */
export interface NodeActions {
  /** Health of every node (or of `only`). */
  refreshNodes(only?: string[]): Promise<NodeState[]>;
  /** Nodes never asked are shown as being checked (no change, and no redraw, when there are none). */
  markChecking(): void;
  /** Records what a call to `node` showed about its connection. */
  markNode(node: string, outcome: { ok: true } | { ok: false; error: ConsoleError }): void;
}

/** platform.ts: the platform's nodes, kept by the registry (mcr's NodeService). */
export interface PlatformActions {
  /**
   * Lists the registry's nodes and puts its joined ones among the nodes the console talks to
   * (a config node of the same name wins), with the revoked certificates. Never fails: without
   * a registry, a session or an answer the nodes stay as they were (the config's at first) and
   * `platform.note` says why.
   */
  loadPlatformNodes(): Promise<PlatformData>;
  /** Resolves once the platform's nodes have been asked for once (asking now if no one has). */
  platformReady(): Promise<void>;
  /** ListNodes for `mcp node list`: as loadPlatformNodes, but a failure is thrown. */
  listNodes(): Promise<PlatformData>;
  /** AddNode (the admin role): the node, pending, and its one-time join token. */
  addNode(node: NewNode): Promise<AddedNode>;
  /** RemoveNode (the admin role): the node leaves the nodes, its connection is closed and its certificates refused. */
  removeNode(name: string): Promise<RemovedNode>;
}

/** How the TUI's poll asks for statuses (services.ts). */
export interface StatusPoll {
  changed: Set<string>;
  maxAgeMs: number;
}

/** services.ts */
export interface ServiceActions {
  /** `List` on every node at once; unreachable nodes keep no rows. */
  refreshContainers(): Promise<NodeOutcome<ContainerRow[]>[]>;
  /**
   * `Status` of one service on its node, or of every service of every node (or of `nodes`); also
   * refreshes their containers. With `poll`, a service's status is asked again only when it is
   * not known, when `poll.changed` names it (an event), or when it is older than `poll.maxAgeMs`.
   */
  fetchStatus(service?: string, nodes?: string[], poll?: StatusPoll): Promise<NodeOutcome<ServiceStatus[]>[]>;
  /** The node a service lives on: its definition's, else the one whose agent knows it. */
  nodeOf(service: string): Promise<string>;
  lifecycle(op: "stop" | "start" | "restart", service: string, component?: string): Promise<OpResult>;
  remove(service: string): Promise<OpResult>;
}

/** resources.ts */
export interface ResourceActions {
  /** Stats of every node (or of `nodes`) at once. Never fails and never marks a node: a node whose Stats fails keeps its rows elsewhere; `statsErrors` says why. A node already being asked, or unreachable, is skipped. */
  /** `only`: per node, the containers to ask about (a screen's visible rows); absent, every one. */
  refreshStats(nodes?: string[], only?: Record<string, string[]>): Promise<void>;
  /** PruneImages on every node (or `options.node`), into `prune`. */
  pruneImages(options: PruneOptions): Promise<NodeOutcome<PruneNodeResult>[]>;
}

/** build.ts */
export interface BuildActions {
  /** Builds and pushes every `[build.images]` entry of a service, or the one named `service/image`. */
  build(target: string, signal?: AbortSignal): Promise<ImageState[]>;
  /**
   * Makes sure every component image of these services is in the registry, building what is
   * missing and can be built. With `requireAll`, an image that is missing and cannot be built
   * fails it (`not_found`, saying which component needs which image and why) before any build.
   */
  ensureImages(defs: LoadedDefinition[], signal?: AbortSignal, opts?: { requireAll?: boolean }): Promise<ImageState[]>;
}

/** deploy.ts */
export interface DeployActions {
  /** Ships every definition to its node's agent (with the machine registry), after building missing images. */
  sync(signal?: AbortSignal): Promise<{ results: SyncResultRow[]; images: ImageState[] }>;
  /** Builds missing images, then streams the agent's Deploy into `deployment` and `deployEvents`. */
  deploy(service: string, signal?: AbortSignal): Promise<DeployState>;
}

export interface LogOptions {
  follow: boolean;
  /** Lines from the end; 0: all. */
  tail: number;
  /** RFC 3339 time or a duration like "10m". */
  since: string;
  timestamps: boolean;
}

/** streams.ts */
export interface StreamActions {
  /** Streams `service[/component]`'s logs into `logs` until they end (or `signal` aborts a follow). */
  followLogs(target: string, opts: LogOptions, signal?: AbortSignal): Promise<void>;
  /** Streams events of every node (or the service's node, or the nodes in `only`) into `events` until `signal` aborts. */
  followEvents(service: string | undefined, signal?: AbortSignal, only?: string[]): Promise<void>;
}

/** What the console sends an exec after its start (exec.ts). */
export type ExecInput = { stdin: Uint8Array } | { resize: { rows: number; cols: number } } | { eof: true };

export interface ExecCall {
  service: string;
  /** Absent: the service's only component. */
  component?: string;
  /** Empty: the image's shell. */
  command: string[];
  tty: boolean;
  /** Whether `io.input` carries stdin (otherwise the process gets none). */
  stdin: boolean;
  rows?: number;
  cols?: number;
}

/** exec.ts */
export interface ExecActions {
  /** Runs `call` in the service's container on its node: `io.input` feeds it, `io.output` gets what it writes; resolves to its exit code. */
  exec(
    call: ExecCall,
    io: { input?: AsyncIterable<ExecInput>; output(stream: "stdout" | "stderr", data: Uint8Array): void; signal?: AbortSignal },
  ): Promise<number>;
}

export interface GcStartOptions {
  dryRun: boolean;
  untagged: boolean;
  reconcile?: boolean;
  grace?: string;
  /** When a run is already in progress, return it (to watch) instead of failing. */
  join?: boolean;
}

/** mcr-streams.ts */
export interface McrStreamActions {
  /** GC Status: the run in progress and the last one. */
  gcStatus(): Promise<{ current: GcRunRow | null; last: GcRunRow | null }>;
  /** Starts a run; one in progress is `failed` (mcr's already_exists), or returned with `join`. */
  startGc(opts: GcStartOptions): Promise<GcRunRow>;
  /**
   * Follows Watch until the run ends (or `signal` aborts); each message lands in `gc.current`
   * and `gcUpdates`. `runId`: the run to follow; when it ended before Watch was asked, the
   * last run from Status is the result. Resolves to the final state of the run.
   */
  watchGc(runId?: string, signal?: AbortSignal): Promise<GcRunRow | null>;
  /** One page of audit events, newest first (`filter` and `offset` replace the current ones when given); `auditFeed` becomes the page, oldest first. */
  listAudit(filter?: Partial<AuditFilter>, offset?: number, limit?: number): Promise<AuditRow[]>;
  /**
   * Follows mcr's audit stream from now on: each event that changes repositories or tags
   * (a push, a delete, a GC) adds one to `mcr.changes`, on which the registry screens reload.
   * Needs the admin role (permission_denied otherwise); runs until `signal` aborts.
   */
  followChanges(signal: AbortSignal): Promise<void>;
  /** Follows new events (after `afterId`, else the newest listed) into `auditFeed` and the page until `signal` aborts. */
  followAudit(signal: AbortSignal, afterId?: number): Promise<void>;
}

/** mcr-health.ts */
export interface McrHealthActions {
  /**
   * AdminService/Health (no session needed) into `mcr.health`: ok, unavailable (what mcr says
   * does not answer) or unreachable. Never fails; null without a [registry] url.
   */
  registryHealth(): Promise<RegistryHealth | null>;
  /**
   * AdminService/Check (the admin role): the database's integrity, blob rows against blob
   * files, and with `verify` that many blobs (or all) read back and hashed. No timeout:
   * `signal` ends the wait (the check itself ends in mcr). Kept in `mcr.check`.
   */
  checkRegistry(verify: VerifySample | null, signal?: AbortSignal): Promise<CheckRow>;
}

/** describe.ts */
export interface DescribeActions {
  /** Describe of `service[/component]` on the service's node, into `describes`. */
  describe(target: string): Promise<ServiceDescription>;
}

/** A rule to create (mcr gives it its id and times). */
export interface NewPolicy extends Pick<PolicyRule, "priority" | "description" | "actions" | "roles" | "accountTypes" | "subjectUuid" | "repositories"> {
  effect: "allow" | "deny";
  /** Service globs of an agent rule. */
  services?: string[];
  enabled: boolean;
}

/** What `mcp policy update|enable|disable` and the policies screen change in a rule. */
export type PolicyChange = Pick<UpdateRuleRequest, "priority" | "enabled" | "description">;

/** mcr.ts (and mcr-streams.ts, mcr-health.ts) */
export interface McrActions extends McrStreamActions, McrHealthActions {
  /** Every repository (all pages). */
  listRepos(): Promise<RepoRow[]>;
  /** One repository: tags, manifests with their layers. */
  loadRepo(name: string): Promise<RepoDetail>;
  /** One manifest by tag or digest. */
  loadManifest(repository: string, reference: string): Promise<ManifestDetail>;
  deleteRepo(name: string): Promise<{ repository: string; manifestsDeleted: number; tagsDeleted: number }>;
  deleteTag(repository: string, tag: string): Promise<{ repository: string; tag: string; deleted: true }>;
  listPolicies(): Promise<PolicyRow[]>;
  createPolicy(rule: NewPolicy): Promise<PolicyRow>;
  updatePolicy(id: number, change: PolicyChange): Promise<PolicyRow>;
  deletePolicy(id: number): Promise<{ id: number; deleted: true }>;
  snapshot(): Promise<SnapshotRow>;
  /**
   * Account ids (which mcr's audit rows and GC runs carry) → usernames, from what mcr already
   * answers: the console's own session (token validation) and the pull-token events, which
   * carry both. Best effort: an id it cannot name stays an id. Kept in `mcr.actors`.
   */
  resolveActors(): Promise<Record<string, string>>;
}

/** releases.ts */
export interface ReleaseActions {
  /** The service's releases on its node, newest first; kept in `releases[service]`. */
  history(service: string): Promise<ReleaseRow[]>;
  /** Puts release `number` (0: the one before the newest deployed one) back; resolves to the final deployment. */
  rollback(service: string, number: number, signal?: AbortSignal): Promise<DeployState>;
}

/** view-state.ts: what the TUI's screens keep for the session. */
export interface ViewActions {
  /** Sorts `screen`'s table (null: back to the screen's own order). */
  setSort(screen: string, sort: SortState | null): void;
}

/** An action to record in the command log (commands.ts). */
export interface TrackedCommand {
  where: "cli" | "tui";
  command: string;
  target: string;
  dryRun?: boolean;
}

/** commands.ts */
export interface CommandActions {
  /** Reads the command log file into `commands`; resolves to its records, oldest first. */
  loadCommands(): CommandRecord[];
  /** Appends a record to the log file and to `commands`. */
  recordCommand(record: CommandRecord): void;
  /** Runs `work`, then records how it ended and how long it took; `failure` names a result that is a failure (an exec's exit code). */
  track<T>(what: TrackedCommand, work: () => Promise<T>, failure?: (result: T) => string | null): Promise<T>;
}

export type ConsoleState = ConsoleData &
  NodeActions &
  PlatformActions &
  ServiceActions &
  ResourceActions &
  BuildActions &
  DeployActions &
  StreamActions &
  ExecActions &
  DescribeActions &
  ReleaseActions &
  McrActions &
  ViewActions &
  CommandActions;
export type ConsoleStore = StoreApi<ConsoleState>;
export type SetState = StoreApi<ConsoleState>["setState"];
export type GetState = StoreApi<ConsoleState>["getState"];
