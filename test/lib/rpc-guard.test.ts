// The pre-body RPC guard (lib/net/rpc-guard.ts) in front of a real Connect
// handler, over HTTP/1.1 and h2c: no token → Unauthenticated without reading the
// body, an oversize Content-Length → refused at once, gzip bombs and bodies
// without a length cut by readMaxBytes, valid small calls untouched.
import assert from "node:assert/strict";
import { createServer as createH1, request as h1Request, type Server as H1Server } from "node:http";
import { connect as h2Connect, createServer as createH2, type Http2Server, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { DEFAULT_RPC_MAX_BYTES, guardedConnectHandler, guardRpc, type RpcGuardOptions } from "../../lib/net/rpc-guard.ts";
import type { NodeHandler } from "../../lib/net/request-limits.ts";

const LIMIT = DEFAULT_RPC_MAX_BYTES;
const STATUS = `/${AgentService.typeName}/Status`;
const HEALTH = `/${AgentService.typeName}/Health`;

const routes = (router: Parameters<Parameters<typeof connectNodeAdapter>[0]["routes"]>[0]) =>
  router.service(AgentService, {
    health: () => ({ status: "ok" }),
    status: (req) => ({ service: req.service, version: "v1" }),
    async *logs() {
      yield { line: "one" };
    },
  });
// Stands in for the daemons' interceptors: only "Bearer good" passes.
const auth: Interceptor = (next) => async (req) => {
  if (req.method.name !== "Health" && req.header.get("authorization") !== "Bearer good") throw new ConnectError("invalid token", Code.Unauthenticated);
  return next(req);
};

interface Served {
  h1: H1Server;
  h2: Http2Server;
  h1Url: string;
  h2Url: string;
  /** How often the wrapped Connect handler was reached. */
  calls: number;
  close(): Promise<void>;
}

async function serve(guard: Omit<RpcGuardOptions, "maxMessageBytes">, build: "spy" | "guarded" = "spy"): Promise<Served> {
  const served = { calls: 0 } as Served;
  let handler: NodeHandler;
  if (build === "guarded") handler = guardedConnectHandler({ routes, interceptors: [auth], maxMessageBytes: LIMIT, ...guard });
  else {
    const inner = connectNodeAdapter({ routes, interceptors: [auth], readMaxBytes: LIMIT }) as NodeHandler;
    handler = guardRpc(
      (req, res) => {
        served.calls++;
        inner(req, res);
      },
      { maxMessageBytes: LIMIT, ...guard },
    );
  }
  served.h1 = createH1(handler);
  served.h2 = createH2(handler);
  const sessions = new Set<Http2Session>();
  served.h2.on("session", (s) => sessions.add(s));
  for (const [server, key] of [
    [served.h1, "h1Url"],
    [served.h2, "h2Url"],
  ] as const) {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    served[key] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  served.close = async () => {
    served.h1.closeAllConnections();
    for (const s of sessions) s.destroy();
    await Promise.all([new Promise((r) => served.h1.close(r)), new Promise((r) => served.h2.close(r))]);
  };
  return served;
}

/** A raw HTTP/1.1 POST whose body is `sent` bytes of a declared `length`, never finished. */
function h1Partial(url: string, headers: Record<string, string | number>, sent: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = h1Request(`${url}${STATUS}`, { method: "POST", headers }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => {
        req.destroy();
        resolve({ status: res.statusCode!, body });
      });
    });
    req.on("error", reject);
    if (sent > 0) req.write(Buffer.alloc(sent));
    else req.flushHeaders();
  });
}

/** A raw HTTP/2 request left open after `sent` bytes; resolves with the response headers and whether the server closed the stream. */
function h2Partial(
  url: string,
  headers: Record<string, string | number>,
  sent: number,
): Promise<{ headers: Record<string, unknown>; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(url);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": STATUS, ...headers });
    let got: Record<string, unknown> = {};
    stream.on("response", (h) => (got = h));
    stream.on("data", () => undefined);
    stream.on("error", () => undefined);
    stream.on("end", () =>
      setImmediate(() => {
        // Closed although this side never ended its body: the server reset the stream.
        const closedByServer = stream.closed;
        stream.destroy();
        session.close();
        resolve({ headers: got, closedByServer });
      }),
    );
    if (sent > 0) stream.write(Buffer.alloc(sent));
  });
}

const connectUnary = { "content-type": "application/json", "connect-protocol-version": "1" };

