// Who may hold a connection, so that a stranger holding sockets cannot keep an
// honest client out:
// - at most `maxPerAddress` open connections from one source address; more are
//   closed as they arrive;
// - a connection must finish its TLS handshake and send a first request's
//   headers within `firstRequestMs`, or it is closed;
// - at `maxConnections`, a new connection closes the oldest connection that has
//   no request in flight and has never carried an authenticated request; only
//   when there is none is the new one refused. Authenticated clients' slots are
//   never taken, and neither are streams in flight (a Logs follow).
// Both daemons' servers (HTTP/1.1 and HTTP/2, TLS or not) are guarded alike.
import type { Http2ServerRequest } from "node:http2";
import type { Server, Socket } from "node:net";
import type { NodeRequest, NodeResponse } from "./request-limits.ts";

export interface ConnectionGuardOptions {
  maxConnections: number;
  maxPerAddress: number;
  /** 0: no limit. */
  firstRequestMs: number;
  /** Told of refusals and evictions, already throttled by the caller if need be. */
  onRefused(reason: "max_connections" | "max_connections_per_address" | "evicted" | "no_request_in_time", address: string): void;
}

interface Connection {
  socket: Socket;
  address: string;
  inflight: number;
  requests: number;
  authenticated: boolean;
  timer?: NodeJS.Timeout;
}

/** A request's connection, for markAuthenticated. */
const connectionOfRequest = new WeakMap<object, Connection>();

/** Marks the request's connection as an authenticated client's: it keeps its slot at the connection cap. */
export function markAuthenticated(req: NodeRequest): void {
  const c = connectionOfRequest.get(req);
  if (c) c.authenticated = true;
}

function keyOf(s: { remoteAddress?: string; remotePort?: number }): string {
  return `${s.remoteAddress ?? ""}:${s.remotePort ?? 0}`;
}

export class ConnectionGuard {
  /** Open connections by address:port, oldest first. */
  private readonly open = new Map<string, Connection>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly o: ConnectionGuardOptions) {}

  get size(): number {
    return this.open.size;
  }

  /** Guards `server`: call before it listens. */
  attach(server: Server): void {
    server.on("connection", (socket: Socket) => this.admit(socket));
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? "";
    if ((this.perAddress.get(address) ?? 0) >= this.o.maxPerAddress) {
      this.refuse(socket, "max_connections_per_address", address);
      return;
    }
    if (this.open.size >= this.o.maxConnections && !this.evictOne()) {
      this.refuse(socket, "max_connections", address);
      return;
    }
    const c: Connection = { socket, address, inflight: 0, requests: 0, authenticated: false };
    const key = keyOf(socket);
    this.open.set(key, c);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    if (this.o.firstRequestMs > 0) {
      c.timer = setTimeout(() => {
        if (c.requests > 0) return;
        this.o.onRefused("no_request_in_time", address);
        socket.destroy();
      }, this.o.firstRequestMs);
      c.timer.unref();
    }
    socket.once("close", () => {
      clearTimeout(c.timer);
      if (this.open.get(key) === c) this.open.delete(key);
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n > 0) this.perAddress.set(address, n);
      else this.perAddress.delete(address);
    });
  }

  /** Closes the oldest idle connection no authenticated request came through; false when there is none. */
  private evictOne(): boolean {
    for (const c of this.open.values()) {
      if (c.inflight > 0 || c.authenticated) continue;
      this.o.onRefused("evicted", c.address);
      c.socket.destroy();
      this.open.delete(keyOf(c.socket));
      return true;
    }
    return false;
  }

  private refuse(socket: Socket, reason: "max_connections" | "max_connections_per_address", address: string): void {
    this.o.onRefused(reason, address);
    socket.destroy();
  }

  /** Call for every request: counts it in flight on its connection until its response closes. */
  trackRequest(req: NodeRequest, res: NodeResponse): void {
    const c = this.open.get(keyOf(rawSocketOf(req)));
    if (!c) return;
    connectionOfRequest.set(req, c);
    c.requests++;
    c.inflight++;
    clearTimeout(c.timer);
    res.once("close", () => c.inflight--);
  }
}

function rawSocketOf(req: NodeRequest): { remoteAddress?: string; remotePort?: number } {
  try {
    if ("stream" in req) return (req as Http2ServerRequest).stream.session?.socket ?? {};
    return req.socket ?? {};
  } catch {
    return {};
  }
}
