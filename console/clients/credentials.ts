// The console's sessions: tokens (never passwords) in `$XDG_STATE_HOME/mcp/credentials.json`
// (0600, folder 0700), one session per identity server. Tokens carry an audience: one is
// issued for the registry ("mcr") and one for the agents ("mcp-agent"), and each service
// takes only its own.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { ConsoleError, LOGIN_HINT } from "../output/errors.ts";

export const REGISTRY_SERVICE = "mcr";
export const AGENT_SERVICE = "mcp-agent";
export const SERVICES = [REGISTRY_SERVICE, AGENT_SERVICE] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StoredToken {
  token: string;
  /** ISO 8601. */
  expires_at: string;
}

export interface Session {
  username: string;
  tokens: Partial<Record<ServiceName, StoredToken>>;
}

interface CredentialsFile {
  sessions: Record<string, Session>;
}

export class Credentials {
  readonly file: string;
  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.file = join(dir, "credentials.json");
  }

  private read(): CredentialsFile {
    if (!existsSync(this.file)) return { sessions: {} };
    const mode = statSync(this.file).mode & 0o077;
    if (mode !== 0) chmodSync(this.file, 0o600); // never leave tokens readable by others
    try {
      const doc = JSON.parse(readFileSync(this.file, "utf8")) as CredentialsFile;
      return typeof doc.sessions === "object" && doc.sessions !== null ? doc : { sessions: {} };
    } catch {
      throw new ConsoleError("unauthenticated", `${this.file} is not valid JSON: delete it and ${LOGIN_HINT}`);
    }
  }

  private write(doc: CredentialsFile): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    if (Object.keys(doc.sessions).length === 0) rmSync(this.file, { force: true });
    else writeFileAtomic(this.file, JSON.stringify(doc, null, 2) + "\n", 0o600);
  }

  session(identityUrl: string): Session | undefined {
    return this.read().sessions[identityUrl];
  }

  save(identityUrl: string, session: Session): void {
    const doc = this.read();
    doc.sessions[identityUrl] = session;
    this.write(doc);
  }

  remove(identityUrl: string): Session | undefined {
    const doc = this.read();
    const old = doc.sessions[identityUrl];
    delete doc.sessions[identityUrl];
    this.write(doc);
    return old;
  }

  /** The token for `service`, or an `unauthenticated` error that says to log in. */
  token(identityUrl: string, service: ServiceName): string {
    const s = this.session(identityUrl);
    const t = s?.tokens[service];
    if (!s || !t) throw new ConsoleError("unauthenticated", `not logged in to ${identityUrl}: ${LOGIN_HINT}`);
    if (Date.parse(t.expires_at) <= this.now())
      throw new ConsoleError("unauthenticated", `the session for ${s.username} at ${identityUrl} has expired: ${LOGIN_HINT}`);
    return t.token;
  }
}
