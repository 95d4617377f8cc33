// The agent's session with mcr under its own registry account ([registry] username and
// password_file): a registry token from the identity server, kept until shortly before it
// expires, and from it pull tokens — one repository, read-only, about a minute — which are
// all a service user's podman ever gets (docs/security.md). The password stays in the agent.
import { readFile } from "node:fs/promises";
import { Agent, request } from "node:https";
import { RemoteIdentity } from "../../lib/auth/remote.ts";
import type { IdentityProvider, IssuedToken } from "../../lib/auth/types.ts";

/** The service name mcr takes tokens for (its `[mcias] service_name`). */
export const REGISTRY_SERVICE_NAME = "mcr";
/** A registry token is renewed this long before it expires (or at half its life, if shorter). */
const RENEW_BEFORE_MS = 5 * 60_000;

export interface McrSessionOptions {
  /** host:port of mcr, as images name it. */
  registryHost: string;
  /** PEM of the CA that signed mcr's certificate; the system store when absent. */
  registryCa?: string;
  /** Logs the agent's account in (the identity server mcr trusts); closed with the session. */
  identity: Pick<IdentityProvider, "login"> & { close?(): void };
  username: string;
  /** Read at every login, so a changed password is picked up. */
  passwordFile: string;
  timeoutMs?: number;
  now?: () => number;
}

export interface PullToken {
  token: string;
  username: string;
  repository: string;
  /** ISO 8601. */
  expiresAt: string;
}

/** A failure to get a token, with what was asked of whom. */
export class McrSessionError extends Error {
  override name = "McrSessionError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The registry host and repository of an image reference; null when it names no registry host. */
export function imageRepository(image: string): { host: string; repository: string } | null {
  const ref = image.replace(/^docker:\/\//, "");
  const slash = ref.indexOf("/");
  if (slash < 1) return null;
  const host = ref.slice(0, slash);
  // As podman reads references: the first part is a host only with a dot, a port or "localhost".
  if (!/[.:]/.test(host) && host !== "localhost") return null;
  const repository = ref
    .slice(slash + 1)
    .replace(/@.*$/, "")
    .replace(/:[^/]*$/, "");
  return repository ? { host, repository } : null;
}

export class McrSession {
  private current: (IssuedToken & { renewAt: number }) | undefined;
  private pending: Promise<string> | undefined;
  private readonly agent: Agent;
  private readonly now: () => number;

  constructor(private readonly o: McrSessionOptions) {
    this.agent = new Agent({ keepAlive: true, minVersion: "TLSv1.3", ...(o.registryCa ? { ca: o.registryCa } : {}) });
    this.now = o.now ?? Date.now;
  }

  /** A live registry token of the agent's own account (logging in when there is none or it is about to expire). */
  token(): Promise<string> {
    const c = this.current;
    if (c && this.now() < c.renewAt) return Promise.resolve(c.token);
    // Concurrent callers share one login.
    this.pending ??= this.login().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets `token` when mcr refused it (revoked, or the password changed): the next call logs in again. */
  tokenRefused(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  private async login(): Promise<string> {
    let password: string;
    try {
      password = (await readFile(this.o.passwordFile, "utf8")).trim();
    } catch (err) {
      throw new McrSessionError(`cannot read the registry password_file ${this.o.passwordFile}: ${(err as Error).message}`);
    }
    let issued: IssuedToken;
    try {
      issued = await this.o.identity.login({ username: this.o.username, password, serviceName: REGISTRY_SERVICE_NAME, tags: ["mcp-agent"] });
    } catch (err) {
      throw new McrSessionError(`cannot log in to the registry as ${this.o.username}: ${(err as Error).message}`);
    }
    const now = this.now();
    const life = Math.max(0, Date.parse(issued.expiresAt) - now);
    this.current = { ...issued, renewAt: now + life - Math.min(RENEW_BEFORE_MS, life / 2) };
    return issued.token;
  }

  /** A token that may only pull `repository`, for `ttlSeconds` (mcr allows at most 60). */
  async pullToken(repository: string, ttlSeconds?: number): Promise<PullToken> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.token();
      try {
        return await this.askForPullToken(token, repository, ttlSeconds);
      } catch (err) {
        // A token revoked behind the agent's back: log in once more.
        if (!(err instanceof McrSessionError) || err.status !== 401 || attempt > 1) throw err;
        this.tokenRefused(token);
      }
    }
  }

  /**
   * The auth.json for one pull of `image` by another user's podman: a pull token of its
   * repository when the image is on this registry, null (no credentials) when it is not.
   */
  async authFileFor(image: string): Promise<string | null> {
    const ref = imageRepository(image);
    if (!ref || ref.host !== this.o.registryHost) return null;
    const pull = await this.pullToken(ref.repository);
    const auth = Buffer.from(`${pull.username}:${pull.token}`).toString("base64");
    return JSON.stringify({ auths: { [this.o.registryHost]: { auth } } });
  }

  private askForPullToken(token: string, repository: string, ttlSeconds: number | undefined): Promise<PullToken> {
    const body = JSON.stringify(ttlSeconds === undefined ? { repository } : { repository, expires_in: ttlSeconds });
    const url = `https://${this.o.registryHost}/v1/auth/pull-token`;
    const timeoutMs = this.o.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const fail = (message: string, status?: number) =>
        reject(new McrSessionError(`cannot get a pull token for ${repository} from ${url}: ${message}`, status));
      const req = request(
        url,
        {
          method: "POST",
          agent: this.agent,
          timeout: timeoutMs,
          headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), Authorization: `Bearer ${token}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => fail(err.message));
          res.on("end", () => {
            let doc: { token?: unknown; username?: unknown; expires_at?: unknown; error?: unknown } = {};
            try {
              doc = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              /* not JSON: the status says enough */
            }
            if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode}${typeof doc.error === "string" ? `: ${doc.error}` : ""}`, res.statusCode);
            if (typeof doc.token !== "string" || typeof doc.username !== "string" || typeof doc.expires_at !== "string") return fail("the answer has no token");
            resolve({ token: doc.token, username: doc.username, repository, expiresAt: doc.expires_at });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (err) => fail(err.message));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
    this.o.identity.close?.();
  }
}

export interface McrSessionConfig {
  registry: { host: string; ca_cert: string; username: string; password_file: string };
  mcias: { server_url: string; ca_cert: string };
}

/**
 * The agent's session from its config, or null without a registry account. It logs in where
 * the agent validates tokens (`[mcias] server_url`), or at mcr's embedded identity API when
 * that is not set. The caller closes it.
 */
export async function mcrSessionFor(cfg: McrSessionConfig): Promise<McrSession | null> {
  if (!cfg.registry.host || !cfg.registry.username) return null;
  const registryCa = cfg.registry.ca_cert ? await readFile(cfg.registry.ca_cert, "utf8") : undefined;
  const identityCa = cfg.mcias.server_url ? (cfg.mcias.ca_cert ? await readFile(cfg.mcias.ca_cert, "utf8") : undefined) : registryCa;
  const identity = new RemoteIdentity({ serverUrl: cfg.mcias.server_url || `https://${cfg.registry.host}`, caCert: identityCa });
  return new McrSession({ registryHost: cfg.registry.host, registryCa, identity, username: cfg.registry.username, passwordFile: cfg.registry.password_file });
}
