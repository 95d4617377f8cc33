// The DNS driver for PowerDNS Authoritative's HTTP API (4.x): one GET of the zone to read,
// one PATCH of its rrsets to change (PowerDNS applies a PATCH in one transaction).
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { DnsError, type DnsChange, type DnsDriver, type RecordSet, type RecordType } from "./driver.ts";

export interface PowerDnsOptions {
  apiUrl: string;
  apiKey: string;
  serverId: string;
  /** Without the trailing dot. */
  zone: string;
  /** PEM of the CA for an https API. */
  ca?: string;
  /** Who owns the records, written as the rrset's comment. */
  owner: string;
  timeoutMs?: number;
}

interface RRSet {
  name: string;
  type: string;
  ttl: number;
  records: { content: string; disabled: boolean }[];
}

const fqdn = (name: string) => `${name}.`;
const bare = (name: string) => name.replace(/\.$/, "").toLowerCase();

export class PowerDnsDriver implements DnsDriver {
  readonly description: string;
  private readonly zoneUrl: URL;

  constructor(private readonly o: PowerDnsOptions) {
    const base = o.apiUrl.replace(/\/+$/, "");
    this.zoneUrl = new URL(`${base}/api/v1/servers/${encodeURIComponent(o.serverId)}/zones/${encodeURIComponent(fqdn(o.zone))}`);
    this.description = `PowerDNS ${base} zone ${o.zone}`;
  }

  private call(method: "GET" | "PATCH", body?: unknown): Promise<{ status: number; text: string }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const url = this.zoneUrl;
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: { "X-API-Key": this.o.apiKey, Accept: "application/json", ...(data ? { "Content-Type": "application/json" } : {}) },
          timeout: this.o.timeoutMs ?? 5000,
          ...(url.protocol === "https:" ? { ca: this.o.ca, minVersion: "TLSv1.3" as const } : {}),
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.o.timeoutMs ?? 5000} ms`)));
      req.on("error", (err) => reject(new DnsError(`${this.description}: the API does not answer: ${err.message}`)));
      req.end(data);
    });
  }

  private fail(what: string, res: { status: number; text: string }): never {
    let detail = res.text.trim().slice(0, 300);
    try {
      detail = (JSON.parse(res.text) as { error?: string }).error ?? detail;
    } catch {
      /* not JSON */
    }
    if (res.status === 401 || res.status === 403) throw new DnsError(`${this.description}: ${what}: the API key is refused (HTTP ${res.status})`);
    if (res.status === 404) throw new DnsError(`${this.description}: ${what}: the zone does not exist (create it: pdnsutil create-zone ${this.o.zone})`);
    throw new DnsError(`${this.description}: ${what}: HTTP ${res.status}: ${detail}`);
  }

  async read(names: string[]): Promise<RecordSet[]> {
    const res = await this.call("GET");
    if (res.status !== 200) this.fail("reading the zone", res);
    const zone = JSON.parse(res.text) as { rrsets?: RRSet[] };
    const wanted = new Set(names);
    const out: RecordSet[] = [];
    for (const r of zone.rrsets ?? []) {
      if (r.type !== "A" && r.type !== "AAAA") continue;
      const name = bare(r.name);
      if (!wanted.has(name)) continue;
      out.push({
        name,
        type: r.type as RecordType,
        ttl: r.ttl,
        addresses: r.records
          .filter((x) => !x.disabled)
          .map((x) => x.content)
          .sort(),
      });
    }
    return out;
  }

  async apply(changes: DnsChange[]): Promise<void> {
    if (changes.length === 0) return;
    const rrsets = changes.map((c) =>
      c.action === "replace"
        ? {
            name: fqdn(c.set.name),
            type: c.set.type,
            ttl: c.set.ttl,
            changetype: "REPLACE",
            records: c.set.addresses.map((content) => ({ content, disabled: false })),
            comments: [{ content: `managed by ${this.o.owner}`, account: "mcp-agent" }],
          }
        : { name: fqdn(c.name), type: c.type, changetype: "DELETE" },
    );
    const res = await this.call("PATCH", { rrsets });
    if (res.status !== 204 && res.status !== 200) this.fail("changing records", res);
  }
}
