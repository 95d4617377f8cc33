// Between the wire (proto messages) and the agent's own types.
import { ConnectError, Code } from "@connectrpc/connect";
import { DefinitionError, validateDefinition, type ServiceDefinition } from "../../lib/services/definition.ts";
import type { ServiceDefinition as ServiceDefinitionMsg } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";

/** Empty strings and lists mean "not set" on the wire, so defaults apply. */
const opt = (s: string) => (s === "" ? undefined : s);

export function definitionFromProto(m: ServiceDefinitionMsg | undefined): ServiceDefinition {
  if (!m) throw new ConnectError("a service definition is required", Code.InvalidArgument);
  const raw = {
    name: m.name,
    node: m.node,
    version: m.version,
    active: m.active,
    environment: opt(m.environment),
    number: m.number,
    storage: { nfs: opt(m.nfsExport), nfs_options: opt(m.nfsOptions) },
    components: m.components.map((c) => ({
      name: c.name,
      image: opt(c.image),
      version: opt(c.version),
      volumes: c.volumes,
      cmd: c.cmd,
      network: opt(c.network),
      user: opt(c.user),
      restart: opt(c.restart),
      env: c.env,
      routes: c.routes.map((r) => ({ name: opt(r.name), port: r.port, mode: opt(r.mode), hostname: opt(r.hostname), index: r.index })),
    })),
  };
  try {
    return validateDefinition(raw);
  } catch (err) {
    if (err instanceof DefinitionError) throw new ConnectError(err.message, Code.InvalidArgument);
    throw err;
  }
}
