// The DNS records of the node's services: <service>.svc.<zone> and every route hostname
// inside the DNS zone, pointing at the node's addresses. The names are kept in the agent's
// database; `sync` makes the server match them (and deletes withdrawn ones), all at once.
import { Resolver } from "node:dns/promises";
import type { Logger } from "../../lib/log/logger.ts";
import type { ServiceDefinition } from "../../lib/services/definition.ts";
import { KeyedLock } from "../../lib/sync/keyed-lock.ts";
import { serviceHostname } from "../routes/table.ts";
import type { RoutingStore } from "../state/routing-store.ts";
import { changeSet, desiredSets, describeChanges, inZone, type DnsChange, type DnsDriver, type RecordSet } from "./driver.ts";

export interface DnsOptions {
  /** [node] zone: services are <service>.svc.<zone>. */
  serviceZone: string;
  /** The zone on the server; names outside it get no record. */
  zone: string;
  addresses: string[];
  ttl: number;
  /**
   * "host:port" of the DNS server that answers for the zone: Status asks it for the zone's SOA,
   * so that a zone the server does not serve (yet) is told apart from records in sync.
   * Absent: not asked.
   */
  server?: string;
}

export interface RecordStatus {
  name: string;
  type: string;
  addresses: string[];
  ttl: number;
  /** in_sync, missing, differs, not_served (the DNS server does not answer for the zone), or unknown (the API could not be read). */
  state: string;
}

/** How long Status waits for the DNS server's answer about the zone. */
const SOA_TIMEOUT_MS = 2000;

export class DnsManager {
  private readonly lock = new KeyedLock();

  constructor(
    readonly driver: DnsDriver,
    private readonly store: RoutingStore,
    readonly o: DnsOptions,
    private readonly log: Logger,
  ) {}

  /** The names a service gets: its own, and its routes' hostnames that lie in the zone. */
  namesOf(def: ServiceDefinition): string[] {
    const names = [serviceHostname(def.name, this.o.serviceZone), ...def.components.flatMap((c) => c.routes.map((r) => r.hostname).filter(Boolean))];
    return [...new Set(names.map((n) => n.toLowerCase()))].filter((n) => inZone(n, this.o.zone)).sort();
  }

  /** Throws DnsError when the server does not answer or has no such zone. */
  async check(): Promise<void> {
    await this.driver.read([]);
  }

  async setService(def: ServiceDefinition): Promise<DnsChange[]> {
    return this.lock.run("dns", async () => {
      await this.store.setServiceNames(def.name, this.namesOf(def));
      return this.syncLocked();
    });
  }

  async removeService(service: string): Promise<DnsChange[]> {
    return this.lock.run("dns", async () => {
      await this.store.setServiceNames(service, []);
      return this.syncLocked();
    });
  }

  /** Makes the server match the table; returns what was changed (nothing when in sync). */
  sync(): Promise<DnsChange[]> {
    return this.lock.run("dns", () => this.syncLocked());
  }

  private async plan(): Promise<{ desired: RecordSet[]; withdrawn: string[]; current: RecordSet[] }> {
    const rows = await this.store.dnsNames();
    const present = [...new Set(rows.filter((r) => r.present).map((r) => r.name))];
    const withdrawn = [...new Set(rows.filter((r) => !r.present).map((r) => r.name))].filter((n) => !present.includes(n));
    const current = await this.driver.read([...present, ...withdrawn]);
    return { desired: desiredSets(present, this.o.addresses, this.o.ttl), withdrawn, current };
  }

  private async syncLocked(): Promise<DnsChange[]> {
    const { desired, withdrawn, current } = await this.plan();
    const changes = changeSet(desired, withdrawn, current);
    if (changes.length) {
      await this.driver.apply(changes);
      this.log.info({ changes: describeChanges(changes), server: this.driver.description }, "DNS records changed");
    }
    await this.store.dropWithdrawn(withdrawn);
    return changes;
  }

  /**
   * Why the DNS server does not answer for the zone, or undefined when it does. A zone created
   * behind a running PowerDNS (`pdnsutil create-zone`) is in its API at once but answered
   * REFUSED until its zone cache is refreshed (300 s by default).
   */
  async notServed(): Promise<string | undefined> {
    const server = this.o.server;
    if (!server) return undefined;
    const resolver = new Resolver({ timeout: SOA_TIMEOUT_MS, tries: 1 });
    try {
      resolver.setServers([server]);
      await resolver.resolveSoa(this.o.zone);
      return undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (code === "EREFUSED")
        return `the DNS server at ${server} refuses questions for ${this.o.zone}: it does not serve the zone (PowerDNS serves a zone created while it runs only after its zone cache is refreshed, up to 5 minutes: restart it)`;
      if (code === "ENOTFOUND" || code === "ENODATA") return `the DNS server at ${server} has no SOA for ${this.o.zone}`;
      return `the DNS server at ${server} did not answer for ${this.o.zone} (${code || (err as Error).message})`;
    } finally {
      resolver.cancel();
    }
  }

  /** The records a service should have, each compared with the server's; `notServed` when the DNS server does not answer for the zone. */
  async status(service: string): Promise<{ records: RecordStatus[]; error?: string; notServed?: string }> {
    const names = (await this.store.dnsNames(service)).filter((r) => r.present).map((r) => r.name);
    const want = desiredSets(names, this.o.addresses, this.o.ttl);
    let current: RecordSet[] | undefined;
    let error: string | undefined;
    try {
      current = await this.driver.read(names);
    } catch (err) {
      error = (err as Error).message;
    }
    const notServed = current ? await this.notServed() : undefined;
    const records = want.map((s) => {
      const have = current?.find((c) => c.name === s.name && c.type === s.type);
      const stored = !current ? "unknown" : !have ? "missing" : changeSet([s], [], [have]).length ? "differs" : "in_sync";
      // Records in the API that nobody can look up are not in sync.
      const state = notServed && stored === "in_sync" ? "not_served" : stored;
      return { name: s.name, type: s.type, addresses: s.addresses, ttl: s.ttl, state };
    });
    return { records, ...(error === undefined ? {} : { error }), ...(notServed ? { notServed } : {}) };
  }
}
