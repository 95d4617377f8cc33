// Builds the Publisher from the agent's [proxy], [dns] and [node] sections; none of them: no publisher.
import { isIP } from "node:net";
import { readFileSync } from "node:fs";
import type { Logger } from "../../lib/log/logger.ts";
import type { AgentConfig } from "../config.ts";
import { DnsManager } from "../dns/manager.ts";
import { PowerDnsDriver } from "../dns/powerdns.ts";
import { Haproxy } from "../routes/haproxy.ts";
import { RouteManager } from "../routes/manager.ts";
import { RoutingStore } from "../state/routing-store.ts";
import type { StateStore } from "../state/store.ts";
import { Publisher } from "./publisher.ts";

export function publisherFor(cfg: AgentConfig, store: StateStore, log: Logger): Publisher | undefined {
  if (!cfg.proxy && !cfg.dns) return undefined;
  const routing = new RoutingStore(store.db);
  let routes: RouteManager | undefined;
  if (cfg.proxy) {
    const p = cfg.proxy;
    const haproxy = new Haproxy({ masterSocket: p.master_socket, binary: p.haproxy });
    routes = new RouteManager(
      haproxy,
      routing,
      {
        configFile: p.config_file,
        render: { bindAddress: p.bind_address, connectTimeoutMs: p.connect_timeout, retryWindowMs: p.retry_window },
        table: { zone: cfg.node.zone, publishAddress: cfg.runtime.publish_address, certPath: p.cert_path },
      },
      log.child({ part: "routes" }),
    );
    log.info({ file: p.config_file, master_socket: p.master_socket, required: p.required }, "routes through HAProxy");
  }
  let dns: DnsManager | undefined;
  if (cfg.dns) {
    const c = cfg.dns;
    // The key is read once, at start; it never reaches a log line or an error message.
    const apiKey = readFileSync(c.api_key_file, "utf8").trim();
    const driver = new PowerDnsDriver({
      apiUrl: c.api_url,
      apiKey,
      serverId: c.server_id,
      zone: c.zone,
      ca: c.ca_cert ? readFileSync(c.ca_cert, "utf8") : undefined,
      owner: `mcp-agent on ${cfg.node.name}`,
    });
    // The DNS server itself, asked by Status whether it serves the zone: by default on the API's
    // host when that is an address (a resolver is given addresses, not names).
    const apiHost = new URL(c.api_url).hostname;
    const byDefault = isIP(apiHost.replace(/^\[|\]$/g, "")) ? `${apiHost}:53` : "";
    const server = c.server === "off" ? "" : c.server || byDefault;
    dns = new DnsManager(
      driver,
      routing,
      { serviceZone: cfg.node.zone, zone: c.zone, addresses: c.addresses, ttl: c.ttl, ...(server ? { server } : {}) },
      log.child({ part: "dns" }),
    );
    log.info({ server: driver.description, addresses: c.addresses, required: c.required }, "DNS records through PowerDNS");
  }
  return new Publisher({ routes, dns, proxyRequired: cfg.proxy?.required ?? true, dnsRequired: cfg.dns?.required ?? true, store, routing, log });
}
