// Connect clients for the agents of every node: HTTP/2 over TLS 1.3 trusting the
// platform CA, one connection per node (kept alive with PINGs while streams are open),
// the agent token on every call, and a short deadline on unary calls so that a node
// that does not answer is reported unreachable instead of holding up the others.
// The nodes can change while the pool is in use (the platform's node list, store/platform.ts):
// a node that goes has its connection closed. A peer whose certificate serial is in the
// revoked list (a removed node's) is refused during the TLS handshake.
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { createClient, type CallOptions, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { normalSerial } from "../../lib/tls/serial.ts";
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
  /** The serials to refuse until the registry's list is read (the last one kept, clients/revoked-list.ts). */
  revoked?: string[];
}

export class AgentPool {
  /** The nodes of the console config, as the pool was made. */
  readonly configNodes: NodeRef[];
  readonly timeoutMs: number;
  private list: NodeRef[];
  private readonly clients = new Map<string, AgentClient>();
  private readonly sessions = new Map<string, Http2SessionManager>();
  private revoked = new Set<string>();
  /** The serial each node's agent presented at its connection's handshake. */
  private readonly served = new Map<string, string>();

  constructor(private readonly o: AgentPoolOptions) {
    this.configNodes = o.nodes;
    this.list = o.nodes;
    this.timeoutMs = o.timeoutMs;
    this.revoked = new Set((o.revoked ?? []).map(normalSerial));
  }

  /** The nodes the console talks to now. */
  get nodes(): NodeRef[] {
    return this.list;
  }

  node(name: string): NodeRef | undefined {
    return this.list.find((n) => n.name === name);
  }

  /**
   * Opens the TLS connections to `names` ahead of the first call, nothing sent on them: a
   * command that waits for the registry's node list first has them ready when it comes. A
   * connection to a node whose certificate that list revokes is closed then (setRevoked).
   */
  warm(names: string[]): void {
    for (const name of names) {
      if (!this.node(name) || this.o.transport) continue;
      this.client(name);
      void this.sessions.get(name)?.connect();
    }
  }

  client(name: string): AgentClient {
    let c = this.clients.get(name);
    if (c) return c;
    const node = this.node(name);
    if (!node) throw new Error(`no node ${JSON.stringify(name)} in the console config or the platform's nodes`);
    let transport: Transport;
    if (this.o.transport) transport = this.o.transport(node);
    else {
      const tls = {
        minVersion: "TLSv1.3" as const,
        ...(this.o.caPem ? { ca: this.o.caPem } : {}),
        checkServerIdentity: (host: string, cert: PeerCertificate) => this.checkPeer(node.name, host, cert),
      };
      const sessionManager = new Http2SessionManager(node.url, { pingIntervalMs: 10_000, pingTimeoutMs: 5_000 }, tls);
      this.sessions.set(name, sessionManager);
      // No compression: answers of a few kB every 2-3 s (List, Stats) on an operator's own
      // network cost more to gzip on the agent and gunzip here than they save.
      transport = createConnectTransport({ baseUrl: node.url, httpVersion: "2", sessionManager, nodeOptions: tls, acceptCompression: [] });
    }
    c = createClient(AgentService, transport);
    this.clients.set(name, c);
    return c;
  }

  /** The host name check of every TLS client, then the revoked list: a removed node's certificate is refused. */
  private checkPeer(node: string, host: string, cert: PeerCertificate): Error | undefined {
    const err = checkServerIdentity(host, cert);
    if (err) return err;
    const serial = normalSerial(cert.serialNumber ?? "");
    if (this.revoked.has(serial))
      return Object.assign(new Error(`its certificate (serial ${serial}) was revoked: the node was removed from the platform`), {
        code: "ERR_TLS_CERT_REVOKED",
      });
    this.served.set(node, serial);
    return undefined;
  }

  /**
   * Replaces the nodes. A node that is gone, or whose URL changed, has its connection (and
   * every stream on it) closed. Says which names came and went.
   */
  setNodes(nodes: NodeRef[]): { added: string[]; removed: string[] } {
    const before = new Map(this.list.map((n) => [n.name, n.url]));
    const after = new Map(nodes.map((n) => [n.name, n.url]));
    for (const [name, url] of before) if (after.get(name) !== url) this.drop(name);
    this.list = nodes;
    return { added: [...after.keys()].filter((n) => !before.has(n)), removed: [...before.keys()].filter((n) => !after.has(n)) };
  }

  /** The serials refused now. */
  get revokedSerials(): string[] {
    return [...this.revoked];
  }

  /**
   * The certificate serials to refuse (the registry's revoked list). A connection open to a
   * node whose certificate is now among them is closed: its next call connects again, and is refused.
   */
  setRevoked(serials: string[]): void {
    this.revoked = new Set(serials.map(normalSerial));
    for (const [node, serial] of this.served) if (this.revoked.has(serial)) this.drop(node);
  }

  private drop(name: string): void {
    this.sessions.get(name)?.abort();
    this.sessions.delete(name);
    this.clients.delete(name);
    this.served.delete(name);
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
    for (const s of this.sessions.values()) s.abort();
    this.sessions.clear();
    this.clients.clear();
    this.served.clear();
  }
}
