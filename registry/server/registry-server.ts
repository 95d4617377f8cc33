// The mcr HTTP(S) server: /v2/ (OCI), /v1/ (health, identity, admin REST), /mcr.v1.* (admin
// Connect-RPC), and graceful shutdown.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { listenOn } from "../../lib/net/listen.ts";
import { isolateRequests, onRequestClose, remoteAddress } from "../../lib/net/request-context.ts";
import { answerAndClose, limitRequestTime } from "../../lib/net/request-limits.ts";
import { guardConnections, handshakeTimeout } from "../../lib/net/guard-config.ts";
import { reserveBody } from "../../lib/net/body-budget.ts";
import { refuse } from "../../lib/net/rpc-guard.ts";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../lib/log/logger.ts";
import { serverTlsOptions } from "../../lib/tls/server-options.ts";
import type { RegistryConfig } from "../config.ts";
import { handleIdentityApi, handleTokenEndpoint } from "../identity/http.ts";
import { handleNodeRequest, NODE_PATHS } from "../nodes/http.ts";
import { handlePullTokenRequest, PULL_TOKEN_PATH } from "../identity/pull-token-http.ts";
import { OciError, writeOciError } from "../oci/errors.ts";
import { sendJson } from "../oci/http.ts";
import { handleOci } from "../oci/router.ts";
import { matchRoute } from "../oci/routes.ts";
import { assembleRegistry, type AssembleOptions, type RegistryParts } from "./assemble.ts";
import { checkHealth, healthJson } from "./health.ts";

export interface RunningRegistry {
  server: Server;
  address: AddressInfo;
  /** Stops accepting, waits for in-flight requests up to shutdown_timeout, then closes everything. */
  shutdown(): Promise<void>;
}

/** `opts` is for tests that run the registry in process (an injected clock). */
export async function startRegistry(cfg: RegistryConfig, log: Logger, opts: AssembleOptions = {}): Promise<RunningRegistry> {
  const parts = await assembleRegistry(cfg, log, opts);
  let closing = false;
  let inflight = 0;
  let drained: (() => void) | undefined;

  const connections = guardConnections(cfg.server, log);
  const handler = isolateRequests(log, (req: IncomingMessage, res: ServerResponse) => {
    connections.trackRequest(req, res);
    inflight++;
    const started = performance.now();
    onRequestClose(res, log, () => {
      inflight--;
      const entry = {
        method: req.method,
        path: req.url?.split("?")[0],
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
        remote: remoteAddress(req),
      };
      // Successful reads are the bulk of traffic: keep them at debug.
      if (res.statusCode < 400 && (req.method === "GET" || req.method === "HEAD")) log.debug(entry, "request");
      else log.info(entry, "request");
      if (closing && inflight === 0) drained?.();
    });
    if (closing) res.setHeader("Connection", "close");
    if (cfg.server.write_timeout > 0) res.setTimeout(cfg.server.write_timeout, () => res.destroy());
    if (!isBlobUpload(req)) {
      limitRequestTime(req, res, cfg.server.request_timeout);
      // Blob uploads stream to storage; every other body is buffered, within the budget
      // (RPCs reserve theirs once their token has been checked: rpc-guard).
      if (!isRpc(req) && !reserveBody(parts.bodyBudget.pool, req, res, largestBufferedBody(cfg, req))) {
        parts.bodyBudget.refused();
        return refuseBusy(req, res);
      }
    }
    return route(parts, req, res);
  });

  const server = cfg.server.plain_http
    ? createHttpServer(handler)
    : createHttpsServer({ ...serverTlsOptions(cfg.server.tls_cert, cfg.server.tls_key), ...handshakeTimeout(cfg.server) }, handler);
  server.headersTimeout = cfg.server.read_timeout;
  // Uploads of any size: request_timeout is applied per request, to every route but uploads.
  server.requestTimeout = 0;
  connections.attach(server);
  server.keepAliveTimeout = cfg.server.idle_timeout;
  server.timeout = cfg.server.idle_timeout;
  server.on("clientError", (err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    log.debug({ err: (err as Error).message }, "client error");
  });

  const address = await listenOn(server, cfg.server.listen_addr);
  log.info({ address: address.address, port: address.port, tls: !cfg.server.plain_http }, "mcr listening");

  return {
    server,
    address,
    async shutdown() {
      closing = true;
      parts.endStreams();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inflight > 0) {
        log.info({ inflight, timeout_ms: cfg.server.shutdown_timeout }, "draining in-flight requests");
        const done = new Promise<void>((resolve) => (drained = resolve));
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), cfg.server.shutdown_timeout)));
        if (await Promise.race([done.then(() => false), timedOut])) log.warn({ inflight }, "shutdown timeout: closing remaining connections");
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
      await parts.close();
      log.info("mcr stopped");
    },
  };
}

