// A zone created behind a running PowerDNS (`pdnsutil create-zone`, as an operator does) is in
// its database and API at once, but the server answers REFUSED for it until its zone cache is
// refreshed: the agent's Status tells that apart from records in sync by asking the server
// itself for the zone's SOA. A zone made through the API is served at once.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { DnsManager } from "../../agent/dns/manager.ts";
import type { RoutingStore } from "../../agent/state/routing-store.ts";
import { silentLogger } from "../../lib/log/logger.ts";
import { startPowerDns, type PowerDnsServer } from "../helpers/servers.ts";
import { skipUnlessTools } from "../helpers/tools.ts";

const run = promisify(execFile);

describe("DNS Status against a real PowerDNS", { skip: skipUnlessTools("pdns_server", "pdnsutil", "dig") }, () => {
  let pdns: PowerDnsServer;
  before(async () => {
    pdns = await startPowerDns();
  });
  after(() => pdns?.cleanup());

  const manager = (zone: string) =>
    new DnsManager(
      { description: "PowerDNS", read: async () => [], apply: async () => {} },
      { dnsNames: async () => [] } as unknown as RoutingStore,
      { serviceZone: zone, zone, addresses: ["192.0.2.1"], ttl: 60, server: `127.0.0.1:${pdns.dnsPort}` },
      silentLogger(),
    );
  const soa = async (zone: string) => (await run("dig", ["@127.0.0.1", "-p", String(pdns.dnsPort), zone, "SOA", "+time=2", "+tries=1"])).stdout;

  test("a zone made with pdnsutil while the server runs: REFUSED, and Status says the server does not serve it", async () => {
    await run("pdnsutil", [`--config-dir=${pdns.dir}`, "create-zone", "behind.test", "ns1.behind.test"]);
    assert.match(await soa("behind.test"), /status: REFUSED/, "what an operator's dig shows");
    assert.match((await manager("behind.test").notServed())!, /refuses questions for behind\.test: it does not serve the zone .*restart it/);
  });

  test("a zone made through the API: served at once, nothing to say", async () => {
    await pdns.createZone("api.test");
    assert.match(await soa("api.test"), /status: NOERROR/);
    assert.equal(await manager("api.test").notServed(), undefined);
  });
});
