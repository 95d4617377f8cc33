// `mcp build <service>[/<image>]`: podman build of each [build.images] entry from
// <workspace>/<path> with --build-arg VERSION=<version>, tagged <registry>/<image>:<version>
// and pushed with the console's CA and a temporary auth file holding the registry token.
import { cell } from "../output/screen.ts";
import type { CommandSpec } from "./command.ts";
import { stream, withWarnings } from "./present.ts";
import { imagesSection, progressFormat, warningNotes } from "../views/progress.ts";

const command: CommandSpec = {
  name: "build",
  args: "<target>",
  summary: "build and push a service's images (<service> or <service>/<image>)",
  options: [],
  async run(ctx, [target]) {
    const store = ctx.store();
    const format = {
      ...progressFormat,
      select: (s: Parameters<typeof progressFormat.select>[0]) => progressFormat.select(s).filter((e) => e.type === "build"),
    };
    await withWarnings(ctx, () =>
      stream(
        ctx,
        format,
        () => store.getState().build(target!, ctx.signal),
        (s, done) => ({
          sections: [imagesSection(s)],
          notes: [
            ...warningNotes(s),
            ...(done
              ? Object.values(s.images)
                  .filter((i) => i.phase === "pushed")
                  .map((i) => cell(`pushed ${i.ref}`, "ok"))
              : []),
          ],
          ...(done ? {} : { pending: "building" }),
        }),
      ),
    );
    return 0;
  },
};

export default command;
