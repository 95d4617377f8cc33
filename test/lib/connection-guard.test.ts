// ConnectionGuard on a real HTTP server over loopback: the per-address cap, the
// first-request deadline, and at the cap an idle stranger's connection giving
// way to a newcomer while authenticated and busy connections keep theirs.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, Agent, type Server } from "node:http";
import { connect as tcpConnect, type AddressInfo, type Socket } from "node:net";
import { describe, test } from "node:test";
import { ConnectionGuard, markAuthenticated, type ConnectionGuardOptions } from "../../lib/net/connection-guard.ts";

async function guarded(o: Omit<ConnectionGuardOptions, "onRefused">): Promise<{ server: Server; port: number; guard: ConnectionGuard; refusals: string[] }> {
  const refusals: string[] = [];
  const guard = new ConnectionGuard({ ...o, onRefused: (reason, address) => refusals.push(`${reason} ${address}`) });
  const server = createServer((req, res) => {
    guard.trackRequest(req, res);
    if (req.headers["x-auth"]) markAuthenticated(req);
    if (req.url === "/hold") return void setTimeout(() => res.end("held"), 400);
    res.end("ok");
  });
  guard.attach(server);
  server.listen(0, "0.0.0.0");
  await once(server, "listening");
  return { server, port: (server.address() as AddressInfo).port, guard, refusals };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

/** A raw connection from `localAddress`; resolves once the server has had a moment to accept it. */
async function idleSocket(port: number, localAddress: string): Promise<Socket> {
  const s = tcpConnect({ port, host: "127.0.0.1", localAddress });
  s.on("error", () => undefined);
  await once(s, "connect");
  await new Promise((r) => setTimeout(r, 20));
  return s;
}

function get(port: number, path: string, opts: { localAddress?: string; agent?: Agent; auth?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, localAddress: opts.localAddress, agent: opts.agent ?? false, headers: opts.auth ? { "x-auth": "1" } : {} },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const closed = (s: Socket) => s.destroyed || s.readyState === "closed";

describe("ConnectionGuard", () => {
  test("at most maxPerAddress connections from one address; other addresses are not affected", async () => {
    const g = await guarded({ maxConnections: 100, maxPerAddress: 2, firstRequestMs: 0 });
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) sockets.push(await idleSocket(g.port, "127.0.0.2"));
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(sockets.map(closed), [false, false, true]);
      assert.deepEqual(g.refusals, ["max_connections_per_address 127.0.0.2"]);
      assert.equal(await get(g.port, "/", { localAddress: "127.0.0.1" }), "ok");
    } finally {
      for (const s of sockets) s.destroy();
      await close(g.server);
    }
  });

  test("a connection that sends no request within firstRequestMs is closed; one that does is kept", async () => {
    const g = await guarded({ maxConnections: 100, maxPerAddress: 100, firstRequestMs: 150 });
    const agent = new Agent({ keepAlive: true });
    try {
      const silent = await idleSocket(g.port, "127.0.0.3");
      assert.equal(await get(g.port, "/", { agent }), "ok");
      await once(silent, "close");
      assert.ok(g.refusals.includes("no_request_in_time 127.0.0.3"));
      await new Promise((r) => setTimeout(r, 30)); // the server sees the close a moment after the client
      assert.equal(g.guard.size, 1, "the keep-alive connection that sent a request stays");
    } finally {
      agent.destroy();
      await close(g.server);
    }
  });

  test("at the cap a newcomer takes an idle stranger's slot, never an authenticated or busy one's", async () => {
    const g = await guarded({ maxConnections: 4, maxPerAddress: 100, firstRequestMs: 0 });
    const honest = new Agent({ keepAlive: true, maxSockets: 1 });
    const strangers: Socket[] = [];
    try {
      assert.equal(await get(g.port, "/", { agent: honest, auth: true }), "ok"); // slot 1: authenticated, idle
      const busy = get(g.port, "/hold", { localAddress: "127.0.0.4" }); // slot 2: a request in flight
      await new Promise((r) => setTimeout(r, 30));
      for (let i = 0; i < 4; i++) strangers.push(await idleSocket(g.port, "127.0.0.5")); // slots 3-4, then evictions
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(strangers.map(closed), [true, true, false, false]);
      assert.equal(await busy, "held");
      assert.equal(await get(g.port, "/", { agent: honest, auth: true }), "ok", "the authenticated keep-alive connection was kept");
      assert.ok(g.refusals.filter((r) => r.startsWith("evicted")).length >= 2);
    } finally {
      for (const s of strangers) s.destroy();
      honest.destroy();
      await close(g.server);
    }
  });

  test("at the cap with no idle stranger left, the newcomer is refused", async () => {
    const g = await guarded({ maxConnections: 1, maxPerAddress: 100, firstRequestMs: 0 });
    const honest = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      assert.equal(await get(g.port, "/", { agent: honest, auth: true }), "ok");
      const newcomer = await idleSocket(g.port, "127.0.0.6");
      await new Promise((r) => setTimeout(r, 30));
      assert.ok(closed(newcomer));
      assert.ok(g.refusals.includes("max_connections 127.0.0.6"));
    } finally {
      honest.destroy();
      await close(g.server);
    }
  });
});
