// The front of both daemons' Connect-RPC handlers. connect-es reads (and
// decompresses) a request's whole body before any interceptor runs, so these
// checks happen here, before a byte of the body is read:
// - an RPC that needs a token and carries no bearer token is answered
//   Unauthenticated;
// - a Content-Length above the limit is answered ResourceExhausted;
// - a bearer token is validated (through the daemon's cached identity), and an
//   unknown, expired or revoked one is answered Unauthenticated: a made-up
//   token buys no buffered body. The interceptor still checks audience and role.
// Bodies without a Content-Length are cut by connect-es's readMaxBytes, which
// is also applied to the output of gzip/brotli decompression.
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, endStreamToJson, errorToJsonBytes, parseContentType as parseConnect } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpc, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWeb } from "@connectrpc/connect/protocol-grpc-web";
import { bearerToken } from "../auth/cache.ts";
import { reserveBody, type BodyBudget } from "./body-budget.ts";
import { markAuthenticated } from "./connection-guard.ts";
import { answerAndClose, type NodeHandler, type NodeRequest, type NodeResponse } from "./request-limits.ts";

/** Default largest RPC message, in bytes, after decompression. */
export const DEFAULT_RPC_MAX_BYTES = 1024 * 1024;

/** gRPC, gRPC-web and Connect streaming frame a message in a 5-byte envelope. */
export const RPC_ENVELOPE_BYTES = 5;

export interface RpcGuardOptions {
  /** Largest request message (readMaxBytes); the body may be this plus one envelope. */
  maxMessageBytes: number;
  /** False when authentication is disabled: no token is asked for. */
  requireToken: boolean;
  /** Paths ("/pkg.Service/Method") callable without a token, such as Health. */
  publicPaths: ReadonlySet<string>;
  /**
   * Whether a bearer token is one the identity server knows (cached). Throws
   * when it cannot tell (the identity server is down): answered Unavailable.
   */
  /** The token's subject (account) when the identity server knows the token, else null. */
  tokenSubject?: (token: string) => Promise<string | null>;
  /**
   * The daemon's budget of buffered request bytes: a call that passed the token
   * check reserves its body's bytes here, or is answered Unavailable (503) with
   * Retry-After; `refused` is told of each refusal.
   */
  budget?: { pool: BodyBudget; refused(): void };
}

function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export type GuardedHandler = (req: NodeRequest, res: NodeResponse) => void | Promise<void>;

/** Wraps a Connect node handler with the pre-body checks. */
export function guardRpc(handler: NodeHandler, opts: RpcGuardOptions): GuardedHandler {
  const maxBody = opts.maxMessageBytes + RPC_ENVELOPE_BYTES;
  return (req: NodeRequest, res: NodeResponse) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    const needsToken = opts.requireToken && !opts.publicPaths.has(path);
    const token = bearerToken(header(req, "authorization"));
    if (needsToken && !token) return refuse(req, res, new ConnectError("a bearer token is required", Code.Unauthenticated));
    const length = Number(header(req, "content-length") ?? 0);
    if (length > maxBody) {
      return refuse(req, res, new ConnectError(`request body of ${length} bytes is larger than the limit of ${maxBody} bytes`, Code.ResourceExhausted));
    }
    const admit = () => {
      if (opts.budget && !reserveBody(opts.budget.pool, req, res, maxBody)) {
        opts.budget.refused();
        return refuse(req, res, new ConnectError("the server holds as many request bodies as it may: try again shortly", Code.Unavailable), {
          "retry-after": "1",
        });
      }
      return handler(req, res);
    };
    if (!needsToken || !opts.tokenSubject) return admit();
    return opts.tokenSubject(token!).then(
      (subject) => {
        if (subject === null) return refuse(req, res, new ConnectError("invalid or expired token", Code.Unauthenticated));
        markAuthenticated(req);
        return admit();
      },
      (err: Error) => refuse(req, res, new ConnectError(`cannot validate the token: ${err.message}`, Code.Unavailable)),
    );
  };
}

/** Answers `err` in the request's protocol and stops reading its body. */
export function refuse(req: NodeRequest, res: NodeResponse, err: ConnectError, extraHeaders: Record<string, string> = {}): void {
  const r = rpcErrorResponse(header(req, "content-type") ?? null, err);
  answerAndClose(req, res, r.status, { ...r.headers, ...extraHeaders }, r.body);
}

/** An error answer in the request's protocol: Connect unary or streaming, gRPC, gRPC-web. */
export function rpcErrorResponse(contentType: string | null, err: ConnectError): { status: number; headers: Record<string, string>; body: Uint8Array } {
  if (contentType && (parseGrpc(contentType) || parseGrpcWeb(contentType))) {
    // A trailers-only answer: the status travels in the headers.
    const trailer = setTrailerStatus(new Headers(), err);
    return { status: 200, headers: { "content-type": contentType, ...Object.fromEntries(trailer) }, body: new Uint8Array(0) };
  }
  if (parseConnect(contentType)?.stream) {
    const json = JSON.stringify(endStreamToJson(new Headers(), err, undefined));
    return { status: 200, headers: { "content-type": contentType! }, body: encodeEnvelope(endStreamFlag, new TextEncoder().encode(json)) };
  }
  return { status: codeToHttpStatus(err.code), headers: { "content-type": "application/json" }, body: errorToJsonBytes(err, undefined) };
}

export interface GuardedConnectOptions extends RpcGuardOptions {
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Aborting it ends streaming RPCs (their context's signal), so a shutdown need not wait for them. */
  shutdownSignal?: AbortSignal;
}

/**
 * connectNodeAdapter with readMaxBytes set, behind guardRpc: what both daemons serve.
 * connect-es ignores unknown JSON fields by default (protobuf's JSON mapping rejects them):
 * a Sync with its list misspelled `definitions` would succeed doing nothing. Here they are
 * an InvalidArgument that names the field.
 */
export function guardedConnectHandler(o: GuardedConnectOptions): GuardedHandler {
  const inner = connectNodeAdapter({
    routes: o.routes,
    interceptors: o.interceptors,
    readMaxBytes: o.maxMessageBytes,
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: o.shutdownSignal,
  });
  return guardRpc(inner as NodeHandler, o);
}
