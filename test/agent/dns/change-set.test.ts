// DNS change sets: what the agent sends so the server has exactly the wanted A/AAAA sets
// for the names it owns, and nothing it does not own is touched.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { validateDefinition } from "../../../lib/services/definition.ts";
import { silentLogger } from "../../../lib/log/logger.ts";
import { changeSet, desiredSets, describeChanges, inZone, type RecordSet } from "../../../agent/dns/driver.ts";
import { DnsManager } from "../../../agent/dns/manager.ts";
import type { RoutingStore } from "../../../agent/state/routing-store.ts";

const A = (name: string, addresses: string[], ttl = 60): RecordSet => ({ name, type: "A", ttl, addresses });
const AAAA = (name: string, addresses: string[], ttl = 60): RecordSet => ({ name, type: "AAAA", ttl, addresses });

describe("DNS change sets", () => {
  test("each wanted name gets an A set for the IPv4 addresses and an AAAA set for the IPv6 ones", () => {
    assert.deepEqual(desiredSets(["b.example.net", "a.example.net", "a.example.net"], ["2001:db8::1", "192.0.2.2", "192.0.2.1"], 60), [
      A("a.example.net", ["192.0.2.1", "192.0.2.2"]),
      AAAA("a.example.net", ["2001:db8::1"]),
      A("b.example.net", ["192.0.2.1", "192.0.2.2"]),
      AAAA("b.example.net", ["2001:db8::1"]),
    ]);
  });

  test("nothing to do when the server has the wanted sets (address order does not matter)", () => {
    const want = [A("a.example.net", ["192.0.2.1", "192.0.2.2"])];
    assert.deepEqual(changeSet(want, [], [A("a.example.net", ["192.0.2.2", "192.0.2.1"])]), []);
  });

  test("missing, wrong addresses and wrong TTL are replaced whole", () => {
    const want = [A("a.example.net", ["192.0.2.1"]), A("b.example.net", ["192.0.2.1"]), A("c.example.net", ["192.0.2.1"])];
    const have = [A("b.example.net", ["198.51.100.7"]), A("c.example.net", ["192.0.2.1"], 3600)];
    assert.deepEqual(
      changeSet(want, [], have).map((c) => (c.action === "replace" ? `replace ${c.set.name}` : `delete ${c.name}`)),
      ["replace a.example.net", "replace b.example.net", "replace c.example.net"],
    );
  });

  test("a type the node has no address for any more is deleted; withdrawn names lose every set", () => {
    const want = [A("a.example.net", ["192.0.2.1"])];
    const have = [
      A("a.example.net", ["192.0.2.1"]),
      AAAA("a.example.net", ["2001:db8::1"]),
      A("old.example.net", ["192.0.2.1"]),
      AAAA("old.example.net", ["2001:db8::1"]),
    ];
    assert.deepEqual(changeSet(want, ["old.example.net"], have), [
      { action: "delete", name: "a.example.net", type: "AAAA" },
      { action: "delete", name: "old.example.net", type: "A" },
      { action: "delete", name: "old.example.net", type: "AAAA" },
    ]);
  });

  test("sets of names the agent does not own are never touched, and a name still wanted is not deleted", () => {
    const want = [A("a.example.net", ["192.0.2.1"])];
    const have = [A("a.example.net", ["192.0.2.1"]), A("someone-else.example.net", ["203.0.113.9"])];
    assert.deepEqual(changeSet(want, ["a.example.net"], have), []);
  });

  test("changes read as one line each", () => {
    assert.equal(
      describeChanges([
        { action: "replace", set: A("a.example.net", ["192.0.2.1"]) },
        { action: "delete", name: "b.example.net", type: "AAAA" },
      ]),
      "a.example.net A → 192.0.2.1; b.example.net AAAA deleted",
    );
  });

  test("a service's names: <service>.svc.<zone> and route hostnames inside the DNS zone only", () => {
    assert.ok(inZone("example.net", "example.net") && inZone("a.b.example.net", "example.net"));
    assert.ok(!inZone("badexample.net", "example.net"));
    const def = validateDefinition({
      name: "shop",
      node: "n1",
      version: "v1",
      components: [
        {
          name: "web",
          image: "r/x",
          routes: [
            { name: "a", port: 443, mode: "l7", hostname: "WWW.example.net".toLowerCase() },
            { name: "b", port: 443, mode: "l7", hostname: "shop.example.org" },
          ],
        },
      ],
    });
    const dns = new DnsManager(
      { description: "test", read: async () => [], apply: async () => {} },
      {} as RoutingStore,
      { serviceZone: "example.net", zone: "example.net", addresses: ["192.0.2.1"], ttl: 60 },
      silentLogger(),
    );
    assert.deepEqual(dns.namesOf(def), ["shop.svc.example.net", "www.example.net"]);
    const narrow = new DnsManager(
      dns.driver,
      {} as RoutingStore,
      { serviceZone: "example.net", zone: "svc.example.net", addresses: ["192.0.2.1"], ttl: 60 },
      silentLogger(),
    );
    assert.deepEqual(narrow.namesOf(def), ["shop.svc.example.net"]);
  });
});
