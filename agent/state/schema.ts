// The node's desired state, in the agent's SQLite database.
import type { ColumnType, Generated } from "kysely";

export interface ServicesTable {
  name: string;
  /** The validated ServiceDefinition as JSON. */
  definition: string;
  version: string;
  active: number;
  updated_at: string;
}

export interface ComponentsTable {
  service: string;
  name: string;
  /** "running" or "stopped": what the operator asked for last. */
  desired: string;
  /** Hash of the container spec last deployed; empty before the first deploy. */
  spec_hash: string;
  image: string;
}

export interface PortsTable {
  host_port: number;
  service: string;
  component: string;
  route: string;
}

export interface EventsTable {
  id: Generated<number>;
  time: ColumnType<string, string, never>;
  service: string;
  component: string;
  kind: string;
  message: string;
}

/** The sheet's machine registry as last synced (or assigned here): service → SMEP machine number. */
export interface MachineRegistryTable {
  name: string;
  number: number;
}

/** One route of a running component, as HAProxy should have it. */
export interface RoutesTable {
  service: string;
  component: string;
  route: string;
  hostname: string;
  port: number;
  /** "l4" or "l7". */
  mode: string;
  target_host: string;
  target_port: number;
  /** l7: the PEM HAProxy terminates TLS with; l4: "". */
  cert: string;
}

export interface DnsNamesTable {
  name: string;
  service: string;
  /** 1: records should exist; 0: records must be deleted, then the row goes. */
  present: number;
}

/** One row: the agent's id, labelled on its containers as mcp.agent. */
export interface AgentIdentityTable {
  id: string;
  created_at: string;
}

/** One deploy of a service (agent/state/releases.ts). */
export interface ReleasesTable {
  service: string;
  /** 1, 2, … per service. */
  number: number;
  time: string;
  /** The caller's user name ("" with authentication off). */
  actor: string;
  version: string;
  /** The definition deployed, as JSON. */
  definition: string;
  /** JSON: [{component, image, digest}] — digest "" when podman knew none. */
  images: string;
  /** "deployed" or "failed". */
  result: string;
  message: string;
  /** The release this one put back (a rollback), else null. */
  rollback_of: number | null;
}

export interface AgentDatabase {
  releases: ReleasesTable;
  agent_identity: AgentIdentityTable;
  routes: RoutesTable;
  dns_names: DnsNamesTable;
  machine_registry: MachineRegistryTable;
  services: ServicesTable;
  components: ComponentsTable;
  ports: PortsTable;
  events: EventsTable;
}
