// isolateRequests and onRequestClose: an exception in one request is answered or
// dropped and logged, never thrown into the event loop; the peer's address stays
// readable after the socket is gone.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "../../lib/log/logger.ts";
import { connectionGone, isolateRequests, onRequestClose, remoteAddress } from "../../lib/net/request-context.ts";

function capture() {
  const lines: string[] = [];
  const log = createLogger("test", "info", new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
  return { log, lines };
}

async function get(port: number, path: string): Promise<{ status?: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
      res.on("error", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", () => resolve({ body: "" }));
    req.end();
  });
}

test("a throwing handler, a rejected promise and a throwing close listener are contained", async () => {
  const { log, lines } = capture();
  let seenAfterClose = "";
  let goneAfterClose = false;
  const server = createServer(
    isolateRequests(log, async (req: IncomingMessage, res: ServerResponse) => {
      onRequestClose(res, log, () => {
        seenAfterClose = remoteAddress(req);
        goneAfterClose = connectionGone(req, res);
        throw new Error("close listener failed");
      });
      if (req.url === "/sync") throw new Error("sync failure");
      if (req.url === "/async") {
        await Promise.resolve();
        throw new Error("async failure");
      }
      res.end("ok");
    }),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    assert.deepEqual(await get(port, "/sync"), { status: 500, body: '{"error":"internal error"}' });
    assert.deepEqual(await get(port, "/async"), { status: 500, body: '{"error":"internal error"}' });
    assert.deepEqual(await get(port, "/fine"), { status: 200, body: "ok" });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seenAfterClose, "127.0.0.1");
    assert.equal(goneAfterClose, true);
    assert.ok(lines.some((l) => l.includes("sync failure")));
    assert.ok(lines.some((l) => l.includes("async failure")));
    assert.ok(lines.some((l) => l.includes("close listener failed")));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("remoteAddress and connectionGone on a request whose socket is null", () => {
  const req = { socket: null, headers: {} } as unknown as IncomingMessage;
  const res = { destroyed: false } as unknown as ServerResponse;
  assert.equal(remoteAddress(req), "");
  assert.equal(connectionGone(req, res), true);
});

test("a client that went away mid-body is logged at debug, not as an error", async () => {
  const { log, lines } = capture();
  const server = createServer(
    isolateRequests(log, async (req: IncomingMessage) => {
      for await (const _ of req); // the client resets mid-body: Node raises "aborted"
    }),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/login", agent: false, headers: { "content-length": "100000" } });
    req.on("error", () => undefined);
    req.write(Buffer.alloc(1000));
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!lines.some((l) => l.includes('"level":"error"')), lines.join(""));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
