// mcr as the console sees it: whether a manifest exists (HEAD, with the registry token).
import { Agent, request } from "node:https";
import { ConsoleError, LOGIN_HINT } from "../output/errors.ts";

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

export interface RegistryApi {
  /** True when `<repository>:<tag>` is in the registry. */
  manifestExists(repository: string, tag: string): Promise<boolean>;
  close(): void;
}

export class RegistryClient implements RegistryApi {
  private readonly agent: Agent;
  constructor(
    private readonly url: string,
    caPem: string | undefined,
    private readonly token: () => string,
    private readonly timeoutMs = 10_000,
  ) {
    this.agent = new Agent({ keepAlive: true, minVersion: "TLSv1.3", ...(caPem ? { ca: caPem } : {}) });
  }

  manifestExists(repository: string, tag: string): Promise<boolean> {
    const headers = { Authorization: `Bearer ${this.token()}`, Accept: ACCEPT };
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(`/v2/${repository}/manifests/${encodeURIComponent(tag)}`, this.url),
        { method: "HEAD", agent: this.agent, headers, timeout: this.timeoutMs },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          if (status === 200) resolve(true);
          else if (status === 404) resolve(false);
          else if (status === 401) reject(new ConsoleError("unauthenticated", `the registry ${this.url} refused the session: ${LOGIN_HINT}`));
          else if (status === 403) reject(new ConsoleError("permission_denied", `the registry ${this.url} does not let this account pull ${repository}`));
          else reject(new ConsoleError("failed", `the registry ${this.url} answered HEAD ${repository}:${tag} with HTTP ${status}`));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on("error", (err) => reject(new ConsoleError("unreachable", `the registry ${this.url} is unreachable: ${err.message}`)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
