// One podman as the agent drives it: its API (through a `podman system service` the agent
// runs, or a socket the operator runs, such as the podman.socket unit) plus its CLI for
// registry calls. provider.ts makes one for the agent's own podman and one per service user.
import type { Logger } from "../../lib/log/logger.ts";
import { PodmanApiRuntime } from "./podman-api.ts";
import { PodmanCli } from "./podman-cli.ts";
import { PodmanClient } from "./podman-client.ts";
import { PodmanService } from "./podman-service.ts";
import type { Runtime } from "./runtime.ts";

export interface PodmanNodeOptions {
  command: string;
  env?: NodeJS.ProcessEnv;
  wrapper?: string[];
  /** Where the API socket is (or will be). */
  socketPath: string;
  /** The socket is the operator's (e.g. podman.socket): use it, start nothing. */
  external?: boolean;
  what: string;
  log: Logger;
}

export interface PodmanNode {
  runtime: Runtime;
  /** Stops the API service the agent started (none for an external socket). */
  stop(): Promise<void>;
}

export function podmanNode(o: PodmanNodeOptions): PodmanNode {
  const client = new PodmanClient(o.socketPath, o.what);
  const cli = new PodmanCli({ command: o.command, env: o.env, wrapper: o.wrapper });
  if (o.external) return { runtime: new PodmanApiRuntime(client, cli), stop: async () => undefined };
  const service = new PodmanService({ command: o.command, env: o.env, wrapper: o.wrapper, socketPath: o.socketPath, what: o.what, log: o.log }, client);
  return { runtime: new PodmanApiRuntime(client, cli, () => service.ready()), stop: () => service.stop() };
}
