// `mcp rollback <service> [release] [--yes]`: puts an earlier release back (default: the one
// before the newest deployed one), its images pinned to the digests they had, with the
// deploy's live progress. It changes what runs, so it is confirmed first: on a terminal it
// names the release and asks; elsewhere (scripts, --json) it needs --yes.
import { confirm } from "../clients/prompt.ts";
import { ConsoleError } from "../output/errors.ts";
import { deployScreen, progressFormat } from "../views/progress.ts";
import { releaseImages } from "../views/releases.ts";
import type { CommandSpec } from "./command.ts";
import { stream, withWarnings } from "./present.ts";
import type { ReleaseRow } from "../store/types.ts";

/** The release a rollback to `number` (0: the one before the newest deployed one) puts back, as the agent picks it. */
export function rollbackTarget(releases: ReleaseRow[], number: number): ReleaseRow | undefined {
  if (number) return releases.find((r) => r.number === number);
  return releases.filter((r) => r.result === "deployed")[1];
}

const command: CommandSpec = {
  name: "rollback",
  args: "<service> [release]",
  summary: "put an earlier release of a service back (its images pinned by digest), after a confirmation",
  options: [{ flags: "-y, --yes", description: "do not ask (needed off a terminal)", default: false }],
  async run(ctx, [service, release], opts) {
    const number = release === undefined ? 0 : Number(release);
    if (release !== undefined && (!Number.isInteger(number) || number < 1))
      throw new ConsoleError("usage", `release must be a release number (mcp history ${service} lists them), not ${JSON.stringify(release)}`);
    const store = ctx.store();
    if (!opts.yes) {
      if (ctx.out.mode !== "tty" || !ctx.stdin.isTTY) throw new ConsoleError("usage", `rollback changes what runs: confirm with --yes (on a terminal it asks)`);
      const target = rollbackTarget(await store.getState().history(service!), number);
      const what = target ? `release ${target.number} (${target.version}, ${releaseImages(target)})` : `release ${number || "before the current one"}`;
      if (!(await confirm(`roll ${service} back to ${what}?`, ctx.stdin))) {
        process.stderr.write("not rolled back\n");
        return 1;
      }
    }
    await withWarnings(ctx, () =>
      stream(
        ctx,
        progressFormat,
        () => store.getState().rollback(service!, number, ctx.signal),
        (s, done) => deployScreen(s, done, undefined, false),
      ),
    );
    return 0;
  },
};

export default command;
