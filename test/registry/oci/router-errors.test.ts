// How handleOci answers failures: a client that disconnected is logged as such and
// not answered; any other failure — even one whose text looks like a disconnect —
// gets a 500 and an error log, so a waiting client is never left hanging.
import assert from "node:assert/strict";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, before, beforeEach, describe, test } from "node:test";
import { createLogger } from "../../../lib/log/logger.ts";
import type { OciDeps } from "../../../registry/oci/deps.ts";
import { handleOci } from "../../../registry/oci/router.ts";
import { matchRoute } from "../../../registry/oci/routes.ts";

describe("handleOci failures", () => {
  let server: Server;
  let port: number;
  let logged: { msg: string; level: string; [k: string]: unknown }[];
  let check: (req: IncomingMessage) => Promise<void>;
  /** Settles when the handler of the latest request has returned. */
  let handled: Promise<void>;

  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split("\n")) if (l) logged.push(JSON.parse(l));
        cb();
      },
    });
    // Access control is the first thing a request meets: the tests make it fail.
    const deps = { log: createLogger("mcr", "info", sink), access: { check: (req: IncomingMessage) => check(req) } } as unknown as OciDeps;
    server = createServer((req, res) => {
      handled = handleOci(deps, req, res, matchRoute(req.url!)!, new URLSearchParams());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    logged = [];
  });

  test("a reset from upstream while the client waits is answered with 500 and logged", async () => {
    check = async () => {
      throw Object.assign(new Error("aborted"), { code: "ECONNRESET" });
    };
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port, host: "127.0.0.1", path: "/v2/", timeout: 5000 }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ status: r.statusCode!, body }));
      });
      req.on("timeout", () => req.destroy(new Error("no answer: the client was left hanging")));
      req.on("error", reject);
      req.end();
    });
    assert.equal(res.status, 500);
    assert.equal(JSON.parse(res.body).errors[0].code, "UNKNOWN");
    const entry = logged.find((l) => l.msg === "request failed");
    assert.ok(entry, "the failure is logged");
    assert.equal(entry.level, "error");
    assert.match(JSON.stringify(entry.err), /aborted/);
  });

  test("a client that disconnects mid-body is logged as a disconnect and not answered", async () => {
    let reading!: () => void;
    const started = new Promise<void>((r) => (reading = r));
    check = async (req) => {
      reading();
      for await (const _ of req) void _; // throws when the client goes away
    };
    const req = request({ port, host: "127.0.0.1", method: "POST", path: "/v2/team/app/blobs/uploads/", headers: { "Content-Length": 1_000_000 } });
    req.on("error", () => undefined);
    req.write(Buffer.alloc(1000));
    await started;
    req.destroy();
    await handled;
    const entry = logged.find((l) => l.msg === "client disconnected before the response was complete");
    assert.ok(entry, `the disconnect is logged: ${JSON.stringify(logged)}`);
    assert.equal(entry.method, "POST");
    assert.equal(entry.url, "/v2/team/app/blobs/uploads/");
    assert.equal(
      logged.some((l) => l.msg === "request failed"),
      false,
      "a disconnect is not a server failure",
    );
  });
});
