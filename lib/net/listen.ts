// Starts a server listening on a configured `host:port` (port 0: chosen by the OS).
import type { AddressInfo, Server } from "node:net";
import { splitHostPort } from "../config/load.ts";

export function listenOn(server: Server, listenAddr: string): Promise<AddressInfo> {
  const { host, port } = splitHostPort(listenAddr);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host || undefined, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
