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

export interface AgentDatabase {
  machine_registry: MachineRegistryTable;
  services: ServicesTable;
  components: ComponentsTable;
  ports: PortsTable;
  events: EventsTable;
}
