// An in-memory mcr NodeService (createRouterTransport) for the console's node tests: nodes
// that are pending or joined, AddNode and RemoveNode refused without the admin role (the
// registry's message), a registry that can be taken down; and a store whose config has some
// nodes while in-memory agents answer for those and the platform's.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";
import { NodeSchema, NodeService, type AddNodeRequest, type Node } from "../../proto/gen/mcr/v1/node_pb.ts";
import { AgentPool } from "../../console/clients/agents.ts";
import { mcrAdmin } from "../../console/clients/mcr-admin.ts";
import { ConsoleError } from "../../console/output/errors.ts";
import { type AgentImpl, fixtureStore } from "./tui-fixture.ts";

export const TOKEN = `MCPJOIN-1-${"a".repeat(64)}-${"b".repeat(64)}`;
const DAY = 86_400_000;

/** A joined node whose certificate was issued `ageDays` ago and lives `lifeDays`. */
export function joined(name: string, url: string, ageDays = 10, lifeDays = 90, serial = "1A2B"): Node {
  const now = Date.now();
  return create(NodeSchema, {
    name,
    url,
    state: "joined",
    account: `node-${name}`,
    hostnames: [new URL(url).hostname],
    createdAt: new Date(now - ageDays * DAY - 60_000).toISOString(),
    joinedAt: new Date(now - ageDays * DAY).toISOString(),
    certSerial: serial,
    certIssuedAt: new Date(now - ageDays * DAY).toISOString(),
    // A minute more, so that "in 80d0h" is what a test a little later still reads.
    certExpiresAt: new Date(now + (lifeDays - ageDays) * DAY + 60_000).toISOString(),
    createdBy: "admin-id",
  });
}

export function pending(name: string, url = `https://${name}:9444`, tokenMs = 3_600_000): Node {
  return create(NodeSchema, {
    name,
    url,
    state: "pending",
    createdAt: new Date().toISOString(),
    tokenExpiresAt: new Date(Date.now() + tokenMs).toISOString(),
    createdBy: "admin-id",
  });
}

export function fakeNodeService(opts: { admin?: boolean; nodes?: Node[]; revoked?: string[] } = {}) {
  const nodes = new Map((opts.nodes ?? []).map((n) => [n.name, n]));
  const revoked = [...(opts.revoked ?? [])];
  const added: AddNodeRequest[] = [];
  const removed: string[] = [];
  let down = false;
  let lists = 0;
  let held: Promise<void> | null = null;
  const admin = () => {
    if (opts.admin === false) throw new ConnectError("permission denied: adding and removing nodes needs the admin role", Code.PermissionDenied);
  };
  const transport = createRouterTransport(({ service }) => {
    service(NodeService, {
      listNodes: async () => {
        lists++;
        await held;
        if (down) throw new ConnectError("connect ECONNREFUSED 127.0.0.1:8443", Code.Unavailable);
        return { nodes: [...nodes.values()], revokedSerials: revoked };
      },
      addNode: (req) => {
        admin();
        if (nodes.has(req.name)) throw new ConnectError(`node ${req.name} exists`, Code.AlreadyExists);
        added.push(req);
        const node = pending(req.name, req.url || `https://${req.name}:9444`, (req.expiresSeconds || 3600) * 1000);
        node.hostnames = [new URL(node.url).hostname, ...req.hostnames];
        nodes.set(req.name, node);
        return { node, token: TOKEN };
      },
      removeNode: (req) => {
        admin();
        const node = nodes.get(req.name);
        if (!node) throw new ConnectError(`no node ${req.name}`, Code.NotFound);
        nodes.delete(req.name);
        removed.push(req.name);
        const serials = node.certSerial ? [node.certSerial] : [];
        revoked.push(...serials);
        return { node, revokedSerials: serials };
      },
    });
  });
  const client = mcrAdmin({ url: "https://mcr.test:8443", token: () => "t", transport });
  return {
    client,
    nodes,
    revoked,
    added,
    removed,
    lists: () => lists,
    setDown: (v: boolean) => void (down = v),
    /** ListNodes answers only once the function returned is called. */
    hold: () => {
      let release = (): void => undefined;
      held = new Promise<void>((r) => (release = r));
      return () => ((held = null), release());
    },
  };
}

/**
 * A store whose config names `config` (node → URL) and whose registry is `nodes` (absent: no
 * [registry] url; "logged-out": one that refuses to be asked without a session). `agents` answer
 * for every node, configured or joined.
 */
export function platformStore(
  agents: Record<string, AgentImpl>,
  config: Record<string, string>,
  nodes: ReturnType<typeof fakeNodeService> | "logged-out" | null,
  definitions: Record<string, string> = {},
) {
  const seen: string[] = [];
  const pool = new AgentPool({
    nodes: Object.entries(config).map(([name, url]) => ({ name, url })),
    token: () => "t",
    timeoutMs: 500,
    transport: (n) => (seen.push(`${n.name} ${n.url}`), createRouterTransport(({ service }) => service(AgentService, agents[n.name]!))),
  });
  const refusing = mcrAdmin({
    url: "https://mcr.test:8443",
    token: () => {
      throw new ConsoleError("unauthenticated", "not logged in to https://mcr.test:8443: run `mcp login`");
    },
    transport: createRouterTransport(() => undefined),
  });
  const mcr = nodes === "logged-out" ? refusing : nodes?.client;
  const fx = fixtureStore(agents, definitions, { agents: pool, ...(mcr ? { mcrAdmin: () => mcr } : {}) });
  return { ...fx, pool, transports: seen };
}