function isRpc(req: IncomingMessage): boolean {
  return (req.url ?? "").startsWith("/mcr.v1.");
}

/** The most a request's handler may buffer: a manifest, or a JSON message. */
function largestBufferedBody(cfg: RegistryConfig, req: IncomingMessage): number {
  const kind = matchRoute((req.url ?? "/").split("?", 1)[0]!)?.kind;
  return kind === "manifest" ? cfg.storage.max_manifest_bytes : cfg.server.max_rpc_bytes;
}

/** 503 with Retry-After in the route's own dialect (OCI error, Connect error, JSON), without reading the body. */
function refuseBusy(req: IncomingMessage, res: ServerResponse): void {
  const message = "the registry holds as many request bodies as it may: try again shortly";
  const path = (req.url ?? "/").split("?", 1)[0]!;
  if (path.startsWith("/mcr.v1.")) {
    refuse(req, res, new ConnectError(message, Code.Unavailable), { "retry-after": "1" });
    return;
  }
  const body = path.startsWith("/v2/") ? { errors: [{ code: "UNAVAILABLE", message }] } : { error: message };
  answerAndClose(req, res, 503, { "content-type": "application/json", "retry-after": "1" }, Buffer.from(JSON.stringify(body)));
}

/** Blob upload requests (POST, PATCH, PUT of upload sessions): their bodies may take as long as they need. */
function isBlobUpload(req: IncomingMessage): boolean {
  const kind = matchRoute((req.url ?? "/").split("?", 1)[0]!)?.kind;
  return kind === "uploads" || kind === "upload";
}

async function route(parts: RegistryParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  if (path === "/v2" || path.startsWith("/v2/")) {
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    if (path === "/v2/token") {
      if (!parts.identityHttp) return writeOciError(res, new OciError("UNSUPPORTED", "authentication is disabled on this registry", undefined, 404));
      return handleTokenEndpoint(parts.identityHttp, req, res, query);
    }
    const r = matchRoute(path);
    if (!r) return writeOciError(res, new OciError("NAME_UNKNOWN", `no such endpoint ${path.slice(0, 200)}`, undefined, 404));
    return handleOci(parts.oci, req, res, r, query);
  }
  if (path.startsWith("/mcr.v1.")) return parts.rpc(req, res);
  if (path === "/v1/health") {
    const r = await checkHealth(parts.oci.meta, parts.storageHealth, parts.oci.log);
    return sendJson(res, r.ok ? 200 : 503, healthJson(r));
  }
  if (NODE_PATHS.has(path)) return handleNodeRequest(parts.nodeHttp, req, res, path);
  if (path === PULL_TOKEN_PATH && parts.pullTokenHttp) return handlePullTokenRequest(parts.pullTokenHttp, req, res);
  if (path.startsWith("/v1/") && parts.identityHttp && (await handleIdentityApi(parts.identityHttp, req, res, path))) return;
  if (path.startsWith("/v1/") && (await parts.rest(req, res, path, query))) return;
  if (path.startsWith("/v1/auth/") || path === "/v1/token/validate") return sendJson(res, 404, { error: "authentication is disabled on this registry" });
  sendJson(res, 404, { error: `no such endpoint ${path.slice(0, 200)}` });
}
