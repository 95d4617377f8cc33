// Between the wire (proto messages) and the agent's own types. Each field is copied by name
// into the definition's own shape and then validated (lib/services/definition.ts), as the
// console's files are: a definition field missing here is a compile error (Unvalidated).
import { ConnectError, Code } from "@connectrpc/connect";
import {
  DefinitionError,
  validateDefinition,
  type ComponentDefinition,
  type RouteDefinition,
  type ServiceDefinition,
  type StorageDefinition,
} from "../../lib/services/definition.ts";
import type { Component, Route, ServiceDefinition as ServiceDefinitionMsg } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";

/** Every field of `T`, not checked yet. */
type Unvalidated<T> = { [K in keyof T]-?: unknown };

/** Empty strings mean "not set" on the wire, so defaults apply. */
const opt = (s: string) => (s === "" ? undefined : s);

function routeFromProto(r: Route): Unvalidated<RouteDefinition> {
  return { name: opt(r.name), port: r.port, mode: opt(r.mode), hostname: opt(r.hostname), index: r.index };
}

function componentFromProto(c: Component): Unvalidated<ComponentDefinition> {
  return {
    name: c.name,
    image: opt(c.image),
    version: opt(c.version),
    volumes: c.volumes,
    cmd: c.cmd,
    network: opt(c.network),
    user: opt(c.user),
    restart: opt(c.restart),
    env: c.env,
    routes: c.routes.map(routeFromProto),
  };
}

export function definitionFromProto(m: ServiceDefinitionMsg | undefined): ServiceDefinition {
  if (!m) throw new ConnectError("a service definition is required", Code.InvalidArgument);
  const storage: Unvalidated<StorageDefinition> = { nfs: opt(m.nfsExport), nfsOptions: opt(m.nfsOptions) };
  const raw: Unvalidated<ServiceDefinition> = {
    name: m.name,
    node: m.node,
    version: m.version,
    active: m.active,
    environment: opt(m.environment),
    number: m.number,
    storage,
    components: m.components.map(componentFromProto),
  };
  try {
    return validateDefinition(raw);
  } catch (err) {
    if (err instanceof DefinitionError) throw new ConnectError(err.message, Code.InvalidArgument);
    throw err;
  }
}
