// The local admin socket: the same Connect services as the TLS listener, on a Unix socket
// beside the database (mode 0600, so only the registry's own user can connect: the user
// that can read mcr.db anyway). `mcr gc` and `mcr snapshot` use it to ask a running
// server, so garbage collection's locks are held in one process. Calls are the operator's
// ("cli" in the audit log); no token is involved.
import { chmodSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createConnectTransport } from "@connectrpc/connect-node";
import type { Transport } from "@connectrpc/connect";
import type { Logger } from "../../lib/log/logger.ts";
import { isolateRequests } from "../../lib/net/request-context.ts";
import { localOperatorInterceptor } from "../admin/interceptor.ts";

export interface LocalAdmin {
  path: string;
  close(): Promise<void>;
}

export async function serveLocalAdmin(path: string, routes: (router: ConnectRouter) => void, log: Logger, shutdownSignal?: AbortSignal): Promise<LocalAdmin> {
  rmSync(path, { force: true }); // left by a process that died; the instance lock says it is gone
  const server: Server = createServer(
    isolateRequests(
      log,
      connectNodeAdapter({ routes, interceptors: [localOperatorInterceptor()], shutdownSignal, jsonOptions: { ignoreUnknownFields: false } }),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  log.info({ socket: path }, "local admin socket");
  return {
    path,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      rmSync(path, { force: true });
    },
  };
}

/** A Connect transport to a server's local admin socket. */
export function localTransport(path: string): Transport {
  return createConnectTransport({ baseUrl: "http://localhost", httpVersion: "1.1", nodeOptions: { socketPath: path } });
}
