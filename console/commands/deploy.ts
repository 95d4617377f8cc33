// `mcp deploy <service>`: builds and pushes the images the registry lacks (when the source
// is there), then streams the agent's Deploy per component: pulling, creating, starting,
// running; a container that does not stay up is rolled back and the error says why.
// Interrupted (Ctrl-C), it says that the agent carries on and how to watch it.
import type { CommandSpec } from "./command.ts";
import { stream, withWarnings } from "./present.ts";
import { deployScreen, progressFormat } from "../views/progress.ts";

const command: CommandSpec = {
  name: "deploy",
  args: "<service>",
  summary: "build missing images, then deploy a service on its node with live progress",
  options: [],
  async run(ctx, [service]) {
    const store = ctx.store();
    // The error (a rollback, an interrupt) is printed once, after the live view.
    await withWarnings(ctx, () =>
      stream(
        ctx,
        progressFormat,
        () => store.getState().deploy(service!, ctx.signal),
        (s, done) => deployScreen(s, done, undefined, false),
      ),
    );
    return 0;
  },
};

export default command;
