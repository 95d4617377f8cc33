// The DeployHooks of a node with [proxy] and/or [dns]: routes through HAProxy
// (routes/manager.ts) and records through a DNS driver (dns/manager.ts), with the failure
// rules of docs/routing.md:
// - a clash, a missing certificate or a table HAProxy refuses always fails the deploy,
//   before anything is switched when it can be known then;
// - a server that does not answer fails the deploy too with `required = true` (the
//   default); with `required = false` the deploy succeeds, a warning event says what is
//   pending and reconciliation applies it once the server answers;
// - stop and remove never fail because a server is down: the table and the file lose the
//   routes at once, and reconciliation catches the server up.
import type { Logger } from "../../lib/log/logger.ts";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import { DnsError } from "../dns/driver.ts";
import type { DnsManager, RecordStatus } from "../dns/manager.ts";
import { HaproxyError } from "../routes/haproxy.ts";
import type { ProxyState, RouteManager } from "../routes/manager.ts";
import type { RouteEntry } from "../routes/table.ts";
import type { RoutingStore } from "../state/routing-store.ts";
import type { StateStore } from "../state/store.ts";
import type { DeployHooks } from "./hooks.ts";
import type { PlannedComponent } from "./plan.ts";

/** A route or DNS server that must answer does not: the deploy fails (Connect: unavailable). */
export class PublishUnavailableError extends Error {
  override name = "PublishUnavailableError";
}

export interface PublisherDeps {
  routes?: RouteManager;
  dns?: DnsManager;
  proxyRequired: boolean;
  dnsRequired: boolean;
  store: StateStore;
  routing: RoutingStore;
  log: Logger;
}

export interface IntegrationState {
  configured: boolean;
  server: string;
  state: string;
  message: string;
}

export interface PublishStatus {
  routes: (RouteEntry & { state: string })[];
  records: RecordStatus[];
  proxy: IntegrationState;
  dns: IntegrationState;
}

const unreachable = (err: unknown) => err instanceof HaproxyError || err instanceof DnsError;

export class Publisher implements DeployHooks {
  constructor(readonly d: PublisherDeps) {}

  /** Warns (event and log) about something left for reconciliation. */
  private async warn(service: string, component: string, kind: string, message: string): Promise<void> {
    this.d.log.warn({ service, component, kind }, message);
    await this.d.store.event(service, component, kind, message);
  }

  /** An unanswering server: a failure when required, else a warning. */
  private async unavailable(required: boolean, service: string, component: string, kind: string, message: string): Promise<void> {
    if (required) throw new PublishUnavailableError(message);
    await this.warn(
      service,
      component,
      kind,
      `${message}; deployed anyway ([${kind.startsWith("dns") ? "dns" : "proxy"}] required = false), reconciliation retries`,
    );
  }

  async prepare(def: ServiceDefinition, planned: PlannedComponent[]): Promise<void> {
    const { routes, dns } = this.d;
    if (routes) {
      await routes.check(def, planned); // RouteError: always refused
      try {
        await routes.haproxy.procs();
      } catch (err) {
        await this.unavailable(
          this.d.proxyRequired,
          def.name,
          "",
          "proxy_unavailable",
          `HAProxy cannot take the routes of ${def.name}: ${(err as Error).message}`,
        );
      }
    }
    if (dns) {
      try {
        await dns.check();
      } catch (err) {
        await this.unavailable(this.d.dnsRequired, def.name, "", "dns_unavailable", `DNS records of ${def.name} cannot be written: ${(err as Error).message}`);
      }
    }
  }

  async componentStarted(def: ServiceDefinition, p: PlannedComponent): Promise<void> {
    const { routes, dns } = this.d;
    if (routes) {
      try {
        await routes.setRoutes(def.name, [p.component], routes.rowsFor(def, p));
      } catch (err) {
        if (!unreachable(err)) throw err;
        await this.unavailable(
          this.d.proxyRequired,
          def.name,
          p.component,
          "proxy_unavailable",
          `the routes of ${p.container} are in the table but HAProxy did not take them: ${(err as Error).message}`,
        );
      }
    }
    if (dns) {
      try {
        await dns.setService(def);
      } catch (err) {
        if (!unreachable(err)) throw err;
        await this.unavailable(
          this.d.dnsRequired,
          def.name,
          p.component,
          "dns_unavailable",
          `the DNS records of ${def.name} are not written yet: ${(err as Error).message}`,
        );
      }
    }
  }

  async componentStopping(service: string, component: string): Promise<void> {
    if (!this.d.routes) return;
    try {
      await this.d.routes.setRoutes(service, [component], []);
    } catch (err) {
      await this.warn(
        service,
        component,
        "proxy_unavailable",
        `routes of ${service}/${component} withdrawn from the table and file, but HAProxy did not reload: ${(err as Error).message}`,
      );
    }
  }

  async serviceRemoved(service: string): Promise<void> {
    if (this.d.routes) {
      // The service's rows went with it (foreign key); the file and HAProxy follow.
      await this.d.routes
        .apply()
        .catch((err) => this.warn(service, "", "proxy_unavailable", `HAProxy did not reload after ${service} was removed: ${(err as Error).message}`));
    }
    if (this.d.dns) {
      await this.d.dns
        .removeService(service)
        .catch((err) =>
          this.warn(
            service,
            "",
            "dns_unavailable",
            `DNS records of ${service} are still on the server (reconciliation deletes them): ${(err as Error).message}`,
          ),
        );
    }
  }

  private async proxyState(): Promise<IntegrationState> {
    const r = this.d.routes;
    if (!r) return { configured: false, server: "", state: "", message: "no [proxy] section: routes are not programmed" };
    const s: ProxyState = await r.state();
    return { configured: true, server: `HAProxy (master socket ${r.haproxy.socket}, file ${r.o.configFile})`, state: s.state, message: s.message };
  }

  async status(service: string): Promise<PublishStatus> {
    const proxy = await this.proxyState();
    const routes = (await this.d.routing.routes(service)).map((r) => ({ ...r, state: proxy.state === "in_sync" ? "applied" : "pending" }));
    let dns: IntegrationState = { configured: false, server: "", state: "", message: "no [dns] section: records are not programmed" };
    let records: RecordStatus[] = [];
    if (this.d.dns) {
      const s = await this.d.dns.status(service);
      records = s.records;
      const bad = records.filter((r) => r.state !== "in_sync");
      const state = s.error ? "unreachable" : s.notServed ? "not_served" : bad.length ? "drift" : "in_sync";
      dns = {
        configured: true,
        server: this.d.dns.driver.description,
        state,
        message: s.error ?? s.notServed ?? (bad.length ? `${bad.length} record set(s) differ from the server's` : "records match the server"),
      };
    }
    return { routes, records, proxy, dns };
  }
}
