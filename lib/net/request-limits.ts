// Limits on how long a request may take to arrive and how long a connection may
// sit idle, for HTTP/1.1 and HTTP/2 alike. Responses are never limited here: a
// blob download or a streaming RPC (Logs, Events, Deploy) runs as long as it needs.
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants as h2c, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import type { Server, Socket } from "node:net";

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

function isHttp2(req: NodeRequest): req is Http2ServerRequest {
  return "stream" in req;
}

/** How long an HTTP/1.1 connection keeps dropping a refused request's body before it is closed. */
const LINGER_MS = 2_000;

/**
 * Answers `status` with `body` and stops reading the request. HTTP/2 resets the
 * stream with NO_ERROR once the answer is sent (RFC 9113 §8.1: the client stops
 * sending). HTTP/1.1 answers with Connection: close and closes by lingering.
 */
export function answerAndClose(req: NodeRequest, res: NodeResponse, status: number, headers: Record<string, string>, body?: Uint8Array): void {
  if (isHttp2(req)) {
    const r = res as Http2ServerResponse;
    const stream = req.stream;
    if (r.headersSent) return void stream.close(h2c.NGHTTP2_CANCEL);
    r.writeHead(status, headers);
    r.end(body ?? "", () => stream.close(h2c.NGHTTP2_NO_ERROR));
    return;
  }
  const r = res as ServerResponse;
  // A request already detached from its connection has nobody left to answer.
  const socket = req.socket as Socket | null;
  if (!socket || socket.destroyed) return void r.destroy();
  if (r.headersSent) return void socket.destroy();
  lingerOnClose(socket);
  r.writeHead(status, { ...headers, connection: "close" });
  r.end(body ?? "");
}

/**
 * Node closes the socket right after a Connection: close answer. With request
 * bytes still unread, that close is a TCP reset, and a reset can make the client
 * lose the answer it has not read yet. So, as Go's net/http does: half-close
 * after the answer, let Node drop whatever still arrives (it never buffers a
 * dumped body), and close for good when the client does or after LINGER_MS.
 */
function lingerOnClose(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket) {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
  };
}

/** True once the whole request has arrived (whether or not the handler has read it). */
function received(req: NodeRequest): boolean {
  if (!isHttp2(req)) return req.complete;
  // Http2ServerRequest.complete waits until the body has been *read*; the peer's
  // END_STREAM is what matters here (a streaming RPC reads its request lazily).
  return req.complete || req.stream.destroyed || req.stream.state.remoteClose === 1;
}

/**
 * Node's requestTimeout for one request: if its body has not fully arrived after
 * `ms`, it is answered 408 and its connection (HTTP/1.1) or stream (HTTP/2) closed.
 * Used on every route but blob uploads, whose bodies may take as long as they need.
 */
export function limitRequestTime(req: NodeRequest, res: NodeResponse, ms: number): void {
  if (ms <= 0) return;
  const timer = setTimeout(() => {
    if (!received(req)) answerAndClose(req, res, 408, { "content-type": "text/plain" }, Buffer.from("request body not received in time\n"));
  }, ms);
  timer.unref();
  res.once("close", () => clearTimeout(timer));
}

/**
 * Closes HTTP/2 sessions and HTTP/1.1 connections that have had no request in
 * flight for `ms`. A connection carrying an open request (a Logs stream that says
 * nothing for a while) is left alone. Call `track` for every request.
 */
export function closeIdleConnections(server: Server & { setTimeout(ms: number): unknown }, ms: number): { track(req: NodeRequest, res: NodeResponse): void } {
  const inflight = new WeakMap<object, number>();
  const connOf = (req: NodeRequest): object => (isHttp2(req) ? (req.stream.session ?? req.stream) : (req.socket ?? req));
  if (ms > 0) {
    server.setTimeout(ms);
    // A 'timeout' listener replaces Node's default (destroy at once, streams included).
    server.on("timeout", (conn: Http2Session | Socket) => {
      if ((inflight.get(conn) ?? 0) > 0) return;
      if ("goaway" in conn) conn.close();
      else conn.destroy();
    });
  }
  return {
    track(req, res) {
      const conn = connOf(req);
      inflight.set(conn, (inflight.get(conn) ?? 0) + 1);
      res.once("close", () => inflight.set(conn, (inflight.get(conn) ?? 1) - 1));
    },
  };
}
