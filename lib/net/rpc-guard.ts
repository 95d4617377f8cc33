// The front of both daemons' Connect-RPC handlers. connect-es reads (and
// decompresses) a request's whole body before any interceptor runs, so two
// checks happen here, on the headers alone:
// - an RPC that needs a token and carries no bearer token at all is answered
//   Unauthenticated without reading its body (a token that is present but
//   invalid is still the interceptor's business, after at most the limit);
// - a Content-Length above the limit is answered ResourceExhausted at once.
// Bodies without a Content-Length are cut by connect-es's readMaxBytes, which
// is also applied to the output of gzip/brotli decompression.
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, endStreamFlag, endStreamToJson, errorToJsonBytes, parseContentType as parseConnect } from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpc, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWeb } from "@connectrpc/connect/protocol-grpc-web";
import { answerAndClose, type NodeHandler, type NodeRequest, type NodeResponse } from "./request-limits.ts";

/** Default largest RPC message, in bytes, after decompression. */
export const DEFAULT_RPC_MAX_BYTES = 1024 * 1024;

/** gRPC, gRPC-web and Connect streaming frame a message in a 5-byte envelope. */
const ENVELOPE_BYTES = 5;

export interface RpcGuardOptions {
  /** Largest request message (readMaxBytes); the body may be this plus one envelope. */
  maxMessageBytes: number;
  /** False when authentication is disabled: no token is asked for. */
  requireToken: boolean;
  /** Paths ("/pkg.Service/Method") callable without a token, such as Health. */
  publicPaths: ReadonlySet<string>;
}

function header(req: NodeRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Wraps a Connect node handler with the pre-body checks. */
export function guardRpc(handler: NodeHandler, opts: RpcGuardOptions): NodeHandler {
  const maxBody = opts.maxMessageBytes + ENVELOPE_BYTES;
  return (req: NodeRequest, res: NodeResponse) => {
    const path = (req.url ?? "").split("?", 1)[0]!;
    if (opts.requireToken && !opts.publicPaths.has(path) && !/^Bearer\s+\S/i.test(header(req, "authorization") ?? "")) {
      return refuse(req, res, new ConnectError("a bearer token is required", Code.Unauthenticated));
    }
    const length = Number(header(req, "content-length") ?? 0);
    if (length > maxBody) {
      return refuse(req, res, new ConnectError(`request body of ${length} bytes is larger than the limit of ${maxBody} bytes`, Code.ResourceExhausted));
    }
    handler(req, res);
  };
}

function refuse(req: NodeRequest, res: NodeResponse, err: ConnectError): void {
  const r = rpcErrorResponse(header(req, "content-type") ?? null, err);
  answerAndClose(req, res, r.status, r.headers, r.body);
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
export function guardedConnectHandler(o: GuardedConnectOptions): NodeHandler {
  const inner = connectNodeAdapter({ routes: o.routes, interceptors: o.interceptors, readMaxBytes: o.maxMessageBytes, jsonOptions: { ignoreUnknownFields: false }, shutdownSignal: o.shutdownSignal });
  return guardRpc(inner as NodeHandler, o);
}
