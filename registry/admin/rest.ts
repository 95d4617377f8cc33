// REST equivalents of the admin RPCs under /v1/, for curl users. Each
// route calls the same implementation as its RPC, with the same authorization; bodies
// and answers are the messages' proto3 JSON with snake_case names (64-bit numbers are
// strings, as in that mapping). Errors are {"error": "..."} with the RPC code's HTTP status.
import type { IncomingMessage, ServerResponse } from "node:http";
import { create, fromJson, toJson, type DescMessage, type DescService, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, createHandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import type { IdentityProvider } from "../../lib/auth/types.ts";
import type { Logger } from "../../lib/log/logger.ts";
import { AdminService } from "../../proto/gen/mcr/v1/admin_pb.ts";
import { AuditService } from "../../proto/gen/mcr/v1/audit_pb.ts";
import { GcService } from "../../proto/gen/mcr/v1/gc_pb.ts";
import { PolicyService } from "../../proto/gen/mcr/v1/policy_pb.ts";
import { NodeService } from "../../proto/gen/mcr/v1/node_pb.ts";
import { RegistryService } from "../../proto/gen/mcr/v1/registry_pb.ts";
import { OciError } from "../oci/errors.ts";
import { hasBody, readBody, sendEmpty, sendJson } from "../oci/http.ts";
import { answerAndClose } from "../../lib/net/request-limits.ts";
import { authorizeCall, callerKey } from "./interceptor.ts";
import { parseVerify, type VerifySample } from "../gc/verify.ts";

/** The request message's JSON; undefined members (absent parameters) are dropped. */
type Input = (m: RegExpExecArray, q: URLSearchParams, body: JsonObject) => Record<string, JsonValue | undefined>;

interface RestRoute {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  re: RegExp;
  service: DescService;
  rpc: string;
  input: Input;
  status?: number;
  /** Reshapes the answer's JSON (the documented REST forms, docs/operations.md). */
  output?: (json: JsonObject) => JsonValue | undefined;
}

/** An integer query parameter, or 400. */
function int(q: URLSearchParams, key: string): number | undefined {
  const v = q.get(key);
  if (v === null || v === "") return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new ConnectError(`${key} must be a non-negative integer`, Code.InvalidArgument);
  return Number(v);
}

const str = (q: URLSearchParams, key: string) => q.get(key) ?? undefined;

/** `?verify=N` or `?verify=all` of GET /v1/check, or 400. */
function verifyInput(q: URLSearchParams): Record<string, JsonValue | undefined> {
  const v = q.get("verify");
  if (v === null || v === "") return {};
  let sample: VerifySample;
  try {
    sample = parseVerify(v, "verify");
  } catch (err) {
    throw new ConnectError((err as Error).message, Code.InvalidArgument);
  }
  return sample === "all" ? { verify_all: true } : { verify_count: sample };
}
const none: Input = () => ({});

export const REST_ROUTES: RestRoute[] = [
  {
    method: "GET",
    re: /^\/v1\/repositories$/,
    service: RegistryService,
    rpc: "listRepositories",
    input: (_m, q) => ({ limit: int(q, "n"), page_token: str(q, "last") }),
  },
  {
    method: "GET",
    re: /^\/v1\/repositories\/(.+)\/manifests\/([^/]+)$/,
    service: RegistryService,
    rpc: "getManifest",
    input: (m) => ({ repository: m[1]!, reference: decodeURIComponent(m[2]!) }),
  },
  {
    method: "DELETE",
    re: /^\/v1\/repositories\/(.+)\/tags\/([^/]+)$/,
    service: RegistryService,
    rpc: "deleteTag",
    input: (m) => ({ repository: m[1]!, tag: m[2]! }),
  },
  { method: "GET", re: /^\/v1\/repositories\/(.+)$/, service: RegistryService, rpc: "getRepository", input: (m) => ({ name: m[1]! }) },
  { method: "DELETE", re: /^\/v1\/repositories\/(.+)$/, service: RegistryService, rpc: "deleteRepository", input: (m) => ({ name: m[1]! }) },
  { method: "GET", re: /^\/v1\/policy\/rules$/, service: PolicyService, rpc: "listRules", input: none },
  {
    method: "POST",
    re: /^\/v1\/policy\/rules$/,
    service: PolicyService,
    rpc: "createRule",
    input: (_m, _q, body) => ({ rule: body }),
    status: 201,
    output: (j) => j.rule,
  },
  { method: "GET", re: /^\/v1\/policy\/rules\/(\d{1,15})$/, service: PolicyService, rpc: "getRule", input: (m) => ({ id: m[1]! }), output: (j) => j.rule },
  {
    method: "PATCH",
    re: /^\/v1\/policy\/rules\/(\d{1,15})$/,
    service: PolicyService,
    rpc: "updateRule",
    input: (m, _q, body) => ({ ...body, id: m[1]! }),
    output: (j) => j.rule,
  },
  { method: "DELETE", re: /^\/v1\/policy\/rules\/(\d{1,15})$/, service: PolicyService, rpc: "deleteRule", input: (m) => ({ id: m[1]! }), status: 204 },
  {
    method: "GET",
    re: /^\/v1\/audit$/,
    service: AuditService,
    rpc: "listEvents",
    input: (_m, q) => ({
      type: str(q, "event_type"),
      actor: str(q, "actor_id"),
      repository: str(q, "repository"),
      since: str(q, "since"),
      until: str(q, "until"),
      limit: int(q, "n"),
      offset: int(q, "offset"),
    }),
    output: (j) => j.events ?? [],
  },
  { method: "POST", re: /^\/v1\/gc$/, service: GcService, rpc: "start", input: (_m, _q, body) => ({ options: body }), status: 202, output: (j) => j.run },
  {
    method: "GET",
    re: /^\/v1\/gc\/status$/,
    service: GcService,
    rpc: "status",
    input: none,
    output: (j) => ({ running: j.current !== undefined, current: j.current ?? null, last_run: j.last ?? null }),
  },
  { method: "GET", re: /^\/v1\/nodes$/, service: NodeService, rpc: "listNodes", input: none },
  { method: "POST", re: /^\/v1\/nodes$/, service: NodeService, rpc: "addNode", input: (_m, _q, body) => body, status: 201 },
  { method: "DELETE", re: /^\/v1\/nodes\/([a-z0-9][a-z0-9_.-]{0,62})$/, service: NodeService, rpc: "removeNode", input: (m) => ({ name: m[1]! }) },
  { method: "POST", re: /^\/v1\/snapshot$/, service: AdminService, rpc: "snapshot", input: none, status: 201 },
  { method: "GET", re: /^\/v1\/check$/, service: AdminService, rpc: "check", input: (_m, q) => verifyInput(q) },
];

export interface RestDeps {
  identity: IdentityProvider | null;
  serviceName: string;
  impls: [DescService, ServiceImpl<DescService>][];
  maxBodyBytes: number;
  log: Logger;
}

/** Handles a /v1/ admin route; false when `path` is none of them. */
export async function handleAdminRest(d: RestDeps, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<boolean> {
  const matches = REST_ROUTES.map((r) => ({ r, m: r.re.exec(path) })).filter((x) => x.m !== null);
  if (matches.length === 0) return false;
  const hit = matches.find((x) => x.r.method === req.method);
  if (!hit) {
    const allow = [...new Set(matches.map((x) => x.r.method))].join(", ");
    sendJson(res, 405, { error: `${req.method} is not supported on ${path.slice(0, 200)}; use ${allow}` }, { Allow: allow });
    return true;
  }
  const { r, m } = hit;
  const method = r.service.methods.find((x) => x.localName === r.rpc)!;
  let bodyRead = false;
  try {
    const claims = await authorizeCall(
      d.identity,
      d.serviceName,
      `${r.service.typeName}/${method.name}`,
      new Headers({ authorization: req.headers.authorization ?? "" }),
    );
    let body: JsonObject = {};
    if (req.method === "POST" || req.method === "PATCH") {
      bodyRead = true;
      body = await readJsonObject(req, d.maxBodyBytes);
    }
    let input: MessageOf;
    try {
      // Undefined (absent query parameters) is not JSON: drop it.
      input = fromJson(method.input, JSON.parse(JSON.stringify(r.input(m!, query, body))) as JsonValue);
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      throw new ConnectError(`invalid request: ${(err as Error).message}`, Code.InvalidArgument);
    }
    const impl = d.impls.find(([s]) => s.typeName === r.service.typeName)?.[1];
    if (!impl) throw new ConnectError(`${r.service.typeName} is not served here`, Code.Unimplemented);
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    const ctx = createHandlerContext({
      service: r.service,
      method,
      protocolName: "rest",
      requestMethod: req.method!,
      url: path,
      requestSignal: abort.signal,
      contextValues: createContextValues().set(callerKey, claims),
    });
    const fn = (impl as unknown as Record<string, (req: unknown, ctx: unknown) => Promise<object>>)[r.rpc]!;
    const out = create(method.output as DescMessage, (await fn(input, ctx)) as never);
    if (r.status === 204) return (void sendEmpty(res, 204), true);
    const json = toJson(method.output as DescMessage, out, { useProtoFieldName: true, alwaysEmitImplicit: true }) as JsonObject;
    sendJson(res, r.status ?? 200, r.output ? (r.output(json) ?? null) : json);
  } catch (err) {
    const e = ConnectError.from(err);
    if (e.code === Code.Unknown || e.code === Code.Internal) d.log.error({ err, path }, "admin REST request failed");
    const status = e.code === Code.ResourceExhausted ? 413 : codeToHttpStatus(e.code); // Connect says 429; a body too large is 413 in HTTP
    const answer = JSON.stringify({ error: e.code === Code.Unknown ? "internal error" : e.rawMessage });
    // Refused before its body was read (no token, not an admin, too large): answer and close,
    // so that a large body is not read just to be thrown away.
    if ((!bodyRead && hasBody(req)) || e.code === Code.ResourceExhausted)
      answerAndClose(req, res, status, { "content-type": "application/json; charset=utf-8" }, Buffer.from(answer));
    else sendJson(res, status, JSON.parse(answer));
  }
  return true;
}

type MessageOf = ReturnType<typeof fromJson>;

async function readJsonObject(req: IncomingMessage, max: number): Promise<JsonObject> {
  let raw: Buffer;
  try {
    raw = await readBody(req, max, "request body", "SIZE_INVALID");
  } catch (err) {
    if (err instanceof OciError) throw new ConnectError(err.message, err.status === 413 ? Code.ResourceExhausted : Code.InvalidArgument);
    throw err;
  }
  if (raw.length === 0) return {};
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ConnectError("request body is not valid JSON", Code.InvalidArgument);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new ConnectError("request body must be a JSON object", Code.InvalidArgument);
  return doc as JsonObject;
}
