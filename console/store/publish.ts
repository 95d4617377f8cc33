// The routes and DNS records part of an agent's Status, as the console keeps it.
import type { PublishStatus, StatusResponse } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import type { PublishInfo, ServiceStatus } from "./types.ts";

/** An agent older than routes and DNS answers without these fields: nothing is configured there. */
const info = (p: PublishStatus | undefined): PublishInfo => (p ? { configured: p.configured, server: p.server, state: p.state, message: p.message } : { configured: false, server: "", state: "", message: "" });

export function publishFromProto(r: StatusResponse): Pick<ServiceStatus, "routes" | "dnsRecords" | "proxy" | "dns"> {
  return {
    routes: r.routes.map((x) => ({ component: x.component, route: x.route, hostname: x.hostname, port: x.port, mode: x.mode, target: x.target, certificate: x.certificate, state: x.state })),
    dnsRecords: r.dnsRecords.map((x) => ({ name: x.name, type: x.type, addresses: [...x.addresses], ttl: x.ttl, state: x.state })),
    proxy: info(r.proxy),
    dns: info(r.dns),
  };
}
