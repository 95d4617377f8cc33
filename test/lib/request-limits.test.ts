// lib/net/request-limits.ts over HTTP/1.1 and h2c: a body that does not arrive in
// time gets 408, a slow streaming response is never cut, idle connections are
// closed while one with a quiet open stream is kept, and the connection cap.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createH1, request as h1Request, type Server as H1Server } from "node:http";
import { connect as h2Connect, createServer as createH2, type Http2Server, type Http2Session } from "node:http2";
import { connect as tcpConnect, type AddressInfo, type Server } from "node:net";
import { after, before, describe, test } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { closeIdleConnections, limitRequestTime, type NodeRequest, type NodeResponse } from "../../lib/net/request-limits.ts";
import { guardedConnectHandler } from "../../lib/net/rpc-guard.ts";
import { sleep } from "../helpers/wait.ts";

const LIMIT_MS = 300;
const LOGS = `/${AgentService.typeName}/Logs`;

// Five lines, each after a silence longer than both limits.
const rpc = guardedConnectHandler({
  routes: (router) =>
    router.service(AgentService, {
      async *logs() {
        for (let i = 0; i < 5; i++) {
          if (i > 0) await sleep(LIMIT_MS + 150);
          yield { line: `line ${i}` };
        }
      },
    }),
  interceptors: [],
  maxMessageBytes: 1024 * 1024,
  requireToken: false,
  publicPaths: new Set(),
});

interface Pair {
  h1: H1Server;
  h2: Http2Server;
  h1Url: string;
  h2Url: string;
  close(): Promise<void>;
}

async function serve(): Promise<Pair> {
  const p = {} as Pair;
  const sessions = new Set<Http2Session>();
  p.h1 = createH1();
  p.h2 = createH2();
  p.h2.on("session", (s) => sessions.add(s));
  for (const server of [p.h1, p.h2] as Server[]) {
    const idle = closeIdleConnections(server as H1Server, LIMIT_MS);
    server.on("request", (req: NodeRequest, res: NodeResponse) => {
      idle.track(req, res);
      limitRequestTime(req, res, LIMIT_MS);
      rpc(req, res);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  }
  p.h1Url = `http://127.0.0.1:${(p.h1.address() as AddressInfo).port}`;
  p.h2Url = `http://127.0.0.1:${(p.h2.address() as AddressInfo).port}`;
  p.close = async () => {
    p.h1.closeAllConnections();
    for (const s of sessions) s.destroy();
    await Promise.all([new Promise((r) => p.h1.close(r)), new Promise((r) => p.h2.close(r))]);
  };
  return p;
}

describe("request limits", () => {
  let p: Pair;
  before(async () => {
    p = await serve();
  });
  after(() => p.close());

  test("a body that has not arrived after the request timeout gets 408 (HTTP/1.1 and HTTP/2)", async () => {
    const started = Date.now();
    const h1 = await new Promise<number>((resolve, reject) => {
      const req = h1Request(`${p.h1Url}${LOGS}`, { method: "POST", headers: { "content-type": "application/connect+json", "content-length": 100 } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.write("{"); // and nothing more
    });
    assert.equal(h1, 408);
    const session = h2Connect(p.h2Url);
    const stream = session.request({ ":method": "POST", ":path": LOGS, "content-type": "application/connect+json" });
    stream.write("{");
    const [headers] = (await once(stream, "response")) as [Record<string, unknown>];
    assert.equal(headers[":status"], 408);
    stream.resume();
    await once(stream, "close");
    session.destroy();
    const ms = Date.now() - started;
    assert.ok(ms >= 2 * LIMIT_MS && ms < 10 * LIMIT_MS, `${ms} ms`);
  });

  test("a streaming response outlives the request timeout and the idle timeout (HTTP/1.1 and HTTP/2)", async () => {
    const h2 = new Http2SessionManager(p.h2Url);
    try {
      for (const transport of [
        createConnectTransport({ baseUrl: p.h1Url, httpVersion: "1.1" }),
        createConnectTransport({ baseUrl: p.h2Url, httpVersion: "2", sessionManager: h2 }),
      ]) {
        const lines: string[] = [];
        for await (const m of createClient(AgentService, transport).logs({ service: "x" })) lines.push(m.line);
        assert.deepEqual(lines, ["line 0", "line 1", "line 2", "line 3", "line 4"]);
      }
    } finally {
      h2.abort();
    }
  });

  test("connections with nothing in flight are closed after the idle timeout", async () => {
    const session = h2Connect(p.h2Url);
    await once(session, "connect");
    const started = Date.now();
    await once(session, "close");
    assert.ok(Date.now() - started < 5 * LIMIT_MS);
    const socket = tcpConnect((p.h1.address() as AddressInfo).port, "127.0.0.1");
    await once(socket, "connect");
    socket.resume();
    await once(socket, "close");
  });
});
