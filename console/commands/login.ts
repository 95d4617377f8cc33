// `mcp login [-u NAME] [--password-stdin]`: logs in once per service the console talks
// to (the registry, "mcr", and the agents, "mcp-agent": each takes only tokens issued for
// it) and keeps the tokens, never the password, in $XDG_STATE_HOME/mcp/credentials.json.
import { RemoteIdentity } from "../../lib/auth/remote.ts";
import { IdentityUnavailableError, InvalidCredentialsError, RateLimitedError } from "../../lib/auth/types.ts";
import { SERVICES, type Session } from "../clients/credentials.ts";
import { canPrompt, prompt, readStdin } from "../clients/prompt.ts";
import { identityCa } from "../config.ts";
import { ConsoleError } from "../output/errors.ts";
import type { CommandSpec, Context } from "./command.ts";

export interface LoginIo {
  stdin: NodeJS.ReadStream;
}

export const io: LoginIo = { stdin: process.stdin };

export function identityClient(ctx: Context): RemoteIdentity {
  return new RemoteIdentity({
    serverUrl: ctx.identity(),
    caCert: ctx.readPem(identityCa(ctx.config()), "identity CA") || undefined,
    timeoutMs: ctx.config().node_timeout * 3,
  });
}

export function identityError(err: unknown, url: string): ConsoleError {
  if (err instanceof InvalidCredentialsError) return new ConsoleError("unauthenticated", "invalid username or password");
  if (err instanceof RateLimitedError) return new ConsoleError("failed", err.message);
  if (err instanceof IdentityUnavailableError) return new ConsoleError("unreachable", err.message);
  return new ConsoleError("failed", `identity server ${url}: ${(err as Error).message}`);
}

const command: CommandSpec = {
  name: "login",
  args: "",
  summary: "log in to the identity server (tokens for the registry and the agents are kept; the password never is)",
  options: [
    { flags: "-u, --username <name>", description: "account name (default: the last one used, else asked)" },
    { flags: "--password-stdin", description: "read the password from standard input instead of asking on the terminal", default: false },
  ],
  async run(ctx, _args, opts) {
    const url = ctx.identity();
    const creds = ctx.credentials();
    let username = (opts.username as string | undefined) ?? creds.session(url)?.username ?? "";
    const stdin = io.stdin;
    if (!username) {
      if (!canPrompt(stdin) || opts.passwordStdin) throw new ConsoleError("usage", "--username is required when there is no terminal to ask on");
      username = (await prompt(`Username for ${url}: `, stdin, ctx.out.stderr)).trim();
    }
    let password: string;
    if (opts.passwordStdin) password = await readStdin(stdin);
    else if (canPrompt(stdin)) password = await prompt(`Password for ${username}: `, stdin, ctx.out.stderr, true);
    else throw new ConsoleError("usage", "standard input is not a terminal: pass the password with --password-stdin");
    if (!password) throw new ConsoleError("usage", "the password is empty");

    const identity = identityClient(ctx);
    const session: Session = { username, tokens: {} };
    try {
      for (const service of SERVICES) {
        const issued = await identity.login({ username, password, serviceName: service, tags: ["mcp-console"] });
        session.tokens[service] = { token: issued.token, expires_at: issued.expiresAt };
      }
    } catch (err) {
      throw identityError(err, url);
    } finally {
      identity.close();
    }
    creds.save(url, session);
    const expires = Object.fromEntries(Object.entries(session.tokens).map(([s, t]) => [s, { expires_at: t.expires_at }]));
    if (ctx.mode === "json") ctx.out.document({ identity: url, username, services: expires, credentials: creds.file });
    else ctx.out.text(`Logged in to ${url} as ${username} (${SERVICES.join(", ")}; until ${session.tokens.mcr?.expires_at ?? "?"})\n`);
    return 0;
  },
};

export default command;
