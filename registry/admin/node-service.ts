// NodeService: register, list and remove the platform's nodes (registry/nodes/registrar.ts).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { NodeSchema, type Node, type NodeService } from "../../proto/gen/mcr/v1/node_pb.ts";
import { NodeError, type NodeRegistrar } from "../nodes/registrar.ts";
import type { NodeRecord } from "../nodes/store.ts";
import { callerKey } from "./interceptor.ts";

const CODES: Record<NodeError["kind"], Code> = {
  invalid: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  exists: Code.AlreadyExists,
  unavailable: Code.FailedPrecondition,
};

export function toProtoNode(n: NodeRecord, accountName?: string): Node {
  return create(NodeSchema, {
    name: n.name,
    url: n.url,
    state: n.state,
    account: n.state === "joined" ? (accountName ?? "") : "",
    hostnames: n.hostnames,
    createdAt: n.createdAt,
    joinedAt: n.joinedAt ?? "",
    tokenExpiresAt: n.state === "pending" ? (n.tokenExpiresAt ?? "") : "",
    certSerial: n.cert?.serial ?? "",
    certIssuedAt: n.cert?.issuedAt ?? "",
    certExpiresAt: n.cert?.expiresAt ?? "",
    createdBy: n.createdBy,
  });
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NodeError) throw new ConnectError(err.message, CODES[err.kind]);
    throw err;
  }
}

const actor = (ctx: HandlerContext) => ctx.values.get(callerKey)?.subject ?? "cli";
const accountOf = (n: NodeRecord) => (n.state === "joined" ? `node-${n.name}` : "");

export function nodeService(registrar: NodeRegistrar): ServiceImpl<typeof NodeService> {
  return {
    addNode: (req, ctx) =>
      guard(async () => {
        const r = await registrar.add({ name: req.name, url: req.url, hostnames: req.hostnames, expiresMs: req.expiresSeconds * 1000 }, actor(ctx));
        return { node: toProtoNode(r.node), token: r.token };
      }),
    listNodes: () =>
      guard(async () => {
        const r = await registrar.list();
        return { nodes: r.nodes.map((n) => toProtoNode(n, accountOf(n))), revokedSerials: r.revoked };
      }),
    removeNode: (req, ctx) =>
      guard(async () => {
        const r = await registrar.remove(req.name, actor(ctx));
        return { node: toProtoNode(r.node, accountOf(r.node)), revokedSerials: r.revoked };
      }),
  };
}
