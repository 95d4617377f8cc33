// Client for an MCIAS-compatible identity server over HTTPS (TLS 1.3, 10 s timeout).
import { Agent, request } from "node:https";
import {
  IdentityUnavailableError,
  InvalidCredentialsError,
  RateLimitedError,
  type Claims,
  type IdentityProvider,
  type IssuedToken,
  type LoginRequest,
} from "./types.ts";

export interface RemoteIdentityOptions {
  serverUrl: string;
  /** PEM of the CA that signed the identity server's certificate; the system store when empty. */
  caCert?: string;
  timeoutMs?: number;
}

interface HttpResult {
  status: number;
  body: unknown;
  retryAfter?: string;
}

export class RemoteIdentity implements IdentityProvider {
  private readonly agent: Agent;
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(opts: RemoteIdentityOptions) {
    this.base = new URL(opts.serverUrl);
    if (this.base.protocol !== "https:") throw new Error(`identity server_url must be https: ${opts.serverUrl}`);
    this.agent = new Agent({ keepAlive: true, minVersion: "TLSv1.3", ...(opts.caCert ? { ca: opts.caCert } : {}) });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  private post(path: string, body: unknown, bearer?: string): Promise<HttpResult> {
    const data = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.base),
        {
          method: "POST",
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(data),
            ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => reject(new IdentityUnavailableError(`identity server: ${err.message}`)));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* non-JSON error page: status decides */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, retryAfter: res.headers["retry-after"] });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on("error", (err) => reject(new IdentityUnavailableError(`identity server ${this.base.origin} is unreachable: ${err.message}`)));
      req.end(data);
    });
  }

  async login(r: LoginRequest): Promise<IssuedToken> {
    const res = await this.post("/v1/auth/login", { username: r.username, password: r.password, service_name: r.serviceName, tags: r.tags });
    if (res.status === 401 || res.status === 403) throw new InvalidCredentialsError();
    if (res.status === 429) throw new RateLimitedError(Number(res.retryAfter) || 60);
    const body = res.body as { token?: string; expires_at?: string } | undefined;
    if (res.status !== 200 || !body?.token || !body.expires_at) throw new IdentityUnavailableError(`identity server answered login with HTTP ${res.status}`);
    return { token: body.token, expiresAt: body.expires_at };
  }

  async validate(token: string): Promise<Claims | null> {
    const res = await this.post("/v1/token/validate", { token });
    if (res.status === 401) return null;
    const b = res.body as
      | {
          valid?: boolean;
          subject?: string;
          username?: string;
          account_type?: Claims["accountType"];
          roles?: Claims["roles"];
          expires_at?: string;
          service_name?: string;
        }
      | undefined;
    if (res.status !== 200 || !b) throw new IdentityUnavailableError(`identity server answered validate with HTTP ${res.status}`);
    if (!b.valid || !b.subject) return null;
    return {
      subject: b.subject,
      username: b.username ?? "",
      accountType: b.account_type ?? "human",
      roles: b.roles ?? [],
      expiresAt: b.expires_at ?? "",
      audience: b.service_name ?? "",
    };
  }

  async logout(token: string): Promise<void> {
    const res = await this.post("/v1/auth/logout", { token }, token);
    if (res.status >= 500) throw new IdentityUnavailableError(`identity server answered logout with HTTP ${res.status}`);
  }

  close(): void {
    this.agent.destroy();
  }
}
