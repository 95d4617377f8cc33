// The DNS records of the node's services: <service>.svc.<zone> and every route hostname
// inside the DNS zone, pointing at the node's addresses. The names are kept in the agent's
// database; `sync` makes the server match them (and deletes withdrawn ones), all at once.
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
}

export interface RecordStatus {
  name: string;
  type: string;
  addresses: string[];
  ttl: number;
  /** in_sync, missing, differs, or unknown (the server could not be read). */
  state: string;
}

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

  /** The records a service should have, each compared with the server's. */
  async status(service: string): Promise<{ records: RecordStatus[]; error?: string }> {
    const names = (await this.store.dnsNames(service)).filter((r) => r.present).map((r) => r.name);
    const want = desiredSets(names, this.o.addresses, this.o.ttl);
    let current: RecordSet[] | undefined;
    let error: string | undefined;
    try {
      current = await this.driver.read(names);
    } catch (err) {
      error = (err as Error).message;
    }
    const records = want.map((s) => {
      const have = current?.find((c) => c.name === s.name && c.type === s.type);
      const state = !current ? "unknown" : !have ? "missing" : changeSet([s], [], [have]).length ? "differs" : "in_sync";
      return { name: s.name, type: s.type, addresses: s.addresses, ttl: s.ttl, state };
    });
    return error === undefined ? { records } : { records, error };
  }
}
