// `mcp describe <service>[/<component>]`: a service's components in detail from the agent of
// its node (container and id, state, image and its id and digest, command, environment with
// secrets masked, mounts, ports, labels, restart policy and count, times, placement), read
// top to bottom; --json: the whole description.
import { ConsoleError } from "../output/errors.ts";
import { describeDocument, describeNotes, describeSections } from "../views/describe.ts";
import type { CommandSpec } from "./command.ts";
import { finite } from "./present.ts";

const command: CommandSpec = {
  name: "describe",
  args: "<target>",
  summary: "a service's components in detail (or one component's, service/component): image ids, command, environment (secrets masked), mounts, ports, labels",
  options: [],
  async run(ctx, [target = ""]) {
    if (!target || target.startsWith("/")) throw new ConsoleError("usage", "describe: name a service, or service/component");
    const store = ctx.store();
    await finite(
      ctx,
      () => store.getState().describe(target),
      (d) => describeDocument(d),
      (s, done) => {
        const d = s.describes[target];
        if (!d) return { sections: [], notes: [], ...(done ? {} : { pending: `asking ${target.split("/")[0]}'s node` }) };
        return { sections: describeSections(d), notes: describeNotes(d) };
      },
    );
    return 0;
  },
};

export default command;
