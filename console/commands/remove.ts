// `mcp remove <service>`: stops and removes every container of the service on its node,
// releases its ports and makes the agent forget it. The definition file stays.
import type { CommandSpec } from "./command.ts";
import { opScreen } from "./lifecycle.ts";
import { finite } from "./present.ts";

const command: CommandSpec = {
  name: "remove",
  args: "<service>",
  summary: "stop and remove a service's containers on its node and forget its state",
  options: [],
  async run(ctx, [service]) {
    const store = ctx.store();
    await finite(
      ctx,
      () => store.getState().remove(service!),
      (r) => ({ node: r.node, service: r.service, removedContainers: r.components.map((c) => c.container) }),
      (s, done) => opScreen(s.lastOp, done, `removing ${service}`),
    );
    return 0;
  },
};

export default command;
