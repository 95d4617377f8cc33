// What the agent needs from an authoritative DNS server, and the change sets it sends.
// PowerDNS's HTTP API implements it today (powerdns.ts); RFC 2136 dynamic updates (BIND,
// Knot) fit the same shape: `read` is a query per name, `apply` one UPDATE message, which
// RFC 2136 applies all or nothing, as PowerDNS's PATCH does.
import { isIPv4, isIPv6 } from "node:net";

export type RecordType = "A" | "AAAA";

/** One name's records of one type. Names are lower case, without the trailing dot. */
export interface RecordSet {
  name: string;
  type: RecordType;
  ttl: number;
  addresses: string[];
}

export type DnsChange = { action: "replace"; set: RecordSet } | { action: "delete"; name: string; type: RecordType };

export class DnsError extends Error {
  override name = "DnsError";
}

export interface DnsDriver {
  /** For messages and Status: which server and zone. */
  readonly description: string;
  /** The A and AAAA sets the server has for `names` (an empty list still checks that the zone exists). */
  read(names: string[]): Promise<RecordSet[]>;
  /** Applies every change or none; throws DnsError. */
  apply(changes: DnsChange[]): Promise<void>;
}

/** Whether `name` lies in `zone` (the zone's apex included). */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** The sets every wanted name should have: an A set for the node's IPv4 addresses, an AAAA set for its IPv6 ones. */
export function desiredSets(names: string[], addresses: string[], ttl: number): RecordSet[] {
  const v4 = addresses.filter((a) => isIPv4(a)).sort();
  const v6 = addresses.filter((a) => isIPv6(a)).sort();
  const out: RecordSet[] = [];
  for (const name of [...new Set(names)].sort()) {
    if (v4.length) out.push({ name, type: "A", ttl, addresses: v4 });
    if (v6.length) out.push({ name, type: "AAAA", ttl, addresses: v6 });
  }
  return out;
}

const same = (a: RecordSet, b: RecordSet) =>
  a.ttl === b.ttl && a.addresses.length === b.addresses.length && [...a.addresses].sort().every((x, i) => x === [...b.addresses].sort()[i]);

/**
 * What turns `current` (the server's sets for the names involved) into `desired`: a wanted
 * set that is missing or differs is replaced whole; a type the node no longer has an address
 * for, and every set of a withdrawn name, is deleted. Nothing else on the server is touched.
 */
export function changeSet(desired: RecordSet[], withdrawn: string[], current: RecordSet[]): DnsChange[] {
  const changes: DnsChange[] = [];
  const key = (s: { name: string; type: string }) => `${s.name} ${s.type}`;
  const wanted = new Map(desired.map((s) => [key(s), s]));
  const have = new Map(current.map((s) => [key(s), s]));
  for (const s of desired) {
    const now = have.get(key(s));
    if (!now || !same(now, s)) changes.push({ action: "replace", set: s });
  }
  const desiredNames = new Set(desired.map((s) => s.name));
  const gone = new Set(withdrawn.filter((n) => !desiredNames.has(n)));
  for (const s of current) {
    if (wanted.has(key(s))) continue;
    if (desiredNames.has(s.name) || gone.has(s.name)) changes.push({ action: "delete", name: s.name, type: s.type });
  }
  return changes;
}

/** One line per change, for logs and events. */
export function describeChanges(changes: DnsChange[]): string {
  return changes
    .map((c) => (c.action === "replace" ? `${c.set.name} ${c.set.type} → ${c.set.addresses.join(", ")}` : `${c.name} ${c.type} deleted`))
    .join("; ");
}
