// What a request handler may still ask after its connection is gone. Node
// detaches a finished or aborted request from its socket (`req.socket` becomes
// null; a destroyed HTTP/2 session's socket proxy throws), so anything that runs
// late (an access-log line in a 'close' listener, an audit event after a long
// upload, a rate limiter keyed by address) reads the peer's address through
// here, where it was taken while the request was still attached.
//
// And no request may end the process: `isolateRequests` wraps a server's request
// handler so that an exception thrown by it, by the promise it returns or by a
// listener added with `onRequestClose` is logged and answered (or the request
// dropped), never thrown into Node's event loop.
import type { Logger } from "../log/logger.ts";
import type { NodeRequest, NodeResponse } from "./request-limits.ts";

const remotes = new WeakMap<object, string>();

function socketAddress(req: NodeRequest): string {
  try {
    return (req.socket as { remoteAddress?: string } | null | undefined)?.remoteAddress ?? "";
  } catch {
    return "";
  }
}

/** The peer's IP address, as it was when the request arrived ("" when unknown). */
export function remoteAddress(req: NodeRequest): string {
  let addr = remotes.get(req);
  if (addr === undefined) {
    addr = socketAddress(req);
    remotes.set(req, addr);
  }
  return addr;
}

/** True once nobody is left to answer: the response or the connection under it is destroyed. */
export function connectionGone(req: NodeRequest, res: NodeResponse): boolean {
  if (res.destroyed) return true;
  try {
    const s = req.socket as { destroyed?: boolean } | null | undefined;
    return !s || s.destroyed === true;
  } catch {
    return true;
  }
}

/** Calls `fn` when the response closes; an exception in it is logged, not thrown. */
export function onRequestClose(res: NodeResponse, log: Logger, fn: () => void): void {
  res.once("close", () => {
    try {
      fn();
    } catch (err) {
      log.error({ err }, "request close listener failed");
    }
  });
}

/** Errors Node raises on a request whose client aborted or reset the connection. */
function clientAborted(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return e?.code === "ECONNRESET" || e?.code === "ERR_STREAM_PREMATURE_CLOSE" || e?.message === "aborted";
}

export type RequestHandler = (req: NodeRequest, res: NodeResponse) => void | Promise<void>;

/**
 * The server-facing handler: takes the peer's address while the request is
 * attached, and turns any exception (synchronous or from the returned promise)
 * into a 500 answer when none was sent yet, or a dropped request otherwise.
 */
export function isolateRequests<Req extends NodeRequest, Res extends NodeResponse>(
  log: Logger,
  handler: (req: Req, res: Res) => void | Promise<void>,
): (req: Req, res: Res) => void {
  const failed = (req: Req, res: Res, err: unknown) => {
    const where = { method: req.method, path: (req.url ?? "").split("?", 1)[0] };
    // A client that went away mid-body is its own business: any client can cause it, so it
    // is not an error of ours (an error line per aborted request would be log spam at will).
    if (connectionGone(req, res) || clientAborted(err))
      log.debug({ ...where, err: (err as Error).message }, "client went away before its request was answered");
    else log.error({ err, ...where }, "unhandled request failure");
    try {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "internal error" }));
      } else res.destroy();
    } catch {
      // Nothing more can be done for this request.
    }
  };
  return (req, res) => {
    remoteAddress(req);
    try {
      const p = handler(req, res);
      if (p) p.catch((err: unknown) => failed(req, res, err));
    } catch (err) {
      failed(req, res, err);
    }
  };
}
