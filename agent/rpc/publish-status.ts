// The routes and DNS records part of Status.
import type { Publisher } from "../controller/publisher.ts";

const notConfigured = (section: string, what: string) => ({
  configured: false,
  server: "",
  state: "",
  message: `no [${section}] section: ${what} not programmed`,
});

export async function publishStatus(publisher: Publisher | undefined, service: string) {
  if (!publisher) return { routes: [], dnsRecords: [], proxy: notConfigured("proxy", "routes are"), dns: notConfigured("dns", "records are") };
  const s = await publisher.status(service);
  return {
    routes: s.routes.map((r) => ({
      component: r.component,
      route: r.route,
      hostname: r.hostname,
      port: r.port,
      mode: r.mode,
      target: r.targetHost.includes(":") ? `[${r.targetHost}]:${r.targetPort}` : `${r.targetHost}:${r.targetPort}`,
      certificate: r.cert,
      state: r.state,
    })),
    dnsRecords: s.records.map((r) => ({ name: r.name, type: r.type, addresses: r.addresses, ttl: r.ttl, state: r.state })),
    proxy: s.proxy,
    dns: s.dns,
  };
}
