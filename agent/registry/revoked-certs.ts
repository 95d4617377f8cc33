// The certificates of removed nodes (mcr's NodeService/ListNodes, asked with the agent's own
// account every [auth] policy_refresh): a TLS client that presents one is disconnected at the
// handshake, so a removed node's certificate opens nothing here (docs/nodes.md). The last list
// is kept while mcr cannot be asked.
import type { TLSSocket } from "node:tls";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Logger } from "../../lib/log/logger.ts";
import { normalSerial } from "../../lib/tls/serial.ts";
import { NodeService } from "../../proto/gen/mcr/v1/node_pb.ts";
import type { McrSession } from "./mcr-session.ts";

export class RevokedCerts {
  private serials = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private warned = false;
  private readonly list: () => Promise<string[]>;

  constructor(
    session: Pick<McrSession, "token" | "tokenRefused">,
    registryUrl: string,
    caPem: string | undefined,
    private readonly log: Logger,
    /** For tests: an in-memory transport (createRouterTransport). */
    transport?: Transport,
  ) {
    const client = createClient(
      NodeService,
      transport ?? createConnectTransport({ baseUrl: registryUrl, httpVersion: "1.1", nodeOptions: caPem ? { ca: caPem } : {} }),
    );
    this.list = async () => {
      const token = await session.token();
      try {
        return (await client.listNodes({}, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 })).revokedSerials;
      } catch (err) {
        // A token mcr no longer takes (revoked, the password changed) is not asked with again:
        // the next refresh logs in, instead of failing until the token's own renewal time.
        if (err instanceof ConnectError && err.code === Code.Unauthenticated) session.tokenRefused(token);
        throw err;
      }
    };
  }

  async start(refreshMs: number): Promise<void> {
    await this.refresh();
    if (refreshMs <= 0) return;
    this.timer = setInterval(() => void this.refresh(), refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async refresh(): Promise<void> {
    try {
      this.serials = new Set((await this.list()).map(normalSerial));
      this.warned = false;
    } catch (err) {
      if (!this.warned)
        this.log.warn({ err: (err as Error).message, kept: this.serials.size }, "cannot fetch the revoked node certificates; keeping the last list");
      this.warned = true;
    }
  }

  has(serial: string): boolean {
    return this.serials.has(normalSerial(serial));
  }

  /** For 'secureConnection': closes a connection whose client certificate was revoked. */
  check(socket: TLSSocket): void {
    const peer = socket.getPeerCertificate();
    if (!peer?.serialNumber || !this.has(peer.serialNumber)) return;
    this.log.warn({ serial: normalSerial(peer.serialNumber), address: socket.remoteAddress }, "refused a revoked node certificate");
    socket.destroy();
  }
}
