// Connect clients for the agents of every node: HTTP/2 over TLS 1.3 trusting the
// platform CA, one connection per node (kept alive with PINGs while streams are open),
// the agent token on every call, and a short deadline on unary calls so that a node
// that does not answer is reported unreachable instead of holding up the others.
import { createClient, type CallOptions, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AgentService } from "../../proto/gen/mcp/agent/v1/agent_pb.ts";

export interface NodeRef {
  name: string;
  url: string;
}

export type AgentClient = Client<typeof AgentService>;

export interface AgentPoolOptions {
  nodes: NodeRef[];
  /** The agent token (a function: it is read when a call is made, so `mcp login` is not needed for commands that call nothing). */
  token: () => string;
  timeoutMs: number;
  /** For tests: an in-memory transport per node (createRouterTransport). */
  transport?: (node: NodeRef) => Transport;
  /** PEM of the platform CA. */
  caPem?: string;
}

export class AgentPool {
  readonly nodes: NodeRef[];
  readonly timeoutMs: number;
  private readonly clients = new Map<string, AgentClient>();
  private readonly sessions: Http2SessionManager[] = [];

  constructor(private readonly o: AgentPoolOptions) {
    this.nodes = o.nodes;
    this.timeoutMs = o.timeoutMs;
  }

  node(name: string): NodeRef | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  client(name: string): AgentClient {
    let c = this.clients.get(name);
    if (c) return c;
    const node = this.node(name);
    if (!node) throw new Error(`no node ${JSON.stringify(name)} in the console config`);
    let transport: Transport;
    if (this.o.transport) transport = this.o.transport(node);
    else {
      const tls = { minVersion: "TLSv1.3" as const, ...(this.o.caPem ? { ca: this.o.caPem } : {}) };
      const sessionManager = new Http2SessionManager(node.url, { pingIntervalMs: 10_000, pingTimeoutMs: 5_000 }, tls);
      this.sessions.push(sessionManager);
      // No compression: answers of a few kB every 2-3 s (List, Stats) on an operator's own
      // network cost more to gzip on the agent and gunzip here than they save.
      transport = createConnectTransport({ baseUrl: node.url, httpVersion: "2", sessionManager, nodeOptions: tls, acceptCompression: [] });
    }
    c = createClient(AgentService, transport);
    this.clients.set(name, c);
    return c;
  }

  /** Options for a call: the bearer token (not for `anonymous` Health); unary calls get the node timeout unless `stream`. */
  call(opts: { stream?: boolean; signal?: AbortSignal; timeoutMs?: number; anonymous?: boolean } = {}): CallOptions {
    return {
      ...(opts.anonymous ? {} : { headers: { Authorization: `Bearer ${this.o.token()}` } }),
      ...(opts.stream ? {} : { timeoutMs: opts.timeoutMs ?? this.timeoutMs }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
  }

  /** Closes every connection (and with it every open stream). */
  close(): void {
    for (const s of this.sessions) s.abort();
    this.sessions.length = 0;
    this.clients.clear();
  }
}
