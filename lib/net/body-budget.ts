// A daemon-wide budget of request bytes that may be held in memory at once.
// Every request whose body a handler buffers (RPC messages, manifests, JSON)
// reserves what it may buffer (its Content-Length, or the route's largest body
// when it sends none) before a byte is read, and gives it back once the body has
// arrived or the request is over. Past the budget a request is answered 503 with
// Retry-After at once: bodies are refused, never queued in memory.
import type { Http2ServerRequest } from "node:http2";
import type { NodeRequest, NodeResponse } from "./request-limits.ts";

/** Default budget: 64 MiB of buffered request bodies per daemon. */
export const DEFAULT_BUFFERED_BODY_BYTES = 64 * 1024 * 1024;

export class BodyBudget {
  private used = 0;
  private refusedCount = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes reserved now. */
  get inUse(): number {
    return this.used;
  }

  /** Requests refused since the start. */
  get refused(): number {
    return this.refusedCount;
  }

  /** Reserves `bytes`; the function that gives them back (once), or null when they do not fit. */
  tryReserve(bytes: number): (() => void) | null {
    if (bytes <= 0) return () => {};
    if (this.used + bytes > this.limitBytes) {
      this.refusedCount++;
      return null;
    }
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }
}

function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether the request carries a body at all (a declared length, chunked, or an HTTP/2 stream left open). */
export function hasRequestBody(req: NodeRequest): boolean {
  const length = header(req, "content-length");
  if (length !== undefined) return Number(length) > 0;
  if ("stream" in req) return !(req as Http2ServerRequest).stream.endAfterHeaders;
  return header(req, "transfer-encoding") !== undefined;
}

/** What a request may make its handler buffer: its declared length (capped at `max`), `max` when undeclared, 0 without a body. */
export function bytesToReserve(req: NodeRequest, max: number): number {
  if (!hasRequestBody(req)) return 0;
  const length = Number(header(req, "content-length"));
  return Number.isFinite(length) && length >= 0 ? Math.min(length, max) : max;
}

/**
 * Reserves the request's body bytes from `budget`. True when they fit (they are
 * given back once the body is in or the exchange is over); false when the
 * request must be refused.
 */
export function reserveBody(budget: BodyBudget, req: NodeRequest, res: NodeResponse, max: number): boolean {
  const release = budget.tryReserve(bytesToReserve(req, max));
  if (!release) return false;
  req.once("end", release);
  req.once("close", release);
  res.once("close", release);
  return true;
}
