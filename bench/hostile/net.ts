// What every attack family shares: loopback source addresses, outcome tallies, and
// raw HTTP/1.1 and HTTP/2 clients that bind a chosen source address and trust the
// platform CA (verification is never turned off). Traffic only goes to 127.0.0.1.
import { connect as h2Connect, type ClientHttp2Session, type SecureClientSessionOptions } from "node:http2";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";

export const DAEMON_HOST = "127.0.0.1";
/** The name the daemons' certificates carry (mcr init and mcp-agent init put localhost in them). */
export const SERVERNAME = "localhost";

export interface Target {
  name: "mcr" | "agent";
  port: number;
  ca: string;
}

/**
 * The `i`-th source address of an attack's block, 127.0.<block>.<1..250>. Both daemons cap
 * connections per source address, so each family spreads over addresses of its own;
 * the honest client keeps 127.0.0.1 to itself.
 */
export function sourceAddress(block: number, i: number): string {
  return `127.0.${block}.${1 + (i % 250)}`;
}

/** Counts of outcomes ("401", "reset", "error:ECONNRESET", …), merged across workers. */
export class Tally {
  readonly counts: Record<string, number> = {};
  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

export function errorOutcome(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `error:${e.code ?? e.message?.slice(0, 40) ?? "unknown"}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Runs `workers` loops of `step` until the deadline or until `max` steps were started in all. */
export async function loopUntil(deadline: number, workers: number, max: number, step: (i: number, worker: number) => Promise<void>): Promise<number> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (Date.now() < deadline && next < max) await step(next++, w);
    }),
  );
  return next;
}

export interface BodyRequest {
  method: string;
  path: string;
  headers?: Record<string, string | number>;
  /** Body bytes to send; 0 sends none. */
  bytes: number;
  /** Chunked (no Content-Length) when true; else Content-Length: bytes. */
  chunked: boolean;
  timeoutMs: number;
}

const ZEROES = Buffer.alloc(64 * 1024, " ");

/**
 * One HTTP/1.1 request on a connection of its own from `from`: writes the body in 64 KiB
 * pieces (stopping as soon as an answer starts), then closes the connection. Resolves with
 * the status, or how the exchange ended without one.
 */
export function sendBody(t: Target, from: string, r: BodyRequest): Promise<string> {
  return new Promise((resolve) => {
    let settled = false;
    const headers: Record<string, string | number> = { ...r.headers, ...(r.chunked ? { "transfer-encoding": "chunked" } : { "content-length": r.bytes }) };
    const req = httpsRequest({
      host: DAEMON_HOST,
      servername: SERVERNAME,
      port: t.port,
      method: r.method,
      path: r.path,
      headers,
      ca: t.ca,
      agent: false,
      localAddress: from,
    });
    const settle = (v: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => settle("no answer in time"), r.timeoutMs);
    req.on("response", (res) => {
      res.resume();
      const status = String(res.statusCode);
      res.on("end", () => settle(status));
      res.on("error", () => settle(status));
      res.on("close", () => settle(status));
    });
    req.on("error", (err) => settle(errorOutcome(err)));
    let left = r.bytes;
    const pump = () => {
      while (left > 0 && !settled) {
        const n = Math.min(left, ZEROES.length);
        left -= n;
        if (!req.write(n === ZEROES.length ? ZEROES : ZEROES.subarray(0, n))) return void req.once("drain", pump);
      }
      if (!settled) req.end();
    };
    pump();
  });
}

/** A TLS connection from `from`, offering `alpn` (HTTP/1.1 unless told otherwise). */
export function tlsFrom(t: Target, from: string, alpn = ["http/1.1"]): TLSSocket {
  // tls.connect hands localAddress to net.connect; its types leave it out.
  const s = tlsConnect({ host: DAEMON_HOST, servername: SERVERNAME, port: t.port, ca: t.ca, localAddress: from, ALPNProtocols: alpn } as ConnectionOptions);
  s.on("error", () => undefined);
  return s;
}

/** An HTTP/2 session from `from`; errors are the caller's to observe through its streams. */
export function h2From(t: Target, from: string): ClientHttp2Session {
  // localAddress reaches net.connect through tls.connect; the types leave it out.
  const session = h2Connect(`https://${SERVERNAME}:${t.port}`, { ca: t.ca, localAddress: from } as SecureClientSessionOptions);
  session.on("error", () => undefined);
  return session;
}

/** The end of a Connect streaming answer read so far: its error code, "ended", or undefined while it runs. */
export function connectStreamOutcome(data: Buffer): string | undefined {
  for (let at = 0; at + 5 <= data.length; ) {
    const flags = data[at]!;
    const len = data.readUInt32BE(at + 1);
    if (at + 5 + len > data.length) return undefined;
    if (flags & 0x02) {
      const end = JSON.parse(data.subarray(at + 5, at + 5 + len).toString() || "{}") as { error?: { code?: string; message?: string } };
      const code = end.error?.code ?? "ended";
      // Which limit said unavailable (the body budget, the token check) is worth knowing.
      return code === "unavailable" ? `${code} (${end.error?.message?.slice(0, 48)})` : code;
    }
    at += 5 + len;
  }
  return undefined;
}

/** A Connect streaming request body: one enveloped JSON message. */
export function connectEnvelope(message: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}
