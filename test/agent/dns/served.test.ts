// Whether the DNS server answers for the zone (Status's `not_served`): asked over UDP as any
// resolver would, here of a stand-in server that refuses every question, as PowerDNS does for
// a zone created behind it; and of a port where nothing answers.
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { after, before, describe, test } from "node:test";
import { DnsManager } from "../../../agent/dns/manager.ts";
import type { RoutingStore } from "../../../agent/state/routing-store.ts";
import { silentLogger } from "../../../lib/log/logger.ts";

/** A UDP DNS server answering every question with `rcode` (5: REFUSED), counting them. */
function refusingServer(rcode = 5) {
  const socket = createSocket("udp4");
  let asked = 0;
  socket.on("message", (msg, from) => {
    asked++;
    const reply = Buffer.from(msg);
    reply[2] = 0x80 | (msg[2]! & 0x79); // QR set, opcode and RD kept
    reply[3] = rcode; // RA off, the response code
    socket.send(reply, from.port, from.address);
  });
  return {
    listen: () => new Promise<number>((r) => socket.bind(0, "127.0.0.1", () => r(socket.address().port))),
    asked: () => asked,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

const manager = (server?: string) =>
  new DnsManager(
    { description: "test", read: async () => [{ name: "shop.svc.example.net", type: "A", ttl: 60, addresses: ["192.0.2.1"] }], apply: async () => {} },
    { dnsNames: async () => [{ name: "shop.svc.example.net", present: true }] } as unknown as RoutingStore,
    { serviceZone: "example.net", zone: "example.net", addresses: ["192.0.2.1"], ttl: 60, ...(server ? { server } : {}) },
    silentLogger(),
  );

describe("a zone the DNS server does not serve", () => {
  const dns = refusingServer();
  let port = 0;
  before(async () => (port = await dns.listen()));
  after(() => dns.close());

  test("REFUSED: Status says not_served, names the server and the zone, and how to make it serve", async () => {
    const s = await manager(`127.0.0.1:${port}`).status("shop");
    assert.ok(dns.asked() >= 1);
    assert.deepEqual(
      s.records.map((r) => r.state),
      ["not_served"],
      "in sync through the API, but nobody can look it up",
    );
    assert.match(
      s.notServed!,
      new RegExp(`the DNS server at 127\\.0\\.0\\.1:${port} refuses questions for example\\.net: it does not serve the zone .*restart it`),
    );
  });

  test("nothing answering: said so with the resolver's code", async () => {
    const closed = createSocket("udp4");
    const free = await new Promise<number>((r) => closed.bind(0, "127.0.0.1", () => r(closed.address().port)));
    await new Promise<void>((r) => closed.close(() => r()));
    const s = await manager(`127.0.0.1:${free}`).status("shop");
    assert.match(s.notServed!, new RegExp(`the DNS server at 127\\.0\\.0\\.1:${free} did not answer for example\\.net \\(E[A-Z]+\\)`));
  });

  test("no server configured: not asked, the records' own state stands", async () => {
    const s = await manager().status("shop");
    assert.equal(s.notServed, undefined);
    assert.deepEqual(
      s.records.map((r) => r.state),
      ["in_sync"],
    );
  });
});
