// `mcp logout`: revokes the session's tokens at the identity server and deletes them.
// They are deleted even when the server cannot be reached (the exit code says so).
import { ConsoleError } from "../output/errors.ts";
import type { CommandSpec } from "./command.ts";
import { identityClient, identityError } from "./login.ts";

const command: CommandSpec = {
  name: "logout",
  args: "",
  summary: "revoke and delete the stored tokens",
  options: [],
  async run(ctx) {
    const url = ctx.identity();
    const session = ctx.credentials().remove(url);
    let failure: ConsoleError | undefined;
    if (session) {
      const identity = identityClient(ctx);
      try {
        for (const t of Object.values(session.tokens)) await identity.logout(t.token);
      } catch (err) {
        failure = identityError(err, url);
      } finally {
        identity.close();
      }
    }
    if (failure) throw new ConsoleError(failure.code, `tokens deleted here, but not revoked: ${failure.message}`);
    if (ctx.mode === "json") ctx.out.document({ identity: url, username: session?.username ?? "", loggedOut: Boolean(session) });
    else ctx.out.text(session ? `Logged out ${session.username} from ${url}\n` : `Not logged in to ${url}\n`);
    return 0;
  },
};

export default command;
