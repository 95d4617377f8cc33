// The agent's own account at the registry ([registry] username / password_file),
// logged in through the identity server for the service "mcr". The token is kept
// until a minute before it expires; concurrent callers share one login.
import { readFileSync } from "node:fs";
import { RemoteIdentity } from "../../lib/auth/remote.ts";
import type { AgentConfig } from "../config.ts";

/** A token is renewed this long before it expires. */
const RENEW_MS = 60_000;

export class AgentRegistrySession {
  private current: { token: string; until: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly identity: RemoteIdentity;

  constructor(
    private readonly cfg: Pick<AgentConfig, "mcias" | "registry">,
    private readonly now: () => number = Date.now,
  ) {
    this.identity = new RemoteIdentity({ serverUrl: cfg.mcias.server_url, caCert: cfg.mcias.ca_cert ? readFileSync(cfg.mcias.ca_cert, "utf8") : undefined });
  }

  /** A live token of the agent's account for mcr. */
  token(): Promise<string> {
    if (this.current && this.now() < this.current.until) return Promise.resolve(this.current.token);
    this.pending ??= this.login().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets the token (after the registry refused it). */
  invalidate(): void {
    this.current = undefined;
  }

  close(): void {
    this.identity.close();
  }

  private async login(): Promise<string> {
    // Read at each login: an operator may rotate the password without restarting the agent.
    const password = readFileSync(this.cfg.registry.password_file, "utf8").trim();
    const issued = await this.identity.login({ username: this.cfg.registry.username, password, serviceName: "mcr", tags: ["mcp-agent"] });
    this.current = { token: issued.token, until: Date.parse(issued.expiresAt) - RENEW_MS };
    return issued.token;
  }
}
