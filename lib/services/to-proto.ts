// A validated service definition as the agent's RPC message (DeployRequest, SyncRequest),
// used by the console to send it and by the agent's tests; the agent reads it back with
// agent/rpc/convert.ts's definitionFromProto.
import type { ServiceDefinition } from "./definition.ts";

export function definitionToProto(d: ServiceDefinition) {
  return {
    name: d.name,
    node: d.node,
    version: d.version,
    active: d.active,
    environment: d.environment,
    number: d.number,
    nfsExport: d.storage.nfs,
    nfsOptions: d.storage.nfsOptions,
    components: d.components.map((c) => ({ ...c, routes: c.routes.map((r) => ({ ...r })) })),
  };
}