describe("RPC guard", () => {
  let s: Served;
  const managers: Http2SessionManager[] = [];
  const transports: Record<string, Transport> = {};
  let h1Client: Client<typeof AgentService>;
  const good = { headers: { authorization: "Bearer good" } };

  before(async () => {
    s = await serve({ requireToken: true, publicPaths: new Set([HEALTH]) });
    const h2 = new Http2SessionManager(s.h2Url);
    managers.push(h2);
    transports.connect = createConnectTransport({ baseUrl: s.h1Url, httpVersion: "1.1" });
    transports.connectH2 = createConnectTransport({ baseUrl: s.h2Url, httpVersion: "2", sessionManager: h2 });
    transports.grpc = createGrpcTransport({ baseUrl: s.h2Url, sessionManager: h2 });
    transports.grpcWeb = createGrpcWebTransport({ baseUrl: s.h1Url, httpVersion: "1.1" });
    h1Client = createClient(AgentService, transports.connect!);
  });

  after(async () => {
    for (const m of managers) m.abort();
    await s.close();
  });

  test("no token: Unauthenticated in every protocol, and the handler is never reached", async () => {
    for (const [name, transport] of Object.entries(transports)) {
      const client = createClient(AgentService, transport);
      await assert.rejects(client.status({ service: "x" }), (e: unknown) => {
        assert.ok(e instanceof ConnectError, name);
        assert.equal(e.code, Code.Unauthenticated, `${name}: ${e.message}`);
        assert.match(e.rawMessage, /bearer token is required/, name);
        return true;
      });
      // A server-streaming RPC: Connect streaming answers with an end-stream message.
      await assert.rejects(
        async () => {
          for await (const _ of client.logs({ service: "x" }));
        },
        (e: ConnectError) => e.code === Code.Unauthenticated && /bearer token is required/.test(e.rawMessage),
      );
    }
    assert.equal(s.calls, 0);
  });

  test("no token: answered before the body arrives (HTTP/1.1 and HTTP/2), the connection or stream closed", async () => {
    // 10 MB declared, 64 KiB sent, never finished: only an answer that does not wait for the body can come back.
    const h1 = await h1Partial(s.h1Url, { ...connectUnary, "content-length": 10_000_000 }, 64 * 1024);
    assert.equal(h1.status, 401);
    assert.equal(JSON.parse(h1.body).code, "unauthenticated");
    const h2 = await h2Partial(s.h2Url, { "content-type": "application/grpc", te: "trailers" }, 64 * 1024);
    assert.equal(h2.headers[":status"], 200);
    assert.equal(h2.headers["grpc-status"], String(Code.Unauthenticated));
    assert.ok(h2.closedByServer);
    assert.equal(s.calls, 0);
  });

  test("a Content-Length above the limit is refused at once, token or not the body is not read", async () => {
    const over = LIMIT + 6;
    const h1 = await h1Partial(s.h1Url, { ...connectUnary, authorization: "Bearer good", "content-length": over }, 0);
    assert.equal(h1.status, 429);
    assert.equal(JSON.parse(h1.body).code, "resource_exhausted");
    const h2 = await h2Partial(s.h2Url, { "content-type": "application/grpc", te: "trailers", authorization: "Bearer good", "content-length": over }, 0);
    assert.equal(h2.headers["grpc-status"], String(Code.ResourceExhausted));
    assert.equal(s.calls, 0);
  });

  test("valid small calls still work; Health needs no token; a wrong token reaches the interceptor", async () => {
    for (const [name, transport] of Object.entries(transports)) {
      const client = createClient(AgentService, transport);
      const res = await client.status({ service: "shop" }, good);
      assert.equal(res.service, "shop", name);
      assert.equal((await client.health({})).status, "ok", name);
      const lines = [];
      for await (const l of client.logs({ service: "shop" }, good)) lines.push(l.line);
      assert.deepEqual(lines, ["one"], name);
    }
    const calls = s.calls;
    await assert.rejects(
      h1Client.status({ service: "x" }, { headers: { authorization: "Bearer wrong" } }),
      (e: ConnectError) => e.code === Code.Unauthenticated && /invalid token/.test(e.rawMessage),
    );
    assert.equal(s.calls, calls + 1);
    // A message just under the limit passes the guard and connect-es.
    const big = await h1Client.status({ service: "x".repeat(LIMIT - 16) }, good);
    assert.equal(big.service.length, LIMIT - 16);
  });

  test("with authentication disabled no token is asked for", async () => {
    const open = await serve({ requireToken: false, publicPaths: new Set() });
    try {
      const client = createClient(AgentService, createConnectTransport({ baseUrl: open.h1Url, httpVersion: "1.1" }));
      // The guard lets it through: the answer is the (test) interceptor's, not the guard's.
      await assert.rejects(client.status({ service: "x" }), (e: ConnectError) => /invalid token/.test(e.rawMessage));
      assert.equal(open.calls, 1);
    } finally {
      await open.close();
    }
  });
});

describe("guardedConnectHandler: readMaxBytes", () => {
  let s: Served;
  let client: Client<typeof AgentService>;
  before(async () => {
    s = await serve({ requireToken: true, publicPaths: new Set([HEALTH]) }, "guarded");
    client = createClient(AgentService, createConnectTransport({ baseUrl: s.h1Url, httpVersion: "1.1" }));
  });
  after(() => s.close());

  test("a message over the limit is ResourceExhausted", async () => {
    await assert.rejects(
      client.status({ service: "x".repeat(LIMIT + 10) }, { headers: { authorization: "Bearer good" } }),
      (e: ConnectError) => e.code === Code.ResourceExhausted,
    );
  });

  test("a gzip bomb is cut after decompressing the limit", async () => {
    // 64 MiB of JSON whitespace gzips to ~64 KiB, well under the limit before decompression.
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"service":"x"'), Buffer.alloc(64 * 1024 * 1024, " "), Buffer.from("}")]));
    assert.ok(bomb.length < LIMIT);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = h1Request(
        `${s.h1Url}${STATUS}`,
        { method: "POST", headers: { ...connectUnary, "content-encoding": "gzip", authorization: "Bearer good" } },
        (r) => {
          let body = "";
          r.on("data", (d) => (body += d));
          r.on("end", () => resolve({ status: r.statusCode!, body }));
        },
      );
      req.on("error", reject);
      req.end(bomb);
    });
    assert.equal(JSON.parse(res.body).code, "resource_exhausted");
    assert.match(JSON.parse(res.body).message, /after decompression/);
  });
});
